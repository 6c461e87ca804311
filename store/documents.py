"""Saving crawled documents and rejected items. The raw response body is kept compressed as evidence."""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from store.dedup import BANDS, NEAR_DUPLICATE_BITS, bands, content_hash, hamming, simhash
from store.models import Document, Rejection, utcnow

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


def snapshot(doc: Document) -> bytes:
    """The raw response body as fetched."""
    return zlib.decompress(doc.raw_snapshot)


def save_document(session: Session, item: DocumentIn) -> tuple[Document, SaveStatus]:
    """Insert or update by canonical URL; an unchanged page (same content hash) is left as it is."""
    digest = content_hash(item.text)
    doc = session.scalar(select(Document).where(Document.canonical_url == item.canonical_url))
    if doc is not None and doc.content_hash == digest:
        return doc, "unchanged"
    status: SaveStatus = "updated" if doc is not None else "new"
    if doc is None:
        doc = Document(canonical_url=item.canonical_url)
        session.add(doc)
    doc.url = item.url
    doc.source_id = item.source_id
    for name in ("title", "publisher", "contact", "region", "platform", "category", "price", "posted_at"):
        setattr(doc, name, getattr(item, name))
    doc.text = item.text
    doc.content_hash = digest
    # the body, not the title: reposts keep the pitch and change the headline
    doc.simhash = simhash(item.text)
    doc.sh_b0, doc.sh_b1, doc.sh_b2, doc.sh_b3 = bands(doc.simhash)
    doc.raw_snapshot = zlib.compress(item.raw, 6)
    doc.raw_sha256 = hashlib.sha256(item.raw).hexdigest()
    doc.raw_size = len(item.raw)
    doc.http_status = item.http_status
    doc.http_headers = item.http_headers
    doc.encoding = item.encoding
    doc.fetched_at = utcnow()
    doc.scored_at = None
    session.flush()
    doc.group_id = _near_duplicate_group(session, doc)
    session.flush()
    return doc, status


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
    band_match = or_(*(getattr(Document, f"sh_b{i}") == getattr(doc, f"sh_b{i}") for i in range(BANDS)))
    candidates = session.execute(
        select(Document.id, Document.simhash, Document.group_id)
        .where(Document.id != doc.id, band_match)
        .order_by(Document.id)
        .limit(NEAR_DUPLICATE_CANDIDATES)
    )
    best: tuple[int, int] | None = None
    for other_id, other_hash, group in candidates:
        distance = hamming(doc.simhash, other_hash)
        if distance <= NEAR_DUPLICATE_BITS and (best is None or distance < best[0]):
            best = (distance, group or other_id)
    return best[1] if best else doc.id


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
