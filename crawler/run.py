"""Running a crawl. ``crawl_source`` starts ``python -m crawler`` in a subprocess because a Twisted reactor cannot
be restarted in one process (Celery workers, the CLI and the demo crawl many times); ``crawl_in_process`` is what
that subprocess runs.

Configuration comes in as an :class:`adscreen.settings.Settings` object (the CLI's or the worker's), handed to the
subprocess as JSON and turned into Scrapy settings in one place (``crawler.settings.build_settings``); nothing here
reads the environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from adscreen.settings import Settings
from store.sources import SourceProfile

STAT_KEYS = ("pages", "documents_new", "documents_updated", "unchanged", "duplicates", "not_modified")
REFUSED_EXIT = 2  # the subprocess's exit status for an expected refusal (its one-line reason in error.txt)


class CrawlError(RuntimeError):
    """The crawl subprocess failed unexpectedly; the message carries the end of its log."""


class CrawlRefused(RuntimeError):
    """An expected reason not to crawl (unknown or disabled source, invalid profile, database unreachable), as one
    line that says what to do."""


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    """The crawl's figures from Scrapy's stats (``adscreen/*`` keys)."""
    out: dict[str, Any] = {key: int(raw.get(f"adscreen/{key}", 0)) for key in STAT_KEYS}
    prefix = "adscreen/rejections/"
    out["rejections"] = {k[len(prefix) :]: int(v) for k, v in sorted(raw.items()) if k.startswith(prefix)}
    out["rejections_total"] = sum(out["rejections"].values())
    example = "adscreen/rejection_example/"
    out["rejection_examples"] = {k[len(example) :]: v for k, v in sorted(raw.items()) if k.startswith(example)}
    for key in ("score_enqueued", "score_deferred", "score_not_enqueued"):
        out[key] = int(raw.get(f"adscreen/{key}", 0))
    out["score_deferred_ids"] = list(raw.get("adscreen/score_deferred_ids") or [])
    out["start_refused"] = list(raw.get("adscreen/start_refused") or [])
    if raw.get("adscreen/trial_listing") is not None or raw.get("adscreen/trial_items") is not None:
        out["trial"] = {
            "listing": raw.get("adscreen/trial_listing"),
            "items": list(raw.get("adscreen/trial_items") or []),
            "rejections": list(raw.get("adscreen/trial_rejections") or []),
        }
    out["requests"] = int(raw.get("downloader/request_count", 0))
    out["finish_reason"] = raw.get("finish_reason")
    out["elapsed_seconds"] = float(raw.get("elapsed_time_seconds", 0.0))
    return out


def _resolve_source(
    name: str, database_url: str, profile: dict[str, Any] | SourceProfile | None
) -> tuple[int, SourceProfile]:
    """The source's id and profile; a profile passed in is checked and stored (upserted) first."""
    from store.db import session_scope
    from store.sources import get_source, parse_profile, profile_dict, source_profile, upsert_source

    with session_scope(database_url) as session:
        source = get_source(session, name)
        if profile is not None:
            data = profile if isinstance(profile, dict) else profile_dict(profile)
            model = parse_profile({**data, "name": name})
            if source is None or source.profile != profile_dict(model):
                source = upsert_source(session, model, actor="crawler")
        if source is None:
            raise CrawlRefused(f"unknown source {name!r}: add its profile first (adscreen sources add PROFILE.yaml)")
        if not source.enabled:
            raise CrawlRefused(f"source {name!r} is disabled: enable it first (adscreen sources enable {name})")
        return source.id, source_profile(source)


def crawl_in_process(
    name: str,
    settings: Settings,
    *,
    profile: dict[str, Any] | SourceProfile | None = None,
    settings_overrides: dict[str, Any] | None = None,
    crawl_id: str | None = None,
    trial: bool = False,
) -> dict[str, Any]:
    """Crawl one source in this process (once per process: the reactor cannot restart) and return its stats.

    ``trial``: fetch one listing page and one detail page (or API record) of ``profile`` and return what was
    extracted (``stats["trial"]``), without touching the database at all (``adscreen sources test``).
    """
    from scrapy.crawler import CrawlerProcess

    from crawler.settings import build_settings
    from crawler.spiders import SPIDERS
    from store.db import session_scope
    from store.sources import mark_crawled, parse_profile

    if trial:
        if profile is None:
            raise CrawlRefused("a trial needs a profile")
        source_id, model = None, parse_profile(profile)
        crawl_id = "trial"
    else:
        source_id, model = _resolve_source(name, settings.database_url, profile)
    if crawl_id is None:
        interval = max(60, model.interval_seconds)
        crawl_id = f"{int(time.time() // interval)}"
    scrapy_settings = build_settings(settings, model, crawl_id=crawl_id, overrides=settings_overrides, trial=trial)
    process = CrawlerProcess(scrapy_settings)
    crawler = process.create_crawler(SPIDERS[model.kind])
    process.crawl(crawler, profile=model, source_id=source_id, crawl_id=crawl_id, trial=trial)
    process.start()
    stats = summarise(crawler.stats.get_stats() if crawler.stats else {})
    stats["source"] = model.name
    if source_id is not None:
        with session_scope(settings.database_url) as session:
            mark_crawled(session, source_id)
    return stats


def crawl_source(
    name: str,
    database_url: str | None = None,
    *,
    settings: Settings | None = None,
    profile: dict[str, Any] | SourceProfile | None = None,
    settings_overrides: dict[str, Any] | None = None,
    crawl_id: str | None = None,
    timeout: float | None = None,
    trial: bool = False,
) -> dict[str, Any]:
    """Crawl one source in a fresh ``python -m crawler`` subprocess; returns the stats dict (see ``summarise``).

    ``settings`` (the caller's :class:`Settings`) is handed to the subprocess as it is; without it the subprocess,
    like any entry point, reads its configuration from the environment it inherits. ``database_url`` overrides
    the settings' database; ``trial`` is ``crawl_in_process``'s. Raises :class:`CrawlRefused` (one line) for an
    expected refusal, :class:`CrawlError` otherwise.
    """
    with tempfile.TemporaryDirectory(prefix="adscreen-crawl-") as tmp:
        args = [sys.executable, "-m", "crawler", name, "--stats-out", str(Path(tmp, "stats.json"))]
        args += ["--error-out", str(Path(tmp, "error.txt"))]
        if settings is not None:
            Path(tmp, "app.json").write_text(settings.model_dump_json(), encoding="utf-8")
            args += ["--app-settings", str(Path(tmp, "app.json"))]
        if database_url is not None:
            args += ["--database-url", database_url]
        if profile is not None:
            data = profile if isinstance(profile, dict) else profile.model_dump(mode="json", by_alias=True)
            Path(tmp, "profile.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            args += ["--profile-json", str(Path(tmp, "profile.json"))]
        if settings_overrides:
            Path(tmp, "settings.json").write_text(json.dumps(settings_overrides), encoding="utf-8")
            args += ["--settings-json", str(Path(tmp, "settings.json"))]
        if crawl_id is not None:
            args += ["--crawl-id", crawl_id]
        if trial:
            args += ["--trial"]
        log_path = Path(tmp, "crawl.log")
        with log_path.open("wb") as log:  # the subprocess inherits this process's environment as it is
            proc = subprocess.run(args, stdout=log, stderr=subprocess.STDOUT, timeout=timeout)
        error = Path(tmp, "error.txt")
        if proc.returncode == REFUSED_EXIT and error.exists():
            raise CrawlRefused(error.read_text(encoding="utf-8").strip())
        stats_path = Path(tmp, "stats.json")
        if proc.returncode != 0 or not stats_path.exists():
            tail = log_path.read_bytes()[-6000:].decode("utf-8", "replace")
            raise CrawlError(f"crawl of {name!r} failed (exit {proc.returncode}):\n{tail}")
        return json.loads(stats_path.read_text(encoding="utf-8"))
