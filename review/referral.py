"""Referral packages for the market-supervision bureau (domain.md §4.2 fields the system knows).

A package is a zip: ``referrals.csv`` and ``referrals.xlsx`` (one row per case), ``cases/<case_id>.html`` (a
printable evidence sheet per case), ``snapshots/<case_id>.raw`` (the snapshot bytes, whose SHA-256 the sheet
quotes) and ``manifest.json`` with the SHA-256 of every file, so that the bureau can check nothing changed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import select
from sqlalchemy.orm import Session

from review.cases import DISMISS_REASONS, LEVEL_LABELS
from review.highlight import highlight, valid_spans
from store.documents import snapshot
from store.models import Decision, Flag, FlagStatus

CAPTURE_TOOL = "adscreen 0.1 自动监测爬虫"
RISK = {"high": "高", "medium": "中", "low": "低"}
COLUMNS = [
    ("case_id", "案件编号"),
    ("source_type", "线索来源"),
    ("found_at", "发现时间"),
    ("decide_by", "核查期限(15个工作日)"),
    ("url", "网址"),
    ("platform", "平台"),
    ("channel", "渠道"),
    ("publisher", "发布者/账号"),
    ("contact", "联系方式"),
    ("region", "地区"),
    ("captured_at", "采集时间"),
    ("sha256", "快照SHA-256"),
    ("capture_tool", "采集工具"),
    ("title", "标题"),
    ("verbatim_text", "原文"),
    ("normalized_text", "规范化文本"),
    ("matched_indicators", "命中指标"),
    ("score", "综合评分"),
    ("classifier_prob", "模型概率"),
    ("keyword_score", "关键词评分"),
    ("risk_level", "风险等级"),
    ("explanation", "判定说明"),
    ("reviewer", "审核人"),
    ("decision", "审核结论"),
    ("decided_at", "审核时间"),
    ("note", "审核备注"),
]
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(default=True),
)


def case_id(flag: Flag) -> str:
    return f"ADS-{flag.created_at:%Y}-{flag.id:06d}"


def add_working_days(start: date, days: int) -> date:
    """Weekdays only; public holidays are not known to the system (the sheet says so)."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def _normalized(text: str) -> str | None:
    try:
        from keywords.normalize import normalize  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        result = normalize(text)
    except Exception:  # noqa: BLE001 - evidence export must not fail on an optional field
        return None
    return result if isinstance(result, str) else getattr(result, "text", None)


def _last_decision(session: Session, flag: Flag) -> Decision | None:
    return session.scalar(
        select(Decision)
        .where(Decision.flag_id == flag.id, Decision.action == "confirm")
        .order_by(Decision.id.desc())
        .limit(1)
    )


def referral_record(session: Session, flag: Flag) -> dict[str, Any]:
    """One case in §4.2 terms; values are plain data (the sheet and the API escape or encode them)."""
    doc, verdict = flag.document, flag.verdict
    decision = _last_decision(session, flag)
    indicators = [
        {
            "category": h.get("category"),
            "term": h.get("term"),
            "span": doc.text[h["start"] : h["end"]],
            "start": h["start"],
            "end": h["end"],
            "rule": h.get("rule"),
            "weight": h.get("weight"),
        }
        for h in valid_spans(doc.text, verdict.hits)
    ]
    return {
        "case_id": case_id(flag),
        "flag_id": flag.id,
        "status": flag.status,
        "source_type": "自主监测",
        "found_at": _iso(flag.created_at),
        "decide_by": add_working_days(flag.created_at.date(), 15).isoformat(),
        "url": doc.url,
        "platform": doc.platform or (doc.source.name if doc.source else None),
        "channel": "网站",
        "publisher": doc.publisher,
        "contact": doc.contact,
        "region": doc.region,
        "posted_at": _iso(doc.posted_at),
        "captured_at": _iso(doc.fetched_at),
        "sha256": doc.raw_sha256,
        "snapshot_size": doc.raw_size,
        "capture_tool": CAPTURE_TOOL,
        "title": doc.title,
        "verbatim_text": doc.text,
        "normalized_text": _normalized(doc.text),
        "matched_indicators": indicators,
        "score": round(verdict.score, 4),
        "classifier_prob": None if verdict.classifier_prob is None else round(verdict.classifier_prob, 4),
        "keyword_score": None if verdict.keyword_score is None else round(verdict.keyword_score, 4),
        "detector_versions": verdict.detector_versions,
        "risk_level": RISK.get(flag.level, flag.level),
        "explanation": verdict.explanation,
        "reviewer": decision.reviewer if decision else flag.assignee,
        "decision": "确认涉嫌非法集资宣传" if decision else None,
        "decided_at": _iso(decision.created_at) if decision else None,
        "note": decision.note if decision else "",
        "referred_at": _iso(flag.referred_at),
    }


def _cell(value: Any) -> Any:
    """Flat cell value; text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, list):
        value = "; ".join(
            f"{i['category']}:{i['span']}" + (f"({i['rule']})" if i.get("rule") else "") for i in value
        )
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)  # control characters that XLSX cannot hold
        if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            return "'" + value
    return value


def to_csv(records: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([label for _, label in COLUMNS])
    for r in records:
        writer.writerow([_cell(r.get(key)) for key, _ in COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 Chinese correctly


def to_xlsx(records: list[dict[str, Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "移送清单"
    ws.append([label for _, label in COLUMNS])
    for r in records:
        ws.append([_cell(r.get(key)) for key, _ in COLUMNS])
    for column in ws.columns:
        ws.column_dimensions[column[0].column_letter].width = 18
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def evidence_sheet(session: Session, flag: Flag, record: dict[str, Any] | None = None) -> str:
    """A standalone printable HTML page (autoescaped; the highlighted text escapes every piece)."""
    record = record or referral_record(session, flag)
    return _TEMPLATES.get_template("evidence.html").render(
        r=record,
        highlighted=highlight(flag.document.text, flag.verdict.hits),
        level_label=LEVEL_LABELS.get(flag.level, flag.level),
        dismiss_reasons=DISMISS_REASONS,
        generated_at=datetime.now().astimezone().isoformat(timespec="seconds"),
    )


def confirmed_flags(session: Session, flag_ids: list[int] | None = None) -> list[Flag]:
    stmt = select(Flag).where(Flag.status == FlagStatus.CONFIRMED.value).order_by(Flag.id)
    if flag_ids is not None:
        stmt = stmt.where(Flag.id.in_(flag_ids))
    return list(session.scalars(stmt))


def build_package(session: Session, flags: list[Flag]) -> bytes:
    """The zip for these flags (the caller marks them referred in the same transaction)."""
    records = [referral_record(session, f) for f in flags]
    files: dict[str, bytes] = {
        "referrals.csv": to_csv(records),
        "referrals.xlsx": to_xlsx(records),
        "referrals.json": json.dumps(records, ensure_ascii=False, indent=2).encode("utf-8"),
    }
    for flag, record in zip(flags, records, strict=True):
        files[f"cases/{record['case_id']}.html"] = evidence_sheet(session, flag, record).encode("utf-8")
        files[f"snapshots/{record['case_id']}.raw"] = snapshot(flag.document)
    manifest = {
        "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cases": [r["case_id"] for r in records],
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    }
    files["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
