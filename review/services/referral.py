"""Referral packages for the market-supervision bureau (domain.md §4.2 fields the system knows).

A package is a zip: ``referrals.csv`` and ``referrals.xlsx`` (one row per case), ``referrals.json``,
``cases/<case_id>.html`` (a printable evidence sheet per case), ``snapshots/<case_id>.html|.json`` (the snapshot
bytes as captured, whose SHA-256 the sheet quotes) and ``manifest.json`` with the SHA-256 of every file, so that
the bureau can check that nothing changed. Exporting marks the cases referred, in the same transaction.

Times: CSV and the evidence sheet print ``YYYY-MM-DD HH:MM 北京时间``; the XLSX has typed date cells in Beijing
time (the header says so); JSON keeps ISO-8601 with its offset.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, select_autoescape
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from keywords.categories import label as category_label
from keywords.normalize import normalize
from review.labels import DISMISS_REASONS, LEVEL_LABELS, rule_label
from review.services.cases import (
    case_highlights,
    case_image_bytes,
    case_images,
    case_indicators,
    case_page_change,
    case_snapshot,
    case_text_fields,
    case_version,
)
from review.timefmt import beijing, bjt, iso
from review.workdays import review_deadline
from store import audit, queue
from store.models import Decision, Document, DocumentVersion, Flag, FlagStatus, User, utcnow

CAPTURE_TOOL = "adscreen 0.1 自动监测爬虫"
RISK = {"high": "高", "medium": "中", "low": "低"}
Kind = Literal["text", "number", "datetime", "date"]
BJ = "（北京时间）"
FIELD_PREFIX = {"body": "", "title": "[标题]", "ocr": "[图片]"}  # where an indicator was found, when not the body
COLUMNS: list[tuple[str, str, Kind]] = [
    ("case_id", "案件编号", "text"),
    ("source_type", "线索来源", "text"),
    ("found_at", f"发现时间{BJ}", "datetime"),
    ("decide_by", "核查期限(15个工作日，已扣除法定节假日)", "date"),
    ("url", "网址", "text"),
    ("platform", "平台", "text"),
    ("channel", "渠道", "text"),
    ("publisher", "发布者/账号", "text"),
    ("contact", "联系方式", "text"),
    ("region", "地区", "text"),
    ("posted_at", f"发布时间{BJ}", "datetime"),
    ("captured_at", f"采集时间{BJ}", "datetime"),
    ("sha256", "快照SHA-256", "text"),
    ("version", "快照版本", "number"),
    ("page_change", "网页变更", "text"),
    ("snapshot_file", "快照文件", "text"),
    ("capture_tool", "采集工具", "text"),
    ("title", "标题", "text"),
    ("verbatim_text", "原文", "text"),
    ("normalized_text", "规范化文本", "text"),
    ("matched_indicators", "命中指标", "text"),
    ("score", "综合评分", "number"),
    ("classifier_prob", "模型概率", "number"),
    ("keyword_score", "关键词评分", "number"),
    ("risk_level", "风险等级", "text"),
    ("explanation", "判定说明", "text"),
    ("detector_versions", "检测器版本", "text"),
    ("ocr_text", "图片文字(OCR)", "text"),
    ("image_list", "图片(文件 SHA-256)", "text"),
    ("reviewer", "审核人", "text"),
    ("decision", "审核结论", "text"),
    ("decided_at", f"审核时间{BJ}", "datetime"),
    ("note", "审核备注", "text"),
]
XLSX_FORMATS = {"datetime": "yyyy-mm-dd hh:mm", "date": "yyyy-mm-dd", "number": "0.0000"}
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent.parent / "templates"),
    autoescape=select_autoescape(default=True),
)
_TEMPLATES.filters["bjt"] = bjt
_TEMPLATES.filters["rule_label"] = rule_label
_TEMPLATES.filters["category_label"] = lambda c: category_label(c)


Extra = Callable[[list[dict[str, Any]]], dict[str, bytes]]  # referral rows → more files for the package


class NothingToExport(Exception):
    """None of the chosen cases is confirmed (already referred, or never confirmed): 409."""


def case_id(flag: Flag) -> str:
    return f"ADS-{flag.created_at:%Y}-{flag.id:06d}"


def snapshot_file(flag: Flag) -> str:
    """The snapshot's name in the package, with the extension of what was captured (``.html``, ``.json`` …)."""
    return f"snapshots/{case_id(flag)}{case_snapshot(flag).extension}"


def _normalized(text: str) -> str:
    return normalize(text).text


def _last_decision(session: Session, flag: Flag) -> Decision | None:
    return session.scalar(
        select(Decision)
        .where(Decision.flag_id == flag.id, Decision.action == "confirm")
        .order_by(Decision.id.desc())
        .limit(1)
    )


