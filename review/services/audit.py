"""Reading the audit log (admins): the same filters for the page and the API, newest first, keyset pages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from review.services.filters import clean_text
from store.models import AuditEvent


def list_events(
    session: Session,
    actor: str | None,
    entity: str | None,
    entity_id: str | None,
    limit: int,
    before: int | None = None,
) -> list[AuditEvent]:
    """Newest first (``before``: only events older than that id, the next page); an unusable filter value (NUL,
    lone surrogate) is dropped rather than sent to the database."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(1, min(limit, 5000)))
    for column, value, size in (
        (AuditEvent.actor, actor, 100),
        (AuditEvent.entity, entity, 40),
        (AuditEvent.entity_id, entity_id, 64),
    ):
        value = clean_text(value, size)
        if value:
            stmt = stmt.where(column == value)
    if before is not None:
        stmt = stmt.where(AuditEvent.id < before)
    return list(session.scalars(stmt))
