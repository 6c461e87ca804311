"""Saving crawled documents and rejected items. The raw response body is kept compressed as evidence."""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import CompoundSelect, Row, bindparam, select, union_all
from sqlalchemy.orm import Session

from store import audit
from store.dedup import BANDS, NEAR_DUPLICATE_BITS, bands, content_hash, hamming, simhash
from store.models import Document, DocumentVersion, Rejection, VersionImage, utcnow

NEAR_DUPLICATE_CANDIDATES = 200
EXCERPT_BYTES = 4096

SaveStatus = Literal["new", "updated", "unchanged"]


@dataclass
class DocumentIn:
    """What the crawler hands over for one page or listing."""

    url: str
    canonical_url: str
    text: str
    raw: bytes
    title: str | None = None
    publisher: str | None = None
    contact: str | None = None
    region: str | None = None
    platform: str | None = None
    category: str | None = None
    price: str | None = None
    posted_at: datetime | None = None
    http_status: int | None = None
    http_headers: dict[str, Any] = field(default_factory=dict)
    encoding: str | None = None
    source_id: int | None = None
    # the page's image URLs in page order (None: not known, e.g. an import); a different list is a new version
    image_urls: list[str] | None = None


def snapshot(item: DocumentVersion | Document) -> bytes:
    """The raw response body as fetched: of a version, or of a document's current version."""
    version = item.current_version if isinstance(item, Document) else item
    if version is None:
        raise LookupError("document has no captured version")
    return zlib.decompress(version.raw_snapshot)


VERSIONED = ("title", "text", "publisher", "contact", "region", "platform", "category", "price", "posted_at")


def _same_content(session: Session, version: DocumentVersion, item: DocumentIn) -> bool:
    if not all(_norm(getattr(version, n)) == _norm(getattr(item, n)) for n in VERSIONED):
        return False
    if item.image_urls is None:
        return True
    # the images are part of what a version showed (compared as a set of URLs: fetch order may differ)
    shown = session.scalars(select(VersionImage.url).where(VersionImage.version_id == version.id)).all()
    return sorted(shown) == sorted(item.image_urls)


def _norm(value: Any) -> Any:
    return value.astimezone(UTC) if isinstance(value, datetime) and value.tzinfo else value


