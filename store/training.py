"""Inspectors' decisions as labelled rows: the feedback loop from the queue to the classifier."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.fields import compose
from store.models import Decision, DocumentVersion, Flag

LABELS = {"confirm": "fundraising", "dismiss": "negative"}


def decision_rows(session: Session) -> list[dict[str, Any]]:
    """One row per decided case, from its latest confirm/dismiss decision (escalations carry no label)."""
    latest: dict[int, Decision] = {}
    for d in session.scalars(select(Decision).where(Decision.action.in_(LABELS)).order_by(Decision.id)):
        latest[d.flag_id] = d
    rows = []
    for flag_id, d in sorted(latest.items()):
        # the version the inspector judged, not whatever the page says today
        version = session.scalar(
            select(DocumentVersion).join(Flag, Flag.version_id == DocumentVersion.id).where(Flag.id == flag_id)
        )
        if version is None:
            continue
        text = compose(version.fields()).text  # what the detectors read
        rows.append(
            {
                "id": f"decision-{d.id}",
                "source": "inspector-decisions",
                "text": text,
                "label": LABELS[d.action],
                "subtype": "fundraising" if d.action == "confirm" else (d.reason or "negative"),
                "reviewer": d.reviewer,
                "decided_at": d.created_at.isoformat(),
                "version_sha256": version.raw_sha256,
            }
        )
    return rows
