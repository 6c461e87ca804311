"""Celery tasks. Each is a thin shell over a function that the embedded demo can call in-process too."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from adscreen.settings import get_settings
from scoring.documents import score_document_ids
from scoring.engine import process_scorer
from store.db import session_scope
from store.documents import rescore_ids
from store.models import Document, Source, utcnow
from worker.celery_app import app

log = logging.getLogger(__name__)
DB_DOWN = (OperationalError, DBAPIError)


def chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


@app.task(
    name="adscreen.score_batch",
    autoretry_for=DB_DOWN,
    retry_backoff=2,
    retry_backoff_max=120,
    max_retries=12,
)
def score_batch(document_ids: list[int]) -> dict[str, int]:
    s = get_settings()
    result = score_document_ids(s.database_url, document_ids, process_scorer(s), delay_ms=s.score_delay_ms)
    return result.__dict__


@app.task(name="adscreen.crawl_source", autoretry_for=DB_DOWN, retry_backoff=5, max_retries=5)
def crawl_source(name: str) -> dict:
    from crawler.run import crawl_source as run_crawl

    stats = run_crawl(name, get_settings().database_url)
    with session_scope(get_settings().database_url) as session:
        session.execute(update(Source).where(Source.name == name).values(last_crawled_at=utcnow()))
    return stats


def enqueue_scoring(ids: list[int]) -> int:
    """Send ids to the scoring queue in batches; returns the number of batches."""
    from worker.dispatch import send

    batches = chunks(ids, get_settings().score_batch_size)
    for batch in batches:
        send("adscreen.score_batch", batch)
    return len(batches)


@app.task(name="adscreen.rescore", autoretry_for=DB_DOWN, retry_backoff=2, max_retries=8)
def rescore(scope: str = "open") -> int:
    """After a lexicon or model change: score again the documents of undecided flags (or every document)."""
    with session_scope(get_settings().database_url) as session:
        ids = rescore_ids(session, scope)
    return enqueue_scoring(ids)


@app.task(name="adscreen.sweep_unscored", autoretry_for=DB_DOWN, retry_backoff=2, max_retries=8)
def sweep_unscored() -> int:
    """Re-enqueue documents left unscored (a lost message, a broker restart); returns how many."""
    s = get_settings()
    cutoff = utcnow() - timedelta(seconds=s.sweeper_min_age_seconds)
    with session_scope(get_settings().database_url) as session:
        ids = list(
            session.scalars(
                select(Document.id)
                .where(Document.scored_at.is_(None), Document.fetched_at < cutoff)
                .limit(50_000)
            )
        )
    enqueue_scoring(ids)
    return len(ids)


@app.task(name="adscreen.schedule_crawls")
def schedule_crawls() -> list[str]:
    """Beat calls this every minute; each source is crawled when its own interval has passed."""
    from worker.dispatch import send

    now = utcnow()
    due: list[str] = []
    with session_scope(get_settings().database_url) as session:
        for source in session.scalars(select(Source).where(Source.enabled.is_(True))):
            last = source.last_crawled_at
            if last is not None and last.tzinfo is None:
                last = last.replace(tzinfo=now.tzinfo)
            if last is None or last + timedelta(seconds=source.interval_seconds) <= now:
                # claim the slot first so that two beat ticks never enqueue the same crawl twice
                claimed = session.execute(
                    update(Source)
                    .where(Source.id == source.id)
                    .where(
                        or_(
                            Source.last_crawled_at.is_(None), Source.last_crawled_at == source.last_crawled_at
                        )
                    )
                    .values(last_crawled_at=now)
                ).rowcount
                if claimed:
                    due.append(source.name)
    for name in due:
        send("adscreen.crawl_source", name)
    return due
