"""Feeding the lexicon: term proposals from cases, editor approval (a new lexicon version), rescoring.

The lexicon belongs to ``keywords``; this module calls its API (``LexiconStore``, ``categories``, ``suggest``) and
records who proposed and who decided what. Approval is one operation here: approve → commit → rescore → commit.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from keywords import LexiconError, LexiconStore
from keywords.categories import CATEGORIES
from keywords.normalize import normalize, normalize_term
from keywords.segment import tokenizer
from review.services.cases import case_text_fields, get_flag
from review.services.errors import NotFound
from store import audit
from store.documents import rescore_ids
from store.models import (
    Decision,
    Document,
    Flag,
    FlagSearch,
    LexiconJob,
    TermProposal,
    User,
    Verdict,
    utcnow,
)
from store.search import fold

log = logging.getLogger(__name__)

MAX_TERM = 60
_UNUSABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")

__all__ = [
    "LexiconError",
    "add_allow",
    "allow_entries",
    "allow_phrases",
    "categories",
    "decide_proposal",
    "job_status",
    "overview",
    "preview",
    "propose",
    "remove_allow",
    "start_approval",
    "suggestions",
    "term_precision",
]


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
    *,
    rescore_after: bool = True,
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
    if not rescore_after:  # the caller rescores (start_approval: in the background)
        return ProposalDecision(proposal, True)
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


PER_PAGE = 50


@dataclass(frozen=True)
class _Parsed:
    version: str
    rows: list[dict[str, Any]]  # terms as dicts
    history: list[dict[str, Any]]
    keys: list[str]  # normalised terms, in the order of rows
    allow: list[dict[str, Any]]  # allow-list phrases (phrase, note, provenance)


_LOADED: dict[tuple[str, str], _Parsed] = {}
_LOADED_LOCK = threading.Lock()


def _loaded(lexicon_dir: Path) -> _Parsed:
    """The live lexicon parsed once per version: reading the YAML costs ~0.3 s, asking its version almost nothing."""
    lex = store(lexicon_dir)
    version = str(lex.current_version())
    key = (str(lexicon_dir), version)
    with _LOADED_LOCK:
        hit = _LOADED.get(key)
    if hit is None:
        loaded = lex.load()
        rows = [t.to_dict() for t in loaded]
        allow = [a.to_dict() for a in getattr(loaded, "allow", {}).values()]
        hit = _Parsed(version, rows, lex.history(), [normalize_term(t["term"]) for t in rows], allow)
        with _LOADED_LOCK:
            _LOADED.clear()
            _LOADED[key] = hit
    return hit


def overview(lexicon_dir: Path, q: str | None = None, page: int = 1, per_page: int = PER_PAGE) -> dict[str, Any]:
    """Current version, one page of terms (those containing ``q`` in the term, its note or its category's label,
    after the lexicon's normalisation) and the history; empty with an error text when unreadable."""
    try:
        parsed = _loaded(lexicon_dir)
        version, rows, history, keys = parsed.version, parsed.rows, parsed.history, parsed.keys
    except (OSError, ValueError, yaml.YAMLError) as exc:  # a broken lexicon directory: the page says why
        return {"version": None, "terms": [], "history": [], "error": str(exc), "total": 0, "page": 1, "pages": 1}
    if q:
        key, labels = normalize_term(q) or q, categories()
        rows = [
            t
            for t, k in zip(rows, keys, strict=True)
            if key in k or q in (t.get("note") or "") or q in labels.get(t["category"], "")
        ]
    pages = max(1, math.ceil(len(rows) / per_page))
    page = min(max(page, 1), pages)
    return {
        "version": str(version),
        "terms": rows[(page - 1) * per_page : page * per_page],
        "total": len(rows),
        "page": page,
        "pages": pages,
        "history": history[-200:][::-1],
        "error": None,
    }


# --- what decided cases teach: suggestions and each term's precision ------------------------------------------

STOPWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "stopwords.txt"
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
# numbers and time spans (一年, 三年, 年后, 十万): every ad has them, they say nothing about fundraising
_NUMERIC = re.compile(r"^[0-9零一二三四五六七八九十百千万亿两半几多每]*[年月日天周时分秒个元万块次期号倍成岁后前内底初]*$")
MAX_DECIDED = 5000
MAX_PHRASE = 8


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Bundled stop words (function words, generic nouns and verbs): never suggested as terms."""
    lines = STOPWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def is_noise(word: str) -> bool:
    """A stop word, a number or time span, or one character repeated."""
    return word in stopwords() or bool(_NUMERIC.match(word)) or len(set(word)) == 1


def candidates(text: str) -> set[str]:
    """jieba words (≥ 2 characters) and two-word phrases of a text, after the lexicon's normalisation."""
    out: set[str] = set()
    tk = tokenizer()
    for run in _HAN_RUN.findall(normalize(text).text):
        words = list(tk.cut(run, HMM=True))  # HMM: new words (a scheme's name) come out whole
        for i, w in enumerate(words):
            if len(w) >= 2 and not is_noise(w):
                out.add(w)
            if i + 1 < len(words):
                a, b = w, words[i + 1]
                phrase = a + b
                if len(phrase) <= MAX_PHRASE and not (is_noise(a) or is_noise(b)) and len(a) + len(b) >= 3:
                    out.add(phrase)
    return out


class Coverage:
    """Terms the lexicon already has (normalised): a candidate inside one, or containing one, is covered."""

    def __init__(self, terms: list[str]) -> None:
        self.terms = {t for t in (normalize_term(x) for x in terms) if t}
        self.blob = "\n".join(self.terms)

    def covers(self, candidate: str) -> bool:
        if candidate in self.blob:
            return True
        n = len(candidate)
        return any(candidate[i:j] in self.terms for i in range(n) for j in range(i + 2, n + 1))


def _wilson_lower(pos: int, total: int, z: float = 1.64) -> float:
    if total == 0:
        return 0.0
    p = pos / total
    centre = p + z * z / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return (centre - margin) / (1 + z * z / total)


def _decided_texts(session: Session, limit: int = MAX_DECIDED) -> list[tuple[str, int, str]]:
    """(action, near-duplicate group key, text) of the latest decided cases; a group counts once."""
    rows = session.execute(
        select(Decision.action, Flag)
        .join(Flag, Flag.id == Decision.flag_id)
        .where(Decision.action.in_(("confirm", "dismiss")))
        .order_by(Decision.id.desc())
        .limit(limit)
        .options(selectinload(Flag.version), selectinload(Flag.document).load_only(Document.id, Document.group_id))
    ).all()
    out, seen = [], set()
    for action, flag in rows:
        if flag.id in seen:  # the latest decision of a case only
            continue
        seen.add(flag.id)
        group = flag.document.group_id or -flag.document_id
        out.append((action, group, "\n".join(case_text_fields(flag).values()).strip()))
    return out


def suggestions(session: Session, lexicon_dir: Path, top_k: int = 20, min_support: int = 2) -> list[dict[str, Any]]:
    """Words and short phrases typical of confirmed cases, ranked by precision and support among decided cases.

    Candidates are jieba-segmented words and two-word phrases; stop words, numbers, and terms the lexicon or the
    allow-list already covers (after the lexicon's normalisation) are left out. Support counts near-duplicate
    groups, so that thirty reposts of one ad count once. The rank is the lower bound of the precision's 90 %
    Wilson interval: high precision with little support ranks below slightly lower precision with much.
    """
    decided = _decided_texts(session)
    if not any(a == "confirm" for a, _, _ in decided):
        return []
    lexicon = store(lexicon_dir).load()
    allows = [a.phrase for a in getattr(lexicon, "allow", {}).values()]
    coverage = Coverage([t.term for t in lexicon if t.kind == "literal"] + allows)
    groups: dict[str, dict[str, set[int]]] = defaultdict(lambda: {"confirm": set(), "dismiss": set()})
    examples: dict[str, str] = {}
    for action, group, text in decided:
        for c in candidates(text):
            groups[c][action].add(group)
            if action == "confirm":
                examples.setdefault(c, text[:80])
    scored = []
    for term, g in groups.items():
        pos, neg = len(g["confirm"]), len(g["dismiss"] - g["confirm"])
        if pos < min_support or coverage.covers(term):
            continue
        scored.append(
            {
                "term": term,
                "score": round(_wilson_lower(pos, pos + neg), 3),
                "precision": round(pos / (pos + neg), 3),
                "confirmed": pos,
                "dismissed": neg,
                "example": examples.get(term, ""),
            }
        )
    scored.sort(key=lambda d: (-d["score"], -d["confirmed"], -len(d["term"])))
    kept: list[dict[str, Any]] = []
    for d in scored:
        # a fragment of a longer kept candidate with about the same support adds nothing, and vice versa
        if any(
            (d["term"] in k["term"] or k["term"] in d["term"]) and d["confirmed"] <= k["confirmed"] * 1.25
            for k in kept
        ):
            continue
        kept.append(d)
        if len(kept) >= top_k:
            break
    return kept


_STATS_CACHE: dict[str, Any] = {}
_STATS_LOCK = threading.Lock()


def term_precision(session: Session) -> dict[str, dict[str, Any]]:
    """Per lexicon term: confirmed vs dismissed among the decided cases it hit (near-duplicate groups once).

    Cached until the next decision (keyed by the newest decision's id), so the term list does not re-read the
    hits of every decided case on each page.
    """
    newest = session.scalar(select(func.max(Decision.id))) or 0
    with _STATS_LOCK:
        if _STATS_CACHE.get("key") == newest:
            return _STATS_CACHE["value"]
    rows = session.execute(
        select(Flag.status, Flag.document_id, Document.group_id, Verdict.hits)
        .join(Verdict, Verdict.id == Flag.verdict_id)
        .join(Document, Document.id == Flag.document_id)
        .where(Flag.status.in_(("confirmed", "dismissed", "referred")))
        .order_by(Flag.id.desc())
        .limit(20_000)
    )
    seen: dict[str, dict[str, set[int]]] = defaultdict(lambda: {"confirmed": set(), "dismissed": set()})
    for status, doc_id, group, hits in rows:
        key = "dismissed" if status == "dismissed" else "confirmed"
        for h in hits or []:
            if isinstance(h, dict) and h.get("term"):
                seen[str(h["term"])][key].add(group or -doc_id)
    value = {}
    for term, g in seen.items():
        pos, neg = len(g["confirmed"]), len(g["dismissed"])
        value[term] = {"confirmed": pos, "dismissed": neg, "precision": pos / (pos + neg) if pos + neg else None}
    with _STATS_LOCK:
        _STATS_CACHE.update(key=newest, value=value)
    return value


# --- preview before approval ---------------------------------------------------------------------------------

PREVIEW_SCAN = 2000
OPEN_STATUSES = ("open", "claimed", "escalated")
DECIDED_STATUSES = ("confirmed", "dismissed", "referred")


def _occurs_outside(text: str, term: str, allows: list[str]) -> bool:
    """Whether ``term`` occurs in ``text`` at least once outside every allow-list phrase (a longer phrase wins)."""
    start = text.find(term)
    while start >= 0:
        end = start + len(term)
        inside = False
        for phrase in allows:
            if term not in phrase:
                continue
            offset = phrase.find(term)
            while offset >= 0:
                a = start - offset
                if a >= 0 and text[a : a + len(phrase)] == phrase:
                    inside = True
                    break
                offset = phrase.find(term, offset + 1)
            if inside:
                break
        if not inside:
            return True
        start = text.find(term, end - len(term) + 1)
    return False


def preview(session: Session, term: str, lexicon_dir: Path, limit: int = 5) -> dict[str, Any]:
    """What a term would match before it is approved: open and decided cases containing it (by the queue's search
    text; occurrences inside an allow-list phrase of the live lexicon do not count), with samples and its precision
    so far."""
    key = fold(" ".join(term.split()))[:60]
    if len(key) < 2:
        raise LexiconError("预览的词条至少需要 2 个字符")
    allows = [fold(a) for a in allow_phrases(lexicon_dir)]
    pattern = "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = session.execute(
        select(Flag.id, Flag.status, FlagSearch.body)
        .join(FlagSearch, FlagSearch.flag_id == Flag.id)
        .where(FlagSearch.body.like(pattern, escape="\\"))
        .order_by(Flag.id.desc())
        .limit(PREVIEW_SCAN + 1)
    ).all()
    counts = {"open": 0, "decided": 0, "confirmed": 0, "dismissed": 0, "allowed": 0}
    samples = []
    for fid, status, body in rows[:PREVIEW_SCAN]:
        if allows and not _occurs_outside(body, key, allows):
            counts["allowed"] += 1
            continue
        if status in OPEN_STATUSES:
            counts["open"] += 1
        elif status in DECIDED_STATUSES:
            counts["decided"] += 1
            counts["dismissed" if status == "dismissed" else "confirmed"] += 1
        if len(samples) < limit:
            at = body.find(key)
            samples.append(
                {"flag_id": fid, "status": status, "snippet": body[max(0, at - 20) : at + len(key) + 20].replace("\n", " ")}
            )
    decided = counts["confirmed"] + counts["dismissed"]
    return {
        "term": key,
        **counts,
        "truncated": len(rows) > PREVIEW_SCAN,
        "precision": counts["confirmed"] / decided if decided else None,
        "samples": samples,
    }


