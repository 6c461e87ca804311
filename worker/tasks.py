"""Celery tasks. Each is a thin shell over a function that the embedded demo can call in-process too.

Tasks call their sibling tasks directly (through ``celery_app.submit``), never through ``worker.dispatch``: that
module is for producers outside the worker, and the two do not import each other.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError

from adscreen.settings import get_settings
from operators.cli import risk_config
from scoring.documents import score_document_ids
from scoring.engine import process_scorer
from store.db import session_scope
from store.documents import rescore_ids
from store.images import awaiting_ocr_of_documents, versions_awaiting_ocr
from store.models import Source, utcnow
from store.sources import mark_crawled
from store.sweep import stale_unscored_ids
from worker.celery_app import app, submit

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
    result = score_document_ids(
        s.database_url, document_ids, process_scorer(s), delay_ms=s.score_delay_ms, risk=risk_config(s)
    )
    if s.use_ocr:  # the text verdicts are committed: now the images, on their own queue
        with session_scope(s.database_url) as session:
            enqueue_images(awaiting_ocr_of_documents(session, document_ids))
    return result.__dict__


@app.task(
    name="adscreen.read_images",
    autoretry_for=DB_DOWN,
    retry_backoff=2,
    retry_backoff_max=120,
    max_retries=12,
)
def read_images(version_ids: list[int]) -> dict[str, int]:
    """OCR and QR codes of the versions' images, then their verdict with the ``ocr`` field (``scoring.images``)."""
    from imaging.check import Limits
    from imaging.ocr import process_engine
    from scoring.images import read_and_score_versions

    s = get_settings()
    engine = process_engine(s.ocr_threads or min(2, os.cpu_count() or 1))
    limits = Limits(max_bytes=s.max_image_bytes, max_pixels=s.max_image_pixels)
    scorer = process_scorer(s)
    return read_and_score_versions(s.database_url, version_ids, scorer, engine, limits, risk_config(s)).__dict__


IMAGE_BATCH = 8  # versions per images task: a few seconds of OCR


def enqueue_images(version_ids: list[int]) -> int:
    """Send versions with unread images to the ``images`` queue (in-process in the embedded mode)."""
    batches = chunks(sorted(set(version_ids)), IMAGE_BATCH)
    for batch in batches:
        submit(read_images, batch)
    return len(batches)


@app.task(name="adscreen.crawl_source", autoretry_for=DB_DOWN, retry_backoff=5, max_retries=5)
def crawl_source(name: str) -> dict:
    """Crawl one source; the crawl itself records ``last_crawled_at`` (``store.sources.mark_crawled``).

    A source disabled (or removed) after the crawl was queued is refused, not retried: the refusal is the result.
    """
    from crawler.run import CrawlRefused
    from crawler.run import crawl_source as run_crawl

    try:
        return run_crawl(name, settings=get_settings())
    except CrawlRefused as exc:
        log.warning("crawl of %s refused: %s", name, exc)
        return {"refused": str(exc)}


def enqueue_scoring(ids: list[int]) -> int:
    """Send ids to the scoring queue in batches; returns the number of batches."""
    batches = chunks(ids, get_settings().score_batch_size)
    for batch in batches:
        submit(score_batch, batch)
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
    with session_scope(s.database_url) as session:
        ids = stale_unscored_ids(session, s.sweeper_min_age_seconds)
        unread = (
            versions_awaiting_ocr(session, before=utcnow() - timedelta(seconds=s.sweeper_min_age_seconds))
            if s.use_ocr
            else []
        )
    enqueue_scoring(ids)
    enqueue_images(unread)  # images whose task was lost, or whose banner another worker was still reading
    return len(ids)


@app.task(name="adscreen.schedule_crawls")
def schedule_crawls() -> list[str]:
    """Beat calls this every minute; each source is crawled when its own interval has passed."""
    now = utcnow()
    due: list[str] = []
    with session_scope(get_settings().database_url) as session:
        # Claim the slot before sending, so that two overlapping beat ticks never enqueue the same crawl twice: the
        # row lock (SKIP LOCKED on PostgreSQL) keeps a second tick off a source the first one is claiming.
        sources = session.scalars(
            select(Source).where(Source.enabled.is_(True)).order_by(Source.id).with_for_update(skip_locked=True)
        )
        for source in sources:
            last = source.last_crawled_at
            if last is not None and last.tzinfo is None:
                last = last.replace(tzinfo=now.tzinfo)
            if last is None or last + timedelta(seconds=source.interval_seconds) <= now:
                mark_crawled(session, source.id, now)
                due.append(source.name)
    for name in due:
        submit(crawl_source, name)
    return due


@app.task(name="adscreen.deliver_warnings", autoretry_for=DB_DOWN, retry_backoff=2, max_retries=8)
def deliver_warnings() -> dict[str, int]:
    """Beat: POST pending early warnings to ``ADSCREEN_WARNING_WEBHOOK_URL`` (signed, retried); none set: nothing.

    Rows being delivered are locked (SKIP LOCKED on PostgreSQL), so that overlapping ticks never send one twice.
    """
    from store.operators import deliver_warnings as deliver

    s = get_settings()
    if not s.warning_webhook_url:
        return {}
    with session_scope(s.database_url) as session:
        return deliver(session, s.warning_webhook_url, s.warning_webhook_secret)
