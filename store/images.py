"""Images of captured versions: stored once by SHA-256, read once per image, and the ``ocr`` field of a version.

Write side (crawler, then the ``images`` worker):
- ``save_version_images`` checks each fetched image (``imaging.check``: magic bytes, pixel limit, SVG, polyglots …)
  and stores it once by content hash, or records the refusal in ``rejections`` with its reason; either way the
  version keeps a ``version_images`` row in page order, so the evidence says what the page showed;
- ``save_reading`` caches what the OCR engine read in one image (lines, boxes, confidences, QR payloads), keyed by
  (image, engine): the same banner on every page is read once;
- ``build_version_ocr`` writes the version's ``ocr`` field once (one block per image, ``imaging.spans``), after
  which ``DocumentVersion.fields()`` includes it and ``add_ocr_identifiers`` files QR URLs, phones, WeChat IDs …
  found there as the version's identifiers.

Read side (review case page, evidence sheet): ``version_images``, ``ocr_hits``, ``qr_payloads``, ``image_data``.
QR payloads are inert text everywhere; nothing here renders or follows them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from imaging.check import Limits, check_image
from imaging.spans import attach_boxes, compose_blocks
from store.documents import record_rejection
from store.models import (
    Document,
    DocumentIdentifier,
    DocumentVersion,
    OperatorMember,
    StoredImage,
    StoredReading,
    VersionImage,
    VersionOCR,
    utcnow,
)

QR_SEPARATOR = "\n"


@dataclass
class ImageIn:
    """One image the crawler fetched for a captured version."""

    url: str
    data: bytes
    captured_at: datetime | None = None
    declared_type: str | None = None  # the Content-Type header: recorded, never trusted


def _insert(session: Session):  # noqa: ANN202 - dialect's insert
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _next_position(session: Session, version_id: int) -> int:
    last = session.scalar(
        select(VersionImage.position).where(VersionImage.version_id == version_id).order_by(
            VersionImage.position.desc()).limit(1)
    )  # fmt: skip
    return 0 if last is None else last + 1


def store_image(session: Session, data: bytes, url: str, captured_at: datetime, check: Any) -> int:
    """The id of the stored image with these bytes, inserting it if new (insert-or-ignore on its SHA-256)."""
    stmt = (
        _insert(session)(StoredImage)
        .values(
            sha256=check.sha256,
            content_type=check.content_type,
            width=check.width,
            height=check.height,
            size=len(data),
            animated=check.animated,
            data=data,
            first_url=url,
            first_captured_at=captured_at,
        )
        .on_conflict_do_nothing(index_elements=["sha256"])
    )
    session.execute(stmt)
    return int(session.scalar(select(StoredImage.id).where(StoredImage.sha256 == check.sha256)))


def save_version_images(
    session: Session,
    version_id: int,
    images: Sequence[ImageIn],
    *,
    source_id: int | None = None,
    limits: Limits = Limits(),
) -> list[VersionImage]:
    """Check and store a version's images in page order; each refused one is a rejection with its reason."""
    position = _next_position(session, version_id)
    rows: list[VersionImage] = []
    for item in images:
        at = item.captured_at or utcnow()
        check = check_image(item.data, limits, item.declared_type)
        row = VersionImage(version_id=version_id, position=position, url=item.url, captured_at=at)
        if check.ok:
            row.image_id = store_image(session, item.data, item.url, at, check)
        else:
            rej = record_rejection(
                session, item.url, check.reason or "image_undecodable", check.detail, source_id=source_id,
                raw=item.data,
            )  # fmt: skip
            row.rejection_id, row.reason = rej.id, check.reason
        session.add(row)
        rows.append(row)
        position += 1
    session.flush()
    return rows


def record_image_refusal(
    session: Session,
    version_id: int | None,
    url: str,
    reason: str,
    detail: str,
    *,
    source_id: int | None = None,
    raw: bytes | None = None,
) -> None:
    """An image refused before its bytes could be checked (too many on the page, too large, SSRF, fetch error)."""
    rej = record_rejection(session, url, reason, detail, source_id=source_id, raw=raw)
    if version_id is not None:
        session.add(
            VersionImage(
                version_id=version_id, position=_next_position(session, version_id), url=url, captured_at=utcnow(),
                rejection_id=rej.id, reason=reason,
            )
        )  # fmt: skip
        session.flush()