# --- allow-list ------------------------------------------------------------------------------------------------
# The allow-list is part of the lexicon (``LexiconStore.add_allow``): every change is a lexicon version, the matcher
# drops a blocked term lying wholly inside a listed phrase, and the open cases are rescored under the new version.


def allow_entries(lexicon_dir: Path) -> list[dict[str, Any]]:
    """The live lexicon's allow-list: phrase, note, provenance (who added it), in the order they were added."""
    return list(_loaded(lexicon_dir).allow)


def allow_phrases(lexicon_dir: Path) -> list[str]:
    return [a["phrase"] for a in allow_entries(lexicon_dir)]


@dataclass
class AllowChange:
    phrase: str
    lexicon_version: str


def add_allow(
    session: Session,
    user: User,
    lexicon_dir: Path,
    phrase: str,
    note: str,
    rescore: Callable[[], Any],
    run: Callable[[Callable[[], None]], None],
    sessionmaker: Callable[[], Session],
) -> AllowChange:
    """Put a phrase on the allow-list (a new lexicon version: a blocked term inside it no longer counts there),
    audit it, commit, then rescore the open cases in the background (``run``, as after an approval)."""
    phrase = " ".join(phrase.split())
    if not 2 <= len(phrase) <= MAX_TERM or _UNUSABLE.search(phrase) or _UNUSABLE.search(note):
        raise LexiconError(f"放行短语长度须为 2 到 {MAX_TERM} 个字符，且不能含控制字符")
    key = normalize_term(phrase)
    parsed = _loaded(lexicon_dir)
    same = next((a["phrase"] for a in parsed.allow if normalize_term(a["phrase"]) == key), None)
    if same is not None:  # the store refuses it too (under its lock); here the editor reads why in Chinese
        raise LexiconError(f"放行短语「{phrase}」已存在" + (f"（归一化后同「{same}」）" if same != phrase else ""))
    if any(k == key and t.get("kind") == "literal" for t, k in zip(parsed.rows, parsed.keys, strict=True)):
        raise LexiconError(f"「{phrase}」本身就是词条：请删除该词条或调整其权重，而不是放行")
    version = str(
        store(lexicon_dir).add_allow(phrase, actor=user.username, reason="review app: allow-list", note=note[:500])
    )
    audit.record(
        session, user.username, "lexicon.allow", "allow_phrase", phrase, None,
        {"phrase": phrase, "note": note[:500], "lexicon_version": version},
    )
    session.commit()
    _rescore_later(user.username, version, rescore, run, sessionmaker)
    return AllowChange(phrase, version)