_UNSET: Any = object()


def last_confirmations(session: Session, flag_ids: list[int]) -> dict[int, Decision]:
    """Each flag's latest confirmation, in one query (a list of cases must not cost a query per case)."""
    if not flag_ids:
        return {}
    latest = (
        select(func.max(Decision.id))
        .where(Decision.flag_id.in_(flag_ids), Decision.action == "confirm")
        .group_by(Decision.flag_id)
    )
    return {d.flag_id: d for d in session.scalars(select(Decision).where(Decision.id.in_(latest)))}


def versions_with_images(session: Session, flags: list[Flag]) -> set[int]:
    """The judged versions among these flags that showed images, in one query (the others need no image query)."""
    from store.models import VersionImage

    ids = sorted({f.version_id for f in flags})
    if not ids:
        return set()
    return set(session.scalars(select(VersionImage.version_id).where(VersionImage.version_id.in_(ids)).distinct()))


def referral_row(
    session: Session, flag: Flag, decision: Decision | None = _UNSET, has_images: bool = True
) -> dict[str, Any]:
    """One case in §4.2 terms, with typed values (aware datetimes, dates, floats): the one source of the CSV,
    XLSX, JSON and evidence sheet. Document text, hits and snapshot come from ``review.services.cases``.
    ``decision``: the case's last confirmation when the caller has loaded it already; ``has_images=False``: the
    caller knows the version showed none (:func:`versions_with_images`)."""
    doc, verdict = flag.document, flag.verdict
    version = case_version(flag)  # what was judged: the page may have changed since
    fields = case_text_fields(flag)
    deadline = review_deadline(flag.created_at)
    snap = case_snapshot(flag)
    if decision is _UNSET:
        decision = _last_decision(session, flag)
    images = _image_records(session, flag) if has_images else []
    return {
        "case_id": case_id(flag),
        "flag_id": flag.id,
        "status": flag.status,
        "source_type": "自主监测",
        "found_at": flag.created_at,
        "decide_by": deadline.day,
        "decide_by_note": deadline.note,
        "url": version.url,
        "platform": version.platform or (doc.source.name if doc.source else None),
        "channel": "网站",
        "publisher": version.publisher,
        "contact": version.contact,
        "region": version.region,
        "posted_at": version.posted_at,
        "version": version.number,
        "page_change": _page_change_text(flag),
        "captured_at": snap.captured_at,
        "sha256": snap.sha256,
        "snapshot_size": snap.size,
        "snapshot_file": snapshot_file(flag),
        "capture_tool": CAPTURE_TOOL,
        "title": fields["title"] or None,
        "verbatim_text": fields["body"],
        "normalized_text": _normalized(fields["body"]),
        "matched_indicators": case_indicators(flag),
        "score": round(verdict.score, 4),
        "classifier_prob": None if verdict.classifier_prob is None else round(verdict.classifier_prob, 4),
        "keyword_score": None if verdict.keyword_score is None else round(verdict.keyword_score, 4),
        "detector_versions": verdict.detector_versions,
        "risk_level": RISK.get(flag.level, flag.level),
        "explanation": verdict.explanation,
        "reviewer": decision.reviewer if decision else flag.assignee,
        "decision": "确认涉嫌非法集资宣传" if decision else None,
        "decided_at": decision.created_at if decision else None,
        "note": decision.note if decision else "",
        "referred_at": flag.referred_at,
        "ocr_text": fields.get("ocr") or None,
        "images": images,
        "image_list": "; ".join(f"{i['file']} {i['sha256']}" for i in images) or None,
        "unit": flag.unit,
        "second_by": flag.second_by,
    }


def referral_record(
    session: Session, flag: Flag, decision: Decision | None = _UNSET, has_images: bool = True
) -> dict[str, Any]:
    """The row as JSON data (the API and ``referrals.json``): times in ISO-8601 with their offset."""
    return {key: _json_value(value) for key, value in referral_row(session, flag, decision, has_images).items()}