# --- OCR -----------------------------------------------------------------------------------------------------


def versions_awaiting_ocr(
    session: Session, version_ids: Sequence[int] | None = None, *, before: datetime | None = None, limit: int = 1000
) -> list[int]:
    """Versions with at least one stored image and no ``ocr`` field yet (of ``version_ids``, or captured before)."""
    q = (
        select(VersionImage.version_id)
        .where(VersionImage.image_id.is_not(None))
        .where(~exists().where(VersionOCR.version_id == VersionImage.version_id))
        .distinct()
        .order_by(VersionImage.version_id)
        .limit(limit)
    )
    if version_ids is not None:
        q = q.where(VersionImage.version_id.in_(list(version_ids)))
    if before is not None:
        q = q.where(VersionImage.captured_at < before)
    return list(session.scalars(q))


def awaiting_ocr_of_documents(session: Session, document_ids: Sequence[int]) -> list[int]:
    """The current versions of these documents that have stored images and no ``ocr`` field yet."""
    current = select(Document.current_version_id).where(Document.id.in_(list(document_ids)))
    return versions_awaiting_ocr(session, list(session.scalars(current)))


def images_to_read(session: Session, version_ids: Sequence[int], engine: str) -> dict[int, bytes]:
    """Bytes of the versions' stored images that this engine has not finished reading, by image id."""
    done = select(StoredReading.image_id).where(StoredReading.engine == engine, StoredReading.status != "pending")
    ids = select(VersionImage.image_id).where(
        VersionImage.version_id.in_(list(version_ids)), VersionImage.image_id.is_not(None)
    )
    rows = session.execute(
        select(StoredImage.id, StoredImage.data).where(StoredImage.id.in_(ids), StoredImage.id.not_in(done))
    )
    return {image_id: data for image_id, data in rows}


def claim_readings(session: Session, image_ids: Sequence[int], engine: str, max_attempts: int = 2) -> list[int]:
    """Mark the images as being read (committed before the OCR runs); returns those still worth reading.

    An image whose earlier reads never finished ``max_attempts`` times (the process died on it: a poison image) is
    given up as ``failed`` instead, so a redelivered task cannot crash workers for ever.
    """
    if not image_ids:
        return []
    now = utcnow()
    session.execute(
        _insert(session)(StoredReading)
        .values([dict(image_id=i, engine=engine, status="pending", attempts=0, text="", lines=[], codes=[],
                      elapsed_ms=0, created_at=now) for i in sorted(set(image_ids))])
        .on_conflict_do_nothing(index_elements=["image_id", "engine"])
    )  # fmt: skip
    out = []
    for row in session.scalars(
        select(StoredReading)
        .where(StoredReading.image_id.in_(list(image_ids)), StoredReading.engine == engine)
        .order_by(StoredReading.image_id)
        .with_for_update()
    ):
        if row.status != "pending":
            continue
        if row.attempts >= max_attempts:
            row.status, row.error = "failed", f"given up: {row.attempts} reads never finished (the reader died)"
            continue
        row.attempts += 1
        out.append(row.image_id)
    session.flush()
    return out


def save_reading(
    session: Session,
    image_id: int,
    engine: str,
    *,
    lines: Sequence[Mapping[str, Any]] = (),
    codes: Sequence[Mapping[str, Any]] = (),
    text: str = "",
    elapsed_ms: int = 0,
    error: str | None = None,
) -> None:
    """Finish one image's reading (a reading already finished, by a redelivered twin, is left as it is)."""
    values = dict(
        status="failed" if error else "ok", text=text, lines=list(lines), codes=list(codes), error=error,
        elapsed_ms=elapsed_ms, created_at=utcnow(),
    )  # fmt: skip
    claim_readings(session, [image_id], engine, max_attempts=10**6)  # the row exists (direct callers, tests)
    session.execute(
        StoredReading.__table__.update()
        .where(StoredReading.image_id == image_id, StoredReading.engine == engine, StoredReading.status == "pending")
        .values(**values)
    )


