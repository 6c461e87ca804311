"""Nothing is dropped silently: every refused page or failed request becomes a ``rejections`` row with a reason.

Pipelines raise :class:`Rejected`; errbacks and middlewares call :meth:`RejectionRecorder.record` directly; a
request the scheduler drops (Scrapy's dupefilter: a second link to the same URL, a redirect to itself, back into its
own chain or to a URL already requested) is recorded from the ``request_dropped`` signal. Items the de-duplication
pipeline drops (same canonical URL or content as a stored item of this crawl) are not rejections: they are counted
in the stats as ``duplicates``.
"""

from __future__ import annotations

import logging
from typing import Any

import scrapy.exceptions
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import CancelledError
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from crawler.ssrf import REFUSED_AT_CONNECT
from crawler.urls import canonical_url
from store.db import session_scope
from store.documents import find_document, mark_removed, record_rejection

log = logging.getLogger(__name__)
GONE = (404, 410)  # the page was removed; other errors may be passing


def _scrapy_errors(*names: str) -> tuple[type[BaseException], ...]:
    """Scrapy ≥ 2.13 wraps Twisted's download errors in its own exceptions; older Scrapy has none of them."""
    return tuple(getattr(scrapy.exceptions, name) for name in names if hasattr(scrapy.exceptions, name))


_DNS_ERRORS = (DNSLookupError, *_scrapy_errors("CannotResolveHostError"))
_TIMEOUTS = (TimeoutError, TCPTimedOutError, *_scrapy_errors("DownloadTimeoutError"))


