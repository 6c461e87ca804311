"""The inspectors' flag queue: listing, claiming (one inspector per case), releasing, deciding, and the work around
a decision (assignment, reopening, the second inspector of a referral, QA sampling of dismissals, comments).

Claims use ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL so that concurrent inspectors never receive the
same case; the compare-and-set UPDATE that follows keeps SQLite (demo mode) correct as well.

Lists are keyset-paginated (``after`` = the last row's sort key), so a page deep in a province's queue costs what
the first one does. Filters read the flag's own denormalised columns (``store.units.route_flags``): the region
filter matches a parent area (睢阳 finds 河南省商丘市睢阳区), the category filter any hit's category, ``q`` the
search text (``store.search``), ``units`` restricts to the units an inspector is scoped to.

Error messages are Chinese: the review app shows them to inspectors as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from store import audit
from store.models import CaseComment, Decision, Flag, FlagCategory, FlagStatus, utcnow
from store.search import normalize_query, search_condition
from store.units import area_condition, parse_region

DECISIONS = {
    "confirm": FlagStatus.CONFIRMED,
    "dismiss": FlagStatus.DISMISSED,
    "escalate": FlagStatus.ESCALATED,
}
DISMISS_REASONS = {"ad_law", "finance_legit", "loan_ad", "warning_news", "other_ad", "normal"}
STATUS_LABELS = {
    "open": "待处理",
    "claimed": "处理中",
    "confirmed": "已确认",
    "dismissed": "已排除",
    "referred": "已移送",
    "escalated": "已上报",
    "withdrawn": "已撤回",
}
DECIDED = {FlagStatus.CONFIRMED.value, FlagStatus.DISMISSED.value, FlagStatus.ESCALATED.value}
ORDER = (Flag.priority.desc(), Flag.created_at.desc(), Flag.id)


class QueueError(RuntimeError):
    """A queue operation that is not allowed in the flag's current state (the message is for the inspector)."""


class ReasonRequired(QueueError):
    """A dismissal without a reason: the form is shown again with the message in place."""


@dataclass
class QueueFilter:
    status: str | None = None
    level: str | None = None
    category: str | None = None  # any hit's category (flag_categories)
    source_id: int | None = None
    region: str | None = None  # a parent area (parsed), else a substring of the region text
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive (callers pass the day after the last day shown)
    unit: str | None = None
    q: str | None = None  # search text (store.search)
    assignee: str | None = None
    qa_pending: bool = False
    # the units the caller may see (an inspector scoped to units); None: every unit
    units: list[str] | None = field(default=None)


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


def apply_filter(stmt, f: QueueFilter | None):
    if f is None:
        return stmt
    if f.status:
        stmt = stmt.where(Flag.status == f.status)
    if f.level:
        stmt = stmt.where(Flag.level == f.level)
    if f.category:
        stmt = stmt.where(
            Flag.id.in_(select(FlagCategory.flag_id).where(FlagCategory.category == f.category))
        )
    if f.source_id is not None:
        stmt = stmt.where(Flag.source_id == f.source_id)
    if f.region:
        area = parse_region(f.region)
        if area.level is not None:
            stmt = stmt.where(area_condition(area))
        else:
            stmt = stmt.where(Flag.region.like(f"%{_escape(f.region)}%", escape="\\"))
    if f.unit:
        stmt = stmt.where(Flag.unit == f.unit)
    if f.units is not None:
        stmt = stmt.where(Flag.unit.in_(f.units))
    if f.assignee:
        stmt = stmt.where(Flag.assignee == f.assignee)
    if f.qa_pending:
        stmt = stmt.where(Flag.qa_status == "pending")
    if f.q:
        q = normalize_query(f.q)
        if q:
            stmt = stmt.where(search_condition(q))
    if f.since:
        stmt = stmt.where(Flag.created_at >= f.since)
    if f.until:
        stmt = stmt.where(Flag.created_at < f.until)
    return stmt


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


Cursor = tuple[float, datetime, int]


def cursor_of(flag: Flag) -> Cursor:
    """The sort key of a row: pass it as ``after`` to get the rows that follow."""
    return (flag.priority, flag.created_at, flag.id)


def after_cursor(stmt, after: Cursor):
    p, c, i = after
    return stmt.where(
        or_(
            Flag.priority < p,
            and_(Flag.priority == p, or_(Flag.created_at < c, and_(Flag.created_at == c, Flag.id > i))),
        )
    )


def list_flags(
    session: Session,
    f: QueueFilter | None = None,
    limit: int = 100,
    offset: int = 0,
    after: Cursor | None = None,
) -> list[Flag]:
    """Flags by priority (score), then freshness; ``after`` continues from a row's :func:`cursor_of`."""
    stmt = apply_filter(select(Flag).order_by(*ORDER), f)
    if after is not None:
        stmt = after_cursor(stmt, after)
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def counts_by_status(session: Session, units: list[str] | None = None) -> dict[str, int]:
    stmt = select(Flag.status, func.count()).group_by(Flag.status)
    if units is not None:
        stmt = stmt.where(Flag.unit.in_(units))
    return {status: n for status, n in session.execute(stmt)}


