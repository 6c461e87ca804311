"""Distributed-mode housekeeping: shared frontier keys expire after the crawl instead of piling up in Redis."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

log = logging.getLogger(__name__)


class FrontierExpiry:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.ttl = crawler.settings.getint("ADSCREEN_FRONTIER_TTL")
        crawler.signals.connect(self.spider_closed, signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierExpiry:
        if not crawler.settings.get("REDIS_URL") or "scrapy_redis" not in str(
            crawler.settings.get("SCHEDULER")
        ):
            raise NotConfigured
        return cls(crawler)

    def spider_closed(self, spider: Any, reason: str = "") -> None:
        import redis

        client = redis.Redis.from_url(self.crawler.settings.get("REDIS_URL"))
        for setting in ("SCHEDULER_QUEUE_KEY", "SCHEDULER_DUPEFILTER_KEY"):
            key = self.crawler.settings.get(setting) % {"spider": spider.name}
            try:
                client.expire(key, self.ttl)
            except Exception:  # expiry is housekeeping; never fail the crawl on it
                log.exception("could not set expiry on %s", key)
