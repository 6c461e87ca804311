"""Cases: what a case shows (text, highlights, snapshot), and claiming, releasing and deciding it.

Every read of a case's document text, hit spans or snapshot goes through the functions in the first part of this
module (``case_text_fields``, ``case_highlight``, ``case_hits``, ``hit_text``, ``case_snapshot``), so that pinning a
case to the document version it was judged on changes them and nothing else. They take the flag, not the document.

Who may take a case is decided once: :func:`store.queue.claimable` (SQL) plus, for escalated cases, the admin
exception in :func:`admin_decides`. Pages and API both call :func:`may_take`, :func:`claim`, :func:`decide` here.
"""

from __future__ import annotations

import codecs
import difflib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from review.highlight import highlight, valid_spans
from review.services.errors import InvalidInput, NotFound
from review.services.filters import usable
from store import queue
from store.documents import snapshot
from store.models import (
    AuditEvent,
    CaseComment,
    Decision,
    Document,
    DocumentVersion,
    Flag,
    FlagStatus,
    TermProposal,
    User,
    Verdict,
)

SHOWN_DUPLICATES = 50


class CaseNotFound(NotFound):
    """No such case."""

    def __init__(self, flag_id: object) -> None:
        super().__init__(f"案件 {flag_id} 不存在")


# --- what a case shows: the seam for document versions --------------------------------------------------------


def case_version(flag: Flag) -> DocumentVersion:
    """The captured version the case judges: pinned once claimed or decided, never the page as it is today."""
    return flag.version


def case_text_fields(flag: Flag) -> dict[str, str]:
    """The named text fields of the judged version (``title``, ``body``): what the hits point into."""
    return case_version(flag).fields()


def case_title(flag: Flag) -> str:
    """A one-line label for lists: the title, else the start of the body."""
    fields = case_text_fields(flag)
    return fields["title"] or fields["body"]


def case_hits(flag: Flag) -> list[dict[str, Any]]:
    """Every hit of the case's verdict, each with ``text``: the characters it points at (None for a bad span)."""
    fields = case_text_fields(flag)
    return [{**h, "text": _span_text(fields, h)} for h in (flag.verdict.hits or [])]


def hit_text(flag: Flag, hit: dict[str, Any]) -> str | None:
    """The original characters a hit points at, or None when its span does not fit its field."""
    return _span_text(case_text_fields(flag), hit)


def _span_text(fields: dict[str, str], hit: dict[str, Any]) -> str | None:
    """``fields[field][start:end]``, provided it is exactly the hit's ``matched`` characters.

    A span that does not fit, or no longer covers what matched, is never shown as evidence.
    """
    text = fields.get(hit.get("field") or "body")
    start, end = hit.get("start"), hit.get("end")
    if text is None or not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
        return None
    chars = text[start:end]
    matched = hit.get("matched")
    return chars if matched is None or matched == chars else None


def _field_hits(fields: dict[str, str], hits: list[dict[str, Any]] | None, name: str) -> list[dict[str, Any]]:
    return [h for h in hits or [] if (h.get("field") or "body") == name and _span_text(fields, h) is not None]


def case_indicators(flag: Flag) -> list[dict[str, Any]]:
    """The hits that can be shown as spans (per field, in order, no overlaps): the evidence sheet's and the
    referral's. ``span`` is exactly the characters that matched, in the field the hit names."""
    fields = case_text_fields(flag)
    out = []
    for name, text in fields.items():
        for h in valid_spans(text, _field_hits(fields, flag.verdict.hits, name)):
            out.append(
                {
                    "field": name,
                    "category": h.get("category"),
                    "term": h.get("term"),
                    "span": text[h["start"] : h["end"]],
                    "start": h["start"],
                    "end": h["end"],
                    "rule": h.get("rule"),
                    "weight": h.get("weight"),
                }
            )
    return out


def case_highlights(flag: Flag) -> dict[str, Markup]:
    """Every field as escaped HTML with its own hits marked (case page and evidence sheet)."""
    fields = case_text_fields(flag)
    return {
        name: highlight(text, _field_hits(fields, flag.verdict.hits, name), field=name)
        for name, text in fields.items()
    }


def case_highlight(flag: Flag) -> Markup:
    """The body as escaped HTML with the matched spans marked."""
    return case_highlights(flag)["body"]


@dataclass(frozen=True)
class PageChange:
    """What happened to the page since the judged version was captured."""

    pinned: int  # version number the case judges
    current: int  # the document's newest version number
    removed_at: datetime | None
    removed_status: int | None

    @property
    def changed(self) -> bool:
        return self.current != self.pinned


def case_page_change(flag: Flag) -> PageChange:
    doc = flag.document
    current = doc.current_version.number if doc.current_version is not None else flag.version.number
    return PageChange(flag.version.number, current, doc.removed_at, doc.removed_status)


