"""Identifiers of document versions: extracted once per captured version, stored with their exact spans.

The fields read are the version's own texts: ``title`` and ``body`` (what the detectors read), plus ``publisher``,
``contact`` and ``region``, where ads put most of their contacts. Every stored identifier satisfies
``identifier_fields(version)[field][start:end] == matched``.

``identifier_keys`` counts how many current documents (and how many distinct publishers) carry each identifier,
so that the linker's degree cap is one indexed read, never a count over the whole table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, delete, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from operators.contacts import registered_domain
from operators.extract import Identifier, extract
from operators.link import LinkConfig
from store.models import (
    Document,
    DocumentIdentifier,
    DocumentVersion,
    IdentifierKey,
    IdentifierStop,
    Source,
    utcnow,
)

Key = tuple[str, str]
CHUNK = 500
# identifiers of a document's current version; the id equality lets the database use the primary key
_CURRENT = (Document.id == DocumentIdentifier.document_id) & (Document.current_version_id == DocumentIdentifier.version_id)
# a source profile may list identifiers of its own that link nothing (its hotline, its domain, a footer)
PROFILE_STOPLIST = "identifier_stoplist"


def identifier_fields(version: DocumentVersion) -> dict[str, str]:
    """The texts identifiers are read from, by field name (offsets of stored identifiers index these)."""
    return {
        "title": version.title or "",
        "body": version.text or "",
        "publisher": version.publisher or "",
        "contact": version.contact or "",
        "region": version.region or "",
    }


def identifier_texts(session: Session, version_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """Every field identifiers are stored against, by version: :func:`identifier_fields` plus the image text
    (``ocr``) and the decoded QR payloads (``qr``) that ``store.images.add_ocr_identifiers`` reads. Why: a phone or a
    URL that only an image carries has its span in those fields, and an excerpt cut from the title or body would
    not match it."""
    from sqlalchemy.orm import load_only

    from store.models import VersionOCR

    out: dict[int, dict[str, str]] = {}
    for chunk in _chunks(sorted(set(version_ids))):
        for v in session.scalars(
            select(DocumentVersion)
            .options(load_only(DocumentVersion.id, DocumentVersion.title, DocumentVersion.text,
                               DocumentVersion.publisher, DocumentVersion.contact, DocumentVersion.region))
            .where(DocumentVersion.id.in_(chunk))
        ):  # fmt: skip
            out[v.id] = identifier_fields(v)
        for vid, text, qr in session.execute(
            select(VersionOCR.version_id, VersionOCR.text, VersionOCR.qr_text).where(VersionOCR.version_id.in_(chunk))
        ):
            out.setdefault(vid, {}).update({"ocr": text or "", "qr": qr or ""})
    return out


def _chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def ensure_identifiers(session: Session, version_ids: Sequence[int]) -> dict[int, list[Key]]:
    """Identifier keys of each version, extracting and storing those of versions not read yet.

    A version is read once: its identifiers never change, since the version never does. (A version that holds
    no identifier at all is read again when asked; that is cheap and keeps the table free of markers.)
    """
    out: dict[int, list[Key]] = {v: [] for v in version_ids}
    done: set[int] = set()
    for chunk in _chunks(sorted(set(version_ids))):
        for vid, kind, value in session.execute(
            select(DocumentIdentifier.version_id, DocumentIdentifier.kind, DocumentIdentifier.value).where(
                DocumentIdentifier.version_id.in_(chunk)
            )
        ):
            out[vid].append((kind, value))
            done.add(vid)
    todo = [v for v in sorted(set(version_ids)) if v not in done]
    rows: list[dict] = []
    for chunk in _chunks(todo):
        for version in session.execute(
            select(
                DocumentVersion.id,
                DocumentVersion.document_id,
                DocumentVersion.title,
                DocumentVersion.text,
                DocumentVersion.publisher,
                DocumentVersion.contact,
                DocumentVersion.region,
            ).where(DocumentVersion.id.in_(chunk))
        ):
            for ident in extract_fields(version):
                out[version.id].append(ident.key())
                rows.append(
                    dict(
                        version_id=version.id,
                        document_id=version.document_id,
                        kind=ident.kind,
                        value=ident.value[:255],
                        field=ident.field,
                        start=ident.start,
                        end=ident.end,
                        matched=ident.matched,
                    )
                )
    if rows:
        session.execute(insert(DocumentIdentifier), rows)
    return out


def extract_fields(version: object) -> list[Identifier]:
    """Identifiers of a version (a model or a row with its text columns)."""
    return extract(
        {
            "title": getattr(version, "title", None) or "",
            "body": getattr(version, "text", None) or "",
            "publisher": getattr(version, "publisher", None) or "",
            "contact": getattr(version, "contact", None) or "",
            "region": getattr(version, "region", None) or "",
        }
    )


def identifiers_of_versions(session: Session, version_ids: Sequence[int]) -> list[DocumentIdentifier]:
    out: list[DocumentIdentifier] = []
    for chunk in _chunks(sorted(set(version_ids))):
        out += session.scalars(
            select(DocumentIdentifier)
            .where(DocumentIdentifier.version_id.in_(chunk))
            .order_by(DocumentIdentifier.version_id, DocumentIdentifier.id)
        )
    return out


def _key_filter(column_kind, column_value, keys: Iterable[Key]):  # noqa: ANN001, ANN202 - SQL expression
    by_kind: dict[str, set[str]] = defaultdict(set)
    for kind, value in keys:
        by_kind[kind].add(value)
    return or_(*(and_(column_kind == k, column_value.in_(sorted(v))) for k, v in sorted(by_kind.items())))


def documents_with(session: Session, keys: Iterable[Key], limit_per_key: int | None = None) -> dict[Key, set[int]]:
    """Documents whose *current* version carries each key (index lookups on (kind, value))."""
    keys = sorted(set(keys))
    out: dict[Key, set[int]] = defaultdict(set)
    for chunk in _chunks(keys, 200):
        rows = session.execute(
            select(DocumentIdentifier.kind, DocumentIdentifier.value, DocumentIdentifier.document_id)
            .join(Document, _CURRENT)
            .where(_key_filter(DocumentIdentifier.kind, DocumentIdentifier.value, chunk))
        )
        for kind, value, doc_id in rows:
            bucket = out[(kind, value)]
            if limit_per_key is None or len(bucket) <= limit_per_key:
                bucket.add(doc_id)
    return out


def _insert(session: Session):  # noqa: ANN202
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


@dataclass
class KeyChange:
    added: list[tuple[Key, str]]  # (key, publisher) of a document whose current version now carries it
    removed: list[Key]  # a document's earlier version carried it, its new one may not


def update_key_counts(session: Session, change: KeyChange, config: LinkConfig) -> set[Key]:
    """Bump the usage counts; returns the keys that became hubs now (their operators must be relinked).

    The rows are locked in key order (PostgreSQL), which also serialises two batches that share an identifier:
    the second one waits and then sees the first one's documents, so both land in one operator.
    """
    keys = sorted({k for k, _ in change.added} | set(change.removed))
    if not keys:
        return set()
    insert_ = _insert(session)
    now = utcnow()
    session.execute(
        insert_(IdentifierKey)
        .values([dict(kind=k, value=v, doc_count=0, publishers=[], hub=False, updated_at=now) for k, v in keys])
        .on_conflict_do_nothing(index_elements=["kind", "value"])
    )
    rows: dict[Key, IdentifierKey] = {}
    for chunk in _chunks(keys, 200):
        for row in session.scalars(
            select(IdentifierKey)
            .where(_key_filter(IdentifierKey.kind, IdentifierKey.value, chunk))
            .order_by(IdentifierKey.kind, IdentifierKey.value)
            .with_for_update()
        ):
            rows[(row.kind, row.value)] = row
    became: set[Key] = set()
    publishers: dict[Key, list[str]] = defaultdict(list)
    for key, publisher in change.added:
        publishers[key].append(publisher)
    counts: dict[Key, int] = defaultdict(int)
    for key, _ in change.added:
        counts[key] += 1
    for key in change.removed:
        counts[key] -= 1
    for key in keys:
        row = rows[key]
        row.doc_count = max(0, (row.doc_count or 0) + counts[key])
        seen = list(row.publishers or [])
        for p in publishers.get(key, []):
            if p not in seen and len(seen) <= config.hub_publishers:
                seen.append(p)
        if seen != list(row.publishers or []):
            row.publishers = seen
        hub = row.doc_count > config.hub_documents or len(seen) > config.hub_publishers
        if hub and not row.hub:
            row.hub = True
            became.add(key)
    session.flush()
    return became


def recount_keys(session: Session, config: LinkConfig) -> int:
    """Rebuild ``identifier_keys`` from the identifiers of current versions (repairs; hubs recomputed exactly)."""
    session.execute(delete(IdentifierKey))
    counts: dict[Key, int] = defaultdict(int)
    publishers: dict[Key, list[str]] = defaultdict(list)
    rows = session.execute(
        select(DocumentIdentifier.kind, DocumentIdentifier.value, DocumentIdentifier.document_id, Document.publisher)
        .join(Document, _CURRENT)
        .order_by(DocumentIdentifier.document_id)
    )
    seen_pairs: set[tuple[Key, int]] = set()
    for kind, value, doc_id, publisher in rows:
        key = (kind, value)
        if (key, doc_id) in seen_pairs:
            continue
        seen_pairs.add((key, doc_id))
        counts[key] += 1
        p = publisher_key(publisher)
        bucket = publishers[key]
        if p not in bucket and len(bucket) <= config.hub_publishers:
            bucket.append(p)
    now = utcnow()
    values = [
        dict(
            kind=k,
            value=v,
            doc_count=n,
            publishers=publishers[(k, v)],
            hub=n > config.hub_documents or len(publishers[(k, v)]) > config.hub_publishers,
            updated_at=now,
        )
        for (k, v), n in sorted(counts.items())
    ]
    for chunk in _chunks(values, 2000):
        session.execute(insert(IdentifierKey), list(chunk))
    return len(values)


def hubs_among(session: Session, keys: Iterable[Key]) -> set[Key]:
    keys = sorted(set(keys))
    out: set[Key] = set()
    for chunk in _chunks(keys, 200):
        out |= set(
            session.execute(
                select(IdentifierKey.kind, IdentifierKey.value).where(
                    IdentifierKey.hub.is_(True), _key_filter(IdentifierKey.kind, IdentifierKey.value, chunk)
                )
            ).all()
        )
    return {(k, v) for k, v in out}


def publisher_key(publisher: str | None) -> str:
    """One spelling per publisher for the hub count (an empty publisher counts as one)."""
    import unicodedata

    return "".join(unicodedata.normalize("NFKC", publisher or "").split())[:100]


def parse_stop_entry(entry: str) -> set[Key]:
    """A stop-list entry: ``kind:value`` as stored, or any text whose identifiers are then all stopped."""
    kind, sep, value = entry.partition(":")
    if sep and kind in _STOPPABLE and value:
        return {(kind, value.strip())}
    return {i.key() for i in extract({"body": entry}) if i.kind != "region"}


_STOPPABLE = {"phone", "phone_partial", "wechat", "qq", "email", "url", "domain", "company", "brand", "app"}


def stop_lists(session: Session, source_ids: Iterable[int | None]) -> tuple[set[Key], dict[int, set[Key]]]:
    """(stopped everywhere, stopped per source): the ``identifier_stops`` table and each source profile's
    ``identifier_stoplist``."""
    everywhere: set[Key] = set()
    per_source: dict[int, set[Key]] = defaultdict(set)
    wanted = sorted({s for s in source_ids if s is not None})
    for stop in session.scalars(
        select(IdentifierStop).where(or_(IdentifierStop.source_id.is_(None), IdentifierStop.source_id.in_(wanted)))
    ):
        (everywhere if stop.source_id is None else per_source[stop.source_id]).add((stop.kind, stop.value))
    if wanted:
        for sid, profile in session.execute(select(Source.id, Source.profile).where(Source.id.in_(wanted))):
            for entry in (profile or {}).get(PROFILE_STOPLIST) or []:
                per_source[sid] |= parse_stop_entry(str(entry))
    return everywhere, per_source


def add_stop(
    session: Session, entry: str, *, actor: str, source_id: int | None = None, reason: str = ""
) -> list[IdentifierStop]:
    """Stop identifiers (everywhere, or on one source); audited. Run a rebuild to undo links they made."""
    from store import audit

    keys = sorted(parse_stop_entry(entry))
    if not keys:
        raise ValueError(f"no identifier found in {entry!r}; write it as kind:value (e.g. phone:+864006001234)")
    out = []
    for kind, value in keys:
        stop = IdentifierStop(kind=kind, value=value, source_id=source_id, reason=reason, created_by=actor)
        session.add(stop)
        out.append(stop)
    session.flush()
    for stop in out:
        audit.record(session, actor, "identifier.stop", "identifier", f"{stop.kind}:{stop.value}", None,
                     {"source_id": source_id, "reason": reason})
    return out


def keys_by_document(session: Session, doc_ids: Sequence[int]) -> dict[int, list[Key]]:
    """Identifier keys of each document's current version (for documents read already)."""
    out: dict[int, list[Key]] = {d: [] for d in doc_ids}
    for chunk in _chunks(sorted(set(doc_ids))):
        for doc_id, kind, value in session.execute(
            select(DocumentIdentifier.document_id, DocumentIdentifier.kind, DocumentIdentifier.value)
            .join(Document, _CURRENT)
            .where(DocumentIdentifier.document_id.in_(chunk))
        ):
            out[doc_id].append((kind, value))
    return out


def usable(
    keys: Iterable[Key],
    source_id: int | None,
    *,
    config: LinkConfig,
    hubs: set[Key],
    everywhere: set[Key],
    per_source: Mapping[int, set[Key]],
) -> list[Key]:
    """The keys that may link this document: positive weight, not a hub, not stopped for its source."""
    stopped = per_source.get(source_id, set()) if source_id is not None else set()

    def blocked(key: Key) -> bool:
        return key in hubs or key in everywhere or key in config.stop or key in stopped

    out = []
    for k in keys:
        if config.weight(k[0]) <= 0 or blocked(k):
            continue
        if k[0] == "url":  # a page of a stopped or hub site is stopped with it
            domain = registered_domain(k[1].split("/", 1)[0])
            if domain and blocked(("domain", domain)):
                continue
        out.append(k)
    return out
