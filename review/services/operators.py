"""Operators in the review app (issue 13): the list by risk index, the operator page, "confirm all open cases",
the referral package per operator, inspectors' splits and merges, and the early warnings shown in the queue.

The store (``store.operators``) links, scores and reads operators; this module adds what the review app decides:

- **Scope (属地管理).** An account scoped to units sees the operators with at least one case of its units; on an
  operator page the ads whose case belongs to another unit are counted but not shown (no title, link or
  identifier excerpt), as the case itself would answer 404. Confirm-all, the package, split and merge act only on
  cases and ads the account can see.
- **Rules.** Confirm-all decides each open case through ``review.services.cases.decide`` (claim first, refused when
  another inspector holds it): a case that the rules refuse is skipped with its reason and the others go ahead.
- **Evidence.** The package is ``review.services.referral.export`` (judged versions' text and SHA-256, one
  evidence sheet per case) plus an operator summary sheet, all covered by the manifest.
- **Inert text.** Identifier excerpts are built from escaped pieces; a span is shown only when the field's
  characters at its offsets are exactly the stored ``matched``.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from operators.risk import FORMULA_VERSION, HIGH, NORMAL, WATCH, RiskConfig
from review import charts
from review.services import cases, referral, scope
from review.services.errors import InvalidInput, NotFound
from review.services.filters import clean_text, parse_id, usable
from review.services.lexicon import categories as category_labels
from review.timefmt import bj_date, bjt, iso
from store import audit, queue, units
from store import operators as store
from store.identifiers import identifier_texts
from store.models import (
    Flag,
    FlagStatus,
    Operator,
    OperatorMember,
    OperatorWarning,
    User,
    utcnow,
)

LEVELS = (HIGH, WATCH, NORMAL)
LEVEL_CLASS = {HIGH: "op-high", WATCH: "op-watch", NORMAL: "op-normal"}
KIND_LABELS = {
    "phone": "电话",
    "phone_partial": "部分号码",
    "wechat": "微信",
    "qq": "QQ",
    "email": "邮箱",
    "url": "网址",
    "domain": "域名",
    "company": "公司名称",
    "brand": "品牌",
    "app": "应用",
    "region": "地区",
}
KIND_COLOURS = {kind: charts.PALETTE[i % len(charts.PALETTE)] for i, kind in enumerate(KIND_LABELS)}
FIELD_LABELS = {"title": "标题", "body": "正文", "publisher": "发布者", "contact": "联系方式", "region": "地区",
                "ocr": "图片文字", "qr": "二维码内容"}
WARNING_LABELS = {"high_risk": "进入高风险", "spike": "单日新增激增"}
WEBHOOK_LABELS = {"pending": "待推送", "sent": "已推送", "retrying": "推送失败，稍后重试", "failed": "推送失败"}
EVENT_LABELS = {"merge": "合并", "split": "拆分", "dissolve": "解散"}
OPEN = (FlagStatus.OPEN.value, FlagStatus.CLAIMED.value)
MAX_NOTE = 1000
MAX_SPANS = 12  # excerpts shown per identifier (the count says how many more)
CONTEXT = 16  # characters of context either side of an identifier
MAX_DAYS = 120  # a longer timeline is drawn per week
# the index components as a table: key of ``points``, label, how the value is shown, the most points it gives
COMPONENTS: list[tuple[str, str, int]] = [
    ("max_score", "最高广告评分", 30),
    ("mean_score", "平均广告评分", 15),
    ("documents", "广告数", 15),
    ("sites", "站点数", 5),
    ("regions", "地区数", 5),
    ("categories", "涉及集资类别", 5),
    ("confirmed", "已确认案件", 15),
    ("growth", "增长（近7天新增 − 前7天新增）", 10),
]
ECHARTS = Path(__file__).parent.parent / "static" / "vendor" / "echarts" / "echarts.min.js"
FORMULA = FORMULA_VERSION  # the risk formula the list names (each operator carries its own)
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent.parent / "templates"),
    autoescape=select_autoescape(default=True),
)
_TEMPLATES.filters["bjt"] = bjt


def _fits(value: int) -> bool:
    return 0 < value < 2**31


def operator_code(op_id: int) -> str:
    return f"OP-{op_id:06d}"


def risk_config_of(state: Any) -> RiskConfig:
    """The thresholds the app runs with: ``app.state.operator_risk`` when set (tests), else the settings'."""
    given = getattr(state, "operator_risk", None)
    if isinstance(given, RiskConfig):
        return given
    from adscreen.settings import get_settings
    from operators.cli import risk_config

    return risk_config(get_settings())


