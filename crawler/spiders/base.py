"""What both spiders share: the profile, rejection recording, page counting and the pagination bound."""

from __future__ import annotations

from typing import Any

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawler.encoding import DecodeError, decode_body, header_charset
from crawler.items import Page, headers_dict
from crawler.rejections import classify_failure
from crawler.validation import binary_reason, size_reason
from store.sources import SourceProfile, parse_profile


class ProfileSpider(scrapy.Spider):
    name = "adscreen"

    def __init__(
        self,
        profile: SourceProfile | dict[str, Any],
        source_id: int | None = None,
        crawl_id: str = "",
        trial: bool = False,
        **kwargs: Any,
    ) -> None:
        model = parse_profile(profile)  # a checked profile: attributes, not guessed dictionary keys
        # the per-source name keys the shared Redis frontier in distributed mode
        super().__init__(name=f"adscreen-{model.name}", **kwargs)
        self.profile: SourceProfile = model
        self.source_id = source_id
        self.crawl_id = crawl_id
        self.trial = trial  # adscreen sources test: one listing page and one detail page (or record)
        self.max_pages = 1 if trial else model.max_pages
        self.listing_scheduled = 0

    # --- recording -------------------------------------------------------------------------------------
    def reject(
        self,
        url: str,
        reason: str,
        detail: str = "",
        *,
        http_status: int | None = None,
        raw: bytes | None = None,
    ) -> None:
        self.crawler.adscreen_rejections.record(url, reason, detail, http_status=http_status, raw=raw)

    def on_error(self, failure: Failure) -> None:
        """Errback of every request: network errors, HTTP errors, robots, SSRF and size refusals."""
        reason, detail, status, raw = classify_failure(failure)
        request = failure.request
        url = request.url
        if reason == "redirect_loop":  # under the URL that was linked, as the dropped-request records are
            url = str((request.meta.get("redirect_urls") or [url])[0])
        self.reject(url, reason, detail, http_status=status, raw=raw)
        if reason == "ssrf_blocked" and request.meta.get("adscreen_start"):
            # a start URL the guard refuses is the operator's to fix: the CLI says so and exits 2
            refused = self.crawler.stats.get_value("adscreen/start_refused") or []
            self.crawler.stats.set_value("adscreen/start_refused", [*refused, {"url": url, "detail": detail}])

    def count_page(self) -> None:
        self.crawler.stats.inc_value("adscreen/pages")

    # --- pagination bound --------------------------------------------------------------------------------
    def may_schedule_listing(self, url: str) -> bool:
        """At most ``max_pages`` listing/API pages per crawl; the first one over is recorded, the rest ignored."""
        if self.listing_scheduled >= self.max_pages:
            if not getattr(self, "_max_pages_recorded", False):
                self._max_pages_recorded = True
                self.reject(url, "max_pages", f"pagination stopped after {self.max_pages} pages")
            return False
        self.listing_scheduled += 1
        return True

    # --- pages the spider itself must read ---------------------------------------------------------------
    def readable(self, response: Response) -> TextResponse | None:
        """The response re-decoded with our charset detection, or ``None`` after recording why it is unusable."""
        body = response.body
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        reason = size_reason(body, self.settings.getint("ADSCREEN_MAX_BODY_BYTES"))
        if reason:
            self.reject(response.url, "too_large", reason, http_status=response.status, raw=body)
            return None
        reason = binary_reason(body, content_type)
        if reason:
            self.reject(response.url, "binary", reason, http_status=response.status, raw=body)
            return None
        try:
            text, codec = decode_body(body, header_charset(content_type), self.profile.encoding)
        except DecodeError as exc:
            self.reject(response.url, "decode_error", str(exc), http_status=response.status, raw=body)
            return None
        cls = response.__class__ if isinstance(response, TextResponse) else scrapy.http.HtmlResponse
        return cls(
            url=response.url,
            status=response.status,
            headers=response.headers,
            body=text.encode("utf-8"),
            encoding="utf-8",
            request=response.request,
        )

    def page_item(self, response: Response, role: str = "html", **extra: Any) -> Page:
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        return Page(
            url=response.url,
            role=role,
            body=response.body,
            status=response.status,
            headers=headers_dict(response),
            declared_encoding=header_charset(content_type),
            **extra,
        )
