"""``python -m crawler NAME``: one crawl in this process (what ``crawler.run.crawl_source`` starts).

This is an entry point, like the CLI: it takes the caller's settings from ``--app-settings`` (JSON of
:class:`adscreen.settings.Settings`), or reads them from the environment when none are given, and hands them down.
An expected refusal (unknown or disabled source, invalid profile, database unreachable) exits 2 with one line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sqlalchemy.exc import OperationalError

from adscreen.settings import Settings, get_settings
from crawler.run import REFUSED_EXIT, CrawlRefused, crawl_in_process
from store.sources import ProfileError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler", description=__doc__)
    parser.add_argument("name", help="source name (its profile is read from the database)")
    parser.add_argument("--app-settings", help="the caller's Settings as JSON (default: from the environment)")
    parser.add_argument("--database-url", help="overrides the settings' database")
    parser.add_argument("--profile-json", help="a profile to use (and store) instead of the stored one")
    parser.add_argument("--settings-json", help="Scrapy setting overrides")
    parser.add_argument("--crawl-id", help="frontier id shared by cooperating processes in distributed mode")
    parser.add_argument("--stats-out", help="write the stats as JSON here")
    parser.add_argument("--error-out", help="write the one-line reason of a refusal here")
    parser.add_argument("--trial", action="store_true", help="one listing and one detail page, nothing stored")
    args = parser.parse_args(argv)

    def load(path: str | None) -> dict | None:
        return json.loads(Path(path).read_text(encoding="utf-8")) if path else None

    app_settings = load(args.app_settings)
    settings = Settings(**app_settings) if app_settings is not None else get_settings()
    if args.database_url:
        settings = settings.model_copy(update={"database_url": args.database_url})
    try:
        stats = crawl_in_process(
            args.name,
            settings,
            profile=load(args.profile_json),
            settings_overrides=load(args.settings_json),
            crawl_id=args.crawl_id,
            trial=args.trial,
        )
    except (CrawlRefused, ProfileError, OperationalError) as exc:
        reason = str(exc)
        if isinstance(exc, ProfileError):
            reason = f"invalid profile of {args.name!r}: {exc}"
        elif isinstance(exc, OperationalError):
            reason = f"database unreachable ({str(exc.orig).strip().splitlines()[0]}): check ADSCREEN_DATABASE_URL"
        if args.error_out:
            Path(args.error_out).write_text(reason, encoding="utf-8")
        print(reason, file=sys.stderr)
        return REFUSED_EXIT
    text = json.dumps(stats, ensure_ascii=False, default=str, indent=2)
    if args.stats_out:
        Path(args.stats_out).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
