"""Scrapy settings for one crawl, built from the application settings and the source profile."""

from __future__ import annotations

from typing import Any

from adscreen.settings import Settings, get_settings
from crawler.ssrf import profile_hosts

ITEM_PIPELINES = {
    "crawler.pipelines.ValidationPipeline": 100,
    "crawler.pipelines.EncodingPipeline": 200,
    "crawler.pipelines.ExtractionPipeline": 300,
    "crawler.pipelines.DedupPipeline": 400,
    "crawler.pipelines.StoragePipeline": 500,
    "crawler.pipelines.ScoringEnqueuePipeline": 600,
}
DOWNLOADER_MIDDLEWARES = {
    # before RobotsTxtMiddleware (100): a refused host is never contacted, not even for robots.txt
    "crawler.middlewares.SSRFGuardMiddleware": 50,
    "crawler.middlewares.ConditionalRequestMiddleware": 560,
}
SPIDER_MIDDLEWARES = {"crawler.middlewares.RecordSpiderExceptionsMiddleware": 10}
EXTENSIONS = {"crawler.rejections.RejectionRecorder": 0, "crawler.distributed.FrontierExpiry": 10}


def build_settings(
    database_url: str,
    *,
    profile: dict[str, Any] | None = None,
    app: Settings | None = None,
    crawl_id: str = "",
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    app = app or get_settings()
    profile = profile or {}
    per_domain = int(profile.get("concurrency_per_domain", 4))
    settings: dict[str, Any] = {
        "BOT_NAME": "adscreen",
        "USER_AGENT": app.user_agent,
        "ROBOTSTXT_OBEY": True,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": float(profile.get("download_delay", 0.25)),
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(per_domain),
        "DOWNLOAD_DELAY": float(profile.get("download_delay", 0.0)),
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": per_domain,
        "DOWNLOAD_TIMEOUT": 30,
        "DOWNLOAD_MAXSIZE": app.max_body_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "RETRY_TIMES": 2,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "ITEM_PIPELINES": dict(ITEM_PIPELINES),
        "DOWNLOADER_MIDDLEWARES": dict(DOWNLOADER_MIDDLEWARES),
        "SPIDER_MIDDLEWARES": dict(SPIDER_MIDDLEWARES),
        "EXTENSIONS": dict(EXTENSIONS),
        "ADSCREEN_DATABASE_URL": database_url,
        # connection-time SSRF check (DNS rebinding): see crawler.ssrf.GuardedHostnameResolver
        "TWISTED_DNS_RESOLVER": "crawler.ssrf.GuardedHostnameResolver",
        "ADSCREEN_ALLOW_PRIVATE": bool(profile.get("allow_private", False)),
        "ADSCREEN_PRIVATE_HOSTS": sorted(
            profile_hosts(
                [*(profile.get("start_urls") or []), (profile.get("api") or {}).get("url") or ""],
                profile.get("allowed_hosts") or [],
            )
        ),
        "ADSCREEN_MAX_BODY_BYTES": app.max_body_bytes,
        "ADSCREEN_MAX_TEXT_CHARS": app.max_text_chars,
        "ADSCREEN_SCORE_BATCH_SIZE": app.score_batch_size,
    }
    if app.scrapy_redis_url:
        settings.update(redis_settings(app.scrapy_redis_url, crawl_id))
    settings.update(overrides or {})
    return settings


def redis_settings(redis_url: str, crawl_id: str, prefix: str = "adscreen") -> dict[str, Any]:
    """scrapy-redis scheduler + dupefilter: processes with the same spider name and crawl id share one frontier.

    Keys carry the crawl id so that the next scheduled crawl starts with an empty dupefilter; they persist while
    processes come and go, and expire after the crawl (``ADSCREEN_FRONTIER_TTL``).
    """
    base = f"{prefix}:{crawl_id or 'adhoc'}:%(spider)s"
    return {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_KEY": f"{base}:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{base}:dupefilter",
        "REDIS_URL": redis_url,
        "ADSCREEN_FRONTIER_TTL": 6 * 3600,
    }
