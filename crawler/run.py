"""Running a crawl. ``crawl_source`` starts ``python -m crawler`` in a subprocess because a Twisted reactor cannot
be restarted in one process (Celery workers, the CLI and the demo crawl many times); ``crawl_in_process`` is what
that subprocess runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from adscreen.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
STAT_KEYS = ("pages", "documents_new", "documents_updated", "unchanged", "duplicates", "not_modified")


class CrawlError(RuntimeError):
    """The crawl subprocess failed; the message carries the end of its log."""


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    """The crawl's figures from Scrapy's stats (``adscreen/*`` keys)."""
    out: dict[str, Any] = {key: int(raw.get(f"adscreen/{key}", 0)) for key in STAT_KEYS}
    prefix = "adscreen/rejections/"
    out["rejections"] = {k[len(prefix) :]: int(v) for k, v in sorted(raw.items()) if k.startswith(prefix)}
    out["rejections_total"] = sum(out["rejections"].values())
    for key in ("score_enqueued", "score_deferred", "score_not_enqueued"):
        out[key] = int(raw.get(f"adscreen/{key}", 0))
    out["requests"] = int(raw.get("downloader/request_count", 0))
    out["finish_reason"] = raw.get("finish_reason")
    out["elapsed_seconds"] = float(raw.get("elapsed_time_seconds", 0.0))
    return out


def _resolve_source(
    name: str, database_url: str, profile: dict[str, Any] | None
) -> tuple[int, dict[str, Any]]:
    from store.db import session_scope
    from store.sources import get_source, upsert_source, validate_profile

    with session_scope(database_url) as session:
        source = get_source(session, name)
        if profile is not None:
            profile = {**profile, "name": name}
            validate_profile(profile)
            if source is None or source.profile != profile:
                source = upsert_source(session, profile, actor="crawler")
        if source is None:
            raise KeyError(f"unknown source {name!r}: add its profile first (adscreen sources add PROFILE)")
        return source.id, dict(source.profile)


def _mark_crawled(database_url: str, source_id: int) -> None:
    from sqlalchemy import update

    from store.db import session_scope
    from store.models import Source, utcnow

    with session_scope(database_url) as session:
        session.execute(update(Source).where(Source.id == source_id).values(last_crawled_at=utcnow()))


def crawl_in_process(
    name: str,
    database_url: str | None = None,
    *,
    profile: dict[str, Any] | None = None,
    settings_overrides: dict[str, Any] | None = None,
    crawl_id: str | None = None,
) -> dict[str, Any]:
    """Crawl one source in this process (once per process: the reactor cannot restart) and return its stats."""
    from scrapy.crawler import CrawlerProcess

    from crawler.settings import build_settings
    from crawler.spiders import SPIDERS

    database_url = database_url or get_settings().database_url
    source_id, profile = _resolve_source(name, database_url, profile)
    if crawl_id is None:
        interval = max(60, int(profile.get("interval_seconds", 3600)))
        crawl_id = f"{int(time.time() // interval)}"
    settings = build_settings(database_url, profile=profile, crawl_id=crawl_id, overrides=settings_overrides)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(SPIDERS[profile["kind"]])
    process.crawl(crawler, profile=profile, source_id=source_id, crawl_id=crawl_id)
    process.start()
    stats = summarise(crawler.stats.get_stats() if crawler.stats else {})
    stats["source"] = name
    _mark_crawled(database_url, source_id)
    return stats


def crawl_source(
    name: str,
    database_url: str | None = None,
    *,
    profile: dict[str, Any] | None = None,
    settings_overrides: dict[str, Any] | None = None,
    crawl_id: str | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Crawl one source in a fresh ``python -m crawler`` subprocess; returns the stats dict (see ``summarise``)."""
    database_url = database_url or get_settings().database_url
    with tempfile.TemporaryDirectory(prefix="adscreen-crawl-") as tmp:
        args = [sys.executable, "-m", "crawler", name, "--database-url", database_url]
        args += ["--stats-out", os.path.join(tmp, "stats.json")]
        if profile is not None:
            Path(tmp, "profile.json").write_text(json.dumps(profile, ensure_ascii=False), encoding="utf-8")
            args += ["--profile-json", os.path.join(tmp, "profile.json")]
        if settings_overrides:
            Path(tmp, "settings.json").write_text(json.dumps(settings_overrides), encoding="utf-8")
            args += ["--settings-json", os.path.join(tmp, "settings.json")]
        if crawl_id is not None:
            args += ["--crawl-id", crawl_id]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        log_path = Path(tmp, "crawl.log")
        with log_path.open("wb") as log:
            proc = subprocess.run(args, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=timeout)
        stats_path = Path(tmp, "stats.json")
        if proc.returncode != 0 or not stats_path.exists():
            tail = log_path.read_bytes()[-6000:].decode("utf-8", "replace")
            raise CrawlError(f"crawl of {name!r} failed (exit {proc.returncode}):\n{tail}")
        return json.loads(stats_path.read_text(encoding="utf-8"))
