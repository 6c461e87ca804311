"""The inspectors' flag queue: listing, claiming (one inspector per case), releasing and deciding.

Claims use ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL so that concurrent inspectors never receive the
same case; the compare-and-set UPDATE that follows keeps SQLite (demo mode) correct as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from store import audit
from store.models import Decision, Document, Flag, FlagStatus, utcnow

DECISIONS = {
    "confirm": FlagStatus.CONFIRMED,
    "dismiss": FlagStatus.DISMISSED,
    "escalate": FlagStatus.ESCALATED,
}
DISMISS_REASONS = {"ad_law", "finance_legit", "loan_ad", "warning_news", "other_ad", "normal"}


class QueueError(RuntimeError):
    """A queue operation that is not allowed in the flag's current state."""


@dataclass
class QueueFilter:
    status: str | None = None
    level: str | None = None
    category: str | None = None
    source_id: int | None = None
    region: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def claimable(now: datetime, inspector: str | None = None):
    """THE claim rule, as SQL (every other check in the app asks this one): an open flag, a claim that has
    expired, or, when ``inspector`` is given, that inspector's own claim (taking it again renews it).

    A decided, escalated or withdrawn flag is never claimable: an escalated case is decided by an admin without a
    claim (``decide(..., require_claim=False)``), so that releasing it cannot drop the escalation.
    """
    taken = [Flag.claim_expires_at < now]
    if inspector is not None:
        taken.append(Flag.assignee == inspector)
    return or_(
        Flag.status == FlagStatus.OPEN.value,
        and_(Flag.status == FlagStatus.CLAIMED.value, or_(*taken)),
    )


def can_claim(session: Session, flag_id: int, inspector: str) -> bool:
    """Whether ``inspector`` may take this flag now, by the rule in :func:`claimable` (asked of the database)."""
    found = session.scalar(select(Flag.id).where(Flag.id == flag_id, claimable(utcnow(), inspector)))
    return found is not None


def _apply_filter(stmt, f: QueueFilter | None):
    if f is None:
        return stmt
    if f.status:
        stmt = stmt.where(Flag.status == f.status)
    if f.level:
        stmt = stmt.where(Flag.level == f.level)
    if f.category:
        stmt = stmt.where(Flag.category == f.category)
    if f.source_id is not None or f.region:
        stmt = stmt.join(Document, Document.id == Flag.document_id)
        if f.source_id is not None:
            stmt = stmt.where(Document.source_id == f.source_id)
        if f.region:
            stmt = stmt.where(Document.region == f.region)
    if f.since:
        stmt = stmt.where(Flag.created_at >= f.since)
    if f.until:
        stmt = stmt.where(Flag.created_at < f.until)
    return stmt


def list_flags(
    session: Session, f: QueueFilter | None = None, limit: int = 100, offset: int = 0
) -> list[Flag]:
    """Flags by priority (score), then freshness."""
    stmt = select(Flag).order_by(Flag.priority.desc(), Flag.created_at.desc(), Flag.id)
    return list(session.scalars(_apply_filter(stmt, f).limit(limit).offset(offset)))


def counts_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(Flag.status, func.count()).group_by(Flag.status))
    return {status: n for status, n in rows}