def _readings(session: Session, image_ids: Sequence[int], engine: str) -> dict[int, StoredReading]:
    return {
        r.image_id: r
        for r in session.scalars(
            select(StoredReading).where(StoredReading.image_id.in_(list(image_ids)), StoredReading.engine == engine)
        )
    }


def build_version_ocr(session: Session, version_id: int, engine: str) -> VersionOCR | None:
    """Write the version's ``ocr`` field once from its images' readings; None while an image is still unread.

    The field, once written, is part of the version's evidence and is never rewritten (a second call returns it).
    """
    existing = session.scalar(select(VersionOCR).where(VersionOCR.version_id == version_id))
    if existing is not None:
        return existing
    image_ids = list(
        session.scalars(
            select(VersionImage.image_id)
            .where(VersionImage.version_id == version_id, VersionImage.image_id.is_not(None))
            .order_by(VersionImage.position)
        )
    )
    readings = _readings(session, image_ids, engine)
    if any(i not in readings or readings[i].status == "pending" for i in image_ids):
        return None
    text, blocks = compose_blocks([(i, readings[i].text) for i in image_ids])
    codes, seen = [], set()
    for i in image_ids:
        for c in readings[i].codes or []:
            if (i, c.get("text")) not in seen:
                seen.add((i, c.get("text")))
                codes.append({"image_id": i, "format": c.get("format"), "text": c.get("text") or ""})
    stmt = (
        _insert(session)(VersionOCR)
        .values(
            version_id=version_id,
            engine=engine,
            text=text,
            blocks=blocks,
            codes=codes,
            qr_text=QR_SEPARATOR.join(c["text"] for c in codes),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["version_id"])
    )
    session.execute(stmt)
    return session.scalar(select(VersionOCR).where(VersionOCR.version_id == version_id))


def lines_of_images(session: Session, image_ids: Sequence[int], engine: str) -> dict[int, list[dict[str, Any]]]:
    return {i: list(r.lines or []) for i, r in _readings(session, image_ids, engine).items()}