def remove_allow(
    session: Session,
    user: User,
    lexicon_dir: Path,
    phrase: str,
    rescore: Callable[[], Any],
    run: Callable[[Callable[[], None]], None],
    sessionmaker: Callable[[], Session],
) -> AllowChange:
    """Take a phrase off the allow-list (a new lexicon version), audit it, commit, rescore in the background."""
    phrase = " ".join(phrase.split())
    key = normalize_term(phrase) if phrase else ""
    entry = next((a for a in allow_entries(lexicon_dir) if key and normalize_term(a["phrase"]) == key), None)
    if entry is None:
        raise NotFound(f"放行短语「{phrase[:60]}」不存在")
    version = str(store(lexicon_dir).remove_allow(entry["phrase"], actor=user.username, reason="review app: allow-list"))
    audit.record(
        session, user.username, "lexicon.allow_remove", "allow_phrase", entry["phrase"],
        {"phrase": entry["phrase"], "note": entry.get("note", "")}, {"lexicon_version": version},
    )
    session.commit()
    _rescore_later(user.username, version, rescore, run, sessionmaker)
    return AllowChange(entry["phrase"], version)


def _rescore_later(
    actor: str,
    version: str,
    rescore: Callable[[], Any],
    run: Callable[[Callable[[], None]], None],
    sessionmaker: Callable[[], Session],
) -> None:
    """Rescore the open cases under ``version`` in the background; the outcome is audited either way."""

    def work() -> None:
        with sessionmaker() as s:
            _request_rescore(s, actor, version, rescore)
            s.commit()

    run(work)


