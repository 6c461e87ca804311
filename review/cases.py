"""What the case view and the case API show, and decisions that cover a whole near-duplicate group."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import queue
from store.models import AuditEvent, Decision, Document, Flag, FlagStatus, TermProposal, Verdict, utcnow

STATUS_LABELS = {
    "open": "待处理",
    "claimed": "处理中",
    "confirmed": "已确认",
    "dismissed": "已排除",
    "referred": "已移送",
    "escalated": "已上报",
    "withdrawn": "已撤回",
}
LEVEL_LABELS = {"high": "高", "medium": "中", "low": "低"}
ACTION_LABELS = {"confirm": "确认涉嫌非法集资", "dismiss": "排除", "escalate": "上报", "refer": "移送"}
DISMISS_REASONS = {
    "ad_law": "违反广告法但非集资",
    "finance_legit": "持牌金融机构合规广告",
    "loan_ad": "贷款/信贷广告",
    "warning_news": "新闻/风险提示",
    "other_ad": "其他商业广告",
    "normal": "非广告",
}
assert set(DISMISS_REASONS) == set(queue.DISMISS_REASONS)


@dataclass
class CaseView:
    flag: Flag
    document: Document
    verdict: Verdict
    duplicates: list[Flag] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    history: list[AuditEvent] = field(default_factory=list)
    proposals: list[TermProposal] = field(default_factory=list)


def load_case(session: Session, flag_id: int) -> CaseView | None:
    flag = session.get(Flag, flag_id)
    if flag is None:
        return None
    doc = flag.document
    return CaseView(
        flag=flag,
        document=doc,
        verdict=flag.verdict,
        duplicates=group_flags(session, flag, include_self=False),
        decisions=list(
            session.scalars(select(Decision).where(Decision.flag_id == flag.id).order_by(Decision.id))
        ),
        history=list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.entity == "flag", AuditEvent.entity_id == str(flag.id))
                .order_by(AuditEvent.id)
            )
        ),
        proposals=list(
            session.scalars(
                select(TermProposal).where(TermProposal.flag_id == flag.id).order_by(TermProposal.id)
            )
        ),
    )


def group_flags(session: Session, flag: Flag, include_self: bool = True) -> list[Flag]:
    """Flags of the documents in the same near-duplicate group (reposts of one pitch)."""
    group = flag.document.group_id
    if group is None:
        return [flag] if include_self else []
    stmt = (
        select(Flag)
        .join(Document, Document.id == Flag.document_id)
        .where(Document.group_id == group)
        .order_by(Flag.id)
    )
    if not include_self:
        stmt = stmt.where(Flag.id != flag.id)
    return list(session.scalars(stmt))


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def is_claimable_by(flag: Flag, username: str, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if flag.status == FlagStatus.OPEN.value:
        return True
    if flag.status == FlagStatus.CLAIMED.value:
        return flag.assignee == username or (
            flag.claim_expires_at is not None and aware(flag.claim_expires_at) < now
        )
    return False


def decide_with_group(
    session: Session,
    flag_id: int,
    reviewer: str,
    action: str,
    reason: str | None,
    note: str,
    ttl_seconds: int,
    whole_group: bool,
) -> list[int]:
    """Decide this flag and, when asked, every undecided near-duplicate the reviewer can take.

    Duplicates held by another inspector are left to them. Returns the ids of the decided flags.
    """
    decision = queue.decide(session, flag_id, reviewer, action, reason, note)
    decided = [decision.flag_id]
    if not whole_group:
        return decided
    flag = session.get(Flag, flag_id)
    for other in group_flags(session, flag, include_self=False):
        if not is_claimable_by(other, reviewer):
            continue
        try:
            queue.claim(session, other.id, reviewer, ttl_seconds)
            queue.decide(
                session, other.id, reviewer, action, reason, f"[近似重复，随案 #{flag_id} 决定] {note}"
            )
        except queue.QueueError:
            continue
        decided.append(other.id)
    return decided


def decide_case(
    session: Session,
    flag_id: int,
    username: str,
    role: str,
    action: str,
    reason: str | None,
    note: str,
    ttl_seconds: int,
    whole_group: bool,
) -> list[int]:
    """The decision entry point of pages and API.

    An escalated case goes to an admin, who decides it without a claim (an escalation is a request for a
    senior decision); every other case is claimed by the reviewer first (a no-op when already theirs).
    """
    flag = session.get(Flag, flag_id)
    if (
        flag is not None
        and flag.status == FlagStatus.ESCALATED.value
        and role == "admin"
        and action != "escalate"
    ):
        queue.decide(session, flag_id, username, action, reason, note, require_claim=False)
        return [flag_id]
    queue.claim(session, flag_id, username, ttl_seconds)
    return decide_with_group(session, flag_id, username, action, reason, note, ttl_seconds, whole_group)


def age_text(since: datetime | None, now: datetime | None = None) -> str:
    """'3天5小时' style ageing for the queue."""
    if since is None:
        return ""
    seconds = int(((now or utcnow()) - aware(since)).total_seconds())
    days, rest = divmod(max(seconds, 0), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{rest // 60}分"
    return f"{rest // 60}分钟"


def case_json(view: CaseView) -> dict[str, Any]:
    """The case as the API returns it (text is data here, never HTML)."""
    f, d, v = view.flag, view.document, view.verdict
    return {
        "flag_id": f.id,
        "status": f.status,
        "priority": f.priority,
        "level": f.level,
        "category": f.category,
        "assignee": f.assignee,
        "claim_expires_at": _iso(f.claim_expires_at),
        "created_at": _iso(f.created_at),
        "document": {
            "id": d.id,
            "url": d.url,
            "title": d.title,
            "text": d.text,
            "publisher": d.publisher,
            "contact": d.contact,
            "region": d.region,
            "platform": d.platform,
            "source": d.source.name if d.source else None,
            "posted_at": _iso(d.posted_at),
            "fetched_at": _iso(d.fetched_at),
            "raw_sha256": d.raw_sha256,
            "group_id": d.group_id,
        },
        "verdict": {
            "score": v.score,
            "keyword_score": v.keyword_score,
            "classifier_prob": v.classifier_prob,
            "explanation": v.explanation,
            "hits": v.hits,
            "detector_versions": v.detector_versions,
        },
        "duplicates": [{"flag_id": o.id, "status": o.status} for o in view.duplicates],
        "decisions": [
            {
                "reviewer": x.reviewer,
                "action": x.action,
                "reason": x.reason,
                "note": x.note,
                "at": _iso(x.created_at),
            }
            for x in view.decisions
        ],
        "history": [
            {"at": _iso(e.at), "actor": e.actor, "action": e.action, "before": e.before, "after": e.after}
            for e in view.history
        ],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