def claim_next(
    session: Session, inspector: str, ttl_seconds: int, f: QueueFilter | None = None
) -> Flag | None:
    """Hand the highest-priority claimable flag to ``inspector``; None when the queue is empty."""
    now = utcnow()
    stmt = (
        select(Flag)
        .where(claimable(now))  # not the inspector's own claims: the next case is a new one
        .order_by(Flag.priority.desc(), Flag.created_at.desc(), Flag.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if f is not None:
        stmt = _apply_filter(stmt, QueueFilter(**{**f.__dict__, "status": None}))
    for _ in range(5):
        flag = session.scalar(stmt)
        if flag is None:
            return None
        if _take(session, flag, inspector, now, ttl_seconds):
            return flag
    return None


def claim(session: Session, flag_id: int, inspector: str, ttl_seconds: int) -> Flag:
    """Take the flag (or renew one's own claim); QueueError when :func:`claimable` says no."""
    flag = session.get(Flag, flag_id)
    if flag is None:
        raise QueueError(f"flag {flag_id} does not exist")
    if not _take(session, flag, inspector, utcnow(), ttl_seconds):
        raise QueueError(f"flag {flag_id} is {flag.status} by {flag.assignee}")
    return flag


def _take(session: Session, flag: Flag, inspector: str, now: datetime, ttl_seconds: int) -> bool:
    """Compare-and-set: only one concurrent caller's UPDATE matches the claimable condition.

    Renewing one's own live claim extends it without a new audit event (it is the same claim).
    """
    before = {"status": flag.status, "assignee": flag.assignee}
    renewal = before["status"] == FlagStatus.CLAIMED.value and before["assignee"] == inspector
    result = session.execute(
        update(Flag)
        .where(Flag.id == flag.id, claimable(now, inspector))
        .values(
            status=FlagStatus.CLAIMED.value,
            assignee=inspector,
            claimed_at=now,
            claim_expires_at=now + timedelta(seconds=ttl_seconds),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    session.refresh(flag)
    if not renewal:
        audit.record(session, inspector, "flag.claim", "flag", flag.id, before, {"assignee": inspector})
    return True


def release(session: Session, flag_id: int, inspector: str) -> Flag:
    flag = session.get(Flag, flag_id, with_for_update=True)
    if flag is None or flag.status != FlagStatus.CLAIMED.value or flag.assignee != inspector:
        raise QueueError(f"flag {flag_id} is not claimed by {inspector}")
    flag.status = FlagStatus.OPEN.value
    flag.assignee = None
    flag.claim_expires_at = None
    audit.record(
        session, inspector, "flag.release", "flag", flag.id, {"assignee": inspector}, {"status": "open"}
    )
    return flag


def decide(
    session: Session,
    flag_id: int,
    reviewer: str,
    action: str,
    reason: str | None = None,
    note: str = "",
    *,
    require_claim: bool = True,
) -> Decision:
    """Record an inspector's decision; the flag must be claimed by the reviewer unless ``require_claim`` is off."""
    if action not in DECISIONS:
        raise QueueError(f"unknown action {action!r}; expected one of {sorted(DECISIONS)}")
    if action == "dismiss" and reason not in DISMISS_REASONS:
        raise QueueError(f"a dismissal needs a reason among {sorted(DISMISS_REASONS)}")
    flag = session.get(Flag, flag_id, with_for_update=True)
    if flag is None:
        raise QueueError(f"flag {flag_id} does not exist")
    if require_claim and (flag.status != FlagStatus.CLAIMED.value or flag.assignee != reviewer):
        raise QueueError(f"flag {flag_id} must be claimed by {reviewer} before deciding")
    before = {"status": flag.status, "assignee": flag.assignee}
    flag.status = DECISIONS[action].value
    flag.assignee = reviewer
    flag.claim_expires_at = None
    decision = Decision(flag_id=flag.id, reviewer=reviewer, action=action, reason=reason, note=note)
    session.add(decision)
    session.flush()
    audit.record(
        session,
        reviewer,
        f"flag.{action}",
        "flag",
        flag.id,
        before,
        {"status": flag.status, "reason": reason, "note": note, "decision_id": decision.id},
    )
    return decision


def mark_referred(session: Session, flag_ids: list[int], actor: str) -> int:
    """Confirmed cases handed to the bureau become ``referred``."""
    n = 0
    for flag in session.scalars(select(Flag).where(Flag.id.in_(flag_ids)).with_for_update()):
        if flag.status != FlagStatus.CONFIRMED.value:
            continue
        flag.status = FlagStatus.REFERRED.value
        flag.referred_at = utcnow()
        audit.record(
            session, actor, "flag.refer", "flag", flag.id, {"status": "confirmed"}, {"status": "referred"}
        )
        n += 1
    return n
