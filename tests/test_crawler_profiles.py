"""Source profiles have a schema: unknown keys and wrong types are refused with a line naming the key (and the
nearest valid one), defaults are filled in, the README table is the models' own, posted times follow the
profile's time zone, and sources can be disabled, enabled and (when they stored nothing) removed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crawler.extract import parse_datetime
from crawler.profile_docs import README, profile_table, readme_table
from store.db import session_scope
from store.documents import DocumentIn, save_document
from store.sources import (
    HtmlProfile,
    ProfileError,
    SourceInUse,
    get_source,
    load_profile,
    parse_profile,
    remove_source,
    set_enabled,
    upsert_source,
)

HTML = {"name": "site", "kind": "html", "start_urls": ["http://example.com/list"], "list": {"detail_link": "a"}}
API = {"name": "api", "kind": "json_api",
       "api": {"url": "http://example.com/api?page={page}", "detail_url_field": "url", "fields": {"body": "text"}}}  # fmt: skip


def _problems(data: object) -> list[str]:
    with pytest.raises(ProfileError) as info:
        parse_profile(data)
    return info.value.problems


@pytest.mark.parametrize(
    ("data", "line"),
    [
        ({**HTML, "feilds": {"title": "h1"}}, "unknown key 'feilds' (did you mean 'fields'?)"),
        ({**HTML, "list": {"detail_link": "a", "item": "li"}},
         "unknown key 'list.item' (valid keys under 'list': detail_link, next_page)"),
        ({**HTML, "list": {"detail_lnk": "a"}}, "unknown key 'list.detail_lnk' (did you mean 'list.detail_link'?)"),
        ({**HTML, "fields": {"titel": "h1"}}, "unknown key 'fields.titel' (did you mean 'fields.title'?)"),
        ({**API, "api": {**API["api"], "fields": {"body": "t", "pubisher": "p"}}},
         "unknown key 'api.fields.pubisher' (did you mean 'api.fields.publisher'?)"),
        ({**HTML, "alow_private": True}, "unknown key 'alow_private' (did you mean 'allow_private'?)"),
        ({"name": "x", "knd": "html"}, "unknown key 'knd' (did you mean 'kind'?)"),
    ],
)  # fmt: skip
def test_unknown_keys_name_the_nearest_valid_one(data: dict, line: str) -> None:
    assert line in _problems(data)


@pytest.mark.parametrize(
    ("data", "line"),
    [
        ({**HTML, "interval_seconds": "hourly"}, "key 'interval_seconds': expected a whole number (got 'hourly')"),
        ({**HTML, "start_urls": "http://example.com/"}, "key 'start_urls': expected a list, e.g. [a, b]"),
        ({**HTML, "allow_private": "maybe"}, "key 'allow_private': expected true or false (got 'maybe')"),
        ({**HTML, "list": "a.title"}, "key 'list': expected a mapping of keys (got 'a.title')"),
        ({**HTML, "max_pages": 0}, "key 'max_pages': input should be greater than or equal to 1 (got 0)"),
        ({**HTML, "start_urls": ["file:///etc/passwd"]}, "key 'start_urls': not an http(s) URL: 'file:///etc/passwd'"),
        ({**HTML, "timezone": "Asia/Shangai"}, "key 'timezone': unknown time zone 'Asia/Shangai' (did you mean 'Asia/Shanghai'?)"),
        ({**HTML, "encoding": "gbkk"}, "key 'encoding': unknown encoding 'gbkk'"),
        ({**HTML, "kind": "rss"}, "key 'kind': expected 'html' or 'json_api' (got 'rss')"),
        ({k: v for k, v in HTML.items() if k != "list"}, "missing key 'list': listing-page selectors"),
        ({**API, "api": {"url": "http://example.com/api", "fields": {"body": "t"}}},
         "key 'api': api needs detail_url_field or url_template: records need a URL"),
        (["not", "a", "mapping"], "a profile is a mapping of keys (name, kind, …), not list"),
    ],
)  # fmt: skip
def test_wrong_types_and_values_are_one_clear_line_each(data: object, line: str) -> None:
    problems = _problems(data)
    assert any(p.startswith(line) for p in problems), problems


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems({**HTML, "feilds": {}, "interval_seconds": "x", "list": {"item": "li"}})
    assert len(problems) == 4 and str(ProfileError(problems)) == "; ".join(problems)


def test_defaults_are_filled_in_and_the_demo_profiles_fit() -> None:
    model = parse_profile(HTML)
    assert isinstance(model, HtmlProfile)
    assert (model.interval_seconds, model.max_pages, model.timezone, model.allow_private) == (
        3600, 200, "Asia/Shanghai", False)  # fmt: skip
    assert model.fields.body is None and model.list_.next_page is None


def test_load_profile_reports_bad_yaml_and_unreadable_files_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nkind: html\nlist: {detail_link: 'a'\n", encoding="utf-8")
    with pytest.raises(ProfileError) as info:
        load_profile(bad)
    assert "is not valid YAML" in str(info.value) and "line" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "missing.yaml")
    typo = tmp_path / "typo.yaml"
    typo.write_text("name: x\nkind: html\nstart_urls: [http://a.example/]\nlist: {detail_link: a}\nfeilds: {}\n")
    with pytest.raises(ProfileError, match=r"unknown key 'feilds' \(did you mean 'fields'\?\)"):
        load_profile(typo)


def test_readme_table_is_generated_from_the_models() -> None:
    table = profile_table()
    assert "| `feilds`" not in table and "| `list.detail_link` | html |" in table
    assert "| `timezone` | both | text | `\"Asia/Shanghai\"` |" in table
    assert readme_table(README.read_text(encoding="utf-8")) == table, (
        "crawler/README.md is out of date: python -m crawler.profile_docs --write"
    )


@pytest.mark.parametrize(
    ("value", "zone", "expected"),
    [
        ("发布时间：2024年5月1日 10:30", "Asia/Shanghai", datetime(2024, 5, 1, 2, 30, tzinfo=UTC)),
        ("2024年5月1日 10:30", "America/New_York", datetime(2024, 5, 1, 14, 30, tzinfo=UTC)),
        ("2024-01-15 08:00", "Europe/London", datetime(2024, 1, 15, 8, 0, tzinfo=UTC)),
        ("2024-05-02T09:00:00+08:00", "America/New_York", datetime(2024, 5, 2, 1, 0, tzinfo=UTC)),  # own offset
        (1714521600, "America/New_York", datetime(2024, 5, 1, 0, 0, tzinfo=UTC)),  # epoch: zone-free
    ],
)
def test_posted_times_without_a_zone_are_read_in_the_sources_zone(value: object, zone: str, expected: datetime) -> None:
    parsed = parse_datetime(value, ZoneInfo(zone))
    assert parsed == expected and parsed.utcoffset() is not None and parsed.tzinfo == UTC


def test_upsert_checks_the_profile_and_stores_it_complete(sqlite_url: str) -> None:
    with session_scope(sqlite_url) as session:
        with pytest.raises(ProfileError, match="feilds"):
            upsert_source(session, {**HTML, "feilds": {}})
        source = upsert_source(session, HTML)
        assert source.profile["timezone"] == "Asia/Shanghai" and source.profile["list"]["next_page"] is None
        assert "enabled" not in source.profile and source.enabled


def test_disable_survives_re_adding_the_profile(sqlite_url: str) -> None:
    with session_scope(sqlite_url) as session:
        upsert_source(session, HTML)
        assert set_enabled(session, "site", False).enabled is False
        upsert_source(session, {**HTML, "max_pages": 5})  # re-added file without an explicit `enabled:`
        assert get_source(session, "site").enabled is False
        assert set_enabled(session, "site", True).enabled is True
        upsert_source(session, {**HTML, "enabled": False})  # the file says so: it decides
        assert get_source(session, "site").enabled is False
        assert set_enabled(session, "nope", True) is None


def test_remove_refuses_a_source_with_documents(sqlite_url: str) -> None:
    with session_scope(sqlite_url) as session:
        source = upsert_source(session, HTML)
        upsert_source(session, API)
        save_document(session, DocumentIn(url="http://example.com/a", canonical_url="http://example.com/a",
                                          text="保本保息", raw=b"x", source_id=source.id))  # fmt: skip
    with session_scope(sqlite_url) as session:
        with pytest.raises(SourceInUse, match="1 documents .* disable it instead: adscreen sources disable site"):
            remove_source(session, "site")
        assert remove_source(session, "api") is True and remove_source(session, "api") is False
    with session_scope(sqlite_url) as session:
        assert get_source(session, "site") is not None and get_source(session, "api") is None
