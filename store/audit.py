"""Append-only audit log: every decision and every change, with who, when, before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import AuditEvent


def record(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: object = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor=actor,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=before,
        after=after,
    )
    session.add(event)
    return event


def events(
    session: Session,
    *,
    actor: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    limit: int = 200,
) -> list[AuditEvent]:
    """Events newest first, optionally only those of one actor, entity kind or entity."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if actor:
        stmt = stmt.where(AuditEvent.actor == actor)
    if entity:
        stmt = stmt.where(AuditEvent.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    return list(session.scalars(stmt))
