"""Reading the audit log (admins): the same filters for the page and the API."""

from __future__ import annotations

from sqlalchemy.orm import Session

from review.services.filters import clean_text
from store import audit
from store.models import AuditEvent


def list_events(
    session: Session, actor: str | None, entity: str | None, entity_id: str | None, limit: int
) -> list[AuditEvent]:
    """Newest first; an unusable filter value (NUL, lone surrogate) is dropped rather than sent to the database."""
    return audit.events(
        session,
        actor=clean_text(actor, 100),
        entity=clean_text(entity, 40),
        entity_id=clean_text(entity_id, 64),
        limit=max(1, min(limit, 5000)),
    )
