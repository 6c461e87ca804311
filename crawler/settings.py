"""Scrapy settings for one crawl, built from the application settings (passed in) and the source profile."""

from __future__ import annotations

from typing import Any

from adscreen.settings import Settings
from crawler.ssrf import profile_hosts
from store.sources import SourceProfile

ITEM_PIPELINES = {
    "crawler.pipelines.ValidationPipeline": 100,
    "crawler.pipelines.EncodingPipeline": 200,
    "crawler.pipelines.ExtractionPipeline": 300,
    "crawler.pipelines.DedupPipeline": 400,
    "crawler.pipelines.StoragePipeline": 500,
    "crawler.images.ImagePipeline": 550,
    "crawler.pipelines.ScoringEnqueuePipeline": 600,
}
TRIAL_PIPELINES = {
    **{k: v for k, v in ITEM_PIPELINES.items() if v <= 300},  # validation, encoding, extraction
    "crawler.pipelines.TrialPipeline": 900,
}
DOWNLOADER_MIDDLEWARES = {
    # before RobotsTxtMiddleware (100): a refused host is never contacted, not even for robots.txt
    "crawler.middlewares.SSRFGuardMiddleware": 50,
    "crawler.middlewares.ConditionalRequestMiddleware": 560,
}
SPIDER_MIDDLEWARES = {"crawler.middlewares.RecordSpiderExceptionsMiddleware": 10}
EXTENSIONS = {"crawler.rejections.RejectionRecorder": 0, "crawler.distributed.FrontierExpiry": 10}


def build_settings(
    app: Settings,
    profile: SourceProfile,
    *,
    crawl_id: str = "",
    overrides: dict[str, Any] | None = None,
    trial: bool = False,
) -> dict[str, Any]:
    """The Scrapy settings of one crawl: the one place where application settings and the profile become the
    values the spiders, pipelines and middlewares read (``ADSCREEN_*`` Scrapy settings); nothing below reads the
    environment or ``adscreen.settings`` itself."""
    per_domain = profile.concurrency_per_domain
    settings: dict[str, Any] = {
        "BOT_NAME": "adscreen",
        "USER_AGENT": app.user_agent,
        "ROBOTSTXT_OBEY": True,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": profile.download_delay if profile.download_delay is not None else 0.25,
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(per_domain),
        "DOWNLOAD_DELAY": profile.download_delay or 0.0,
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
        "ADSCREEN_DATABASE_URL": app.database_url,
        # connection-time SSRF check (DNS rebinding): see crawler.ssrf.GuardedHostnameResolver
        "TWISTED_DNS_RESOLVER": "crawler.ssrf.GuardedHostnameResolver",
        "ADSCREEN_ALLOW_PRIVATE": profile.allow_private,
        "ADSCREEN_PRIVATE_HOSTS": sorted(profile_hosts(profile.hosts, profile.allowed_hosts)),
        "ADSCREEN_MAX_BODY_BYTES": app.max_body_bytes,
        "ADSCREEN_MAX_TEXT_CHARS": app.max_text_chars,
        "ADSCREEN_SCORE_BATCH_SIZE": app.score_batch_size,
        "ADSCREEN_STORE_BATCH": app.store_batch,
        "ADSCREEN_MAX_IMAGES_PER_PAGE": app.max_images_per_page,
        "ADSCREEN_MAX_IMAGE_BYTES": app.max_image_bytes,
        "ADSCREEN_MAX_IMAGE_PIXELS": app.max_image_pixels,
        # no broker: the caller scores what was stored (the crawl returns the ids), so this process loads no models
        "ADSCREEN_EMBEDDED": app.embedded,
    }
    if trial:  # adscreen sources test: the real fetching and extraction, nothing stored
        settings["ITEM_PIPELINES"] = {**TRIAL_PIPELINES}
        settings["ADSCREEN_TRIAL"] = True
    elif app.scrapy_redis_url:
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