def referral_records(session: Session, flags: list[Flag]) -> list[dict[str, Any]]:
    """Rows of many cases with a fixed number of queries (flags loaded by :func:`with_evidence`)."""
    decisions = last_confirmations(session, [f.id for f in flags])
    pictured = versions_with_images(session, flags)
    return [referral_record(session, f, decisions.get(f.id), f.version_id in pictured) for f in flags]


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _text(value: Any) -> Any:
    """Flat text; what a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, list):
        value = "; ".join(
            FIELD_PREFIX.get(i.get("field") or "body", f"[{i.get('field')}]")
            + f"{category_label(i['category'])}:{i['span']}"
            + (f"({rule_label(i['rule'])})" if i.get("rule") else "")
            for i in value
        )
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)  # control characters that XLSX cannot hold
        if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            return "'" + value
    return value


_cell = _text  # the name the unit tests know


def _csv_value(value: Any, kind: Kind) -> Any:
    if value is None:
        return ""
    if kind == "datetime":
        return bjt(value)
    if kind == "date":
        return value.isoformat()
    return _text(value)


def _xlsx_value(value: Any, kind: Kind) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return beijing(value).replace(tzinfo=None)  # Excel has no zones: Beijing wall time, said in the header
    if kind in ("date", "number"):
        return value
    return _text(value)


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([label for _, label, _ in COLUMNS])
    for r in rows:
        writer.writerow([_csv_value(r.get(key), kind) for key, _, kind in COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 Chinese correctly


def to_xlsx(rows: list[dict[str, Any]]) -> bytes:
    """One sheet with typed cells (numbers, dates), the header frozen and an autofilter over the table."""
    wb = Workbook()
    ws = wb.active
    ws.title = "移送清单"
    ws.append([label for _, label, _ in COLUMNS])
    for r in rows:
        ws.append([_xlsx_value(r.get(key), kind) for key, _, kind in COLUMNS])
    for index, (_, label, kind) in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = max(12, min(2 * len(label) + 4, 40))
        if kind in XLSX_FORMATS:
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = XLSX_FORMATS[kind]
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{max(ws.max_row, 1)}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _page_change_text(flag: Flag) -> str:
    """One line on what happened to the page after capture (empty when nothing did)."""
    change = case_page_change(flag)
    parts = []
    if change.changed:
        parts.append(f"网页已变更：本案依据第 {change.pinned} 版，当前为第 {change.current} 版")
    if change.removed_at is not None:
        parts.append(f"网页已删除（HTTP {change.removed_status}，{bjt(change.removed_at)}）")
    return "；".join(parts)


IMAGE_EXT = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp", "image/bmp": ".bmp"}


def _image_records(session: Session, flag: Flag) -> list[dict[str, Any]]:
    """The judged version's stored images as filed in the package: file name, SHA-256, URL, size, OCR lines."""
    out = []
    for img in case_images(session, flag):
        if not img.get("image_id"):
            continue
        ext = IMAGE_EXT.get(img.get("content_type") or "", ".bin")
        out.append(
            {
                "image_id": img["image_id"],
                "file": f"images/{case_id(flag)}/{img['position'] + 1}-{img['sha256'][:12]}{ext}",
                "sha256": img["sha256"],
                "url": img["url"],
                "content_type": img.get("content_type"),
                "width": img.get("width"),
                "height": img.get("height"),
                "ocr_lines": [ln["text"] for ln in img.get("lines", [])],
                "qr": [c.get("text") for c in img.get("codes", [])],
                "hit_boxes": img.get("hit_boxes", []),
            }
        )
    return out


def evidence_sheet(session: Session, flag: Flag, row: dict[str, Any] | None = None) -> str:
    """A standalone printable HTML page (autoescaped; the highlighted text escapes every piece)."""
    row = row or referral_row(session, flag)
    images = [
        {**i, "data_uri": _data_uri(session, flag, i)} for i in row.get("images") or []
    ]
    return _TEMPLATES.get_template("evidence.html").render(
        r=row,
        images=images,
        highlights=case_highlights(flag),
        level_label=LEVEL_LABELS.get(flag.level, flag.level),
        dismiss_reasons=DISMISS_REASONS,
        generated_at=bjt(utcnow()),
    )


def _data_uri(session: Session, flag: Flag, image: dict[str, Any]) -> str:
    """The image inside the sheet itself (the sheet loads nothing from anywhere: its CSP allows data: only)."""
    content_type, data = case_image_bytes(session, flag, image["image_id"])
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


def with_evidence(stmt):  # noqa: ANN001, ANN201 - a Select of Flag
    """Load what a referral row reads with each flag, in a few queries for the whole list."""
    return stmt.options(
        selectinload(Flag.version).selectinload(DocumentVersion.ocr_record),  # fields() reads the images' text
        selectinload(Flag.verdict),
        selectinload(Flag.document).selectinload(Document.source),
        selectinload(Flag.document).selectinload(Document.current_version).load_only(DocumentVersion.number),
    )


LIST_OPTIONS = (
    selectinload(Flag.version)
    .load_only(DocumentVersion.id, DocumentVersion.title, DocumentVersion.text, DocumentVersion.publisher)
    .selectinload(DocumentVersion.ocr_record),
)