def fingerprint(item: DocumentIn) -> str:
    """SHA-256 over every versioned field: what makes two captures the same content."""
    payload = json.dumps(
        [str(_norm(getattr(item, n))) if getattr(item, n) is not None else None for n in VERSIONED],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def save_document(session: Session, item: DocumentIn) -> tuple[Document, SaveStatus]:
    """Insert, or add a version when the content changed; an unchanged capture leaves everything as it is.

    Identity is (source, canonical URL), so two sources never share or overwrite a document. Versions are never
    updated: a changed page is a new version with its own snapshot, hash and capture time, and cases already
    judged keep pointing at the version they judged.
    """
    source_key = item.source_id or 0
    doc = session.scalar(
        select(Document).where(Document.source_key == source_key, Document.canonical_url == item.canonical_url)
    )
    current = doc.current_version if doc is not None else None
    if doc is not None and current is not None and _same_content(session, current, item):
        if doc.removed_at is not None:  # it came back
            audit.record(session, "crawler", "document.restored", "document", doc.id,
                         {"removed_status": doc.removed_status}, None)
            doc.removed_at, doc.removed_status = None, None
        return doc, "unchanged"
    status: SaveStatus = "updated" if doc is not None else "new"
    now = utcnow()
    if doc is None:
        doc = Document(canonical_url=item.canonical_url, source_key=source_key, version_count=0)
        session.add(doc)
    doc.url = item.url
    doc.source_id = item.source_id
    for name in VERSIONED:
        setattr(doc, name, getattr(item, name))
    digest = content_hash(item.text)
    doc.content_hash = digest
    # the body, not the title: reposts keep the pitch and change the headline
    doc.simhash = simhash(item.text)
    doc.sh_b0, doc.sh_b1, doc.sh_b2, doc.sh_b3 = bands(doc.simhash)
    raw_sha256 = hashlib.sha256(item.raw).hexdigest()
    doc.raw_sha256 = raw_sha256
    doc.raw_size = len(item.raw)
    doc.http_status = item.http_status
    doc.http_headers = item.http_headers
    doc.encoding = item.encoding
    doc.fetched_at = now
    doc.scored_at = None
    doc.removed_at, doc.removed_status = None, None
    doc.version_count = (doc.version_count or 0) + 1
    session.flush()
    version = DocumentVersion(
        document_id=doc.id,
        number=doc.version_count,
        url=item.url,
        **{name: getattr(item, name) for name in VERSIONED},
        content_hash=fingerprint(item),
        raw_snapshot=zlib.compress(item.raw, 6),
        raw_sha256=raw_sha256,
        raw_size=len(item.raw),
        http_status=item.http_status,
        http_headers=item.http_headers,
        encoding=item.encoding,
        captured_at=now,
    )
    session.add(version)
    session.flush()
    doc.current_version_id = version.id
    doc.current_version = version
    if status == "updated":
        audit.record(session, "crawler", "document.version", "document", doc.id,
                     {"version": version.number - 1}, {"version": version.number, "sha256": raw_sha256})
    with session.no_autoflush:  # the lookup needs none of this document's pending changes: one UPDATE, not two
        doc.group_id = _near_duplicate_group(session, doc)
    session.flush()
    return doc, status


def mark_removed(session: Session, document_id: int, http_status: int) -> bool:
    """The page answered 404/410 on a re-crawl: kept as an event on the document, its versions untouched.

    Returns True when this is news (the document was not already marked removed).
    """
    doc = session.get(Document, document_id)
    if doc is None or doc.removed_at is not None:
        return False
    doc.removed_at, doc.removed_status = utcnow(), http_status
    audit.record(session, "crawler", "document.removed", "document", doc.id, None, {"http_status": http_status})
    session.flush()
    return True


def find_document(session: Session, source_id: int | None, canonical_url: str) -> Document | None:
    return session.scalar(
        select(Document).where(Document.source_key == (source_id or 0), Document.canonical_url == canonical_url)
    )


def versions_of(session: Session, document_id: int) -> list[DocumentVersion]:
    """Every captured version of a document, oldest first."""
    return list(
        session.scalars(
            select(DocumentVersion).where(DocumentVersion.document_id == document_id).order_by(DocumentVersion.number)
        )
    )


def _near_duplicate_group(session: Session, doc: Document) -> int:
    """Group id = group of the earliest document with the same content, or with a SimHash within a few bits."""
    same = session.scalar(
        select(Document.group_id)
        .where(Document.content_hash == doc.content_hash, Document.id != doc.id)
        .order_by(Document.id)
        .limit(1)
    )
    if same is not None:
        return same
    candidates = _band_candidates(session, doc)
    best: tuple[int, int] | None = None
    for other_id, other_hash, group in candidates:
        distance = hamming(doc.simhash, other_hash)
        if distance <= NEAR_DUPLICATE_BITS and (best is None or distance < best[0]):
            best = (distance, group or other_id)
    return best[1] if best else doc.id


@lru_cache(maxsize=4)
def _band_statement(limit: int) -> CompoundSelect:
    """Built once (the crawler saves documents on its hot path): one ordered, limited range per band."""
    parts = []
    for i in range(BANDS):
        band = (
            select(Document.id, Document.simhash, Document.group_id)
            .where(getattr(Document, f"sh_b{i}") == bindparam(f"b{i}"), Document.id != bindparam("self_id"))
            .order_by(Document.id)
            .limit(limit)
            .subquery(f"band{i}")
        )
        parts.append(select(band.c.id, band.c.simhash, band.c.group_id))
    return union_all(*parts)


def _band_candidates(session: Session, doc: Document) -> list[Row]:
    """The earliest ``NEAR_DUPLICATE_CANDIDATES`` other documents that share a SimHash band with ``doc``.

    One query per band, each an ordered range of its ``(sh_bN, id)`` index with its own LIMIT, merged here: the
    earliest N of the union are among the earliest N of each band, so the set is the same as one ``OR`` query
    ordered by id. That single query could let PostgreSQL walk the primary key and filter (the whole table when
    fewer than N rows match, if its estimate was off).
    """
    params = {f"b{i}": getattr(doc, f"sh_b{i}") for i in range(BANDS)} | {"self_id": doc.id}
    rows = {row.id: row for row in session.execute(_band_statement(NEAR_DUPLICATE_CANDIDATES), params)}
    return [rows[key] for key in sorted(rows)[:NEAR_DUPLICATE_CANDIDATES]]


def record_rejection(
    session: Session,
    url: str,
    reason: str,
    detail: str = "",
    *,
    source_id: int | None = None,
    http_status: int | None = None,
    raw: bytes | None = None,
) -> Rejection:
    """Keep a refused item with its reason, its hash and a compressed excerpt (never the whole hostile body).

    The same refusal seen again (same URL, reason, HTTP status and body hash: a scheduled re-crawl of a hostile page)
    bumps ``seen_count`` and ``last_seen_at`` of its row, so the record stays one row per distinct refusal; a page
    whose body or status changed gets a row of its own.
    """
    raw_sha256 = hashlib.sha256(raw).hexdigest() if raw is not None else None
    same = session.scalars(
        select(Rejection)
        .where(
            Rejection.url == url,
            Rejection.reason == reason,
            Rejection.http_status.is_not_distinct_from(http_status),
            Rejection.raw_sha256.is_not_distinct_from(raw_sha256),
        )
        .order_by(Rejection.id.desc())
        .limit(1)
    ).first()
    if same is not None:
        same.seen_count = (same.seen_count or 1) + 1
        same.last_seen_at = utcnow()
        same.detail = detail[:2000]
        session.flush()
        return same
    rejection = Rejection(
        source_id=source_id,
        url=url,
        reason=reason,
        detail=detail[:2000],
        http_status=http_status,
        raw_sha256=raw_sha256,
        raw_size=len(raw) if raw is not None else None,
        raw_excerpt=zlib.compress(raw[:EXCERPT_BYTES]) if raw else None,
    )
    session.add(rejection)
    session.flush()
    return rejection


def unscored_ids(session: Session, limit: int = 10_000) -> list[int]:
    return list(
        session.scalars(
            select(Document.id).where(Document.scored_at.is_(None)).order_by(Document.id).limit(limit)
        )
    )


RESCORE_SCOPES = ("open", "all")


def rescore_ids(session: Session, scope: str) -> list[int]:
    """Documents to score again after a lexicon or model change: those of undecided flags, or every document."""
    from store.models import Flag
    from store.verdicts import UNDECIDED

    if scope == "all":
        return list(session.scalars(select(Document.id).order_by(Document.id)))
    if scope == "open":
        return list(session.scalars(select(Flag.document_id).where(Flag.status.in_(UNDECIDED))))
    raise ValueError(f"scope must be one of {RESCORE_SCOPES}")
