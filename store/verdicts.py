"""Idempotent verdict writes and the flags they raise.

A redelivered task (worker killed mid-batch, ``acks_late``) may score a document twice: the unique
(document version, detector versions) key and insert-or-ignore make the second write a no-op. A changed page is a
new version, so it is judged again under the same detectors.

Flags follow the rules of evidence: an open (or withdrawn) flag follows its document to the newest version; a
claimed or decided flag stays pinned to the version the inspector saw, and a newer version that is suspect raises
a flag of its own.
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
from store.units import route_flags

UNDECIDED = {FlagStatus.OPEN.value, FlagStatus.CLAIMED.value, FlagStatus.WITHDRAWN.value}
# flags nobody is looking at: they may move to a newer version of their document
MOVABLE = {FlagStatus.OPEN.value, FlagStatus.WITHDRAWN.value}


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
    # the version judged; None: the document's current version
    version_id: int | None = None


def _insert(session: Session):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def save_verdict(session: Session, document_id: int, v: VerdictIn) -> tuple[Verdict, bool]:
    """Store the verdict once; returns (verdict, created). Updates the document's flag to match."""
    return save_verdicts(session, [(document_id, v)])[0]


def save_verdicts(session: Session, items: list[tuple[int, VerdictIn]]) -> list[tuple[Verdict, bool]]:
    """A scoring batch in a handful of statements: insert-or-ignore verdicts, mark documents, sync their flags."""
    if not items:
        return []
    insert = _insert(session)
    now = utcnow()
    doc_ids = sorted({doc_id for doc_id, _ in items})
    current = dict(
        session.execute(select(Document.id, Document.current_version_id).where(Document.id.in_(doc_ids))).all()
    )
    resolved = [(doc_id, v.version_id or current[doc_id], v) for doc_id, v in items]
    rows = [
        dict(
            document_id=doc_id,
            version_id=version_id,
            detector_versions=v.detector_versions,
            score=v.score,
            level=v.level,
            flagged=v.flagged,
            keyword_score=v.keyword_score,
            classifier_prob=v.classifier_prob,
            hits=v.hits,
            explanation=v.explanation,
            detectors=v.detectors,
            created_at=now,
        )
        for doc_id, version_id, v in resolved
    ]
    # executemany of one cached statement (insertmanyvalues): a multi-row VALUES would recompile every batch
    stmt = (
        insert(Verdict)
        .on_conflict_do_nothing(index_elements=["version_id", "detector_versions"])
        .returning(Verdict.id)
    )
    created_ids = set(session.scalars(stmt, rows))
    version_ids = sorted({version_id for _, version_id, _ in resolved})
    versions = {v.detector_versions for _, v in items}
    stored = {
        (vd.version_id, vd.detector_versions): vd
        for vd in session.scalars(
            select(Verdict).where(Verdict.version_id.in_(version_ids), Verdict.detector_versions.in_(versions))
        )
    }
    session.execute(Document.__table__.update().where(Document.id.in_(doc_ids)).values(scored_at=now))
    flags_of: dict[int, list[Flag]] = {}
    for f in session.scalars(
        select(Flag).where(Flag.document_id.in_(doc_ids)).order_by(Flag.document_id, Flag.id).with_for_update()
    ):
        flags_of.setdefault(f.document_id, []).append(f)
    out: list[tuple[Verdict, bool]] = []
    to_raise: dict[tuple[int, int], tuple[Verdict, str | None]] = {}
    for doc_id, version_id, v in resolved:
        verdict = stored[(version_id, v.detector_versions)]
        out.append((verdict, verdict.id in created_ids))
        flags = flags_of.get(doc_id, [])
        same = next((f for f in flags if f.version_id == version_id), None)
        older = next((f for f in flags if f.status in MOVABLE and f.version_id < version_id), None)
        if same is not None:
            _update_flag(session, same, verdict, v.category)
        elif older is not None:
            _update_flag(session, older, verdict, v.category)
        elif verdict.flagged and not any(f.version_id > version_id for f in flags):
            to_raise[(doc_id, version_id)] = (verdict, v.category)
    if to_raise:
        _raise_flags(session, to_raise, now)
    route_flags(session, document_ids=doc_ids)  # the flags' unit, area, categories and search text (store.units)
    return out


def _raise_flags(session: Session, to_raise: dict[tuple[int, int], tuple[Verdict, str | None]], now) -> None:
    insert = _insert(session)
    rows = [
        dict(
            document_id=doc_id,
            version_id=version_id,
            verdict_id=verdict.id,
            status=FlagStatus.OPEN.value,
            priority=round(verdict.score, 4),
            level=verdict.level,
            category=category,
            created_at=now,
            updated_at=now,
        )
        for (doc_id, version_id), (verdict, category) in sorted(to_raise.items())
    ]
    stmt = (
        insert(Flag)
        .on_conflict_do_nothing(index_elements=["document_id", "version_id"])
        .returning(Flag.id, Flag.document_id, Flag.version_id)
    )
    for flag_id, doc_id, version_id in session.execute(stmt, rows).all():
        verdict = to_raise[(doc_id, version_id)][0]
        audit.record(
            session,
            "system",
            "flag.raise",
            "flag",
            flag_id,
            None,
            {"score": round(verdict.score, 4), "level": verdict.level, "version_id": version_id},
        )


def _update_flag(session: Session, flag: Flag, verdict: Verdict, category: str | None) -> None:
    """Refresh, move or withdraw an undecided flag; decided flags are never touched by a machine.

    A claimed flag is refreshed only on the version it is pinned to (the inspector is reading that one).
    """
    if flag.status not in UNDECIDED or flag.verdict_id == verdict.id:
        return
    if flag.version_id != verdict.version_id and flag.status not in MOVABLE:
        return
    before = {
        "status": flag.status,
        "score": flag.priority,
        "verdict_id": flag.verdict_id,
        "version_id": flag.version_id,
    }
    flag.verdict_id = verdict.id
    flag.version_id = verdict.version_id
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
        {"status": flag.status, "score": flag.priority, "verdict_id": verdict.id, "version_id": flag.version_id},
    )


def latest_verdict(session: Session, document_id: int) -> Verdict | None:
    """The newest verdict on the document's current version."""
    return session.scalar(
        select(Verdict)
        .join(Document, Document.current_version_id == Verdict.version_id)
        .where(Document.id == document_id)
        .order_by(Verdict.id.desc())
        .limit(1)
    )
