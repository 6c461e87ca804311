"""Idempotent verdict writes and the flags they raise.

A redelivered task (worker killed mid-batch, ``acks_late``) may score a document twice: the unique
(document, detector versions) key and insert-or-ignore make the second write a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from store import audit
from store.models import Document, Flag, FlagStatus, Verdict, utcnow

UNDECIDED = {FlagStatus.OPEN.value, FlagStatus.CLAIMED.value, FlagStatus.WITHDRAWN.value}


@dataclass
class VerdictIn:
    score: float
    level: str
    flagged: bool
    detector_versions: str
    keyword_score: float | None = None
    classifier_prob: float | None = None
    hits: list[dict[str, Any]] = field(default_factory=list)
    explanation: str = ""
    detectors: list[str] = field(default_factory=list)
    category: str | None = None


def _insert(session: Session):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def save_verdict(session: Session, document_id: int, v: VerdictIn) -> tuple[Verdict, bool]:
    """Store the verdict once; returns (verdict, created). Updates the document's flag to match."""
    insert = _insert(session)
    values = dict(
        document_id=document_id,
        detector_versions=v.detector_versions,
        score=v.score,
        level=v.level,
        flagged=v.flagged,
        keyword_score=v.keyword_score,
        classifier_prob=v.classifier_prob,
        hits=v.hits,
        explanation=v.explanation,
        detectors=v.detectors,
        created_at=utcnow(),
    )
    stmt = (
        insert(Verdict)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["document_id", "detector_versions"])
        .returning(Verdict.id)
    )
    created = session.execute(stmt).scalar() is not None
    verdict = session.scalar(
        select(Verdict).where(
            Verdict.document_id == document_id, Verdict.detector_versions == v.detector_versions
        )
    )
    session.execute(Document.__table__.update().where(Document.id == document_id).values(scored_at=utcnow()))
    _sync_flag(session, verdict, v.category)
    return verdict, created


def _sync_flag(session: Session, verdict: Verdict, category: str | None) -> None:
    """Raise, refresh or withdraw the document's flag; decided flags are never touched by a machine."""
    flag = session.scalar(select(Flag).where(Flag.document_id == verdict.document_id).with_for_update())
    if flag is None:
        if not verdict.flagged:
            return
        insert = _insert(session)
        session.execute(
            insert(Flag)
            .values(
                document_id=verdict.document_id,
                verdict_id=verdict.id,
                status=FlagStatus.OPEN.value,
                priority=round(verdict.score, 4),
                level=verdict.level,
                category=category,
                created_at=utcnow(),
                updated_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["document_id"])
        )
        flag = session.scalar(select(Flag).where(Flag.document_id == verdict.document_id))
        if flag is not None and flag.verdict_id == verdict.id:
            audit.record(session, "system", "flag.raise", "flag", flag.id, None, {"score": verdict.score})
        return
    if flag.status not in UNDECIDED or flag.verdict_id == verdict.id:
        return
    before = {"status": flag.status, "score": flag.priority, "verdict_id": flag.verdict_id}
    flag.verdict_id = verdict.id
    flag.priority = round(verdict.score, 4)
    flag.level = verdict.level
    flag.category = category
    if not verdict.flagged and flag.status == FlagStatus.OPEN.value:
        flag.status = FlagStatus.WITHDRAWN.value
    elif verdict.flagged and flag.status == FlagStatus.WITHDRAWN.value:
        flag.status = FlagStatus.OPEN.value
    audit.record(
        session,
        "system",
        "flag.rescore",
        "flag",
        flag.id,
        before,
        {"status": flag.status, "score": flag.priority, "verdict_id": verdict.id},
    )


def latest_verdict(session: Session, document_id: int) -> Verdict | None:
    return session.scalar(
        select(Verdict).where(Verdict.document_id == document_id).order_by(Verdict.id.desc()).limit(1)
    )
