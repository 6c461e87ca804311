"""Crawls of a local hostile site into the real PostgreSQL: every page ends as a document or a recorded rejection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crawler.run import crawl_source
from crawler.settings import redis_settings
from crawler.urls import canonical_url
from store.db import session_scope
from store.documents import snapshot
from store.models import Document, Rejection
from tests.testsite import CHARSET_PAGES, MIXED_BAD, MIXED_GOOD, Site, api_profile, html_profile

pytestmark = pytest.mark.services


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    s = Site(pages=3, per_page=5)
    base = s.start()
    try:
        yield s, base
    finally:
        s.stop()


def _documents(url: str) -> dict[str, Document]:
    with session_scope(url) as session:
        query = select(Document).options(selectinload(Document.current_version))  # snapshot() after the session
        return {d.canonical_url: d for d in session.scalars(query)}


def _rejections(url: str) -> list[tuple[str, str, str]]:
    with session_scope(url) as session:
        return [
            (r.url, r.reason, r.detail) for r in session.scalars(select(Rejection).order_by(Rejection.id))
        ]


def test_hostile_site_every_page_accounted_and_recrawl_adds_nothing(
    pg_url: str, site: tuple[Site, str]
) -> None:
    s, base = site
    stats = crawl_source("hostile", pg_url, profile=html_profile(base, name="hostile"))
    docs = _documents(pg_url)
    rejections = _rejections(pg_url)
    rejected = {u: reason for u, reason, _ in rejections}

    # every linked detail page is a document, a rejection, or the counted duplicate of one
    duplicate = f"{base}/ad/1?utm_source=wechat"
    for path in s.detail_urls():
        url = base + path
        assert canonical_url(url) in docs or url in rejected or url == duplicate, url
    assert stats["duplicates"] == 1
    assert stats["documents_new"] == len(docs) == 15 + 3  # regular ads + mislabelled, script, zero-width
    expected = {
        "/ad/huge": "too_large",
        "/ad/binary": "binary",
        "/ad/png": "binary",
        "/ad/empty": "empty_text",
        "/ad/missing": "http_error",
        "/private/ad": "robots",
    }
    for path, reason in expected.items():
        assert rejected[base + path] == reason
    assert stats["rejections"] == {
        "binary": 2, "empty_text": 1, "http_error": 1, "max_pages": 1, "robots": 1, "too_large": 1,
    }  # fmt: skip
    assert stats["finish_reason"] == "finished"

    # endless pagination stops at max_pages (3 listing pages + 7 loop pages) and is recorded
    assert sum(n for p, n in s.hits.items() if p.startswith(("/list/", "/loop/"))) == 10
    assert [u for u, reason, _ in rejections if reason == "max_pages"] == [f"{base}/loop/8"]
    assert s.hits["/private/ad"] == 0  # robots.txt obeyed

    mislabelled = docs[canonical_url(base + "/ad/mislabelled")]
    assert "GBK编码却标成UTF-8的页面：保本高息" in mislabelled.text
    assert mislabelled.http_headers["content-type"] == "text/html; charset=utf-8"
    assert snapshot(mislabelled).decode("gbk").count("保本高息") == 1  # raw bytes kept as evidence
    script = docs[canonical_url(base + "/ad/script")]
    assert "SCRIPT_SHOULD_NOT_APPEAR" not in script.text and "<" not in script.text
    assert "招商加盟，稳赚不赔。" in script.text
    zero_width = docs[canonical_url(base + "/ad/zw")].text
    assert "保本保息，年化二十。" in zero_width
    assert not any(ch in zero_width for ch in "\u200b\u200c\u200d\ufeff\u2060")

    ad = docs[canonical_url(base + "/ad/7")]
    assert (ad.publisher, ad.contact, ad.region, ad.category, ad.platform) == (
        "张经理7", "联系电话：13800000007", "浙江省杭州市", "投资理财", "本地分类信息网",
    )  # fmt: skip
    assert ad.posted_at is not None and ad.posted_at.day == 8
    assert "版权所有" not in ad.text and ad.http_status == 200 and ad.source_id is not None

    # re-crawl: 304s for pages with validators, content hash for the rest; nothing new or updated
    with session_scope(pg_url) as session:
        before = session.scalar(select(func.max(Document.updated_at)))
    again = crawl_source("hostile", pg_url, profile=html_profile(base, name="hostile"))
    assert again["documents_new"] == again["documents_updated"] == 0
    assert again["not_modified"] == 16  # 15 ads + the tracking-parameter copy of /ad/1
    assert again["unchanged"] == 19
    with session_scope(pg_url) as session:
        assert session.scalar(select(func.count(Document.id))) == 18
        assert session.scalar(select(func.max(Document.updated_at))) == before
        # the hostile pages were refused again: counted on their rows, not stored twice
        assert session.scalar(select(func.count(Rejection.id))) == len(rejections)
        seen = dict(session.execute(select(Rejection.url, Rejection.seen_count)).all())
        assert seen[base + "/ad/huge"] == seen[base + "/ad/binary"] == 2


def test_mislabelled_charsets_are_stored_as_the_right_chinese(pg_url: str, site: tuple[Site, str]) -> None:
    """Big5 and UTF-8 labelled GBK, GBK labelled Big5: each label decodes the bytes without error, into garble."""
    _, base = site
    stats = crawl_source("charsets", pg_url, profile=html_profile(base, name="charsets",
                                                                  start_urls=[f"{base}/list/charsets"]))  # fmt: skip
    docs = _documents(pg_url)
    assert stats["documents_new"] == len(CHARSET_PAGES) and not stats["rejections"]
    for path, (text, real, label) in CHARSET_PAGES.items():
        doc = docs[canonical_url(base + path)]
        assert snapshot(doc).decode(_PY[label])  # the label alone "works": that is the trap
        assert (doc.title, doc.text, doc.encoding) == (text, text, _PY[real]), path


_PY = {"gbk": "gb18030", "big5": "big5hkscs", "utf-8": "utf-8"}


def test_decompression_bomb_is_too_large_and_a_timeout_is_timeout(pg_url: str, site: tuple[Site, str]) -> None:
    s, base = site
    profile = html_profile(base, name="limits", start_urls=[f"{base}/list/limits"])
    stats = crawl_source("limits", pg_url, profile=profile,
                         settings_overrides={"DOWNLOAD_TIMEOUT": 1, "RETRY_TIMES": 0})  # fmt: skip
    refused = {u: (reason, detail) for u, reason, detail in _rejections(pg_url)}
    assert refused[f"{base}/ad/bomb"][0] == "too_large" and "decompression" in refused[f"{base}/ad/bomb"][1]
    assert refused[f"{base}/ad/slow"][0] == "timeout"
    assert stats["rejections"] == {"timeout": 1, "too_large": 1} and stats["documents_new"] == 1


def test_posted_times_are_read_in_the_profiles_time_zone(pg_url: str, site: tuple[Site, str]) -> None:
    _, base = site
    profile = html_profile(base, name="ny", timezone="America/New_York", max_pages=1)
    crawl_source("ny", pg_url, profile=profile)
    ad = _documents(pg_url)[canonical_url(base + "/ad/1")]  # 发布时间：2024年5月2日 10:31, New York time (EDT)
    assert ad.posted_at == datetime(2024, 5, 2, 14, 31, tzinfo=UTC) and ad.posted_at.utcoffset() is not None


def test_json_api_records_become_documents(pg_url: str, site: tuple[Site, str]) -> None:
    s, base = site
    stats = crawl_source("api", pg_url, profile=api_profile(base, name="api"))
    docs = _documents(pg_url)
    assert stats["documents_new"] == len(docs) == 8
    assert stats["pages"] == 3 and s.hits["/api/listings?page=4"] == 0  # has_more false on page 3
    assert stats["rejections"] == {"bad_record": 1, "empty_text": 1}
    item = docs[canonical_url(base + "/item/3")]
    assert item.title == "平台商品3" and item.publisher == "商家3" and item.contact == "13900000003"
    assert item.price == "300" and item.region == "杭州" and item.platform == "某生活服务平台"
    assert "evil" not in item.text and "<" not in item.text and item.posted_at is not None
    assert b'"id": 3' in snapshot(item)


def test_dropped_requests_are_recorded(pg_url: str, site: tuple[Site, str]) -> None:
    """A second link to a page, a redirect to itself, a redirect loop, a redirect to a URL already requested and an
    endless redirect chain: Scrapy drops each without a document; each must be a rejection saying why."""
    s, base = site
    profile = html_profile(base, name="redirects", start_urls=[f"{base}/list/redirects"])
    stats = crawl_source("redirects", pg_url, profile=profile, settings_overrides={"REDIRECT_MAX_TIMES": 4})
    refused = {(u.removeprefix(base), reason): detail for u, reason, detail in _rejections(pg_url)}
    assert set(refused) == {
        ("/ad/1", "duplicate_request"),
        ("/redirect/self", "redirect_loop"),
        ("/redirect/loop-a", "redirect_loop"),
        ("/redirect/seen", "duplicate_request"),
        ("/redirect/far/1", "redirect_loop"),
    }, refused
    assert f"{base}/redirect/loop-b" in refused[("/redirect/loop-a", "redirect_loop")]
    assert refused[("/redirect/seen", "duplicate_request")].endswith(f"{base}/ad/1")
    assert "max redirections" in refused[("/redirect/far/1", "redirect_loop")]
    assert stats["rejections"] == {"duplicate_request": 2, "redirect_loop": 3}
    assert stats["documents_new"] == 1 and s.hits["/ad/1"] == 1
    assert "/redirect/loop-b" not in {u.removeprefix(base) for u, _ in refused}  # one record per linked URL


def test_bad_json_records_fail_one_by_one(pg_url: str, site: tuple[Site, str]) -> None:
    """Bad records between good ones on one API page: each is a bad_record rejection, every good one is stored."""
    _, base = site
    profile = api_profile(base, name="mixed")
    profile["api"] |= {"url": f"{base}/api/mixed?page={{page}}", "has_more_path": "data.has_more"}
    stats = crawl_source("mixed", pg_url, profile=profile)
    docs = _documents(pg_url)
    assert {u.removeprefix(base): d.text for u, d in docs.items()} == {
        path: text.replace("\ud800", "") for path, text in MIXED_GOOD.items()  # a lone surrogate is dropped
    }
    refused = {u: (reason, detail) for u, reason, detail in _rejections(pg_url)}
    assert set(refused) == {f"{base}/api/mixed?page=1#item{i}" for i in MIXED_BAD}
    for index, expected in MIXED_BAD.items():
        reason, detail = refused[f"{base}/api/mixed?page=1#item{index}"]
        assert reason == "bad_record" and expected in detail, (index, detail)
    assert stats["rejections"] == {"bad_record": len(MIXED_BAD)} and stats["documents_new"] == len(MIXED_GOOD)


def test_ssrf_guard_refuses_loopback_without_allow_private(pg_url: str, site: tuple[Site, str]) -> None:
    s, base = site
    stats = crawl_source("guarded", pg_url, profile=html_profile(base, name="guarded", allow_private=False))
    assert stats["rejections"] == {"ssrf_blocked": 1}
    assert stats["documents_new"] == 0 and not _documents(pg_url)
    assert sum(s.hits.values()) == 0  # not even robots.txt was fetched
    assert _rejections(pg_url)[0][:2] == (f"{base}/list/1", "ssrf_blocked")


def test_allow_private_reaches_only_the_named_host_and_never_metadata(
    pg_url: str, site: tuple[Site, str]
) -> None:
    """The profile names 127.0.0.1 with allow_private: a redirect to the metadata address, a redirect to another
    name of the same machine and a link to it are refused and recorded; none of them is fetched."""
    s, base = site
    port = base.rsplit(":", 1)[1]
    profile = html_profile(base, name="private", start_urls=[f"{base}/list/ssrf"])
    stats = crawl_source("private", pg_url, profile=profile)
    refused = {u: (reason, detail) for u, reason, detail in _rejections(pg_url)}
    assert stats["rejections"] == {"ssrf_blocked": 3} and stats["documents_new"] == 0, refused
    assert set(refused) == {
        "http://169.254.169.254/latest/meta-data/",
        f"http://localhost:{port}/ad/1",
        f"http://localhost:{port}/ad/2",
    }
    assert "metadata" in refused["http://169.254.169.254/latest/meta-data/"][1]
    assert "not a host the profile names" in refused[f"http://localhost:{port}/ad/2"][1]
    assert s.hits["/redirect/metadata"] == s.hits["/redirect/elsewhere"] == 1
    assert s.hits["/ad/1"] == s.hits["/ad/2"] == 0


def test_connection_time_resolution_refuses_loopback_too(pg_url: str, site: tuple[Site, str]) -> None:
    """DNS rebinding: the early check saw a public address, the downloader's own lookup gets 127.0.0.1. Simulated
    by switching the early check off; the guarded resolver must still refuse to connect."""
    s, base = site
    named = base.replace("127.0.0.1", "localhost")
    stats = crawl_source(
        "rebound",
        pg_url,
        profile=html_profile(named, name="rebound", allow_private=False),
        settings_overrides={"DOWNLOADER_MIDDLEWARES": {"crawler.middlewares.SSRFGuardMiddleware": None}},
    )
    assert sum(s.hits.values()) == 0  # nothing reached the server, not even robots.txt
    assert stats["rejections"] == {"ssrf_blocked": 1} and stats["documents_new"] == 0, _rejections(pg_url)
    url, reason, detail = _rejections(pg_url)[0]
    assert (url, reason) == (f"{named}/list/1", "ssrf_blocked") and "when connecting" in detail


def test_distributed_processes_share_one_frontier(
    pg_url: str, site: tuple[Site, str], redis_url: str, namespace: str
) -> None:
    s, base = site
    profile = html_profile(base, name="shared")
    overrides = redis_settings(redis_url, "run1", prefix=namespace)
    results: list[dict[str, Any]] = []

    def run() -> None:
        results.append(crawl_source("shared", pg_url, profile=profile, settings_overrides=overrides))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 2
    fetched = {p: n for p, n in s.hits.items() if p.startswith("/ad/") and p != "/ad/huge"}
    assert fetched and max(fetched.values()) == 1, fetched  # no page fetched by both processes
    assert sum(r["documents_new"] for r in results) == len(_documents(pg_url)) == 18

    # a third process of the same crawl finds everything already seen
    hits_before = sum(s.hits.values())
    late = crawl_source("shared", pg_url, profile=profile, settings_overrides=overrides)
    assert late["pages"] == 0 and late["documents_new"] == 0
    assert sum(s.hits.values()) - hits_before <= 1  # at most its own robots.txt
