"""Operators in the database: incremental linking after scoring, full rebuilds, inspectors' splits and merges,
the risk index with its components, early warnings, and the reads the review pages and the CLI need.

Incremental linking (``link_documents``) touches only what a batch can change: the batch's documents, the documents
that share a usable identifier with them (index lookups on (kind, value); hubs are excluded, so each lookup is
bounded by the degree cap), and the members of the operators those belong to. Its cost grows with the size of the
operators a batch touches, not with the size of the tables. ``rebuild`` runs the same linking over everything.

Operator ids are stable: a relinked group keeps the id of the old operator it shares most documents with (then the
larger, then the older one). Merges and splits are recorded as ``operator_events`` and in the audit log.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from operators.link import CannotLink, LinkConfig, components, reconcile
from operators.risk import HIGH, DocFacts, RiskConfig, assess
from store import audit
from store.identifiers import (
    KeyChange,
    documents_with,
    ensure_identifiers,
    hubs_among,
    identifiers_of_versions,
    keys_by_document,
    publisher_key,
    recount_keys,
    stop_lists,
    update_key_counts,
    usable,
)
from store.models import (
    Document,
    DocumentIdentifier,
    Flag,
    FlagStatus,
    Operator,
    OperatorConstraint,
    OperatorConstraintMember,
    OperatorEvent,
    OperatorMember,
    OperatorWarning,
    Verdict,
    utcnow,
)

BEIJING = timezone(timedelta(hours=8), "北京时间")
CONFIRMED = {FlagStatus.CONFIRMED.value, FlagStatus.REFERRED.value}
NAME_KINDS = ("company", "brand", "app")


@dataclass
class LinkResult:
    documents: int = 0
    affected: int = 0
    created: list[int] = field(default_factory=list)
    merged: list[tuple[int, int]] = field(default_factory=list)  # (kept, merged in)
    split: list[tuple[int, int]] = field(default_factory=list)  # (old, split off)
    refreshed: int = 0
    warnings: list[int] = field(default_factory=list)


@dataclass
class _Docs:
    """What the linker reads of each document: current version, source and publisher."""

    version: dict[int, int] = field(default_factory=dict)
    source: dict[int, int | None] = field(default_factory=dict)
    publisher: dict[int, str | None] = field(default_factory=dict)

    def load(self, session: Session, doc_ids: Iterable[int]) -> None:
        todo = sorted(set(doc_ids) - set(self.version))
        for i in range(0, len(todo), 500):
            for doc_id, vid, sid, pub in session.execute(
                select(Document.id, Document.current_version_id, Document.source_id, Document.publisher).where(
                    Document.id.in_(todo[i : i + 500])
                )
            ):
                if vid is not None:
                    self.version[doc_id], self.source[doc_id], self.publisher[doc_id] = vid, sid, pub


def _members(session: Session, doc_ids: Iterable[int]) -> dict[int, OperatorMember]:
    ids = sorted(set(doc_ids))
    out: dict[int, OperatorMember] = {}
    for i in range(0, len(ids), 500):
        for m in session.scalars(select(OperatorMember).where(OperatorMember.document_id.in_(ids[i : i + 500]))):
            out[m.document_id] = m
    return out


def _members_of_operators(session: Session, op_ids: Iterable[int]) -> dict[int, OperatorMember]:
    ids = sorted(set(op_ids))
    out: dict[int, OperatorMember] = {}
    for i in range(0, len(ids), 500):
        for m in session.scalars(select(OperatorMember).where(OperatorMember.operator_id.in_(ids[i : i + 500]))):
            out[m.document_id] = m
    return out


def _constraints(session: Session, doc_ids: Iterable[int]) -> tuple[list[list[int]], list[CannotLink], set[int]]:
    """Active constraints touching the documents: must groups, cannot pairs, and every document they name."""
    ids = sorted(set(doc_ids))
    cids: set[int] = set()
    for i in range(0, len(ids), 500):
        cids |= set(
            session.scalars(
                select(OperatorConstraintMember.constraint_id).where(
                    OperatorConstraintMember.document_id.in_(ids[i : i + 500])
                )
            )
        )
    if not cids:
        return [], [], set()
    kinds = dict(
        session.execute(
            select(OperatorConstraint.id, OperatorConstraint.kind).where(
                OperatorConstraint.id.in_(sorted(cids)), OperatorConstraint.active.is_(True)
            )
        ).all()
    )
    sides: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for cid, doc_id, side in session.execute(
        select(
            OperatorConstraintMember.constraint_id,
            OperatorConstraintMember.document_id,
            OperatorConstraintMember.side,
        ).where(OperatorConstraintMember.constraint_id.in_(sorted(kinds)))
    ):
        sides[cid][side].add(doc_id)
    must = [sorted(sides[c]["a"]) for c in sorted(kinds) if kinds[c] == "must_link"]
    cannot = [
        CannotLink(c, frozenset(sides[c]["a"]), frozenset(sides[c]["b"]))
        for c in sorted(kinds)
        if kinds[c] == "cannot_link"
    ]
    named = {d for c in sides.values() for s in c.values() for d in s}
    return must, cannot, named


def link_documents(
    session: Session,
    document_ids: Sequence[int],
    *,
    config: LinkConfig = LinkConfig(),
    risk: RiskConfig = RiskConfig(),
    now: datetime | None = None,
    actor: str = "linker",
) -> LinkResult:
    """Link a batch of (just scored) documents into operators, incrementally; refresh the touched operators' risk.

    Runs inside the caller's transaction (the scoring batch's), so a batch rolled back leaves no links behind.
    """
    now = now or utcnow()
    result = LinkResult(documents=len(set(document_ids)))
    docs = _Docs()
    docs.load(session, document_ids)
    batch = sorted(docs.version)
    if not batch:
        return result
    members = _members(session, batch)
    fresh = [d for d in batch if d not in members or members[d].version_id != docs.version[d]]
    keys_now = ensure_identifiers(session, [docs.version[d] for d in fresh])
    previous = {
        d: members[d].version_id for d in fresh if d in members and members[d].version_id != docs.version[d]
    }
    old_keys = ensure_identifiers(session, list(previous.values())) if previous else {}
    change = KeyChange(
        added=[(k, publisher_key(docs.publisher[d])) for d in fresh for k in set(keys_now[docs.version[d]])],
        removed=[k for d, v in previous.items() for k in set(old_keys.get(v, []))],
    )
    new_hubs = update_key_counts(session, change, config)
    everywhere, per_source = stop_lists(session, {docs.source[d] for d in fresh})
    hubs = hubs_among(session, {k for d in fresh for k in keys_now[docs.version[d]]})
    probe = {
        k
        for d in fresh
        for k in usable(keys_now[docs.version[d]], docs.source[d], config=config, hubs=hubs,
                        everywhere=everywhere, per_source=per_source)
    }  # fmt: skip
    affected = set(batch)
    for found in documents_with(session, probe, limit_per_key=config.hub_documents).values():
        affected |= found
    if new_hubs:  # links a hub made before it was one are undone: its documents' operators are relinked
        for found in documents_with(session, new_hubs, limit_per_key=config.hub_documents * 4).values():
            affected |= found
    affected |= set(previous)  # a changed document may leave its operator
    result.refreshed = 0
    changed = _relink(session, affected, docs, config, actor, now, result, expand=True)
    touched = changed | {m.operator_id for m in _members(session, batch).values()}
    refresh_risk(session, touched, risk=risk, now=now, result=result)
    return result


def _relink(
    session: Session,
    seed: set[int],
    docs: _Docs,
    config: LinkConfig,
    actor: str,
    now: datetime,
    result: LinkResult,
    *,
    expand: bool,
) -> set[int]:
    """Recompute the operators of ``seed`` (closed over their operators' members and constraints) and write them.

    Returns the ids of operators whose membership changed.
    """
    affected = set(seed)
    if expand:
        for _ in range(3):  # operators' members, then constraint partners, then their operators
            members = _members(session, affected)
            grown = affected | set(_members_of_operators(session, {m.operator_id for m in members.values()}))
            _, _, named = _constraints(session, grown)
            grown |= named
            if grown == affected:
                break
            affected = grown
    docs.load(session, affected)
    affected = {d for d in affected if d in docs.version}
    result.affected += len(affected)
    members = _members(session, affected)
    keys = keys_by_document(session, sorted(affected))
    everywhere, per_source = stop_lists(session, {docs.source[d] for d in affected})
    hubs = hubs_among(session, {k for ks in keys.values() for k in ks})
    doc_keys = {
        d: usable(keys[d], docs.source[d], config=config, hubs=hubs, everywhere=everywhere, per_source=per_source)
        for d in sorted(affected)
    }
    must, cannot, _ = _constraints(session, affected)
    groups = components(doc_keys, config, must=must, cannot=cannot)
    return _write(session, groups, members, docs, actor, now, result)


def _write(
    session: Session,
    groups: list[list[int]],
    members: dict[int, OperatorMember],
    docs: _Docs,
    actor: str,
    now: datetime,
    result: LinkResult,
) -> set[int]:
    old = {d: m.operator_id for d, m in members.items()}
    sizes = Counter(old.values())
    ids = reconcile(groups, old, sizes)
    changed: set[int] = set()
    for i in range(len(groups)):
        if ids[i] is None:
            op = Operator(status="active", name="", document_count=0, risk_index=0.0, risk_level="正常监测",
                          risk_components={}, formula_version="", created_at=now, updated_at=now)  # fmt: skip
            session.add(op)
            session.flush()
            ids[i] = op.id
            result.created.append(op.id)
    new_of: dict[int, int] = {}
    for group, op_id in zip(groups, ids, strict=True):
        for d in group:
            new_of[d] = op_id
            m = members.get(d)
            if m is None:
                session.add(OperatorMember(document_id=d, operator_id=op_id, version_id=docs.version[d], joined_at=now))
                changed.add(op_id)
            else:
                if m.operator_id != op_id:
                    changed |= {m.operator_id, op_id}
                    m.operator_id = op_id
                    m.joined_at = now
                if m.version_id != docs.version[d]:
                    m.version_id = docs.version[d]
    continued = set(ids)
    where: dict[int, Counter] = defaultdict(Counter)
    for d, op_id in old.items():
        if d in new_of:
            where[op_id][new_of[d]] += 1
    for op_id, dest in sorted(where.items()):
        if op_id in continued:
            for other in sorted(set(dest) - {op_id}):
                _event(session, "split", op_id, other, actor, {"documents": dest[other]}, now)
                result.split.append((op_id, other))
            continue
        target = dest.most_common(1)[0][0]
        op = session.get(Operator, op_id)
        if op is not None and op.status == "active":
            op.status, op.merged_into_id, op.document_count, op.updated_at = "merged", target, 0, now
            _event(session, "merge", target, op_id, actor, {"documents": dest[target]}, now)
            result.merged.append((target, op_id))
            changed.add(target)
    session.flush()
    counts = dict(
        session.execute(
            select(OperatorMember.operator_id, func.count())
            .where(OperatorMember.operator_id.in_(sorted(changed | set(ids))))
            .group_by(OperatorMember.operator_id)
        ).all()
    )
    for op_id in sorted(changed | set(ids)):
        op = session.get(Operator, op_id)
        if op is None:
            continue
        n = counts.get(op_id, 0)
        if op.document_count != n:
            op.document_count = n
            changed.add(op_id)
        if n == 0 and op.status == "active":
            op.status = "dissolved"
        elif n and op.status != "active":
            op.status, op.merged_into_id = "active", None
        op.updated_at = now
    return changed


def _event(
    session: Session, kind: str, op_id: int, other: int | None, actor: str, detail: dict[str, Any], now: datetime
) -> None:
    session.add(OperatorEvent(kind=kind, operator_id=op_id, other_id=other, actor=actor, detail=detail, at=now))
    audit.record(session, actor, f"operator.{kind}", "operator", op_id, {"other_id": other}, detail)


def rebuild(
    session: Session,
    *,
    config: LinkConfig = LinkConfig(),
    risk: RiskConfig = RiskConfig(),
    now: datetime | None = None,
    actor: str = "rebuild",
) -> LinkResult:
    """Relink every document from its identifiers (extracted where missing), hub counts recomputed; ids kept."""
    now = now or utcnow()
    result = LinkResult()
    docs = _Docs()
    all_ids = list(session.scalars(select(Document.id).where(Document.current_version_id.is_not(None))))
    docs.load(session, all_ids)
    result.documents = len(all_ids)
    ensure_identifiers(session, [docs.version[d] for d in all_ids])
    session.flush()
    recount_keys(session, config)
    _relink(session, set(all_ids), docs, config, actor, now, result, expand=False)
    active = list(session.scalars(select(Operator.id).where(Operator.status == "active")))
    refresh_risk(session, active, risk=risk, now=now, result=result)
    audit.record(session, actor, "operator.rebuild", "operator", None, None,
                 {"documents": len(all_ids), "operators": len(active)})
    return result


# --- inspectors' corrections --------------------------------------------------------------------------------


def _constraint(session: Session, kind: str, actor: str, note: str, sides: dict[str, Iterable[int]]) -> int:
    c = OperatorConstraint(kind=kind, active=True, actor=actor, note=note)
    session.add(c)
    session.flush()
    for side, doc_ids in sides.items():
        for d in sorted(set(doc_ids)):
            session.add(OperatorConstraintMember(constraint_id=c.id, document_id=d, side=side))
    session.flush()
    return c.id


def merge_operators(
    session: Session,
    operator_ids: Sequence[int],
    *,
    actor: str,
    note: str = "",
    config: LinkConfig = LinkConfig(),
    risk: RiskConfig = RiskConfig(),
    now: datetime | None = None,
) -> Operator:
    """Join operators an inspector knows are one (a must-link over their documents that rebuilds keep)."""
    now = now or utcnow()
    ops = [resolve(session, i) for i in dict.fromkeys(operator_ids)]
    if len(ops) < 2 or any(o is None for o in ops) or len({o.id for o in ops}) < 2:
        raise ValueError("merge needs two or more existing, distinct operators")
    docs_of = {o.id: set(_members_of_operators(session, [o.id])) for o in ops}
    everything = set().union(*docs_of.values())
    # an earlier split that kept these apart no longer stands
    must, cannot, _ = _constraints(session, everything)
    for c in cannot:
        if any(c.a & docs_of[x] and c.b & docs_of[y] for x in docs_of for y in docs_of if x != y):
            session.get(OperatorConstraint, c.id).active = False
    cid = _constraint(session, "must_link", actor, note, {"a": everything})
    before = {"operators": sorted(docs_of), "documents": {str(k): len(v) for k, v in docs_of.items()}}
    result = LinkResult()
    changed = _relink(session, everything, _Docs(), config, actor, now, result, expand=True)
    kept = session.get(OperatorMember, min(everything)).operator_id
    refresh_risk(session, changed | {kept}, risk=risk, now=now, result=result)
    audit.record(session, actor, "operator.manual_merge", "operator", kept, before,
                 {"kept": kept, "constraint_id": cid, "note": note})
    return session.get(Operator, kept)


def split_operator(
    session: Session,
    operator_id: int,
    document_ids: Sequence[int],
    *,
    actor: str,
    note: str = "",
    config: LinkConfig = LinkConfig(),
    risk: RiskConfig = RiskConfig(),
    now: datetime | None = None,
) -> tuple[Operator, Operator]:
    """Take documents out of a wrongly merged operator into one of their own (cannot-link to the rest, must-link
    among themselves); rebuilds keep it. Returns (the remaining operator, the new one)."""
    now = now or utcnow()
    op = resolve(session, operator_id)
    if op is None:
        raise ValueError(f"no operator {operator_id}")
    current = set(_members_of_operators(session, [op.id]))
    out = set(document_ids)
    if not out or not out <= current or out == current:
        raise ValueError("split needs some, not all, of the operator's own documents")
    rest = current - out
    must, _, _ = _constraints(session, current)
    for group in must:  # an earlier merge that tied both sides together gives way to this split
        if set(group) & out and set(group) & rest:
            for c in session.scalars(
                select(OperatorConstraintMember).where(OperatorConstraintMember.document_id.in_(sorted(out)))
            ):
                kind = session.get(OperatorConstraint, c.constraint_id)
                if kind is not None and kind.kind == "must_link" and kind.active:
                    session.delete(c)
    session.flush()
    cid = _constraint(session, "cannot_link", actor, note, {"a": out, "b": rest})
    if len(out) > 1:
        _constraint(session, "must_link", actor, note, {"a": out})
    result = LinkResult()
    changed = _relink(session, current, _Docs(), config, actor, now, result, expand=True)
    remaining = session.get(OperatorMember, min(rest)).operator_id
    new = session.get(OperatorMember, min(out)).operator_id
    refresh_risk(session, changed | {remaining, new}, risk=risk, now=now, result=result)
    audit.record(session, actor, "operator.manual_split", "operator", remaining,
                 {"operator": op.id, "documents": sorted(current)},
                 {"remaining": remaining, "new": new, "moved": sorted(out), "constraint_id": cid, "note": note})
    return session.get(Operator, remaining), session.get(Operator, new)


def resolve(session: Session, operator_id: int) -> Operator | None:
    """The operator, following merges to the one that absorbed it."""
    op = session.get(Operator, operator_id)
    for _ in range(50):
        if op is None or op.status != "merged" or op.merged_into_id is None:
            return op
        op = session.get(Operator, op.merged_into_id)
    return op


# --- risk index and early warning -------------------------------------------------------------------------


def _facts(session: Session, op_ids: Sequence[int]) -> dict[int, list[DocFacts]]:
    members = _members_of_operators(session, op_ids)
    doc_ids = sorted(members)
    rows: dict[int, Any] = {}
    scores: dict[int, tuple[float, list]] = {}
    status: dict[int, set[str]] = defaultdict(set)
    for i in range(0, len(doc_ids), 500):
        chunk = doc_ids[i : i + 500]
        for r in session.execute(
            select(Document.id, Document.current_version_id, Document.source_id, Document.region,
                   Document.posted_at, Document.created_at).where(Document.id.in_(chunk))
        ):  # fmt: skip
            rows[r.id] = r
        versions = [rows[d].current_version_id for d in chunk if d in rows and rows[d].current_version_id]
        for vid, score, hits in session.execute(
            select(Verdict.version_id, Verdict.score, Verdict.hits)
            .where(Verdict.version_id.in_(versions))
            .order_by(Verdict.id)
        ):
            scores[vid] = (score, hits or [])
        for doc_id, st in session.execute(select(Flag.document_id, Flag.status).where(Flag.document_id.in_(chunk))):
            status[doc_id].add(st)
    out: dict[int, list[DocFacts]] = defaultdict(list)
    for d, m in members.items():
        r = rows.get(d)
        if r is None:
            continue
        score, hits = scores.get(r.current_version_id, (None, []))
        cats = {h.get("category") for h in hits if isinstance(h, dict) and not h.get("counter")
                and (h.get("weight") or 0) > 0}  # fmt: skip
        confirmed = bool(status[d] & CONFIRMED)
        out[m.operator_id].append(
            DocFacts(d, score, r.source_id, r.region, sorted(c for c in cats if c), confirmed,
                     not confirmed and FlagStatus.DISMISSED.value in status[d], r.posted_at or r.created_at)
        )  # fmt: skip
    return out


def _names(session: Session, op_ids: Sequence[int]) -> dict[int, str]:
    """A display name per operator: its most frequent company, brand or app name, else publisher, else contact."""
    members = _members_of_operators(session, op_ids)
    by_op: dict[int, list[int]] = defaultdict(list)
    for d, m in members.items():
        by_op[m.operator_id].append(d)
    idents: dict[int, list[DocumentIdentifier]] = defaultdict(list)
    for i in identifiers_of_versions(session, [m.version_id for m in members.values()]):
        idents[members[i.document_id].operator_id].append(i) if i.document_id in members else None
    publishers: dict[int, str | None] = {}
    ids = sorted(members)
    for k in range(0, len(ids), 500):
        publishers.update(session.execute(
            select(Document.id, Document.publisher).where(Document.id.in_(ids[k : k + 500]))
        ).all())  # fmt: skip
    out: dict[int, str] = {}
    for op_id in op_ids:
        found = idents.get(op_id, [])
        name = ""
        for kind in NAME_KINDS:
            names = Counter(i.matched for i in found if i.kind == kind)
            if names:
                name = names.most_common(1)[0][0]
                break
        if not name:
            pubs = Counter(publishers.get(d) for d in by_op.get(op_id, []) if publishers.get(d))
            contacts = Counter(i.matched for i in found if i.kind in ("phone", "wechat", "qq"))
            best = pubs or contacts
            name = best.most_common(1)[0][0] if best else ""
        out[op_id] = name
    return out


def refresh_risk(
    session: Session,
    operator_ids: Iterable[int],
    *,
    risk: RiskConfig = RiskConfig(),
    now: datetime | None = None,
    result: LinkResult | None = None,
) -> list[int]:
    """Recompute index, level, components and name of the operators; raise warnings. Returns new warning ids."""
    now = now or utcnow()
    ids = sorted({i for i in operator_ids if i is not None})
    facts = _facts(session, ids) if ids else {}
    names = _names(session, ids) if ids else {}
    warnings: list[int] = []
    for op_id in ids:
        op = session.get(Operator, op_id)
        if op is None or op.status != "active":
            continue
        assessed = assess(facts.get(op_id, []), now, risk)
        before = op.risk_level
        op.risk_index, op.risk_level = assessed.index, assessed.level
        op.risk_components, op.formula_version, op.risk_updated_at = assessed.components, assessed.formula_version, now
        op.name = names.get(op_id, "")[:200]
        if assessed.level == HIGH and before != HIGH:
            w = _warn(session, op, "high_risk", f"high:{op.id}:{now.isoformat()}", now,
                      {"previous_level": before, "components": assessed.components})  # fmt: skip
            warnings += [w] if w else []
        new_today = assessed.components["new_last_day"]
        if new_today >= risk.spike_per_day:
            day = now.astimezone(BEIJING).date().isoformat()
            w = _warn(session, op, "spike", f"spike:{op.id}:{day}", now,
                      {"new_last_day": new_today, "threshold": risk.spike_per_day, "day_beijing": day})  # fmt: skip
            warnings += [w] if w else []
    if result is not None:
        result.refreshed += len(ids)
        result.warnings += warnings
    session.flush()
    return warnings


def _warn(session: Session, op: Operator, kind: str, key: str, now: datetime, detail: dict[str, Any]) -> int | None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    row = session.execute(
        insert(OperatorWarning)
        .values(operator_id=op.id, kind=kind, at=now, risk_index=op.risk_index, level=op.risk_level,
                detail=detail, dedupe_key=key, webhook_status="pending", webhook_attempts=0)  # fmt: skip
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OperatorWarning.id)
    ).first()
    if row is None:
        return None
    audit.record(session, "system", "operator.warning", "operator", op.id, None,
                 {"kind": kind, "warning_id": row[0], "risk_index": op.risk_index, "level": op.risk_level})
    return row[0]


def warning_payload(session: Session, w: OperatorWarning) -> dict[str, Any]:
    op = session.get(Operator, w.operator_id)
    return {
        "warning_id": w.id,
        "kind": w.kind,
        "at": w.at.isoformat(),
        "at_beijing": w.at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M 北京时间"),
        "operator": {"id": w.operator_id, "name": op.name if op else "", "risk_index": w.risk_index,
                     "level": w.level},  # fmt: skip
        "detail": w.detail,
    }


# A warning that met a transient failure is tried again after 5 min, 10, 20 … (at most 6 h apart), for 2 days.
RETRY_FIRST = timedelta(minutes=5)
RETRY_MAX_GAP = timedelta(hours=6)
RETRY_GIVE_UP = timedelta(days=2)


def retry_delay(rounds: int) -> timedelta:
    """The wait after the ``rounds``-th failed delivery round (1, 2, …): doubling from 5 minutes, capped at 6 h."""
    return min(RETRY_MAX_GAP, RETRY_FIRST * 2 ** min(max(0, rounds - 1), 16))


def deliver_warnings(
    session: Session, url: str, secret: str, *, limit: int = 100, now: datetime | None = None, **send_options: Any
) -> dict:
    """Send pending warnings, and retrying ones that are due, to the webhook (``operators.webhook.send``).

    Each is marked ``sent``; ``retrying`` after a transient failure (network, timeout, 408/429/5xx), due again after
    :func:`retry_delay`; or ``failed`` when the receiver refuses it (another 4xx) or it has failed for two days.
    Why not just ``failed``: the bureau must receive every early warning, and a receiver down for a minute would
    otherwise lose it for good."""
    from operators.webhook import send

    now = now or utcnow()
    counts: Counter = Counter()
    due = (OperatorWarning.webhook_status == "pending") | (
        (OperatorWarning.webhook_status == "retrying") & (OperatorWarning.next_attempt_at <= now)
    )
    pending = list(
        session.scalars(
            select(OperatorWarning).where(due).order_by(OperatorWarning.id)
            .limit(limit).with_for_update(skip_locked=True)  # two overlapping deliveries never send one twice
        )
    )
    for w in pending:
        delivery = send(url, secret, warning_payload(session, w), **send_options)
        w.webhook_attempts = (w.webhook_attempts or 0) + delivery.attempts
        w.delivered_at = utcnow() if delivery.ok else None
        w.last_error = delivery.error
        w.next_attempt_at = None
        if delivery.ok:
            w.webhook_status = "sent"
        elif delivery.retryable and now - (w.at or now) < RETRY_GIVE_UP:
            rounds = max(1, math.ceil(w.webhook_attempts / max(1, delivery.attempts)))
            w.webhook_status, w.next_attempt_at = "retrying", now + retry_delay(rounds)
        else:
            w.webhook_status = "failed"
        counts[w.webhook_status] += 1
        audit.record(session, "system", "operator.warning_delivery", "operator", w.operator_id, None,
                     {"warning_id": w.id, "status": w.webhook_status, "attempts": delivery.attempts,
                      "http_status": delivery.status})  # fmt: skip
    session.flush()
    return dict(counts)


# --- reads for the review pages, the API and the CLI -------------------------------------------------------


def operator_summary(op: Operator) -> dict[str, Any]:
    return {
        "id": op.id,
        "name": op.name,
        "status": op.status,
        "documents": op.document_count,
        "risk_index": op.risk_index,
        "level": op.risk_level,
        "formula_version": op.formula_version,
        "components": op.risk_components or {},
        "risk_updated_at": op.risk_updated_at.isoformat() if op.risk_updated_at else None,
        "created_at": op.created_at.isoformat() if op.created_at else None,
    }


def list_operators(
    session: Session,
    *,
    level: str | None = None,
    region: str | None = None,
    category: str | None = None,
    source_id: int | None = None,
    min_documents: int = 2,
    limit: int = 50,
    offset: int = 0,
    units: Sequence[str] | None = None,
    area: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Active operators by risk index (highest first), with their components; filters by level, region (any
    member ad's region), scheme category and source; ``units``: operators with a case routed to one of these
    responsible units (属地管理); ``area``: with a case in this area, as (``province|city|county``, name)."""
    stmt = select(Operator).where(Operator.status == "active", Operator.document_count >= min_documents)
    if level:
        stmt = stmt.where(Operator.risk_level == level)
    if units is not None or area is not None:
        cases = select(OperatorMember.operator_id).join(Flag, Flag.document_id == OperatorMember.document_id)
        if units is not None:
            cases = cases.where(Flag.unit.in_(sorted(units)))
        if area is not None:
            column = {"province": Flag.province, "city": Flag.city, "county": Flag.county}[area[0]]
            cases = cases.where(column == area[1])
        stmt = stmt.where(Operator.id.in_(cases))
    if region or source_id is not None:
        sub = select(OperatorMember.operator_id).join(Document, Document.id == OperatorMember.document_id)
        if region:
            sub = sub.where(Document.region == region)
        if source_id is not None:
            sub = sub.where(Document.source_id == source_id)
        stmt = stmt.where(Operator.id.in_(sub))
    stmt = stmt.order_by(Operator.risk_index.desc(), Operator.document_count.desc(), Operator.id)
    if category:  # categories live in the JSON components: filtered here, over the ordered list
        out = [operator_summary(o) for o in session.scalars(stmt)]
        out = [o for o in out if category in (o["components"].get("categories") or [])]
        return out[offset : offset + limit]
    return [operator_summary(o) for o in session.scalars(stmt.offset(offset).limit(limit))]


def operator_documents(session: Session, operator_id: int) -> list[dict[str, Any]]:
    """The operator's ads: document, current version, source, region, time, latest score and level, flag status."""
    members = _members_of_operators(session, [operator_id])
    if not members:
        return []
    docs = {d.id: d for d in session.scalars(select(Document).where(Document.id.in_(sorted(members))))}
    versions = [d.current_version_id for d in docs.values() if d.current_version_id]
    verdicts: dict[int, Verdict] = {}
    for v in session.scalars(select(Verdict).where(Verdict.version_id.in_(versions)).order_by(Verdict.id)):
        verdicts[v.version_id] = v
    flags: dict[int, Flag] = {}
    for f in session.scalars(select(Flag).where(Flag.document_id.in_(sorted(docs))).order_by(Flag.id)):
        flags[f.document_id] = f
    out = []
    for d in sorted(docs.values(), key=lambda d: (d.posted_at or d.created_at, d.id)):
        v, f = verdicts.get(d.current_version_id), flags.get(d.id)
        seen = d.posted_at or d.created_at
        out.append({
            "document_id": d.id, "version_id": d.current_version_id, "title": d.title, "url": d.url,
            "source_id": d.source_id, "region": d.region, "publisher": d.publisher,
            "seen_at": seen.isoformat() if seen else None,
            "seen_at_beijing": seen.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M 北京时间") if seen else None,
            "score": v.score if v else None, "level": v.level if v else None,
            "flag_id": f.id if f else None, "flag_status": f.status if f else None,
        })  # fmt: skip
    return out


def operator_identifiers(session: Session, operator_id: int) -> list[dict[str, Any]]:
    """Its identifiers: kind, value, how many of its ads carry each, where (exact spans), and whether it links."""
    members = _members_of_operators(session, [operator_id])
    idents = identifiers_of_versions(session, [m.version_id for m in members.values()])
    hubs = hubs_among(session, {(i.kind, i.value) for i in idents})
    grouped: dict[tuple[str, str], list[DocumentIdentifier]] = defaultdict(list)
    for i in idents:
        grouped[(i.kind, i.value)].append(i)
    out = []
    for (kind, value), items in sorted(grouped.items(), key=lambda kv: (-len({i.document_id for i in kv[1]}), kv[0])):
        out.append({
            "kind": kind, "value": value, "documents": len({i.document_id for i in items}),
            "hub": (kind, value) in hubs, "weight": LinkConfig().weight(kind),
            "spans": [{"document_id": i.document_id, "version_id": i.version_id, "field": i.field,
                       "start": i.start, "end": i.end, "matched": i.matched} for i in items],
        })  # fmt: skip
    return out


def link_graph(session: Session, operator_id: int, *, max_nodes: int = 200) -> dict[str, Any]:
    """Documents and the identifiers they share, as nodes and edges (for an ECharts graph or an SVG).

    Only identifiers that two or more of its ads share are drawn: they are the links.
    """
    idents = operator_identifiers(session, operator_id)
    docs = operator_documents(session, operator_id)
    nodes = [{"id": f"d{d['document_id']}", "type": "document", "label": (d["title"] or "")[:24],
              "score": d["score"]} for d in docs][:max_nodes]  # fmt: skip
    shown = {n["id"] for n in nodes}
    edges = []
    for i in idents:
        if i["documents"] < 2 or i["weight"] <= 0:
            continue
        node = f"i:{i['kind']}:{i['value']}"
        nodes.append({"id": node, "type": i["kind"], "label": i["value"], "hub": i["hub"], "weight": i["weight"]})
        for d in sorted({s["document_id"] for s in i["spans"]}):
            if f"d{d}" in shown:
                edges.append({"source": f"d{d}", "target": node})
    return {"operator_id": operator_id, "nodes": nodes, "edges": edges}


def operator_detail(session: Session, operator_id: int) -> dict[str, Any] | None:
    """Everything an operator page shows: summary with components, ads, identifiers, graph, events, warnings."""
    op = resolve(session, operator_id)
    if op is None:
        return None
    events = session.scalars(
        select(OperatorEvent)
        .where((OperatorEvent.operator_id == op.id) | (OperatorEvent.other_id == op.id))
        .order_by(OperatorEvent.id)
    )
    warnings = session.scalars(
        select(OperatorWarning).where(OperatorWarning.operator_id == op.id).order_by(OperatorWarning.id)
    )
    return {
        **operator_summary(op),
        "requested_id": operator_id,
        "documents_list": operator_documents(session, op.id),
        "identifiers": operator_identifiers(session, op.id),
        "graph": link_graph(session, op.id),
        "events": [{"kind": e.kind, "operator_id": e.operator_id, "other_id": e.other_id, "actor": e.actor,
                    "at": e.at.isoformat(), "detail": e.detail} for e in events],  # fmt: skip
        "warnings": [{"id": w.id, "kind": w.kind, "at": w.at.isoformat(), "risk_index": w.risk_index,
                      "level": w.level, "webhook_status": w.webhook_status,
                      "next_attempt_at": w.next_attempt_at.isoformat() if w.next_attempt_at else None}
                     for w in warnings],  # fmt: skip
    }


def operator_of(session: Session, document_id: int) -> int | None:
    return session.scalar(select(OperatorMember.operator_id).where(OperatorMember.document_id == document_id))


def list_warnings(session: Session, *, status: str | None = None, limit: int = 100) -> list[OperatorWarning]:
    stmt = select(OperatorWarning).order_by(OperatorWarning.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(OperatorWarning.webhook_status == status)
    return list(session.scalars(stmt))
