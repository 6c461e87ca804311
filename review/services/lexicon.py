"""Feeding the lexicon: term proposals from cases, editor approval (a new lexicon version), rescoring.

The lexicon belongs to ``keywords``; this module calls its API (``LexiconStore``, ``categories``, ``suggest``) and
records who proposed and who decided what. Approval is one operation here: approve → commit → rescore → commit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from keywords import LexiconError, LexiconStore
from keywords.categories import CATEGORIES
from keywords.suggest import suggest_terms
from review.services.cases import case_text_fields, get_flag
from review.services.errors import NotFound
from store import audit
from store.models import Decision, Flag, TermProposal, User, utcnow

MAX_TERM = 60
_UNUSABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")

__all__ = ["LexiconError", "categories", "decide_proposal", "overview", "propose", "suggestions"]


def categories() -> dict[str, str]:
    """Category name → Chinese label, as ``keywords.categories`` defines them (helper categories left out)."""
    return {name: c.label for name, c in CATEGORIES.items() if not c.hidden}


def store(lexicon_dir: Path) -> LexiconStore:
    """The live lexicon (tests swap this for a stand-in)."""
    return LexiconStore(lexicon_dir)


def propose(
    session: Session,
    user: User,
    term: str,
    category: str,
    weight: float,
    note: str,
    flag_id: int | None = None,
) -> TermProposal:
    """Record a pending proposal (a lexicon editor decides it); commits. From a case when ``flag_id`` is given."""
    if flag_id is not None:
        get_flag(session, flag_id)
    term = " ".join(term.split())
    if not term or len(term) > MAX_TERM:
        raise LexiconError(f"词条长度须为 1 到 {MAX_TERM} 个字符")
    if _UNUSABLE.search(term) or _UNUSABLE.search(note):
        raise LexiconError("词条或说明含有控制字符或无效字符")
    if category not in categories():
        raise LexiconError(f"未知类别 {category!r}")
    if not 0.0 <= weight <= 1.0:
        raise LexiconError("权重须在 0 到 1 之间（反向证据用反向类别表示）")
    proposal = TermProposal(
        term=term,
        category=category,
        weight=weight,
        note=note[:1000],
        flag_id=flag_id,
        proposed_by=user.username,
    )
    session.add(proposal)
    session.flush()
    audit.record(
        session,
        user.username,
        "lexicon.propose",
        "term_proposal",
        proposal.id,
        None,
        {"term": term, "category": category, "weight": weight, "flag_id": flag_id},
    )
    session.commit()
    return proposal


@dataclass
class ProposalDecision:
    proposal: TermProposal
    rescore_requested: bool | None  # None after a rejection (nothing to rescore)


def decide_proposal(
    session: Session,
    user: User,
    proposal_id: int,
    approve: bool,
    lexicon_dir: Path,
    rescore: Callable[[], Any],
) -> ProposalDecision:
    """Approve (the term enters the lexicon: a new version, then open flags are rescored) or reject a proposal.

    The approval is committed before the rescore is asked for: the lexicon files have changed by then, so a broker
    that is down must not undo the approval's record. The rescore's outcome is audited and committed either way.
    """
    proposal = session.get(TermProposal, proposal_id, with_for_update=True) if _fits(proposal_id) else None
    if proposal is None:
        raise NotFound(f"提议 {proposal_id} 不存在")
    if proposal.status != "pending":
        raise LexiconError(f"提议 {proposal_id} 已处理（{proposal.status}）")
    before = {"status": proposal.status}
    if approve:
        reason = f"proposal #{proposal.id} by {proposal.proposed_by}" + (
            f" from flag #{proposal.flag_id}" if proposal.flag_id else ""
        )
        version = store(lexicon_dir).add_term(
            proposal.term,
            proposal.category,
            proposal.weight,
            note=proposal.note,
            actor=user.username,
            reason=reason,
        )
        proposal.lexicon_version = str(version)[:80]
    proposal.status = "approved" if approve else "rejected"
    proposal.decided_by = user.username
    proposal.decided_at = utcnow()
    audit.record(
        session,
        user.username,
        "lexicon.approve" if approve else "lexicon.reject",
        "term_proposal",
        proposal.id,
        before,
        {"status": proposal.status, "lexicon_version": proposal.lexicon_version, "term": proposal.term},
    )
    session.commit()
    if not approve:
        return ProposalDecision(proposal, None)
    requested = _request_rescore(session, user.username, proposal.lexicon_version, rescore)
    session.commit()
    return ProposalDecision(proposal, requested)


def _fits(value: int) -> bool:
    return 0 < value < 2**31


def _request_rescore(session: Session, actor: str, version: str | None, rescore: Callable[[], Any]) -> bool:
    """Ask the workers to rescore open flags under the new lexicon; the outcome is audited either way."""
    try:
        rescore()
    except Exception as exc:  # noqa: BLE001 - a broker outage is reported, the approval stands
        audit.record(
            session, actor, "lexicon.rescore_failed", "lexicon", version, None, {"error": str(exc)[:500]}
        )
        return False
    audit.record(session, actor, "lexicon.rescore_requested", "lexicon", version, None, {"scope": "open"})
    return True


def default_rescore() -> Any:
    """Rescore the open flags on the workers (``app.state.rescore``; tests replace it)."""
    from worker.dispatch import send

    return send("adscreen.rescore", "open")


def overview(lexicon_dir: Path) -> dict[str, Any]:
    """Current version, terms and history for the lexicon page; empty with an error text when unreadable."""
    try:
        lex = store(lexicon_dir)
        terms = lex.load()
        version = lex.current_version()
        history = lex.history()
    except (OSError, ValueError, yaml.YAMLError) as exc:  # a broken lexicon directory: the page says why
        return {"version": None, "terms": [], "history": [], "error": str(exc)}
    return {
        "version": str(version),
        "terms": [t.to_dict() for t in terms],
        "history": history[-200:][::-1],
        "error": None,
    }


def suggestions(session: Session, lexicon_dir: Path, top_k: int = 20) -> list[dict[str, Any]]:
    """Terms typical of confirmed cases against dismissed ones (``keywords.suggest``)."""
    texts: dict[str, list[str]] = {"confirm": [], "dismiss": []}
    rows = session.execute(
        select(Decision.action, Flag)
        .join(Flag, Flag.id == Decision.flag_id)
        .where(Decision.action.in_(("confirm", "dismiss")))
        .order_by(Decision.id.desc())
        .limit(5000)
    )
    for action, flag in rows:
        texts[action].append("\n".join(case_text_fields(flag).values()).strip())
    if not texts["confirm"]:
        return []
    lexicon = store(lexicon_dir).load()
    return list(suggest_terms(texts["confirm"], texts["dismiss"], lexicon, top_k))


def pending(session: Session) -> list[TermProposal]:
    return list(
        session.scalars(
            select(TermProposal).where(TermProposal.status == "pending").order_by(TermProposal.id)
        )
    )


def recent(session: Session, limit: int = 50) -> list[TermProposal]:
    return list(session.scalars(select(TermProposal).order_by(TermProposal.id.desc()).limit(limit)))