def case_diff(flag: Flag) -> list[tuple[str, list[tuple[str, str]]]]:
    """Per field, the judged version against the current one as (op, text) runs: op is ``=``, ``-`` or ``+``."""
    pinned = case_text_fields(flag)
    current_version = flag.document.current_version or flag.version
    current = current_version.fields()
    out = []
    for name in pinned.keys() | current.keys():
        a, b = pinned.get(name, ""), current.get(name, "")
        runs: list[tuple[str, str]] = []
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if op == "equal":
                runs.append(("=", a[i1:i2]))
            else:
                if i2 > i1:
                    runs.append(("-", a[i1:i2]))
                if j2 > j1:
                    runs.append(("+", b[j1:j2]))
        out.append((name, runs))
    return sorted(out, key=lambda item: ("title", "body", "ocr").index(item[0]) if item[0] in ("title", "body", "ocr") else 9)


class Snapshot:
    """The raw response body as captured, with its stored SHA-256, size and capture time.

    ``body`` is decompressed only when asked for: the case page shows the hash without loading the bytes.
    """

    def __init__(self, flag: Flag) -> None:
        version = case_version(flag)
        self._version = version
        self.sha256: str = version.raw_sha256  # what the database says; the bytes must hash to it
        self.size: int = version.raw_size
        self.captured_at: datetime | None = version.captured_at
        self.charset: str = _charset(version.encoding)  # a codec name Python knows (else UTF-8)
        headers = version.http_headers or {}
        media = str(headers.get("content-type") or headers.get("Content-Type") or "")
        self.content_type: str = media.split(";", 1)[0].strip().lower()

    @cached_property
    def body(self) -> bytes:
        return snapshot(self._version)

    @cached_property
    def extension(self) -> str:
        """``.html`` or ``.json`` (``.txt``, ``.xml``): the file name in the referral package."""
        return _extension(self.content_type, self.body)

    def text(self) -> str:
        return self.body.decode(self.charset, errors="replace")


def case_snapshot(flag: Flag) -> Snapshot:
    """The case's raw snapshot (served inert by the snapshot route, filed in the referral package)."""
    return Snapshot(flag)


def _charset(encoding: str | None) -> str:
    """Only a known codec name goes into a header; anything else is treated as UTF-8."""
    try:
        return codecs.lookup(encoding or "utf-8").name
    except LookupError:
        return "utf-8"


def _extension(media: str, body: bytes) -> str:
    if media == "application/json" or media.endswith("+json"):
        return ".json"
    if media in ("text/html", "application/xhtml+xml"):
        return ".html"
    if media == "text/plain":
        return ".txt"
    if media in ("text/xml", "application/xml") or media.endswith("+xml"):
        return ".xml"
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]  # no usable header: the crawler stores pages or API answers
    return ".json" if head in (b"{", b"[") else ".html"


# --- the case view ---------------------------------------------------------------------------------------------


@dataclass
class CaseView:
    flag: Flag
    document: Document
    verdict: Verdict
    duplicates: list[Flag] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    history: list[AuditEvent] = field(default_factory=list)
    proposals: list[TermProposal] = field(default_factory=list)
    comments: list[CaseComment] = field(default_factory=list)
    duplicate_count: int = 0  # all of the group's other flags; ``duplicates`` holds the first SHOWN_DUPLICATES


def get_flag(session: Session, flag_id: int) -> Flag:
    """The flag, or CaseNotFound (also for ids no database column can hold)."""
    flag = session.get(Flag, flag_id) if _fits(flag_id) else None
    if flag is None:
        raise CaseNotFound(flag_id)
    return flag


def _fits(value: int) -> bool:
    return -(2**31) <= value < 2**31  # INTEGER on PostgreSQL; a larger id cannot exist, and would not bind


def load_case(session: Session, flag_id: int) -> CaseView:
    flag = get_flag(session, flag_id)
    return CaseView(
        flag=flag,
        document=flag.document,
        verdict=flag.verdict,
        duplicates=group_flags(session, flag, include_self=False, limit=SHOWN_DUPLICATES),
        duplicate_count=group_size(session, flag),
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
        comments=queue.comments(session, flag.id),
    )


def group_flags(
    session: Session, flag: Flag, include_self: bool = True, limit: int | None = None
) -> list[Flag]:
    """Flags of the documents in the same near-duplicate group (reposts of one pitch); ``limit``: the first ones
    only, with their versions loaded in one query (a group can hold thousands of reposts)."""
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
    if limit is not None:
        stmt = stmt.limit(limit).options(selectinload(Flag.version).selectinload(DocumentVersion.ocr_record))
    return list(session.scalars(stmt))


def group_size(session: Session, flag: Flag) -> int:
    """How many other flags share the case's near-duplicate group."""
    group = flag.document.group_id
    if group is None:
        return 0
    return session.scalar(
        select(func.count())
        .select_from(Flag)
        .join(Document, Document.id == Flag.document_id)
        .where(Document.group_id == group, Flag.id != flag.id)
    ) or 0


