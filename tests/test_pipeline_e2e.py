"""The whole path on real parts: beat's schedule task → crawl task → crawler pipeline → scoring task → queue.

Everything is sent to a real Celery worker through the real Redis, and lands in the real PostgreSQL.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from demo_site import crawl_profiles
from demo_site.content import expected_labels
from demo_site.server import start_in_thread
from store.db import session_scope
from store.models import Document, Flag, Rejection, Source, Verdict
from store.sources import upsert_source
from tests.workers import WorkerProcess, client, wait_for, worker_env


@pytest.fixture
def demo_site_url():
    server, base_url = start_in_thread("127.0.0.1", 0)
    yield base_url
    server.shutdown()
    server.server_close()


def test_scheduled_crawl_of_the_demo_site_ends_in_the_queue(
    pg_url, redis_url, namespace, tmp_path, demo_site_url
):
    with session_scope(pg_url) as s:
        for p in crawl_profiles(demo_site_url):
            upsert_source(s, p, actor="test")
    worker = WorkerProcess(
        worker_env(pg_url, redis_url, namespace, tmp_path), tmp_path / "w.log", concurrency=2
    )
    try:
        worker.wait_ready()
        client(redis_url).send_task("adscreen.schedule_crawls", queue=namespace)
        expected = expected_labels()

        def settled() -> bool:
            with session_scope(pg_url) as s:
                docs = s.scalar(select(func.count(Document.id))) or 0
                rejected = s.scalar(select(func.count(Rejection.id))) or 0
                unscored = s.scalar(select(func.count(Document.id)).where(Document.scored_at.is_(None)))
                return docs + rejected >= len(expected) and unscored == 0

        wait_for(settled, 240, f"the crawl and its scoring (see {worker.log_path})")
    finally:
        worker.stop()

    with session_scope(pg_url) as s:
        assert all(src.last_crawled_at is not None for src in s.scalars(select(Source)))
        seen = {urlsplit(u).path for (u,) in s.execute(select(Document.url))}
        seen |= {urlsplit(u).path for (u,) in s.execute(select(Rejection.url))}
        assert set(expected) <= seen, "every page ends as a document or a recorded rejection"
        verdicts = dict(
            s.execute(select(Verdict.document_id, func.count()).group_by(Verdict.document_id)).all()
        )
        n_docs = s.scalar(select(func.count(Document.id)))
        assert len(verdicts) == n_docs and set(verdicts.values()) == {1}, "one verdict per document"
        flagged = set(s.scalars(select(Verdict.document_id).where(Verdict.flagged.is_(True))))
        queued = set(s.scalars(select(Flag.document_id)))
        assert flagged and flagged == queued, "exactly the flagged documents are in the queue"
        urls = dict(s.execute(select(Document.id, Document.url)).all())
    positives = {
        doc_id
        for doc_id, u in urls.items()
        if expected.get(urlsplit(u).path, {}).get("expected") == "fundraising"
    }
    hit = len(flagged & positives) / len(positives)
    false_alarms = len(flagged - positives) / (len(urls) - len(positives))
    assert hit >= 0.7, f"keyword lexicon alone finds most demo pitches (recall {hit:.2f})"
    assert false_alarms <= 0.2, f"few false alarms among the demo's negatives ({false_alarms:.2f})"
