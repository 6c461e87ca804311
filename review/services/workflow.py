"""Working together: ``n`` (resume, release, claim), bulk actions, assignment, comments, reopening, the two-person
rule for referrals and QA sampling of dismissals. Each operation once, for the pages and the API alike.

Bulk actions apply the single actions' rules to every case, one at a time: a case the rules refuse is reported
with its reason and the others go ahead (each decision is its own transaction, as it would be by hand).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from review.services import cases, scope
from review.services.errors import InvalidInput, NotFound
from review.services.filters import usable
from review.users import normalize_username
from store import audit, queue, units
from store.models import CaseComment, Flag, User

BULK_ACTIONS = ("confirm", "dismiss", "escalate", "release", "claim", "assign")
BULK_LABELS = {"confirm": "确认", "dismiss": "排除", "escalate": "上报", "release": "释放", "claim": "领取", "assign": "指派"}
MAX_BULK = 200
MAX_COMMENT = 2000


@dataclass(frozen=True)
class Rules:
    """The optional workflow settings (``ADSCREEN_REFERRAL_TWO_PERSON``, ``ADSCREEN_QA_DISMISS_SHARE``)."""

    two_person: bool = False
    qa_share: float = 0.0
    draw: Callable[[], float] = field(default=random.random)


def next_case(
    session: Session, user: User, ttl: int, f: queue.QueueFilter, leave: int | None = None
) -> Flag | None:
    """``n``: release the case being left, resume one's own claim, else claim the next case (within scope)."""
    if leave is not None:
        try:
            scope.visible_flag(session, user, leave)
        except NotFound:
            leave = None
    flag = queue.next_case(session, user.username, ttl, scope.scoped(session, user, f), leave)
    session.commit()
    return flag


@dataclass
class Outcome:
    flag_id: int
    ok: bool
    status: str | None = None
    error: str | None = None
    decided: list[int] = field(default_factory=list)


def decide(
    session: Session,
    user: User,
    flag_id: int,
    action: str,
    reason: str | None,
    note: str,
    ttl: int,
    whole_group: bool,
    rules: Rules,
) -> cases.Decided:
    """A decision (``cases.decide``) within the user's scope, then QA sampling of the dismissals it made."""
    scope.visible_flag(session, user, flag_id)
    allowed = scope.units_of(session, user)
    result = cases.decide(session, user, flag_id, action, reason, note, ttl, whole_group, allowed)
    if action == "dismiss" and rules.qa_share > 0:
        for fid in result.decided:
            flag = session.get(Flag, fid)
            if flag is not None:
                queue.sample_for_qa(session, flag, rules.qa_share, rules.draw())
        session.commit()
    return result


def bulk(
    session: Session,
    user: User,
    flag_ids: list[int],
    action: str,
    ttl: int,
    rules: Rules,
    reason: str | None = None,
    note: str = "",
    colleague: str | None = None,
) -> list[Outcome]:
    """The same action on many cases, each by the single action's rules; one outcome per case."""
    if action not in BULK_ACTIONS:
        raise InvalidInput("未知的批量操作")
    if action == "dismiss" and reason not in queue.DISMISS_REASONS:
        raise queue.ReasonRequired("批量排除须选择理由")
    if action == "assign" and not colleague:
        raise InvalidInput("请选择指派给哪位同事")
    out: list[Outcome] = []
    for fid in list(dict.fromkeys(flag_ids))[:MAX_BULK]:
        try:
            if action in queue.DECISIONS:
                result = decide(session, user, fid, action, reason, note, ttl, False, rules)
                out.append(Outcome(fid, True, result.flag.status, decided=result.decided))
                continue
            if action == "release":
                scope.visible_flag(session, user, fid)
                flag = cases.release(session, user, fid)
            elif action == "claim":
                scope.visible_flag(session, user, fid)
                flag = cases.claim(session, user, fid, ttl)
            else:
                flag = assign(session, user, fid, colleague or "", ttl)
            out.append(Outcome(fid, True, flag.status))
        except (queue.QueueError, NotFound, InvalidInput) as exc:
            session.rollback()
            out.append(Outcome(fid, False, error=str(exc)))
    return out


def colleagues(session: Session, user: User, flag: Flag | None = None) -> list[User]:
    """Who a case can be assigned to: active inspectors and admins who may see it (its unit is theirs)."""
    people = session.scalars(
        select(User).where(User.active.is_(True), User.role.in_(("inspector", "admin"))).order_by(User.username)
    )
    return [p for p in people if flag is None or scope.in_scope(session, p, flag)]


def assign(session: Session, user: User, flag_id: int, colleague: str, ttl: int) -> Flag:
    flag = scope.visible_flag(session, user, flag_id)
    name = normalize_username(colleague)
    target = session.scalar(select(User).where(User.username == name))
    if target is None or not target.active or target.role not in ("inspector", "admin"):
        raise InvalidInput(f"没有名为 {name} 的在职检查员")
    if not scope.in_scope(session, target, flag):
        raise InvalidInput(f"{name} 不负责此案件所属单位，不能指派")
    queue.assign(session, flag_id, user.username, target.username, ttl, override=user.role == "admin")
    session.commit()
    return flag


def comment(session: Session, user: User, flag_id: int, body: str) -> CaseComment:
    scope.visible_flag(session, user, flag_id)
    body = body.strip()
    if not body:
        raise InvalidInput("评论不能为空")
    if len(body) > MAX_COMMENT or not usable(body):
        raise InvalidInput(f"评论至多 {MAX_COMMENT} 字，且不能含无效字符")
    c = queue.add_comment(session, flag_id, user.username, body)
    session.commit()
    return c


def reopen(session: Session, user: User, flag_id: int, note: str = "") -> Flag:
    scope.visible_flag(session, user, flag_id)
    if not usable(note):
        raise InvalidInput("备注含有无效字符")
    flag = queue.reopen(session, flag_id, user.username, note[:2000], override=user.role == "admin")
    session.commit()
    return flag


def second_confirm(session: Session, user: User, flag_id: int) -> Flag:
    scope.visible_flag(session, user, flag_id)
    flag = queue.second_confirm(session, flag_id, user.username)
    session.commit()
    return flag


def qa_review(session: Session, user: User, flag_id: int, agree: bool, note: str = "") -> Flag:
    scope.visible_flag(session, user, flag_id)
    if not usable(note):
        raise InvalidInput("备注含有无效字符")
    flag = queue.qa_review(session, flag_id, user.username, agree, note[:2000])
    session.commit()
    return flag


def set_user_units(session: Session, admin: User, target: User, codes: list[str]) -> list[str]:
    """Scope an account to units (admins only; the route checks the role); audited."""
    try:
        chosen = units.set_user_units(session, target.id, codes)
    except units.UnitsError as exc:
        raise InvalidInput(str(exc)) from exc
    audit.record(session, admin.username, "user.units", "user", target.id, None, {"units": chosen})
    session.commit()
    return chosen