def confirmed_flags(
    session: Session,
    flag_ids: list[int] | None = None,
    *,
    units: list[str] | None = None,
    unit: str | None = None,
    limit: int | None = None,
    after_id: int | None = None,
    light: bool = False,
) -> list[Flag]:
    """Confirmed cases waiting for referral (only those among ``flag_ids`` when given), oldest first; ``units``:
    the caller's scope, ``unit``: one unit's package; ``after_id`` / ``limit``: keyset pages; ``light``: only what
    a list shows (title, publisher), not the snapshots and texts a package needs."""
    stmt = select(Flag).where(Flag.status == FlagStatus.CONFIRMED.value).order_by(Flag.id)
    if flag_ids is not None:
        stmt = stmt.where(Flag.id.in_([i for i in flag_ids if 0 < i < 2**31]))
    if units is not None:
        stmt = stmt.where(Flag.unit.in_(units))
    if unit:
        stmt = stmt.where(Flag.unit == unit)
    if after_id is not None:
        stmt = stmt.where(Flag.id > after_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    if light:
        return list(session.scalars(stmt.options(*LIST_OPTIONS)))
    return list(session.scalars(with_evidence(stmt)))


def referred_flags(
    session: Session, limit: int = 100, units: list[str] | None = None, after_id: int | None = None
) -> list[Flag]:
    """Referred cases, newest referral first (keyset on the id when ``after_id`` is given)."""
    stmt = select(Flag).where(Flag.status == FlagStatus.REFERRED.value).order_by(Flag.id.desc())
    if units is not None:
        stmt = stmt.where(Flag.unit.in_(units))
    if after_id is not None:
        stmt = stmt.where(Flag.id < after_id)
    return list(session.scalars(with_evidence(stmt.limit(limit))))


def referral_case(session: Session, flag_id: int) -> Flag | None:
    """A confirmed or referred case, or None."""
    flag = session.get(Flag, flag_id) if 0 < flag_id < 2**31 else None
    if flag is None or flag.status not in (FlagStatus.CONFIRMED.value, FlagStatus.REFERRED.value):
        return None
    return flag


def build_package(session: Session, flags: list[Flag], extra: Extra | None = None) -> bytes:
    """The zip for these flags (the caller marks them referred in the same transaction); ``extra``: more files
    made from the rows (an operator's summary sheet), covered by the manifest like the rest."""
    decisions = last_confirmations(session, [f.id for f in flags])
    pictured = versions_with_images(session, flags)
    rows = [referral_row(session, f, decisions.get(f.id), f.version_id in pictured) for f in flags]
    files: dict[str, bytes] = {
        "referrals.csv": to_csv(rows),
        "referrals.xlsx": to_xlsx(rows),
        "referrals.json": json.dumps(
            [{k: _json_value(v) for k, v in r.items()} for r in rows], ensure_ascii=False, indent=2
        ).encode("utf-8"),
    }
    for flag, row in zip(flags, rows, strict=True):
        files[f"cases/{row['case_id']}.html"] = evidence_sheet(session, flag, row).encode("utf-8")
        files[row["snapshot_file"]] = case_snapshot(flag).body
        for image in row["images"]:
            files[image["file"]] = case_image_bytes(session, flag, image["image_id"])[1]
    if extra is not None:
        files.update(extra(rows))
    manifest = {
        "generated_at": iso(datetime.now(UTC)),
        "cases": [r["case_id"] for r in rows],
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    }
    files["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


@dataclass
class Package:
    data: bytes
    sha256: str
    filename: str
    flag_ids: list[int]


def export(
    session: Session,
    user: User,
    flag_ids: list[int] | None,
    *,
    units: list[str] | None = None,
    unit: str | None = None,
    two_person: bool = False,
    extra: Extra | None = None,
) -> Package:
    """Build the package, mark the cases referred and audit it, in one transaction (committed here).

    ``unit``: one responsible unit's package (属地管理: each unit receives its own cases); ``units``: the
    caller's scope; ``two_person``: only cases a second inspector has confirmed are exported.
    """
    flags = confirmed_flags(session, flag_ids, units=units, unit=unit)
    if two_person:
        waiting = [f for f in flags if not f.second_by]
        flags = [f for f in flags if f.second_by]
        if not flags and waiting:
            raise NothingToExport("双人复核：所选案件须经第二名检查员复核后才能移送")
    if not flags:
        raise NothingToExport("没有可移送的已确认案件")
    data = build_package(session, flags, extra)
    ids = [f.id for f in flags]
    queue.mark_referred(session, ids, user.username, two_person=two_person)
    digest = hashlib.sha256(data).hexdigest()
    audit.record(
        session,
        user.username,
        "referral.export",
        "referral",
        digest[:16],
        None,
        {"flags": ids, "sha256": digest, "bytes": len(data), "unit": unit},
    )
    session.commit()
    tag = f"-{unit}" if unit else ""
    return Package(data, digest, f"referral{tag}-{beijing(utcnow()):%Y%m%d-%H%M%S}.zip", ids)
