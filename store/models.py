"""SQLAlchemy 2 models. The same schema runs on PostgreSQL (production, tests) and SQLite (demo)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, backref, mapped_column, relationship
from sqlalchemy.types import DateTime, TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on PostgreSQL and SQLite alike.

    SQLite has no time zones: SQLAlchemy writes an aware datetime's wall time and drops its offset, so a post at
    21:00+08:00 came back as a naive 21:00 and was shown as 21:00 UTC. Converting to UTC before the write and
    attaching UTC on the read makes both databases hold and return the same instant. A naive value is taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class FlagStatus(enum.StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    REFERRED = "referred"
    ESCALATED = "escalated"
    WITHDRAWN = "withdrawn"  # a rescore no longer flags it; reopened if a later score does


class Source(Base):
    """A crawled site or listing API; ``profile`` is the parsed crawl profile (selectors, field mapping)."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # html | json_api
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    interval_seconds: Mapped[int] = mapped_column(Integer, default=3600)
    allow_private: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_crawled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Document(Base):
    """One ad or listing of one source, identified by (source, canonical URL).

    The columns below mirror its *current* version, for listing and filtering; what was captured lives, frozen, in
    ``DocumentVersion`` rows, one per distinct content, and verdicts and flags point at the version they judged.
    """

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("source_key", "canonical_url", name="uq_documents_source_url"),
        # the near-duplicate lookups read the earliest ids of one value: ordered ranges (migration 0010)
        Index("ix_documents_content_hash_id", "content_hash", "id"),
        *(Index(f"ix_documents_sh_b{i}_id", f"sh_b{i}", "id") for i in range(4)),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    # source_id, or 0 for documents of no source (``adscreen score`` imports): NULLs never collide in a unique key
    source_key: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(String(2048), index=True)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_versions.id", use_alter=True, name="fk_documents_current_version")
    )
    version_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    publisher: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(Text)
    platform: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    price: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    content_hash: Mapped[str] = mapped_column(String(64))
    simhash: Mapped[str | None] = mapped_column(String(16))
    # the SimHash's four 16-bit bands, indexed with the id: near-duplicate candidates share at least one
    sh_b0: Mapped[int | None] = mapped_column(Integer)
    sh_b1: Mapped[int | None] = mapped_column(Integer)
    sh_b2: Mapped[int | None] = mapped_column(Integer)
    sh_b3: Mapped[int | None] = mapped_column(Integer)
    group_id: Mapped[int | None] = mapped_column(Integer, index=True)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    raw_size: Mapped[int] = mapped_column(Integer)
    http_status: Mapped[int | None] = mapped_column(Integer)
    http_headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    encoding: Mapped[str | None] = mapped_column(String(40))
    # the page answered 404/410 on a re-crawl: the captured versions stay, the case shows the removal
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_status: Mapped[int | None] = mapped_column(Integer)
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    source: Mapped[Source | None] = relationship()
    current_version: Mapped[DocumentVersion | None] = relationship(foreign_keys=[current_version_id])


class DocumentVersion(Base):
    """One captured content of a document, frozen: its fields, raw snapshot and hash never change once written.

    The detectors read the named text fields (``fields()``); every hit's offsets index one of them, so what an
    inspector sees highlighted is exactly what matched, and what the bureau receives is exactly what was captured.
    """

    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "number", name="uq_document_versions_number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … per document
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    publisher: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(Text)
    platform: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    price: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    content_hash: Mapped[str] = mapped_column(String(64))
    raw_snapshot: Mapped[bytes] = mapped_column(LargeBinary)  # zlib-compressed response body
    raw_sha256: Mapped[str] = mapped_column(String(64))
    raw_size: Mapped[int] = mapped_column(Integer)
    http_status: Mapped[int | None] = mapped_column(Integer)
    http_headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    encoding: Mapped[str | None] = mapped_column(String(40))
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    document: Mapped[Document] = relationship(foreign_keys=[document_id])

    def fields(self) -> dict[str, str]:
        """The named texts the detectors read, in reading order (``store.fields``); ``ocr``: its images' text."""
        out = {"title": self.title or "", "body": self.text or ""}
        ocr = self.ocr_record  # VersionOCR (backref), written once when its images were read
        if ocr is not None and ocr.text:
            out["ocr"] = ocr.text
        return out