class Rejected(DropItem):
    """A page refused by a pipeline, with a reason code (``too_large``, ``binary``, ``empty_text``, …)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Duplicate(DropItem):
    """Already seen in this crawl (same canonical URL or the same content)."""


class SSRFBlocked(IgnoreRequest):
    """The target resolves to a loopback, private, link-local or otherwise non-public address."""


class RejectionRecorder:
    """Extension (``crawler.adscreen_rejections``) that writes rejections to the store and counts them (with the
    first URL of each reason as an example). In a trial (``ADSCREEN_TRIAL``: ``adscreen sources test``) nothing is
    written: the rejections are listed in the stats."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.database_url: str | None = crawler.settings.get("ADSCREEN_DATABASE_URL")
        self.trial = crawler.settings.getbool("ADSCREEN_TRIAL")
        crawler.adscreen_rejections = self  # type: ignore[attr-defined]
        crawler.signals.connect(self.item_dropped, signals.item_dropped)
        crawler.signals.connect(self.item_error, signals.item_error)
        crawler.signals.connect(self.request_dropped, signals.request_dropped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RejectionRecorder:
        return cls(crawler)

    def record(
        self,
        url: str,
        reason: str,
        detail: str = "",
        *,
        http_status: int | None = None,
        raw: bytes | None = None,
    ) -> None:
        stats = self.crawler.stats
        stats.inc_value(f"adscreen/rejections/{reason}")
        if stats.get_value(f"adscreen/rejection_example/{reason}") is None:
            stats.set_value(f"adscreen/rejection_example/{reason}", url)
        spider = self.crawler.spider
        source_id = getattr(spider, "source_id", None)
        log.info("rejected %s: %s %s", url, reason, detail[:200])
        if self.trial:
            listed = stats.get_value("adscreen/trial_rejections") or []
            stats.set_value("adscreen/trial_rejections", [*listed, {"url": url, "reason": reason, "detail": detail}])
            return
        try:
            with session_scope(self.database_url) as session:
                record_rejection(
                    session, url, reason, detail, source_id=source_id, http_status=http_status, raw=raw
                )
                if reason == "http_error" and http_status in GONE:
                    # a page we hold evidence of is gone: an event on its document (and so on its cases)
                    doc = find_document(session, source_id, canonical_url(url))
                    if doc is not None and mark_removed(session, doc.id, http_status):
                        stats.inc_value("adscreen/documents_removed")
        except Exception:  # the store being down must not kill the crawl; the count shows the loss
            log.exception("could not record rejection of %s", url)
            stats.inc_value("adscreen/rejections_unrecorded")

    def item_dropped(self, item: Any, response: Any, exception: BaseException, spider: Any = None) -> None:
        if isinstance(exception, Duplicate):
            self.crawler.stats.inc_value("adscreen/duplicates")
            return
        reason = exception.reason if isinstance(exception, Rejected) else "dropped"
        detail = exception.detail if isinstance(exception, Rejected) else str(exception)
        self.record(item.url, reason, detail, http_status=item.status, raw=item.body)

    def item_error(self, item: Any, response: Any, failure: Failure, spider: Any = None) -> None:
        self.record(
            item.url,
            "pipeline_error",
            f"{failure.type.__name__}: {failure.value}",
            http_status=item.status,
            raw=item.body,
        )


    def request_dropped(self, request: Request, spider: Any = None) -> None:
        """The scheduler refused a request (Scrapy's dupefilter): say why, under the URL that yields nothing."""
        url, reason, detail = dropped_request_reason(request)
        self.record(url, reason, detail)


def dropped_request_reason(request: Request) -> tuple[str, str, str]:
    """``(url, reason, detail)`` for a request the dupefilter dropped.

    A redirect is recorded under the URL that was linked (the first of its chain): a chain that comes back to one
    of its own URLs (a page redirecting to itself included) is ``redirect_loop``; one that ends on a URL already
    requested in this crawl is ``duplicate_request``, as is a plain second request for the same URL.
    """
    chain = [str(u) for u in request.meta.get("redirect_urls") or []]
    if not chain:
        return request.url, "duplicate_request", "already requested in this crawl (dropped by Scrapy's dupefilter)"
    path = " → ".join([*chain, request.url])[:1500]
    if canonical_url(request.url) in {canonical_url(u) for u in chain}:
        return chain[0], "redirect_loop", f"redirect loop: {path}"
    return chain[0], "duplicate_request", f"redirects to a URL already requested in this crawl: {path}"


def classify_failure(failure: Failure) -> tuple[str, str, int | None, bytes | None]:
    """Reason code, detail, HTTP status and body for a failed request (errback input)."""
    exc = failure.value
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, HttpError):
        response = exc.response
        return "http_error", f"HTTP {response.status}", response.status, response.body
    if isinstance(exc, SSRFBlocked):
        return "ssrf_blocked", str(exc), None, None
    if isinstance(exc, IgnoreRequest):
        if "robots.txt" in str(exc):
            return "robots", str(exc), None, None
        if "max redirections" in str(exc):  # RedirectMiddleware gave up after REDIRECT_MAX_TIMES
            request = getattr(failure, "request", None)
            chain = [*(request.meta.get("redirect_urls") or []), request.url] if request is not None else []
            return "redirect_loop", f"{exc}: {' → '.join(map(str, chain))}"[:1500], None, None
        if _decompression_bomb(exc):  # HttpCompressionMiddleware stopped inflating at DOWNLOAD_MAXSIZE
            return "too_large", str(exc), None, None
        return "ignored", detail, None, None
    if type(exc).__name__ == "DownloadCancelledError" or isinstance(exc, CancelledError):
        # the only cancellation the downloader makes on its own is DOWNLOAD_MAXSIZE
        return "too_large", detail or "download cancelled: larger than the size limit", None, None
    if isinstance(exc, _DNS_ERRORS):
        host = urlparse_cached(failure.request).hostname if getattr(failure, "request", None) else None
        if host and host in REFUSED_AT_CONNECT:  # the connection-time resolver dropped its every address
            return "ssrf_blocked", REFUSED_AT_CONNECT[host], None, None
        return "dns_error", detail, None, None
    if isinstance(exc, _TIMEOUTS):
        return "timeout", detail, None, None
    return "network_error", detail, None, None


def _decompression_bomb(exc: BaseException) -> bool:
    cause = exc.__cause__
    return (cause is not None and type(cause).__name__ == "_DecompressionMaxSizeExceeded") or (
        "during decompression" in str(exc)
    )
