"""`adscreen sources …` explains itself: a trial of a profile against the demo site stores nothing, an embedded
crawl scores what it stored and raises flags, the summary says what happened, and every expected error is one line
with the fix and exit status 2 (`--debug`: the traceback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from adscreen.cli import CliError, app
from demo_site import crawl_profiles
from demo_site.content import PAGE_SIZE, category_ads, listings
from demo_site.server import start_in_thread
from store.db import session_scope
from store.models import Document, Flag, Source

runner = CliRunner()


@pytest.fixture
def demo_url() -> Iterator[str]:
    server, base_url = start_in_thread("127.0.0.1", 0)
    yield base_url
    server.shutdown()
    server.server_close()


@pytest.fixture
def env(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Embedded mode on a fresh migrated SQLite file, keywords only (no classifier: fast)."""
    from adscreen.settings import get_settings

    monkeypatch.delenv("ADSCREEN_BROKER_URL", raising=False)
    monkeypatch.setenv("ADSCREEN_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("ADSCREEN_LEXICON_DIR", str(tmp_path / "lexicon"))
    monkeypatch.setenv("ADSCREEN_USE_CLASSIFIER", "false")
    get_settings.cache_clear()
    yield sqlite_url
    get_settings.cache_clear()


def _profile_file(tmp_path: Path, base_url: str, name: str = "demo-classifieds", **changes: object) -> Path:
    profile = next(p for p in crawl_profiles(base_url) if p["name"] == name)
    profile.update(changes)
    path = tmp_path / f"{profile['name']}.yaml"
    path.write_text(yaml.safe_dump(profile, allow_unicode=True), encoding="utf-8")
    return path


def _one_line_error(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_sources_test_prints_one_listing_and_one_detail_and_stores_nothing(
    demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adscreen.settings import get_settings

    db = tmp_path / "untouched.db"
    monkeypatch.setenv("ADSCREEN_DATABASE_URL", f"sqlite:///{db}")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["sources", "test", str(_profile_file(tmp_path, demo_url))])
        api = runner.invoke(app, ["sources", "test", str(_profile_file(tmp_path, demo_url, "demo-platform-api"))])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    out = result.stdout
    first = category_ads("licai")[0]  # the first ad of the first start URL's listing page
    assert f"listing page {demo_url}/c/licai/: {PAGE_SIZE} detail links" in out and f"{demo_url}/c/licai/pn2/" in out
    assert f"detail {demo_url}/ad/{first['id']}.html" in out and "北京时间" in out
    assert first["title"] in out and first["publisher"] in out
    assert api.exit_code == 0, api.output
    record = listings()[0]
    assert f"detail {demo_url}/api/item/{record['id']}" in api.stdout and record["seller"]["name"] in api.stdout
    assert not db.exists(), "a trial must not touch the database"


def test_embedded_crawl_scores_what_it_stored_and_summarises(env: str, demo_url: str, tmp_path: Path) -> None:
    path = _profile_file(tmp_path, demo_url, start_urls=[f"{demo_url}/c/licai/", f"{demo_url}/c/yanglao/"],
                         max_pages=2)  # fmt: skip: both start pages, then the first next page is refused
    assert runner.invoke(app, ["sources", "add", str(path)]).exit_code == 0
    result = runner.invoke(app, ["sources", "crawl", "demo-classifieds"])
    assert result.exit_code == 0, result.output
    with session_scope(env) as session:
        docs = session.scalar(select(func.count(Document.id)))
        unscored = session.scalar(select(func.count(Document.id)).where(Document.scored_at.is_(None)))
        flags = session.scalar(select(func.count(Flag.id)))
    assert docs and unscored == 0 and flags, (docs, unscored, flags)
    out = result.stdout
    assert f"documents: {docs} new, 0 changed, 0 unchanged" in out
    assert f"scored {docs} documents in this process: {flags} flags raised" in out
    assert "rejections: 1" in out and "max_pages" in out and f"e.g. {demo_url}/c/" in out  # reason + example URL

    again = runner.invoke(app, ["sources", "crawl", "demo-classifieds"])
    assert again.exit_code == 0, again.output
    assert "documents: 0 new, 0 changed" in again.stdout and "scored 0 documents" in again.stdout


def test_disable_enable_remove(env: str, demo_url: str, tmp_path: Path) -> None:
    path = _profile_file(tmp_path, demo_url)
    assert runner.invoke(app, ["sources", "add", str(path)]).exit_code == 0
    result = runner.invoke(app, ["sources", "disable", "demo-classifieds"])
    assert result.exit_code == 0 and "the schedule skips it" in result.stdout
    line = _one_line_error(["sources", "crawl", "demo-classifieds"])
    assert "is disabled" in line and "adscreen sources enable demo-classifieds" in line
    readded = runner.invoke(app, ["sources", "add", str(path)])
    assert "disabled: adscreen sources enable demo-classifieds" in readded.stdout  # re-adding does not re-enable
    assert runner.invoke(app, ["sources", "enable", "demo-classifieds"]).exit_code == 0
    with session_scope(env) as session:
        assert session.scalar(select(Source.enabled).where(Source.name == "demo-classifieds")) is True
        session.add(Document(source_id=session.scalar(select(Source.id)), source_key=1, url="u", canonical_url="u",
                             text="t", content_hash="h", raw_sha256="s", raw_size=1))  # fmt: skip
    line = _one_line_error(["sources", "remove", "demo-classifieds"])
    assert "1 documents" in line and "kept as evidence" in line and "adscreen sources disable" in line
    other = _profile_file(tmp_path, demo_url, "demo-platform-api")
    assert runner.invoke(app, ["sources", "add", str(other)]).exit_code == 0
    assert runner.invoke(app, ["sources", "remove", "demo-platform-api"]).exit_code == 0
    assert "unknown source 'demo-platform-api'" in _one_line_error(["sources", "remove", "demo-platform-api"])


def test_expected_errors_are_one_line_with_the_fix(
    env: str, demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adscreen.settings import get_settings

    line = _one_line_error(["sources", "crawl", "no-such-source"])
    assert "unknown source 'no-such-source'" in line and "adscreen sources add PROFILE.yaml" in line

    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("name: x\nkind: html\nlist: {detail_link: 'a'\n", encoding="utf-8")
    assert "is not valid YAML" in _one_line_error(["sources", "add", str(bad_yaml)])

    typo = tmp_path / "typo.yaml"
    typo.write_text(_profile_file(tmp_path, demo_url).read_text(encoding="utf-8").replace("fields:", "feilds:"))
    line = _one_line_error(["sources", "add", str(typo)])
    assert "unknown key 'feilds' (did you mean 'fields'?)" in line
    assert "unknown key 'feilds'" in _one_line_error(["sources", "test", str(typo)])
    assert "cannot read" in _one_line_error(["sources", "add", str(tmp_path / "missing.yaml")])

    # a start URL the SSRF guard refuses: not exit 0 with a counter, but one line saying what to do
    guarded = _profile_file(tmp_path, demo_url, allow_private=False)
    assert runner.invoke(app, ["sources", "add", str(guarded)]).exit_code == 0
    line = _one_line_error(["sources", "crawl", "demo-classifieds"])
    assert "refused by the SSRF guard" in line and "allow_private: true" in line

    monkeypatch.setenv("ADSCREEN_BROKER_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    line = _one_line_error(["sources", "crawl", "demo-classifieds"])
    assert "broker redis://127.0.0.1:1/0 unreachable" in line and "unset ADSCREEN_BROKER_URL" in line

    monkeypatch.delenv("ADSCREEN_BROKER_URL")
    monkeypatch.setenv("ADSCREEN_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    line = _one_line_error(["sources", "list"])
    assert "unreachable" in line and "ADSCREEN_DATABASE_URL" in line

    monkeypatch.setenv("ADSCREEN_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    get_settings.cache_clear()
    assert "run `adscreen db upgrade`" in _one_line_error(["sources", "crawl", "demo-classifieds"])


def test_debug_shows_the_traceback(env: str) -> None:
    result = runner.invoke(app, ["--debug", "sources", "crawl", "no-such-source"])
    assert result.exit_code == 1 and isinstance(result.exception, CliError)
    assert "unknown source" in str(result.exception)
