"""SQLAlchemy 2 models. The same schema runs on PostgreSQL (production, tests) and SQLite (demo)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


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
    last_crawled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Document(Base):
    """One crawled ad or listing, with its raw snapshot kept as evidence."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    publisher: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(Text)
    platform: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    price: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    simhash: Mapped[str | None] = mapped_column(String(16))
    # the SimHash's four 16-bit bands, indexed: near-duplicate candidates share at least one (store/dedup.py)
    sh_b0: Mapped[int | None] = mapped_column(Integer, index=True)
    sh_b1: Mapped[int | None] = mapped_column(Integer, index=True)
    sh_b2: Mapped[int | None] = mapped_column(Integer, index=True)
    sh_b3: Mapped[int | None] = mapped_column(Integer, index=True)
    group_id: Mapped[int | None] = mapped_column(Integer, index=True)
    raw_snapshot: Mapped[bytes] = mapped_column(LargeBinary)  # zlib-compressed response body
    raw_sha256: Mapped[str] = mapped_column(String(64))
    raw_size: Mapped[int] = mapped_column(Integer)
    http_status: Mapped[int | None] = mapped_column(Integer)
    http_headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    encoding: Mapped[str | None] = mapped_column(String(40))
    scored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    source: Mapped[Source | None] = relationship()


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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # the same refusal on a later crawl (same URL, reason, status and body) counts here instead of adding a row
    seen_count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=utcnow)


class Verdict(Base):
    """The combined detectors' judgement of one document under one set of detector versions."""

    __tablename__ = "verdicts"
    __table_args__ = (UniqueConstraint("document_id", "detector_versions", name="uq_verdict_doc_versions"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    detector_versions: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    level: Mapped[str] = mapped_column(String(10))
    flagged: Mapped[bool] = mapped_column(Boolean)
    keyword_score: Mapped[float | None] = mapped_column(Float)
    classifier_prob: Mapped[float | None] = mapped_column(Float)
    hits: Mapped[list[Any]] = mapped_column(JSON, default=list)
    explanation: Mapped[str] = mapped_column(Text, default="")
    detectors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    document: Mapped[Document] = relationship()


class Flag(Base):
    """A queue entry: one per document, pointing at the verdict that raised or last updated it."""

    __tablename__ = "flags"
    __table_args__ = (Index("ix_flags_status_priority", "status", "priority"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), unique=True)
    verdict_id: Mapped[int] = mapped_column(ForeignKey("verdicts.id"))
    status: Mapped[str] = mapped_column(String(20), default=FlagStatus.OPEN.value)
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    level: Mapped[str] = mapped_column(String(10))
    category: Mapped[str | None] = mapped_column(String(60))
    assignee: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claim_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    referred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    document: Mapped[Document] = relationship()
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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    flag: Mapped[Flag] = relationship()


class AuditEvent(Base):
    """Append-only log of every change (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


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
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lexicon_version: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LoginAttempt(Base):
    """Login attempts, kept so that rate limiting holds across app processes."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_at", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