# --- who may take a case, and taking it --------------------------------------------------------------------------


def admin_decides(flag: Flag, user: User) -> bool:
    """The one exception to the claim rule: an escalated case is a request for a senior decision, which an admin
    makes without a claim."""
    return flag.status == FlagStatus.ESCALATED.value and user.role == "admin"


def may_take(session: Session, flag: Flag, user: User) -> bool:
    """Whether ``user`` may claim and decide this case now (the case page shows the decision form when so)."""
    return admin_decides(flag, user) or queue.can_claim(session, flag.id, user.username)


def claim(session: Session, user: User, flag_id: int, ttl_seconds: int) -> Flag:
    get_flag(session, flag_id)
    flag = queue.claim(session, flag_id, user.username, ttl_seconds)
    session.commit()
    return flag


def release(session: Session, user: User, flag_id: int) -> Flag:
    get_flag(session, flag_id)
    flag = queue.release(session, flag_id, user.username)
    session.commit()
    return flag


def claim_next(
    session: Session, user: User, ttl_seconds: int, f: queue.QueueFilter | None = None
) -> Flag | None:
    """The highest-priority claimable case, now the user's; None when the queue is empty."""
    flag = queue.claim_next(session, user.username, ttl_seconds, f)
    session.commit()
    return flag


@dataclass
class Decided:
    flag: Flag
    decided: list[int]  # this case first, then the near-duplicates decided with it


def decide(
    session: Session,
    user: User,
    flag_id: int,
    action: str,
    reason: str | None,
    note: str,
    ttl_seconds: int,
    whole_group: bool = False,
    allowed_units: list[str] | None = None,
) -> Decided:
    """Decide a case (claiming it first), and when asked every near-duplicate the reviewer can take; commits.

    Duplicates held by another inspector are left to them, and so are those of units outside ``allowed_units``
    (the reviewer's scope; None: every unit). An escalated case is decided by an admin without a claim
    (:func:`admin_decides`), alone.
    """
    if not (usable(note) and usable(reason or "")):
        raise InvalidInput("备注或理由含有无效字符")
    reason = reason if action == "dismiss" else None  # a reason is the dismissal's subtype, nothing else
    flag = get_flag(session, flag_id)
    if admin_decides(flag, user) and action != "escalate":
        queue.decide(session, flag_id, user.username, action, reason, note, require_claim=False)
        session.commit()
        return Decided(flag, [flag_id])
    queue.claim(session, flag_id, user.username, ttl_seconds)
    queue.decide(session, flag_id, user.username, action, reason, note)
    decided = [flag_id]
    if whole_group:
        for other in group_flags(session, flag, include_self=False):
            if allowed_units is not None and other.unit not in allowed_units:
                continue
            try:  # store.queue.claimable says whether the reviewer may take it
                queue.claim(session, other.id, user.username, ttl_seconds)
                queue.decide(
                    session,
                    other.id,
                    user.username,
                    action,
                    reason,
                    f"[近似重复，随案 #{flag_id} 决定] {note}",
                )
            except queue.QueueError:
                continue
            decided.append(other.id)
    session.commit()
    return Decided(flag, decided)


# --- images of the judged version (issue 14): OCR lines, the boxes of hits drawn over them, QR payloads --------


def case_images(session: Session, flag: Flag) -> list[dict[str, Any]]:
    """Every image the judged version showed, with its OCR lines, the boxes of the hits found in it (pixel
    rectangles on the image, drawn by the page as SVG rects) and its QR payloads (text, never links)."""
    from store.images import ocr_hits, version_images

    version = case_version(flag)
    boxes = ocr_hits(session, version.id, flag.verdict.hits or [])
    out = []
    for img in version_images(session, version.id):
        reading = img.get("reading") or {}
        out.append(
            {
                **img,
                "lines": reading.get("lines", []),
                "codes": reading.get("codes", []),
                "hit_boxes": [
                    {**b, "x": b["box"][0], "y": b["box"][1], "w": b["box"][2] - b["box"][0],
                     "h": b["box"][3] - b["box"][1]}
                    for b in boxes.get(img.get("image_id") or -1, [])
                ],  # fmt: skip
            }
        )
    return out


def case_image_bytes(session: Session, flag: Flag, image_id: int) -> tuple[str, bytes]:
    """A stored image of the judged version, or NotFound: an image of another case is never served here."""
    from store.images import image_data, version_images

    if not _fits(image_id) or all(i.get("image_id") != image_id for i in version_images(session, flag.version_id)):
        raise NotFound(f"案件 {flag.id} 没有图片 {image_id}")
    data = image_data(session, image_id)
    if data is None:
        raise NotFound(f"图片 {image_id} 不存在")
    return data
