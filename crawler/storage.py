"""Saving documents off the crawl loop, in batches: one transaction (one commit) for whatever has queued up
while the previous batch was being written.

``save_document`` costs milliseconds per page (SimHash, near-duplicate grouping, ORM, a commit); batching removes
most of the per-commit cost and the worker thread keeps the downloader going meanwhile.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import IntegrityError

from store.db import session_scope
from store.documents import DocumentIn, save_document

log = logging.getLogger(__name__)
Result = tuple[int, str]


def save_one(database_url: str | None, doc_in: DocumentIn) -> Result:
    """Save one document; returns ``(id, "new"|"updated"|"unchanged")``."""
    for attempt in range(2):
        try:
            with session_scope(database_url) as session:
                doc, status = save_document(session, doc_in)
                return doc.id, status
        except IntegrityError:  # another crawler process stored the same URL first: the retry updates it
            if attempt:
                raise
    raise AssertionError("unreachable")


def save_many(database_url: str | None, docs: list[DocumentIn]) -> list[Result | BaseException]:
    """Save a batch in one transaction; if it fails, item by item so that one bad document fails alone."""
    try:
        with session_scope(database_url) as session:
            results: list[Result | BaseException] = []
            for doc_in in docs:
                doc, status = save_document(session, doc_in)
                results.append((doc.id, status))
            return results
    except Exception:
        if len(docs) == 1:
            raise
        log.warning("batch of %d documents failed; saving one by one", len(docs), exc_info=True)
    out: list[Result | BaseException] = []
    for doc_in in docs:
        try:
            out.append(save_one(database_url, doc_in))
        except Exception as exc:  # reported to that item's pipeline call → item_error → rejection
            out.append(exc)
    return out


class BatchSaver:
    """Queue documents; a single writer thread saves what has accumulated, up to ``max_batch`` at a time."""

    def __init__(self, database_url: str | None, max_batch: int = 50) -> None:
        self.database_url = database_url
        self.max_batch = max_batch
        self.queue: list[tuple[DocumentIn, asyncio.Future[Result]]] = []
        self.writer: asyncio.Task[None] | None = None

    async def save(self, doc_in: DocumentIn) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self.queue.append((doc_in, future))
        if self.writer is None or self.writer.done():
            self.writer = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        while self.queue:
            batch, self.queue = self.queue[: self.max_batch], self.queue[self.max_batch :]
            try:
                results = await asyncio.to_thread(save_many, self.database_url, [d for d, _ in batch])
            except BaseException as exc:  # noqa: BLE001 - every waiting item must learn the outcome
                results = [exc] * len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
