"""A page we hold evidence of answers 404/410 on a re-crawl: a rejection row and a removal event on the document,
its versions untouched."""

from __future__ import annotations

from scrapy.spiders import Spider
from scrapy.utils.test import get_crawler
from sqlalchemy import select

from crawler.rejections import RejectionRecorder
from store.db import session_scope
from store.documents import DocumentIn, save_document
from store.models import AuditEvent, Document, Rejection, Source


def _recorder(url: str, source_id: int) -> RejectionRecorder:
    crawler = get_crawler(Spider, {"ADSCREEN_DATABASE_URL": url})
    crawler.spider = Spider(name="t")
    crawler.spider.source_id = source_id
    crawler.stats.open_spider()
    return RejectionRecorder(crawler)


def test_a_removed_page_becomes_an_event_on_its_document(sqlite_url):
    with session_scope(sqlite_url) as s:
        src = Source(name="a", kind="html", profile={})
        other = Source(name="b", kind="html", profile={})
        s.add_all([src, other])
        s.flush()
        doc, _ = save_document(s, DocumentIn(url="http://a.test/ad/1?utm_source=x", canonical_url="http://a.test/ad/1",
                                             text="保本保息", raw=b"<p>x</p>", source_id=src.id))
        ids = (src.id, other.id, doc.id)
    rec = _recorder(sqlite_url, ids[0])
    rec.record("http://a.test/ad/1", "http_error", "HTTP 404", http_status=404)
    rec.record("http://a.test/ad/1", "http_error", "HTTP 404", http_status=404)  # only one event
    _recorder(sqlite_url, ids[1]).record("http://a.test/ad/2", "http_error", "HTTP 410", http_status=410)
    rec.record("http://a.test/ad/1", "http_error", "HTTP 503", http_status=503)
    with session_scope(sqlite_url) as s:
        doc = s.get(Document, ids[2])
        assert doc.removed_status == 404 and doc.removed_at is not None and doc.current_version.text == "保本保息"
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "document.removed")).all()
        assert [(e.entity_id, e.after["http_status"]) for e in events] == [(str(ids[2]), 404)]
        assert {r.http_status for r in s.scalars(select(Rejection))} == {404, 410, 503}
    assert rec.crawler.stats.get_value("adscreen/documents_removed") == 1
