"""Feeding the lexicon: term proposals from cases, editor approval, new lexicon version, rescoring.

The lexicon itself belongs to ``keywords``; this module only adapts to its API, and degrades to a clear
error when the package is missing so that the rest of the app keeps working.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import audit
from store.models import Decision, Flag, TermProposal, utcnow

FALLBACK_CATEGORIES = {
    "return_promise": "利诱性/回报承诺",
    "legitimacy": "冒用资质/无牌照",
    "recruitment": "拉人头/层级返利",
    "scheme": "特定集资模式",
    "counter": "反向证据",
}
MAX_TERM = 60


class LexiconError(RuntimeError):
    """A proposal that cannot be made or approved."""


def categories() -> dict[str, str]:
    """Category name → Chinese label, from ``keywords.categories`` when it is there."""
    try:
        from keywords import categories as mod  # type: ignore[import-not-found]
    except ImportError:
        return dict(FALLBACK_CATEGORIES)
    for attr in ("LABELS", "CATEGORY_LABELS", "CATEGORIES", "labels"):
        value = getattr(mod, attr, None)
        if callable(value):
            value = value()
        if isinstance(value, dict) and value:
            hidden = {k for k, c in getattr(mod, "CATEGORIES", {}).items() if getattr(c, "hidden", False)}
            return {str(k): _label(v) for k, v in value.items() if k not in hidden}
    return dict(FALLBACK_CATEGORIES)


def _label(value: Any) -> str:
    if isinstance(value, str):
        return value
    for attr in ("label", "zh", "chinese", "name"):
        if getattr(value, attr, None):
            return str(getattr(value, attr))
        if isinstance(value, dict) and value.get(attr):
            return str(value[attr])
    return str(value)


def store(lexicon_dir: Path) -> Any:
    try:
        from keywords import LexiconStore  # type: ignore[import-not-found]
    except ImportError as exc:
        raise LexiconError("词库模块 keywords 不可用") from exc
    return LexiconStore(lexicon_dir)


def propose(
    session: Session, term: str, category: str, weight: float, note: str, actor: str, flag_id: int | None
) -> TermProposal:
    term = " ".join(term.split())
    if not term or len(term) > MAX_TERM:
        raise LexiconError(f"词条长度须为 1 到 {MAX_TERM} 个字符")
    if category not in categories():
        raise LexiconError(f"未知类别 {category!r}")
    if not 0.0 <= weight <= 1.0:
        raise LexiconError("权重须在 0 到 1 之间（反向证据用反向类别表示）")
    proposal = TermProposal(
        term=term, category=category, weight=weight, note=note[:1000], flag_id=flag_id, proposed_by=actor
    )
    session.add(proposal)
    session.flush()
    audit.record(
        session,
        actor,
        "lexicon.propose",
        "term_proposal",
        proposal.id,
        None,
        {"term": term, "category": category, "weight": weight, "flag_id": flag_id},
    )
    return proposal


def decide_proposal(
    session: Session, proposal_id: int, actor: str, approve: bool, lexicon_dir: Path
) -> TermProposal:
    """Approve (the term enters the lexicon: a new version) or reject a pending proposal.

    The caller commits, then calls :func:`request_rescore` after an approval: the lexicon files are already
    changed by then, so a broker that is down must not undo the approval's record.
    """
    proposal = session.get(TermProposal, proposal_id, with_for_update=True)
    if proposal is None:
        raise LexiconError(f"提议 {proposal_id} 不存在")
    if proposal.status != "pending":
        raise LexiconError(f"提议 {proposal_id} 已处理（{proposal.status}）")
    before = {"status": proposal.status}
    if approve:
        lex = store(lexicon_dir)
        reason = f"proposal #{proposal.id} by {proposal.proposed_by}" + (
            f" from flag #{proposal.flag_id}" if proposal.flag_id else ""
        )
        try:
            version = lex.add_term(
                proposal.term,
                proposal.category,
                proposal.weight,
                note=proposal.note,
                actor=actor,
                reason=reason,
            )
        except (ValueError, KeyError) as exc:  # keywords.LexiconError: unknown category, bad weight …
            raise LexiconError(str(exc)) from exc
        proposal.lexicon_version = str(version or lex.current_version())[:80]
    proposal.status = "approved" if approve else "rejected"
    proposal.decided_by = actor
    proposal.decided_at = utcnow()
    audit.record(
        session,
        actor,
        "lexicon.approve" if approve else "lexicon.reject",
        "term_proposal",
        proposal.id,
        before,
        {"status": proposal.status, "lexicon_version": proposal.lexicon_version, "term": proposal.term},
    )
    return proposal


def request_rescore(session: Session, actor: str, version: str | None, rescore: Callable[[], Any]) -> bool:
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
    from worker.dispatch import send

    return send("adscreen.rescore", "open")


def overview(lexicon_dir: Path) -> dict[str, Any]:
    """Current version, terms and history for the lexicon page; empty with an error text when unavailable."""
    try:
        lex = store(lexicon_dir)
        terms = lex.load()
        version = lex.current_version()
        history = lex.history()
    except Exception as exc:  # noqa: BLE001 - the page shows what went wrong instead of failing
        return {"version": None, "terms": [], "history": [], "error": str(exc)}
    return {
        "version": str(version),
        "terms": [_as_dict(t) for t in _iter_terms(terms)],
        "history": [_as_dict(h) for h in list(history or [])][-200:][::-1],
        "error": None,
    }


def suggestions(session: Session, lexicon_dir: Path, top_k: int = 20) -> list[dict[str, Any]]:
    """Terms mined from confirmed vs dismissed cases (``keywords.suggest``)."""
    try:
        from keywords.suggest import suggest_terms  # type: ignore[import-not-found]
    except ImportError:
        return []
    texts: dict[str, list[str]] = {"confirm": [], "dismiss": []}
    rows = session.execute(
        select(Decision.action, Flag)
        .join(Flag, Flag.id == Decision.flag_id)
        .where(Decision.action.in_(("confirm", "dismiss")))
        .order_by(Decision.id.desc())
        .limit(5000)
    )
    for action, flag in rows:
        texts[action].append(((flag.document.title or "") + "\n" + flag.document.text).strip())
    if not texts["confirm"]:
        return []
    lexicon = store(lexicon_dir).load()
    return [_as_dict(s) for s in suggest_terms(texts["confirm"], texts["dismiss"], lexicon, top_k)]


def pending(session: Session) -> list[TermProposal]:
    return list(
        session.scalars(
            select(TermProposal).where(TermProposal.status == "pending").order_by(TermProposal.id)
        )
    )


def recent(session: Session, limit: int = 50) -> list[TermProposal]:
    return list(session.scalars(select(TermProposal).order_by(TermProposal.id.desc()).limit(limit)))


def _iter_terms(terms: Any) -> list[Any]:
    if terms is None:
        return []
    for attr in ("terms", "entries"):
        inner = getattr(terms, attr, None)
        if inner is not None and not callable(inner):
            terms = inner
            break
    if isinstance(terms, dict):
        return list(terms.values())
    return list(terms)


def _as_dict(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return item
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return dataclasses.asdict(item)
    if isinstance(item, tuple) and hasattr(item, "_asdict"):
        return item._asdict()
    if hasattr(item, "model_dump"):
        return item.model_dump()
    if isinstance(item, (tuple, list)):
        return {f"c{i}": v for i, v in enumerate(item)}
    return {"value": str(item)}
