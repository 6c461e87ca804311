"""Generic classified-ad spider: listing pages (detail links + next page) and detail pages, all from the profile."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from scrapy import Request
from scrapy.http import Response

from crawler.extract import select_links
from crawler.spiders.base import ProfileSpider
from store.sources import HtmlProfile


class ListingSpider(ProfileSpider):
    profile: HtmlProfile

    async def start(self) -> AsyncIterator[Any]:
        for url in self.profile.start_urls[:1] if self.trial else self.profile.start_urls:
            if self.may_schedule_listing(url):
                yield self.listing_request(url, start=True)

    def listing_request(self, url: str, start: bool = False) -> Request:
        meta = {"adscreen_role": "list", "adscreen_start": start}
        return Request(url, callback=self.parse_listing, errback=self.on_error, meta=meta)

    def parse_listing(self, response: Response) -> Iterator[Any]:
        self.count_page()
        page = self.readable(response)
        if page is None:
            return
        spec = self.profile.list_
        links = select_links(page.selector, spec.detail_link)
        if not links:
            self.crawler.stats.inc_value("adscreen/listing_without_links")
        next_links = select_links(page.selector, spec.next_page)[:1]
        if self.trial:
            self.crawler.stats.set_value("adscreen/trial_listing", {
                "url": response.url, "links": len(links), "next_page": page.urljoin(next_links[0]) if next_links else None,
            })  # fmt: skip
            links, next_links = links[:1], []
        for href in links:
            yield Request(
                page.urljoin(href),
                callback=self.parse_detail,
                errback=self.on_error,
                meta={"adscreen_role": "detail", "handle_httpstatus_list": [304]},
            )
        for href in next_links:
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