# --- the list ----------------------------------------------------------------------------------------------------


@dataclass
class OperatorFilter:
    level: str | None = None
    region: str | None = None
    category: str | None = None
    unit: str | None = None
    source_id: int | None = None
    min_documents: int = 2


def parse_filter(params: Mapping[str, str]) -> tuple[OperatorFilter, dict[str, str]]:
    """Query parameters → filter plus the accepted values (bad values are ignored, never passed on)."""
    f, clean = OperatorFilter(), {}
    level = clean_text(params.get("level"))
    if level in LEVELS:
        f.level = clean["level"] = level
    for name in ("region", "category", "unit"):
        value = clean_text(params.get(name))
        if value:
            setattr(f, name, value)
            clean[name] = value
    source_id = parse_id(params.get("source_id"))
    if source_id is not None:
        f.source_id, clean["source_id"] = source_id, str(source_id)
    min_docs = parse_id(params.get("min_documents"))
    if min_docs is not None and min_docs <= 1000:
        f.min_documents, clean["min_documents"] = min_docs, str(min_docs)
    return f, clean


def list_operators(
    session: Session, user: User, f: OperatorFilter, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], bool]:
    """Operators by index (highest first) within the user's units; returns (rows, whether more follow).

    地区 matches a parent area (睢阳 finds 睢阳区) through the cases' parsed areas, else the ads' region text.
    """
    allowed = scope.units_of(session, user)
    chosen: list[str] | None = None
    if f.unit:
        chosen = [f.unit] if allowed is None or f.unit in allowed else []
    elif allowed is not None:
        chosen = list(allowed)
    area, region = None, None
    if f.region:
        parsed = units.parse_region(f.region)
        if parsed.level is not None and parsed.name:
            area = (parsed.level, parsed.name)
        else:
            region = f.region
    rows = store.list_operators(
        session,
        level=f.level,
        region=region,
        category=f.category,
        source_id=f.source_id,
        min_documents=f.min_documents,
        limit=limit + 1,
        offset=offset,
        units=chosen,
        area=area,
    )
    return rows[:limit], len(rows) > limit


# --- one operator ------------------------------------------------------------------------------------------------


def _operator(session: Session, user: User, op_id: int) -> tuple[Operator, dict[int, Flag], set[int]]:
    """The operator (following merges), its ads' latest flags, and the ads the user may not see; NotFound when
    it does not exist, is no longer active, or has no case of the user's units."""
    op = store.resolve(session, op_id) if _fits(op_id) else None
    if op is None or op.status != "active":
        raise NotFound(f"团伙 {op_id} 不存在")
    doc_ids = sorted(session.scalars(select(OperatorMember.document_id).where(OperatorMember.operator_id == op.id)))
    flags: dict[int, Flag] = {}
    for i in range(0, len(doc_ids), 500):
        for flag in session.scalars(
            select(Flag).where(Flag.document_id.in_(doc_ids[i : i + 500])).order_by(Flag.id)
        ):
            flags[flag.document_id] = flag
    allowed = scope.units_of(session, user)
    hidden: set[int] = set()
    if allowed is not None:
        hidden = {d for d, flag in flags.items() if flag.unit not in allowed}
        if not any(flag.unit in allowed for flag in flags.values()):
            raise NotFound(f"团伙 {op_id} 不存在或不涉及您负责的单位")
    return op, flags, hidden


