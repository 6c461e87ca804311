"""Downloader and spider middlewares: SSRF guard, conditional re-fetch, and recording of callback exceptions."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.httpobj import urlparse_cached
from sqlalchemy import select

from crawler.rejections import SSRFBlocked
from crawler.ssrf import SSRFPolicy
from crawler.urls import canonical_url
from store.db import session_scope
from store.models import Document

log = logging.getLogger(__name__)


class SSRFGuardMiddleware:
    """Refuse requests the crawl's :class:`~crawler.ssrf.SSRFPolicy` forbids (non-public addresses unless the
    profile allows them for the hosts it names; link-local and metadata addresses always).

    It runs before robots.txt handling, so a refused host is never contacted at all; redirects pass through it
    again. Resolution results are cached per host for the crawl.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.policy = SSRFPolicy.from_settings(crawler.settings)
        self._verdicts: dict[tuple[str, int | None], str | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SSRFGuardMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        parsed = urlparse_cached(request)
        key = (parsed.hostname or "", parsed.port)
        if key not in self._verdicts:
            self._verdicts[key] = self.policy.check_host(*key)
        reason = self._verdicts[key]
        if reason:
            self.crawler.stats.inc_value("adscreen/ssrf_blocked")
            raise SSRFBlocked(reason)
        return None


class ConditionalRequestMiddleware:
    """Re-crawls send the stored ETag / Last-Modified of a detail page, so an unchanged page costs a 304."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.validators: dict[str, dict[str, str]] = {}
        crawler.signals.connect(self.spider_opened, signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        return cls(crawler)

    def spider_opened(self, spider: Any) -> None:
        source_id = getattr(spider, "source_id", None)
        if source_id is None:
            return
        try:
            with session_scope(self.crawler.settings.get("ADSCREEN_DATABASE_URL")) as session:
                rows = session.execute(
                    select(Document.canonical_url, Document.http_headers).where(
                        Document.source_id == source_id
                    )
                )
                for url, headers in rows:
                    wanted = {k: v for k, v in (headers or {}).items() if k in ("etag", "last-modified")}
                    if wanted:
                        self.validators[url] = wanted
        except Exception:  # without validators every page is simply fetched in full
            log.exception("could not load HTTP validators")

    def process_request(self, request: Request) -> None:
        if request.meta.get("adscreen_role") != "detail" or not self.validators:
            return None
        stored = self.validators.get(canonical_url(request.url))
        if not stored:
            return None
        if "etag" in stored:
            request.headers.setdefault(b"If-None-Match", stored["etag"])
        if "last-modified" in stored:
            request.headers.setdefault(b"If-Modified-Since", stored["last-modified"])
        return None


class RecordSpiderExceptionsMiddleware:
    """A callback that raises on a hostile page is recorded as ``parse_error`` instead of vanishing in a log."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordSpiderExceptionsMiddleware:
        return cls(crawler)

    def process_spider_exception(self, response: Response, exception: Exception) -> Iterable[Any] | None:
        if isinstance(exception, HttpError):
            return None  # the request errback records those
        recorder = self.crawler.adscreen_rejections  # type: ignore[attr-defined]
        recorder.record(
            response.url,
            "parse_error",
            f"{type(exception).__name__}: {exception}",
            http_status=response.status,
            raw=response.body,
        )
        return []