class Rejection(Base):
    """An item the crawler refused, with its reason: nothing is dropped silently."""

    __tablename__ = "rejections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    url: Mapped[str] = mapped_column(Text, index=True)
    reason: Mapped[str] = mapped_column(String(40), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    http_status: Mapped[int | None] = mapped_column(Integer)
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    raw_size: Mapped[int | None] = mapped_column(Integer)
    raw_excerpt: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # the same refusal on a later crawl (same URL, reason, status and body) counts here instead of adding a row
    seen_count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=utcnow)


class Verdict(Base):
    """The combined detectors' judgement of one document under one set of detector versions."""

    __tablename__ = "verdicts"
    __table_args__ = (
        UniqueConstraint("version_id", "detector_versions", name="uq_verdict_version_detectors"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    # the captured version judged: a changed page is a new version and is judged again
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id"), index=True)
    detector_versions: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    level: Mapped[str] = mapped_column(String(10))
    flagged: Mapped[bool] = mapped_column(Boolean)
    keyword_score: Mapped[float | None] = mapped_column(Float)
    classifier_prob: Mapped[float | None] = mapped_column(Float)
    hits: Mapped[list[Any]] = mapped_column(JSON, default=list)
    explanation: Mapped[str] = mapped_column(Text, default="")
    detectors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    document: Mapped[Document] = relationship()
    version: Mapped[DocumentVersion] = relationship()


class Flag(Base):
    """A queue entry pointing at the verdict that raised or last updated it, and at the version it judges.

    An undecided flag follows its document's newest version; once claimed or decided it stays pinned to the version
    the inspector saw. A later version that is suspect again raises a flag of its own (one per document version).
    """

    __tablename__ = "flags"
    __table_args__ = (
        Index("ix_flags_status_priority", "status", "priority"),
        UniqueConstraint("document_id", "version_id", name="uq_flags_document_version"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id"), index=True)
    verdict_id: Mapped[int] = mapped_column(ForeignKey("verdicts.id"))
    status: Mapped[str] = mapped_column(String(20), default=FlagStatus.OPEN.value)
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    level: Mapped[str] = mapped_column(String(10))
    category: Mapped[str | None] = mapped_column(String(60))
    assignee: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    referred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # denormalised from the pinned version by store.units.route_flags (migration 0008): filters, scoping, dashboard
    source_id: Mapped[int | None] = mapped_column(Integer)
    region: Mapped[str | None] = mapped_column(String(200))
    province: Mapped[str | None] = mapped_column(String(40))
    city: Mapped[str | None] = mapped_column(String(40))
    county: Mapped[str | None] = mapped_column(String(60))
    unit: Mapped[str | None] = mapped_column(String(40))  # responsible unit's code (属地管理)
    routed_verdict_id: Mapped[int | None] = mapped_column(Integer)
    # the workflow (review app): when decided, the second inspector of a referral, QA sampling of dismissals
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    second_by: Mapped[str | None] = mapped_column(String(100))
    second_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    qa_status: Mapped[str | None] = mapped_column(String(20))  # pending | agreed | disagreed
    qa_by: Mapped[str | None] = mapped_column(String(100))

    document: Mapped[Document] = relationship()
    version: Mapped[DocumentVersion] = relationship()
    verdict: Mapped[Verdict] = relationship()


class Decision(Base):
    """An inspector's decision on a flag; the training signal for the lexicon and the classifier."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))  # confirm | dismiss | escalate | refer
    reason: Mapped[str | None] = mapped_column(
        String(40)
    )  # negative subtype of the labelling rubric on dismiss
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    flag: Mapped[Flag] = relationship()


class AuditEvent(Base):
    """Append-only log of every change (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class User(Base):
    """An account of the review app: inspector, lexicon_editor or admin."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # bumped by logout, password change and deactivation: sessions signed with an older value are refused
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# --- review app (review/) -------------------------------------------------------------------------------------


class TermProposal(Base):
    """A lexicon term an inspector proposed from a case; a lexicon editor approves or rejects it."""

    __tablename__ = "term_proposals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    term: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(60))
    weight: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    flag_id: Mapped[int | None] = mapped_column(ForeignKey("flags.id"))
    proposed_by: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(
        String(20), default="pending", index=True
    )  # pending|approved|rejected
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lexicon_version: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LoginAttempt(Base):
    """Login attempts, kept so that rate limiting holds across app processes."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_at", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# --- operators (operators/, store/identifiers.py, store/operators.py) -----------------------------------------


class DocumentIdentifier(Base):
    """A phone, WeChat ID, company name … read from one field of one captured version, with its exact span."""

    __tablename__ = "identifiers"
    __table_args__ = (Index("ix_identifiers_kind_value", "kind", "value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(255))
    field: Mapped[str] = mapped_column(String(20))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    matched: Mapped[str] = mapped_column(Text)


class IdentifierKey(Base):
    """How widely one identifier is used: the degree cap reads this instead of counting the identifiers table."""

    __tablename__ = "identifier_keys"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_identifier_keys_kind_value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(255))
    doc_count: Mapped[int] = mapped_column(Integer, default=0)
    # distinct publishers seen with it, kept up to the cap (a hub shows many)
    publishers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    hub: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class IdentifierStop(Base):
    """An identifier that links nothing: everywhere, or only on one source's documents (its own hotline)."""

    __tablename__ = "identifier_stops"
    __table_args__ = (Index("ix_identifier_stops_kind_value", "kind", "value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(255))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Operator(Base):
    """The operator behind a group of documents linked by shared identifiers, with its risk index and components."""

    __tablename__ = "operators"
    __table_args__ = (Index("ix_operators_status_risk", "status", "risk_index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | merged | dissolved
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    name: Mapped[str] = mapped_column(Text, default="")
    document_count: Mapped[int] = mapped_column(Integer, default=0)
    risk_index: Mapped[float] = mapped_column(Float, default=0.0)
    risk_level: Mapped[str] = mapped_column(String(10), default="正常监测")
    risk_components: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    formula_version: Mapped[str] = mapped_column(String(20), default="")
    risk_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class OperatorMember(Base):
    """Which operator a document belongs to, and the version whose identifiers put it there."""

    __tablename__ = "operator_members"
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OperatorEvent(Base):
    """A merge or split of operators, by the linker or by an inspector (who is also in the audit log)."""

    __tablename__ = "operator_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(20))  # merge | split | dissolve
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)  # the one kept
    other_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))  # merged in, or split off
    actor: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OperatorConstraint(Base):
    """An inspector's must-link (merge) or cannot-link (split); applied on every linking run, rebuilds included."""

    __tablename__ = "operator_constraints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # must_link | cannot_link
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OperatorConstraintMember(Base):
    __tablename__ = "operator_constraint_members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    constraint_id: Mapped[int] = mapped_column(ForeignKey("operator_constraints.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    side: Mapped[str] = mapped_column(String(1), default="a")  # a | b (cannot_link keeps a and b apart)


class OperatorWarning(Base):
    """An early warning: an operator entered 高风险, or spiked; delivered to the optional webhook."""

    __tablename__ = "operator_warnings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # high_risk | spike
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    risk_index: Mapped[float] = mapped_column(Float)
    level: Mapped[str] = mapped_column(String(10))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    # pending | sent | retrying (a transient failure; due again at next_attempt_at) | failed (refused, or given up)
    webhook_status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    webhook_attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


# --- images in ads (imaging/, store/images.py) ----------------------------------------------------------------


class StoredImage(Base):
    """One image's bytes, stored once by SHA-256 however many pages carry it; the type is the magic bytes' type."""

    __tablename__ = "images"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    animated: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)  # exactly as fetched (already compressed formats)
    first_url: Mapped[str] = mapped_column(Text)
    first_captured_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VersionImage(Base):
    """An image a captured version showed, in page order: the stored image, or the refusal and its reason."""

    __tablename__ = "version_images"
    __table_args__ = (UniqueConstraint("version_id", "position", name="uq_version_images_position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(Text)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id"), index=True)
    rejection_id: Mapped[int | None] = mapped_column(ForeignKey("rejections.id"))
    reason: Mapped[str | None] = mapped_column(String(40))  # the refusal's reason (None: stored)

    image: Mapped[StoredImage | None] = relationship()


class StoredReading(Base):
    """What one OCR engine read in one stored image: lines with boxes and confidences, QR/barcode payloads.

    Cached by image (hence by content hash): a banner on every page of a site is read once.
    """

    __tablename__ = "image_readings"
    __table_args__ = (UniqueConstraint("image_id", "engine", name="uq_image_readings_image_engine"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id"), index=True)
    engine: Mapped[str] = mapped_column(String(60))
    # pending (being read) | ok | failed (the reason in ``error``); ``attempts`` stops an image that kills the reader
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text, default="")
    lines: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{text, box, score, chars}]
    codes: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{format, text, box}]
    error: Mapped[str | None] = mapped_column(Text)
    elapsed_ms: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VersionOCR(Base):
    """The ``ocr`` field of one captured version: its images' texts, one block per image. Written once, never
    changed (the version's evidence, like its title and body); ``DocumentVersion.fields()`` includes it."""

    __tablename__ = "version_ocr"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id"), unique=True)
    engine: Mapped[str] = mapped_column(String(60))
    text: Mapped[str] = mapped_column(Text, default="")
    blocks: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{image_id, start, end}] in ``text``
    # decoded QR/barcode payloads, inert text: [{image_id, format, text}], and joined (identifiers' ``qr`` field)
    codes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    qr_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    version: Mapped[DocumentVersion] = relationship(backref=backref("ocr_record", uselist=False))


# --- workflow of the review app (review/, store/units.py, store/search.py; migration 0008) --------------------------


class Unit(Base):
    """A responsible unit (市局, 县区局): the areas it covers, from the units file (``store.units.sync_units``)."""

    __tablename__ = "units"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="")
    parent_code: Mapped[str | None] = mapped_column(String(40))
    areas: Mapped[list[Any]] = mapped_column(JSON, default=list)  # ["河南省/商丘市/睢阳区", …]
    is_fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class UserUnit(Base):
    """An account scoped to a unit: it sees and decides only that unit's cases (none: every unit)."""

    __tablename__ = "user_units"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(40), primary_key=True)


class FlagCategory(Base):
    """Every category a flag's hits fall in (the 类别 filter matches any of them)."""

    __tablename__ = "flag_categories"
    __table_args__ = (Index("ix_flag_categories_category", "category", "flag_id"),)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(60), primary_key=True)


class FlagSearch(Base):
    """The folded text a flag is searched in (``store.search``); pg_trgm-indexed on PostgreSQL."""

    __tablename__ = "flag_search"
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"), primary_key=True)
    body: Mapped[str] = mapped_column(Text, default="")


class CaseComment(Base):
    """One comment in a case's thread (colleagues discussing an escalation)."""

    __tablename__ = "case_comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LexiconJob(Base):
    """An approval running in the background: the term's entry into the lexicon and the rescore it asks for."""

    __tablename__ = "lexicon_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("term_proposals.id"), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued|running|done|failed
    lexicon_version: Mapped[str | None] = mapped_column(String(80))
    document_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)  # the documents to rescore
    total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
