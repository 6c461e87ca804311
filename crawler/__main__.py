"""``python -m crawler NAME``: one crawl in this process (what ``crawler.run.crawl_source`` starts)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler", description=__doc__)
    parser.add_argument("name", help="source name (its profile is read from the database)")
    parser.add_argument("--database-url")
    parser.add_argument("--profile-json", help="a profile to use (and store) instead of the stored one")
    parser.add_argument("--settings-json", help="Scrapy setting overrides")
    parser.add_argument("--crawl-id", help="frontier id shared by cooperating processes in distributed mode")
    parser.add_argument("--stats-out", help="write the stats as JSON here")
    args = parser.parse_args(argv)

    from crawler.run import crawl_in_process

    def load(path: str | None) -> dict | None:
        return json.loads(Path(path).read_text(encoding="utf-8")) if path else None

    stats = crawl_in_process(
        args.name,
        args.database_url,
        profile=load(args.profile_json),
        settings_overrides=load(args.settings_json),
        crawl_id=args.crawl_id,
    )
    text = json.dumps(stats, ensure_ascii=False, default=str, indent=2)
    if args.stats_out:
        Path(args.stats_out).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
