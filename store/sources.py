"""Crawl sources: a profile file per site, so that adding a site needs a profile, not code."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from store import audit
from store.models import Source, utcnow

KINDS = {"html", "json_api"}


class ProfileError(ValueError):
    """A crawl profile that cannot be used, with the reason."""


def load_profile(path: str | Path) -> dict[str, Any]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    validate_profile(data)
    return data


def validate_profile(data: Any) -> None:
    if not isinstance(data, dict):
        raise ProfileError("profile must be a mapping")
    for key in ("name", "kind"):
        if not data.get(key):
            raise ProfileError(f"profile lacks '{key}'")
    if data["kind"] not in KINDS:
        raise ProfileError(f"unknown kind {data['kind']!r}; expected one of {sorted(KINDS)}")
    if data["kind"] == "html" and not data.get("start_urls"):
        raise ProfileError("html profile needs start_urls")
    if data["kind"] == "json_api" and not (data.get("api") or {}).get("url"):
        raise ProfileError("json_api profile needs api.url")


def upsert_source(session: Session, profile: dict[str, Any], actor: str = "system") -> Source:
    """Create the source or replace its profile (a re-added profile is an edit, audited)."""
    validate_profile(profile)
    source = session.scalar(select(Source).where(Source.name == profile["name"]))
    before = None
    if source is None:
        # insert-or-ignore: crawler processes of one distributed crawl register the same source concurrently
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(
            insert(Source)
            .values(name=profile["name"], kind=profile["kind"], profile=profile, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["name"])
        )
        source = session.scalar(select(Source).where(Source.name == profile["name"]))
    else:
        before = {"profile": source.profile}
    source.kind = profile["kind"]
    source.profile = profile
    source.interval_seconds = int(profile.get("interval_seconds", 3600))
    source.allow_private = bool(profile.get("allow_private", False))
    source.enabled = bool(profile.get("enabled", True))
    session.flush()
    audit.record(session, actor, "source.upsert", "source", source.id, before, {"profile": profile})
    return source


def get_source(session: Session, name: str) -> Source | None:
    return session.scalar(select(Source).where(Source.name == name))


def list_sources(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).order_by(Source.name)))


def mark_crawled(session: Session, source_id: int, at: datetime | None = None) -> None:
    """Record when a source was last crawled (or claimed for a crawl): the one writer of ``last_crawled_at``."""
    session.execute(update(Source).where(Source.id == source_id).values(last_crawled_at=at or utcnow()))