# --- approval in the background ---------------------------------------------------------------------------------


def start_approval(
    session: Session,
    user: User,
    proposal_id: int,
    lexicon_dir: Path,
    rescore: Callable[[], Any],
    run: Callable[[Callable[[], None]], None],
    sessionmaker: Callable[[], Session],
    category: str | None = None,
    weight: float | None = None,
) -> LexiconJob:
    """Approve now (the term enters the lexicon, a new version; category and weight as edited), then rescore the
    open cases in the background: ``run`` runs the rescore (a thread in embedded mode, where the rescore runs
    in-process; with workers it only sends the Celery task). Progress: :func:`job_status`."""
    proposal = session.get(TermProposal, proposal_id) if _fits(proposal_id) else None
    if proposal is None:
        raise NotFound(f"提议 {proposal_id} 不存在")
    if proposal.status != "pending":
        raise LexiconError(f"提议 {proposal_id} 已处理（{proposal.status}）")
    if category is not None:
        if category not in categories():
            raise LexiconError(f"未知类别 {category!r}")
        proposal.category = category
    if weight is not None:
        if not 0.0 <= weight <= 1.0 or math.isnan(weight):
            raise LexiconError("权重须在 0 到 1 之间")
        proposal.weight = weight
    result = decide_proposal(session, user, proposal_id, True, lexicon_dir, lambda: None, rescore_after=False)
    ids = rescore_ids(session, "open")
    job = LexiconJob(
        proposal_id=proposal_id,
        actor=user.username,
        status="running",
        lexicon_version=result.proposal.lexicon_version,
        document_ids=ids,
        total=len(ids),
        started_at=utcnow(),
    )
    session.add(job)
    session.commit()
    job_id, actor, version = job.id, user.username, job.lexicon_version

    def work() -> None:
        with sessionmaker() as s:
            row = s.get(LexiconJob, job_id)
            try:
                rescore()
            except Exception as exc:  # noqa: BLE001 - a broker outage is reported on the job and audited
                log.warning("rescore after approval failed: %s", exc)
                row.status, row.error, row.finished_at = "failed", str(exc)[:500], utcnow()
                audit.record(s, actor, "lexicon.rescore_failed", "lexicon", version, None, {"error": str(exc)[:500]})
            else:
                audit.record(s, actor, "lexicon.rescore_requested", "lexicon", version, None, {"scope": "open", "job": job_id})
            s.commit()

    run(work)
    return job


