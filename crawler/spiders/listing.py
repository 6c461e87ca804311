"""Generic classified-ad spider: listing pages (detail links + next page) and detail pages, all from the profile."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from scrapy import Request
from scrapy.http import Response

from crawler.extract import select_links
from crawler.spiders.base import ProfileSpider


class ListingSpider(ProfileSpider):
    async def start(self) -> AsyncIterator[Any]:
        for url in self.profile.get("start_urls") or []:
            if self.may_schedule_listing(url):
                yield self.listing_request(url)

    def listing_request(self, url: str) -> Request:
        return Request(
            url, callback=self.parse_listing, errback=self.on_error, meta={"adscreen_role": "list"}
        )

    def parse_listing(self, response: Response) -> Iterator[Any]:
        self.count_page()
        page = self.readable(response)
        if page is None:
            return
        spec = self.profile.get("list") or {}
        links = select_links(page.selector, spec.get("detail_link"))
        if not links:
            self.crawler.stats.inc_value("adscreen/listing_without_links")
        for href in links:
            yield Request(
                page.urljoin(href),
                callback=self.parse_detail,
                errback=self.on_error,
                meta={"adscreen_role": "detail", "handle_httpstatus_list": [304]},
            )
        for href in select_links(page.selector, spec.get("next_page"))[:1]:
            url = page.urljoin(href)
            if self.may_schedule_listing(url):
                yield self.listing_request(url)

    def parse_detail(self, response: Response) -> Iterator[Any]:
        if response.status == 304:
            self.crawler.stats.inc_value("adscreen/unchanged")
            self.crawler.stats.inc_value("adscreen/not_modified")
            return
        self.count_page()
        yield self.page_item(response)
