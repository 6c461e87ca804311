"""The queue as lists: one page of flags (keyset-paginated, everything a row shows loaded in a few queries), the
user's own claims, the filter choices. Pages and API call the same functions.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from review.services import scope
from store import queue, units
from store.models import Document, DocumentVersion, Flag, FlagStatus, Unit, User

PAGE_SIZE = 50


def encode_cursor(c: queue.Cursor) -> str:
    """An opaque ``after`` value: the last row's priority, creation time and id."""
    priority, created, fid = c
    raw = f"{priority!r}|{int(created.timestamp() * 1_000_000)}|{fid}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(value: str | None) -> queue.Cursor | None:
    """None for anything that is not a cursor this app made (a bad value shows the first page)."""
    if not value or len(value) > 100:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        p, micros, fid = raw.split("|")
        when = datetime.fromtimestamp(int(micros) / 1_000_000, UTC)
        number = int(fid)
        if not 0 < number < 2**31:
            return None
        return (float(p), when, number)
    except (ValueError, UnicodeDecodeError, OverflowError, OSError):
        return None


def _row_options():  # noqa: ANN202
    return (
        selectinload(Flag.version)
        .load_only(DocumentVersion.id, DocumentVersion.title, DocumentVersion.text, DocumentVersion.number)
        .selectinload(DocumentVersion.ocr_record),  # fields() includes the images' text
        selectinload(Flag.document)
        .load_only(Document.id, Document.url, Document.group_id, Document.source_id)
        .selectinload(Document.source),
    )


@dataclass
class QueuePage:
    flags: list[Flag]
    next_cursor: str | None


def queue_page(
    session: Session,
    user: User,
    f: queue.QueueFilter,
    limit: int = PAGE_SIZE,
    after: str | None = None,
    offset: int = 0,
) -> QueuePage:
    """One page of the queue within the user's scope; ``next_cursor`` continues it (None: last page)."""
    f = scope.scoped(session, user, f)
    stmt = queue.apply_filter(select(Flag).order_by(*queue.ORDER), f).options(*_row_options())
    cursor = decode_cursor(after)
    if cursor is not None:
        stmt = queue.after_cursor(stmt, cursor)
    flags = list(session.scalars(stmt.limit(limit + 1).offset(offset)))
    more = len(flags) > limit
    flags = flags[:limit]
    return QueuePage(flags, encode_cursor(queue.cursor_of(flags[-1])) if more and flags else None)


def my_claims(session: Session, user: User, limit: int = 100) -> list[Flag]:
    """The user's own claimed cases (their claims, not the top claims of everyone filtered afterwards)."""
    f = queue.QueueFilter(status=FlagStatus.CLAIMED.value, assignee=user.username)
    stmt = queue.apply_filter(select(Flag).order_by(*queue.ORDER), f).options(*_row_options())
    return list(session.scalars(stmt.limit(limit)))


def qa_waiting(session: Session, user: User, limit: int = 50) -> list[Flag]:
    """Sampled dismissals waiting for a second reader (not the user's own)."""
    f = scope.scoped(session, user, queue.QueueFilter(qa_pending=True))
    stmt = queue.apply_filter(select(Flag).order_by(Flag.id), f).where(Flag.assignee != user.username)
    return list(session.scalars(stmt.options(*_row_options()).limit(limit)))


def unit_choices(session: Session, user: User) -> list[Unit]:
    """The units the user may filter by: their own, or all."""
    allowed = scope.units_of(session, user)
    return [u for u in units.units(session) if allowed is None or u.code in allowed]


def counts(session: Session, user: User) -> dict[str, int]:
    return queue.counts_by_status(session, scope.units_of(session, user))