def operator_data(session: Session, user: User, op_id: int) -> dict[str, Any]:
    """``store.operators.operator_detail`` as the user may see it: the ads of other units' cases are left out
    (counted in ``hidden_documents``), with their identifier spans and graph nodes."""
    op, flags, hidden = _operator(session, user, op_id)
    detail = store.operator_detail(session, op.id)
    if detail is None:  # pragma: no cover - _operator found it active a moment ago
        raise NotFound(f"团伙 {op_id} 不存在")
    detail["requested_id"] = op_id
    names = units.unit_names(session)
    ads = []
    for ad in detail["documents_list"]:
        if ad["document_id"] in hidden:
            continue
        flag = flags.get(ad["document_id"])
        ads.append(
            {
                **ad,
                "case_id": referral.case_id(flag) if flag is not None else None,
                "unit": names.get(flag.unit, flag.unit) if flag is not None and flag.unit else None,
                "assignee": flag.assignee if flag is not None else None,
            }
        )
    detail["documents_list"] = ads
    detail["hidden_documents"] = len(hidden)
    idents = []
    for ident in detail["identifiers"]:
        spans = [s for s in ident["spans"] if s["document_id"] not in hidden]
        if spans:
            idents.append({**ident, "spans": spans, "documents": len({s["document_id"] for s in spans})})
    detail["identifiers"] = idents
    graph = detail["graph"]
    gone = {f"d{d}" for d in hidden}
    edges = [e for e in graph["edges"] if e["source"] not in gone]
    linked = {e["target"] for e in edges}
    nodes = [
        n
        for n in graph["nodes"]
        if n["id"] not in gone and (n["type"] == "document" or n["id"] in linked)
    ]
    detail["graph"] = {**graph, "nodes": nodes, "edges": edges}
    return detail


@dataclass
class Excerpt:
    document_id: int
    field: str
    field_label: str
    html: Markup | None  # None: the stored span no longer fits its field (never shown as evidence)


@dataclass
class OperatorView:
    detail: dict[str, Any]
    identifiers: list[dict[str, Any]]
    components: list[dict[str, Any]]
    timeline: dict[str, Any]
    timeline_svg: Markup
    graph_svg: Markup
    counts: dict[str, int] = field(default_factory=dict)


def excerpt(text: str, start: int, end: int, matched: str, field_name: str, document_id: int) -> Markup | None:
    """The identifier in its context, escaped, with exactly its characters marked; None when the span is off."""
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
        return None
    if text[start:end] != matched:
        return None
    a, b = max(0, start - CONTEXT), min(len(text), end + CONTEXT)
    return Markup(
        ("…" if a else "")
        + str(escape(text[a:start]))
        + f'<mark class="ident" data-doc="{int(document_id)}" data-field="{escape(field_name)}" '
        f'data-start="{int(start)}" data-end="{int(end)}">{escape(matched)}</mark>'
        + str(escape(text[end:b]))
        + ("…" if b < len(text) else "")
    )