def with_image_boxes(session: Session, version_id: int, hits: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Hits with ``image_id`` and pixel ``boxes`` added to those in the ``ocr`` field (others unchanged)."""
    if not any(h.get("field") == "ocr" for h in hits):
        return [dict(h) for h in hits]
    ocr = session.scalar(select(VersionOCR).where(VersionOCR.version_id == version_id))
    if ocr is None:
        return [dict(h) for h in hits]
    lines = lines_of_images(session, [b["image_id"] for b in ocr.blocks], ocr.engine)
    return attach_boxes(hits, ocr.blocks, lines)


def add_ocr_identifiers(session: Session, version_id: int) -> list[tuple[str, str]]:
    """Identifiers in the version's ``ocr`` and ``qr`` fields (QR URLs and their domains, phones, WeChat IDs …).

    Stored like the title's and body's (``store.identifiers``), with exact spans into ``VersionOCR.text`` (field
    ``ocr``) or ``VersionOCR.qr_text`` (field ``qr``); returns the keys new to the version. Runs once per version.
    The title's and body's identifiers are extracted first (``ensure_identifiers`` reads a version only once), and
    when the linker already counted this version, the new keys' usage counts are bumped here.
    """
    from operators.extract import extract
    from operators.link import LinkConfig
    from store.identifiers import KeyChange, ensure_identifiers, publisher_key, update_key_counts

    ocr = session.scalar(select(VersionOCR).where(VersionOCR.version_id == version_id))
    if ocr is None:
        return []
    already = session.scalar(
        select(exists().where(DocumentIdentifier.version_id == version_id, DocumentIdentifier.field.in_(["ocr", "qr"])))
    )
    if already:
        return []
    before = set(ensure_identifiers(session, [version_id])[version_id])
    version = session.get(DocumentVersion, version_id)
    if version is None:
        return []
    found = extract({"ocr": ocr.text, "qr": ocr.qr_text})
    for ident in found:
        session.add(
            DocumentIdentifier(
                version_id=version_id, document_id=version.document_id, kind=ident.kind, value=ident.value[:255],
                field=ident.field, start=ident.start, end=ident.end, matched=ident.matched,
            )
        )  # fmt: skip
    session.flush()
    new = sorted({ident.key() for ident in found} - before)
    member = session.get(OperatorMember, version.document_id)
    current = session.scalar(select(Document.current_version_id).where(Document.id == version.document_id))
    if new and member is not None and member.version_id == version_id == current:
        change = KeyChange(added=[(k, publisher_key(version.publisher)) for k in new], removed=[])
        update_key_counts(session, change, LinkConfig())
    return new


# --- read side: the case page and the evidence sheet ----------------------------------------------------------


def version_images(session: Session, version_id: int) -> list[dict[str, Any]]:
    """Every image the version showed, in page order, with its OCR lines, boxes, confidences and QR payloads.

    A refused image has ``image_id`` None and its ``reason``; a stored one its SHA-256, type (by magic bytes),
    size and dimensions, and ``reading`` (None until the ``images`` worker has read it).
    """
    ocr = session.scalar(select(VersionOCR).where(VersionOCR.version_id == version_id))
    rows = list(
        session.execute(
            select(VersionImage, StoredImage)
            .outerjoin(StoredImage, StoredImage.id == VersionImage.image_id)
            .where(VersionImage.version_id == version_id)
            .order_by(VersionImage.position)
        ).all()
    )
    engine = ocr.engine if ocr is not None else None
    readings: dict[int, StoredReading] = {}
    ids = [img.id for _, img in rows if img is not None]
    if ids:
        q = select(StoredReading).where(StoredReading.image_id.in_(ids)).order_by(StoredReading.id)
        if engine is not None:
            q = q.where(StoredReading.engine == engine)
        readings = {r.image_id: r for r in session.scalars(q)}
    blocks = {b["image_id"]: b for b in (ocr.blocks if ocr is not None else [])}
    out = []
    for vi, img in rows:
        item: dict[str, Any] = {
            "position": vi.position,
            "url": vi.url,
            "captured_at": vi.captured_at,
            "image_id": vi.image_id,
            "reason": vi.reason,
            "rejection_id": vi.rejection_id,
        }
        if img is not None:
            r = readings.get(img.id)
            item.update(
                sha256=img.sha256, content_type=img.content_type, width=img.width, height=img.height,
                size=img.size, animated=img.animated,
                reading=None if r is None else {
                    "engine": r.engine, "status": r.status, "error": r.error, "text": r.text,
                    "lines": [{"text": ln["text"], "box": ln["box"], "score": ln["score"]} for ln in r.lines or []],
                    "codes": [{"format": c.get("format"), "text": c.get("text")} for c in r.codes or []],
                },
                block=blocks.get(img.id),  # where its text sits in the version's ocr field ({start, end})
            )  # fmt: skip
        out.append(item)
    return out


def ocr_hits(session: Session, version_id: int, hits: Sequence[Mapping[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """The verdict's hits in the ``ocr`` field grouped by image id, each with its pixel boxes ``[x0, y0, x1, y1]``
    (one per line it covers): what the case page draws over each image."""
    out: dict[int, list[dict[str, Any]]] = {}
    for h in with_image_boxes(session, version_id, hits):
        if h.get("field") != "ocr":
            continue
        for box in h.get("boxes") or []:
            out.setdefault(box["image_id"], []).append(
                {"term": h.get("term"), "category": h.get("category"), "matched": h.get("matched"),
                 "line": box["line"], "box": box["box"]}
            )  # fmt: skip
    return out


def qr_payloads(session: Session, version_id: int) -> list[dict[str, Any]]:
    """Decoded QR/barcode payloads of the version's images: ``{image_id, format, text}``, inert text."""
    ocr = session.scalar(select(VersionOCR).where(VersionOCR.version_id == version_id))
    return list(ocr.codes) if ocr is not None else []


def image_data(session: Session, image_id: int) -> tuple[str, bytes] | None:
    """(content type by magic bytes, bytes as fetched) of a stored image, or None.

    Serve it with exactly this type, ``X-Content-Type-Options: nosniff`` and ``Content-Security-Policy: sandbox``:
    stored images passed the polyglot and SVG checks, and the headers keep it that way in a browser.
    """
    row = session.execute(select(StoredImage.content_type, StoredImage.data).where(StoredImage.id == image_id)).first()
    return None if row is None else (row[0], row[1])