def job_status(session: Session, job_id: int) -> dict[str, Any]:
    """How far the rescore of an approval has come: documents in scope scored since it started."""
    job = session.get(LexiconJob, job_id) if _fits(job_id) else None
    if job is None:
        raise NotFound(f"任务 {job_id} 不存在")
    done = job.total
    if job.status == "running" and job.total:
        done = 0
        ids = list(job.document_ids or [])
        for i in range(0, len(ids), 1000):
            done += session.scalar(
                select(func.count())
                .select_from(Document)
                .where(Document.id.in_(ids[i : i + 1000]), Document.scored_at >= job.started_at)
            ) or 0
        if done >= job.total:
            job.status, job.finished_at = "done", utcnow()
            session.commit()
    elif job.status == "running":
        job.status, job.finished_at = "done", utcnow()
        session.commit()
    proposal = session.get(TermProposal, job.proposal_id)
    return {
        "id": job.id,
        "proposal_id": job.proposal_id,
        "term": proposal.term if proposal else None,
        "status": job.status,
        "lexicon_version": job.lexicon_version,
        "total": job.total,
        "done": min(done, job.total),
        "error": job.error,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def thread_runner(fn: Callable[[], None]) -> None:
    """Run ``fn`` in a daemon thread: the page answers at once and shows the progress."""
    threading.Thread(target=fn, name="lexicon-approval", daemon=True).start()


def pending(session: Session) -> list[TermProposal]:
    return list(
        session.scalars(
            select(TermProposal).where(TermProposal.status == "pending").order_by(TermProposal.id)
        )
    )


def recent(session: Session, limit: int = 50) -> list[TermProposal]:
    return list(session.scalars(select(TermProposal).order_by(TermProposal.id.desc()).limit(limit)))