def _excerpts(session: Session, identifiers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    texts = identifier_texts(session, [s["version_id"] for i in identifiers for s in i["spans"][:MAX_SPANS]])
    out = []
    for ident in identifiers:
        shown = []
        for s in ident["spans"][:MAX_SPANS]:
            text = texts.get(s["version_id"], {}).get(s["field"], "")
            shown.append(
                Excerpt(
                    s["document_id"],
                    s["field"],
                    FIELD_LABELS.get(s["field"], s["field"]),
                    excerpt(text, s["start"], s["end"], s["matched"], s["field"], s["document_id"]),
                )
            )
        w = ident["weight"]
        out.append(
            {
                **ident,
                "kind_label": KIND_LABELS.get(ident["kind"], ident["kind"]),
                "links": "不关联（常用号码/平台标识）" if ident["hub"] else
                         ("可单独关联" if w >= 1 else ("须与其他线索共同关联" if w > 0 else "不关联")),
                "excerpts": shown,
                "more": max(0, len(ident["spans"]) - MAX_SPANS),
            }
        )  # fmt: skip
    return out


def component_rows(components: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The index taken apart: each component's value, its points and the most it can give."""
    points = components.get("points") or {}
    labels = category_labels()
    regions = components.get("regions") or []
    cats = components.get("categories") or []
    values = {
        "max_score": f"{components.get('max_score', 0):.2f}",
        "mean_score": f"{components.get('mean_score', 0):.2f}",
        "documents": str(components.get("documents", 0)),
        "sites": str(components.get("sites", 0)),
        "regions": f"{len(regions)}" + (f"（{'、'.join(regions[:8])}{'…' if len(regions) > 8 else ''}）" if regions else ""),
        "categories": f"{len(cats)}" + (f"（{'、'.join(labels.get(c, c) for c in cats)}）" if cats else ""),
        "confirmed": str(components.get("confirmed", 0)),
        "growth": f"{components.get('new_last_7_days', 0)} − {components.get('new_previous_7_days', 0)}",
    }  # fmt: skip
    return [
        {"key": key, "label": label, "value": values[key], "points": float(points.get(key, 0.0)), "max": top}
        for key, label, top in COMPONENTS
    ]


def _status_group(status: str | None) -> str:
    if status in (FlagStatus.CONFIRMED.value, FlagStatus.REFERRED.value):
        return "已确认/已移送"
    if status in (FlagStatus.DISMISSED.value, FlagStatus.WITHDRAWN.value):
        return "已排除"
    if status is None:
        return "未立案"
    return "待处理"


def timeline(ads: list[dict[str, Any]]) -> dict[str, Any]:
    """New ads per Beijing day (per week beyond MAX_DAYS days), stacked by what became of their cases."""
    days_of = []
    for ad in ads:
        seen = ad.get("seen_at")
        days_of.append((bj_date(datetime.fromisoformat(seen)) if seen else None, _status_group(ad.get("flag_status"))))
    known = [d for d, _ in days_of if d is not None]
    if not known:
        return {"unit": "day", "days": [], "series": {}}
    first, last = min(known), max(known)
    weekly = (last - first).days + 1 > MAX_DAYS
    if weekly:
        first = first - timedelta(days=first.weekday())

    def bucket(d: date) -> date:
        return d - timedelta(days=d.weekday()) if weekly else d

    step = 7 if weekly else 1
    buckets = [first + timedelta(days=step * i) for i in range((last - first).days // step + 1)]
    index = {b: i for i, b in enumerate(buckets)}
    groups = ["已确认/已移送", "待处理", "已排除", "未立案"]
    series = {g: [0] * len(buckets) for g in groups}
    for d, g in days_of:
        if d is not None:
            series[g][index[bucket(d)]] += 1
    return {
        "unit": "week" if weekly else "day",
        "days": [b.isoformat() for b in buckets],
        "series": {g: v for g, v in series.items() if any(v)},
    }


def graph_svg(graph: Mapping[str, Any], width: int = 640) -> Markup:
    """The link graph drawn on the server (no JavaScript): identifiers on the left, ads on the right, a line for
    each ad that carries the identifier. Every label is escaped."""
    idents = [n for n in graph["nodes"] if n["type"] != "document"][:40]
    docs = [n for n in graph["nodes"] if n["type"] == "document"][:60]
    row = 20
    height = 40 + row * max(len(idents), len(docs), 1)
    left_x, right_x = 200, width - 230
    pos_i = {n["id"]: 30 + row * k for k, n in enumerate(idents)}
    pos_d = {n["id"]: 30 + row * k for k, n in enumerate(docs)}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart op-graph" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="关联图">'
        '<text x="4" y="14" font-size="13" font-weight="bold">关联图（共同标识 — 广告）</text>'
    ]
    for e in graph["edges"]:
        if e["source"] in pos_d and e["target"] in pos_i:
            parts.append(
                f'<line x1="{left_x}" y1="{pos_i[e["target"]]}" x2="{right_x}" y2="{pos_d[e["source"]]}" '
                'stroke="#9aa" stroke-width="1"/>'
            )
    for n in idents:
        y = pos_i[n["id"]]
        colour = KIND_COLOURS.get(n["type"], "#888")
        label = f"{KIND_LABELS.get(n['type'], n['type'])} {n['label']}"[:26]
        dash = ' stroke-dasharray="2,2" stroke="#333"' if n.get("hub") else ""
        parts.append(
            f'<circle cx="{left_x}" cy="{y}" r="6" fill="{colour}"{dash}><title>{escape(label)}</title></circle>'
            f'<text x="{left_x - 10}" y="{y + 4}" font-size="11" text-anchor="end">{escape(label)}</text>'
        )  # fmt: skip
    for n in docs:
        y = pos_d[n["id"]]
        score = n.get("score")
        label = f"{n['id'][1:]} {n['label']}"[:28]
        fill = "#b03a2e" if score is not None and score >= 0.8 else ("#d68910" if score is not None and score >= 0.5 else "#7f8c8d")
        parts.append(
            f'<rect x="{right_x - 5}" y="{y - 5}" width="10" height="10" fill="{fill}"><title>{escape(label)}</title></rect>'
            f'<text x="{right_x + 10}" y="{y + 4}" font-size="11">{escape(label)}</text>'
        )  # fmt: skip
    if not graph["edges"]:
        parts.append(f'<text x="{left_x}" y="{height - 8}" font-size="12">没有两条以上广告共有的标识</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def operator_view(session: Session, user: User, op_id: int) -> OperatorView:
    """Everything the operator page shows."""
    detail = operator_data(session, user, op_id)
    ads = detail["documents_list"]
    line = timeline(ads)
    title = "每周新增广告（北京时间）" if line["unit"] == "week" else "每日新增广告（北京时间）"
    statuses = Counter(ad["flag_status"] for ad in ads)
    return OperatorView(
        detail=detail,
        identifiers=_excerpts(session, detail["identifiers"]),
        components=component_rows(detail["components"]),
        timeline=line,
        timeline_svg=charts.stacked_bars(line["days"], line["series"], title),
        graph_svg=graph_svg(detail["graph"]),
        counts={"open": sum(statuses[s] for s in OPEN), "confirmed": statuses[FlagStatus.CONFIRMED.value]},
    )


def timeline_chart(view: OperatorView) -> dict[str, Any]:
    """The timeline as ECharts reads it (``static/operators.js``): plain data, no markup."""
    return {"kind": "timeline", **view.timeline}


def graph_chart(view: OperatorView) -> dict[str, Any]:
    """The link graph as ECharts reads it: nodes with a category (ads, or the identifier's kind), links."""
    graph = view.detail["graph"]
    kinds = ["广告"] + sorted({KIND_LABELS.get(n["type"], n["type"]) for n in graph["nodes"] if n["type"] != "document"})
    nodes = []
    for n in graph["nodes"]:
        if n["type"] == "document":
            score = n.get("score") or 0.0
            nodes.append({"id": n["id"], "name": f"广告 {n['id'][1:]} {n['label']}", "category": 0, "document": True,
                          "size": 10 + round(10 * score)})  # fmt: skip
        else:
            label = KIND_LABELS.get(n["type"], n["type"])
            nodes.append({"id": n["id"], "name": f"{label} {n['label']}", "category": kinds.index(label), "size": 16})
    return {"kind": "graph", "categories": kinds, "nodes": nodes, "links": graph["edges"]}


# --- acting on an operator ------------------------------------------------------------------------------------


def _note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE or not usable(note):
        raise InvalidInput(f"备注至多 {MAX_NOTE} 字，且不能含无效字符")
    return note


@dataclass
class ConfirmOutcome:
    operator_id: int
    confirmed: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (flag id, why)


def confirm_open(
    session: Session, user: User, op_id: int, note: str, ttl: int, risk: RiskConfig | None = None
) -> ConfirmOutcome:
    """Confirm every open case of the operator, one at a time by the single decision's rules (each its own
    transaction); a case held by another inspector, or of another unit, is skipped and reported. Audited once
    for the whole action, besides each decision's own entry; the operator's index is refreshed after."""
    note = _note(note)
    op, _, _ = _operator(session, user, op_id)
    doc_ids = select(OperatorMember.document_id).where(OperatorMember.operator_id == op.id)
    flags = list(
        session.execute(
            select(Flag.id, Flag.unit).where(Flag.document_id.in_(doc_ids), Flag.status.in_(OPEN)).order_by(Flag.id)
        )
    )
    allowed = scope.units_of(session, user)
    result = ConfirmOutcome(op.id)
    text = f"[团伙 {operator_code(op.id)} 一并确认] {note}".strip()
    for flag_id, unit in flags:
        if allowed is not None and unit not in allowed:
            result.skipped.append((flag_id, "不属于您负责的单位"))
            continue
        try:
            cases.decide(session, user, flag_id, "confirm", None, text, ttl, False, allowed)
        except (queue.QueueError, NotFound, InvalidInput) as exc:
            session.rollback()
            result.skipped.append((flag_id, str(exc)))
            continue
        result.confirmed.append(flag_id)
    if result.confirmed:
        store.refresh_risk(session, [op.id], risk=risk or RiskConfig())
    audit.record(
        session,
        user.username,
        "operator.confirm_open",
        "operator",
        op.id,
        None,
        {"confirmed": result.confirmed, "skipped": [{"flag_id": f, "reason": r} for f, r in result.skipped],
         "note": note},
    )  # fmt: skip
    session.commit()
    return result


@dataclass
class SplitOutcome:
    remaining_id: int
    new_id: int
    moved: list[int]


def split(
    session: Session, user: User, op_id: int, document_ids: list[int], note: str, risk: RiskConfig | None = None
) -> SplitOutcome:
    """Take the chosen ads out into an operator of their own (``store.operators.split_operator``: a constraint
    every later linking run and rebuild keeps); audited by the store with the inspector's name."""
    note = _note(note)
    op, _, hidden = _operator(session, user, op_id)
    members = set(session.scalars(select(OperatorMember.document_id).where(OperatorMember.operator_id == op.id)))
    chosen = {d for d in document_ids if _fits(d)}
    if not chosen:
        raise InvalidInput("请选择要拆出的广告")
    if not chosen <= members or chosen & hidden:
        raise InvalidInput("所选广告不属于该团伙（或不在您负责的单位）")
    if chosen == members:
        raise InvalidInput("不能拆出全部广告：至少留下一条")
    remaining, new = store.split_operator(
        session, op.id, sorted(chosen), actor=user.username, note=note, risk=risk or RiskConfig()
    )
    session.commit()
    return SplitOutcome(remaining.id, new.id, sorted(chosen))


def merge(
    session: Session, user: User, op_id: int, other_ids: list[int], note: str, risk: RiskConfig | None = None
) -> int:
    """Join other operators into this one (``store.operators.merge_operators``: a must-link that rebuilds keep);
    returns the id kept. Each operator must exist and be within the user's units."""
    note = _note(note)
    op, _, _ = _operator(session, user, op_id)
    others = []
    for other in dict.fromkeys(other_ids):
        target, _, _ = _operator(session, user, other)
        if target.id != op.id and target.id not in others:
            others.append(target.id)
    if not others:
        raise InvalidInput("请填写另一个团伙的编号（不能与本团伙相同）")
    kept = store.merge_operators(session, [op.id, *others], actor=user.username, note=note, risk=risk or RiskConfig())
    session.commit()
    return kept.id


def summary_sheet(view: OperatorView, rows: list[dict[str, Any]]) -> str:
    """The operator summary sheet of a package: index and components, identifiers, every ad the user may see,
    which of them this package refers (links to their evidence sheets). Standalone, autoescaped, no script."""
    return _TEMPLATES.get_template("operator_sheet.html").render(
        v=view,
        d=view.detail,
        code=operator_code(view.detail["id"]),
        rows={r["flag_id"]: r for r in rows},
        status_labels=queue.STATUS_LABELS,
        kind_labels=KIND_LABELS,
        generated_at=bjt(utcnow()),
    )


def export_package(session: Session, user: User, op_id: int, *, two_person: bool = False) -> referral.Package:
    """The operator's confirmed cases as one referral package (``referral.export``: evidence sheet per case,
    snapshots, CSV/XLSX/JSON, manifest) plus ``operator/<code>.html`` and ``.json``; the cases become 已移送."""
    op, flags, hidden = _operator(session, user, op_id)
    allowed = scope.units_of(session, user)
    ids = [f.id for d, f in sorted(flags.items()) if d not in hidden and f.status == FlagStatus.CONFIRMED.value]
    if not ids:
        raise referral.NothingToExport(f"团伙 {operator_code(op.id)} 没有待移送的已确认案件")
    code = operator_code(op.id)
    view = operator_view(session, user, op.id)  # as it stands before the cases become 已移送

    def extra(rows: list[dict[str, Any]]) -> dict[str, bytes]:
        d = view.detail
        data = {key: d[key] for key in ("id", "name", "risk_index", "level", "formula_version", "components",
                                        "risk_updated_at", "hidden_documents")}  # fmt: skip
        data["documents"] = d["documents_list"]
        data["identifiers"] = [{k: i[k] for k in ("kind", "value", "documents", "hub")} for i in d["identifiers"]]
        data["cases_in_package"] = [r["case_id"] for r in rows]
        return {
            f"operator/{code}.html": summary_sheet(view, rows).encode("utf-8"),
            f"operator/{code}.json": json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8"),
        }

    package = referral.export(session, user, ids, units=allowed, two_person=two_person, extra=extra)
    audit.record(session, user.username, "operator.referral_export", "operator", op.id, None,
                 {"flags": package.flag_ids, "sha256": package.sha256})  # fmt: skip
    session.commit()
    return replace(package, filename=package.filename.replace("referral-", f"referral-{code}-", 1))


# --- early warnings ------------------------------------------------------------------------------------------


def recent_warnings(
    session: Session, user: User, days: int = 7, limit: int = 5, min_documents: int = 2
) -> list[dict[str, Any]]:
    """The operators warned about in the last ``days`` days (the newest warning of each, active operators of at
    least ``min_documents`` ads within the user's units, as the list shows them), highest index first, with how
    many of their cases are still open: the queue's 团伙案件 rows and the dashboard's list."""
    since = utcnow() - timedelta(days=days)
    warnings = session.scalars(
        select(OperatorWarning).where(OperatorWarning.at >= since).order_by(OperatorWarning.id.desc()).limit(500)
    )
    latest: dict[int, dict[str, Any]] = {}
    for w in warnings:
        op = store.resolve(session, w.operator_id)
        if op is None or op.status != "active" or op.document_count < min_documents:
            continue
        entry = latest.get(op.id)
        if entry is None:
            latest[op.id] = entry = {"operator": op, "warning": w, "kinds": []}
        label = WARNING_LABELS.get(w.kind, w.kind)
        if label not in entry["kinds"]:
            entry["kinds"].append(label)
    if not latest:
        return []
    allowed = scope.units_of(session, user)
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    for op_id, status, unit, n in session.execute(
        select(OperatorMember.operator_id, Flag.status, Flag.unit, func.count())
        .join(Flag, Flag.document_id == OperatorMember.document_id)
        .where(OperatorMember.operator_id.in_(sorted(latest)))
        .group_by(OperatorMember.operator_id, Flag.status, Flag.unit)
    ):
        mine = allowed is None or unit in allowed
        counts[op_id]["mine" if mine else "theirs"] += n
        if mine and status in OPEN:
            counts[op_id]["open"] += n
    out = []
    for op_id, entry in latest.items():
        if allowed is not None and not counts[op_id]["mine"]:
            continue
        op, w = entry["operator"], entry["warning"]
        out.append(
            {
                "operator_id": op.id,
                "code": operator_code(op.id),
                "name": op.name,
                "risk_index": op.risk_index,
                "level": op.risk_level,
                "level_class": LEVEL_CLASS.get(op.risk_level, "op-normal"),
                "documents": op.document_count,
                "open_cases": counts[op_id]["open"],
                "kinds": entry["kinds"],
                "warning_id": w.id,
                "kind": w.kind,
                "at": w.at,
                "at_iso": iso(w.at),
                "detail": w.detail or {},
            }
        )
    out.sort(key=lambda r: (-r["risk_index"], -r["open_cases"], r["operator_id"]))
    return out[:limit]


def dashboard_warnings(session: Session, user: User) -> list[dict[str, Any]]:
    """The dashboard's list: operators warned about in the last 30 days, up to 10."""
    return recent_warnings(session, user, days=30, limit=10)


def level_class(level: str | None) -> str:
    return LEVEL_CLASS.get(level or "", "op-normal")


def points_width(points: float, top: int) -> int:
    """Percent width of a component's bar (0–100)."""
    return 0 if top <= 0 else max(0, min(100, math.floor(points / top * 100)))


def unit_choices(session: Session, user: User) -> list[Any]:
    """The units the operator list can be filtered by: the user's own when scoped, else every active unit."""
    allowed = scope.units_of(session, user)
    return [u for u in units.units(session) if allowed is None or u.code in allowed]


def parse_ids(text: str) -> list[int]:
    """``12, 15 ，18`` → [12, 15, 18] (operator numbers typed in a form; ``OP-000012`` is read too)."""
    out = []
    for token in text.replace("，", ",").replace("、", ",").replace(" ", ",").split(","):
        token = token.strip().upper().removeprefix("OP-")
        if not token:
            continue
        number = parse_id(token)
        if number is None:
            raise InvalidInput(f"团伙编号 {token[:20]} 无效")
        out.append(number)
    if not out:
        raise InvalidInput("请填写团伙编号")
    return out[:50]