def claim_next(
    session: Session,
    inspector: str,
    ttl_seconds: int,
    f: QueueFilter | None = None,
    exclude: int | None = None,
) -> Flag | None:
    """Hand the highest-priority claimable flag to ``inspector`` (not ``exclude``: the case just left); None when
    the queue is empty."""
    now = utcnow()
    stmt = (
        select(Flag)
        .where(claimable(now))  # not the inspector's own claims: the next case is a new one
        .order_by(*ORDER)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if exclude is not None:
        stmt = stmt.where(Flag.id != exclude)
    if f is not None:
        stmt = apply_filter(
            stmt, QueueFilter(**{**f.__dict__, "status": None, "assignee": None, "qa_pending": False})
        )
    for _ in range(5):
        flag = session.scalar(stmt)
        if flag is None:
            return None
        if _take(session, flag, inspector, now, ttl_seconds):
            return flag
    return None


def next_case(
    session: Session,
    inspector: str,
    ttl_seconds: int,
    f: QueueFilter | None = None,
    leave: int | None = None,
) -> Flag | None:
    """What ``n`` does: release the case being left (``leave``, when the inspector holds it), resume the
    inspector's own live claims first (highest priority first), and only then claim a new case."""
    if leave is not None:
        held = session.get(Flag, leave)
        if held is not None and held.status == FlagStatus.CLAIMED.value and held.assignee == inspector:
            release(session, leave, inspector)
    now = utcnow()
    own = select(Flag).where(
        Flag.status == FlagStatus.CLAIMED.value, Flag.assignee == inspector, Flag.claim_expires_at >= now
    )
    if leave is not None:
        own = own.where(Flag.id != leave)
    if f is not None and f.units is not None:
        own = own.where(Flag.unit.in_(f.units))
    mine = session.scalar(own.order_by(*ORDER).limit(1))
    if mine is not None and _take(session, mine, inspector, now, ttl_seconds):
        return mine
    return claim_next(session, inspector, ttl_seconds, f, exclude=leave)


def claim(session: Session, flag_id: int, inspector: str, ttl_seconds: int) -> Flag:
    """Take the flag (or renew one's own claim); QueueError when :func:`claimable` says no."""
    flag = session.get(Flag, flag_id)
    if flag is None:
        raise QueueError(f"案件 #{flag_id} 不存在")
    if not _take(session, flag, inspector, utcnow(), ttl_seconds):
        raise QueueError(_why_not(flag))
    return flag


def _why_not(flag: Flag) -> str:
    if flag.status == FlagStatus.CLAIMED.value:
        return f"案件 #{flag.id} 正由 {flag.assignee} 处理"
    return f"案件 #{flag.id} 当前为「{STATUS_LABELS.get(flag.status, flag.status)}」，不能领取"


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
        raise QueueError(f"案件 #{flag_id} 不在您的处理中，无法释放")
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
        raise QueueError("未知的决定（应为确认、排除或上报）")
    if action == "dismiss" and reason not in DISMISS_REASONS:
        raise ReasonRequired("排除须选择理由（按 1–6 或在列表中选择）")
    flag = session.get(Flag, flag_id, with_for_update=True)
    if flag is None:
        raise QueueError(f"案件 #{flag_id} 不存在")
    if require_claim and (flag.status != FlagStatus.CLAIMED.value or flag.assignee != reviewer):
        raise QueueError(f"案件 #{flag_id} 须先由您领取才能决定")
    before = {"status": flag.status, "assignee": flag.assignee}
    flag.status = DECISIONS[action].value
    flag.assignee = reviewer
    flag.claim_expires_at = None
    flag.decided_at = utcnow()
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


def mark_referred(session: Session, flag_ids: list[int], actor: str, *, two_person: bool = False) -> int:
    """Confirmed cases handed to the bureau become ``referred``; under the two-person rule only those a second
    inspector has confirmed (:func:`second_confirm`)."""
    n = 0
    for flag in session.scalars(select(Flag).where(Flag.id.in_(flag_ids)).with_for_update()):
        if flag.status != FlagStatus.CONFIRMED.value or (two_person and not flag.second_by):
            continue
        flag.status = FlagStatus.REFERRED.value
        flag.referred_at = utcnow()
        audit.record(
            session, actor, "flag.refer", "flag", flag.id, {"status": "confirmed"}, {"status": "referred"}
        )
        n += 1
    return n


def _locked(session: Session, flag_id: int) -> Flag:
    flag = session.get(Flag, flag_id, with_for_update=True)
    if flag is None:
        raise QueueError(f"案件 #{flag_id} 不存在")
    return flag


def assign(
    session: Session, flag_id: int, actor: str, colleague: str, ttl_seconds: int, *, override: bool = False
) -> Flag:
    """Hand a case to a colleague: it becomes their claim. The actor must be able to take it (an open case, an
    expired claim or their own), unless ``override`` (an admin)."""
    flag = _locked(session, flag_id)
    now = utcnow()
    if flag.status not in (FlagStatus.OPEN.value, FlagStatus.CLAIMED.value):
        raise QueueError(f"案件 #{flag_id} 当前为「{STATUS_LABELS.get(flag.status, flag.status)}」，不能指派")
    live_other = (
        flag.status == FlagStatus.CLAIMED.value
        and flag.assignee != actor
        and flag.claim_expires_at is not None
        and flag.claim_expires_at >= now
    )
    if live_other and not override:
        raise QueueError(f"案件 #{flag_id} 正由 {flag.assignee} 处理，只有其本人或管理员可以指派")
    before = {"status": flag.status, "assignee": flag.assignee}
    flag.status = FlagStatus.CLAIMED.value
    flag.assignee = colleague
    flag.claimed_at = now
    flag.claim_expires_at = now + timedelta(seconds=ttl_seconds)
    audit.record(session, actor, "flag.assign", "flag", flag.id, before, {"assignee": colleague})
    return flag


def reopen(session: Session, flag_id: int, actor: str, note: str = "", *, override: bool = False) -> Flag:
    """A decided case that is not yet referred goes back to the queue (open); its decisions stay on record.
    The reviewer who decided it may reopen it, anyone else only with ``override`` (an admin)."""
    flag = _locked(session, flag_id)
    if flag.status == FlagStatus.REFERRED.value:
        raise QueueError(f"案件 #{flag_id} 已移送，不能重新打开")
    if flag.status not in DECIDED:
        raise QueueError(f"案件 #{flag_id} 尚未决定，无需重新打开")
    if flag.assignee != actor and not override:
        raise QueueError(f"案件 #{flag_id} 由 {flag.assignee} 决定，只有其本人或管理员可以重新打开")
    before = {"status": flag.status, "assignee": flag.assignee}
    flag.status = FlagStatus.OPEN.value
    flag.assignee = None
    flag.claim_expires_at = None
    flag.decided_at = None
    flag.second_by = flag.second_at = None
    flag.qa_status = flag.qa_by = None
    audit.record(session, actor, "flag.reopen", "flag", flag.id, before, {"status": "open", "note": note})
    return flag


def second_confirm(session: Session, flag_id: int, actor: str) -> Flag:
    """The two-person rule: a second inspector, not the one who confirmed, confirms the case before referral."""
    flag = _locked(session, flag_id)
    if flag.status != FlagStatus.CONFIRMED.value:
        raise QueueError(f"案件 #{flag_id} 不是待移送的已确认案件")
    if flag.assignee == actor:
        raise QueueError("双人复核：复核人不能是确认该案件的检查员本人")
    if flag.second_by:
        raise QueueError(f"案件 #{flag_id} 已由 {flag.second_by} 复核")
    flag.second_by, flag.second_at = actor, utcnow()
    audit.record(session, actor, "flag.second_confirm", "flag", flag.id, None, {"second_by": actor})
    return flag


def sample_for_qa(session: Session, flag: Flag, share: float, draw: float) -> bool:
    """QA sampling: a dismissal goes to a second reader when ``draw`` (uniform in [0, 1)) falls below ``share``."""
    if share <= 0 or flag.status != FlagStatus.DISMISSED.value or draw >= share:
        return False
    flag.qa_status = "pending"
    audit.record(session, "system", "flag.qa_sample", "flag", flag.id, None, {"qa_status": "pending"})
    return True


def qa_review(session: Session, flag_id: int, actor: str, agree: bool, note: str = "") -> Flag:
    """The second reader of a sampled dismissal agrees (it stays dismissed) or disagrees (it reopens)."""
    flag = _locked(session, flag_id)
    if flag.qa_status != "pending" or flag.status != FlagStatus.DISMISSED.value:
        raise QueueError(f"案件 #{flag_id} 没有待复查的排除")
    if flag.assignee == actor:
        raise QueueError("抽查复核须由另一名检查员完成")
    flag.qa_by = actor
    if agree:
        flag.qa_status = "agreed"
        audit.record(session, actor, "flag.qa_agree", "flag", flag.id, None, {"qa_status": "agreed", "note": note})
        return flag
    audit.record(session, actor, "flag.qa_disagree", "flag", flag.id, None, {"qa_status": "disagreed", "note": note})
    reopen(session, flag_id, actor, note or "抽查复核不同意排除", override=True)
    flag.qa_status, flag.qa_by = "disagreed", actor
    return flag


def add_comment(session: Session, flag_id: int, author: str, body: str) -> CaseComment:
    if session.get(Flag, flag_id) is None:
        raise QueueError(f"案件 #{flag_id} 不存在")
    comment = CaseComment(flag_id=flag_id, author=author, body=body)
    session.add(comment)
    session.flush()
    audit.record(session, author, "flag.comment", "flag", flag_id, None, {"comment_id": comment.id, "text": body[:200]})
    return comment


def comments(session: Session, flag_id: int, limit: int = 200) -> list[CaseComment]:
    return list(
        session.scalars(
            select(CaseComment).where(CaseComment.flag_id == flag_id).order_by(CaseComment.id).limit(limit)
        )
    )
