"""Crawl throughput: the full adscreen pipeline vs a bare Scrapy spider over the same local site, in one run.

    .venv/bin/python bench/bench_crawl.py [--pages 40 --per-page 25] [--database-url URL]

Both crawls run in their own subprocess with the same concurrency, AutoThrottle off, robots.txt obeyed; pages/s is
counted over Scrapy's own elapsed time (process start-up excluded). The full pipeline decodes, extracts, validates,
de-duplicates and stores every page (PostgreSQL by default, a fresh database that is dropped afterwards).
Target: full ≥ 0.8 × bare.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COMMON = {
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "DOWNLOAD_DELAY": 0,
    "LOG_LEVEL": "WARNING",
}


def bare_crawl(start_url: str, out: str) -> None:
    """A bare Scrapy spider: same selectors, same politeness settings, no pipelines, items thrown away."""
    import scrapy
    from scrapy.crawler import CrawlerProcess

    class Bare(scrapy.Spider):
        name = "bare"
        start_urls = [start_url]

        def parse(self, response):  # noqa: ANN001, ANN201 - minimal Scrapy spider
            self.crawler.stats.inc_value("bench/pages")
            for href in response.css("ul.ads li a.title::attr(href)").getall():
                yield response.follow(href, self.parse_detail)
            nxt = response.css("a.next::attr(href)").get()
            if nxt:
                yield response.follow(nxt, self.parse)

        def parse_detail(self, response):  # noqa: ANN001, ANN201
            self.crawler.stats.inc_value("bench/pages")
            yield {"url": response.url, "title": response.css("h1::text").get()}

    process = CrawlerProcess({**COMMON, "ROBOTSTXT_OBEY": True, "USER_AGENT": "adscreen-bench"})
    crawler = process.create_crawler(Bare)
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats()
    Path(out).write_text(
        json.dumps({"pages": stats.get("bench/pages", 0), "elapsed": stats["elapsed_time_seconds"]})
    )


def run_bare(start_url: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bare.json")
        subprocess.run([sys.executable, __file__, "--bare", start_url, out], check=True)
        return json.loads(Path(out).read_text())


def fresh_database(url: str | None) -> tuple[str, callable]:
    """A new PostgreSQL database (or the given URL), migrated; returns it and a clean-up function."""
    from store.db import engine_for, upgrade

    if url:
        upgrade(url)
        return url, lambda: None
    import psycopg

    admin = os.environ.get("ADSCREEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"adscreen_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = f"{admin.rpartition('/')[0]}/{name}"
    upgrade(db_url)

    def drop() -> None:
        engine_for(db_url).dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return db_url, drop


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=40, help="listing pages")
    parser.add_argument("--per-page", type=int, default=25, help="detail links per listing page")
    parser.add_argument(
        "--database-url", help="default: a fresh PostgreSQL database (ADSCREEN_TEST_PG server)"
    )
    parser.add_argument("--store-batch", type=int, default=None, help="ADSCREEN_STORE_BATCH override")
    parser.add_argument("--bare", nargs=2, metavar=("START_URL", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_crawl(*args.bare)
        return

    from crawler.run import crawl_source
    from tests.testsite import Site, html_profile

    site = Site(pages=args.pages, per_page=args.per_page, hostile=False, endless=False)
    base = site.start()
    db_url, cleanup = fresh_database(args.database_url)
    try:
        bare = run_bare(f"{base}/list/1")
        overrides = {**COMMON, "ROBOTSTXT_OBEY": True}
        if args.store_batch is not None:
            overrides["ADSCREEN_STORE_BATCH"] = args.store_batch
        profile = html_profile(base, name=f"bench-{uuid.uuid4().hex[:6]}", max_pages=args.pages + 1)
        full = crawl_source(profile["name"], db_url, profile=profile, settings_overrides=overrides)
    finally:
        site.stop()
        cleanup()
    full_rate = full["pages"] / full["elapsed_seconds"]
    bare_rate = bare["pages"] / bare["elapsed"]
    print(
        f"site: {args.pages} listing pages x {args.per_page} ads = {args.pages * (args.per_page + 1)} pages"
    )
    print(
        f"bare scrapy spider : {bare['pages']:5d} pages in {bare['elapsed']:6.2f} s = {bare_rate:7.1f} pages/s"
    )
    print(
        f"full pipeline      : {full['pages']:5d} pages in {full['elapsed_seconds']:6.2f} s = {full_rate:7.1f} pages/s"
        f"  ({full['documents_new']} documents stored, rejections {full['rejections'] or 'none'})"
    )
    ratio = full_rate / bare_rate
    print(f"ratio full/bare    : {ratio:.2f}  (target >= 0.80: {'met' if ratio >= 0.8 else 'NOT met'})")


if __name__ == "__main__":
    main()
