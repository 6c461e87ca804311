"""Paged JSON listing API spider: each record becomes one document; the field mapping is in the profile."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import Response

from crawler.extract import dotted
from crawler.spiders.base import ProfileSpider
from store.sources import ApiSpec, JsonApiProfile


class _FormatDict(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


class JsonApiSpider(ProfileSpider):
    profile: JsonApiProfile

    @property
    def api(self) -> ApiSpec:
        return self.profile.api

    async def start(self) -> AsyncIterator[Any]:
        first = self.api.first_page
        url = self.page_url(first)
        if self.may_schedule_listing(url):
            yield self.api_request(first, start=True)

    def page_url(self, page: int) -> str:
        return self.api.url.replace("{page}", str(page))

    def api_request(self, page: int, start: bool = False) -> Request:
        return Request(
            self.page_url(page),
            callback=self.parse_api,
            errback=self.on_error,
            meta={"adscreen_role": "api", "adscreen_page": page, "adscreen_start": start},
            headers={"Accept": "application/json"},
        )

    def parse_api(self, response: Response) -> Iterator[Any]:
        self.count_page()
        page = self.readable(response)
        if page is None:
            return
        try:
            data = json.loads(page.text)
        except ValueError as exc:
            self.reject(response.url, "bad_json", str(exc), http_status=response.status, raw=response.body)
            return
        records = dotted(data, self.api.items_path) if self.api.items_path else data
        if not isinstance(records, list):
            self.reject(response.url, "bad_json", "items_path is not a list", http_status=response.status,
                        raw=response.body)  # fmt: skip
            return
        if self.trial:
            self.crawler.stats.set_value("adscreen/trial_listing", {"url": response.url, "links": len(records),
                                                                    "next_page": None})  # fmt: skip
        for index, record in enumerate(records):
            item = self.record_item(response, record, index)
            if item is not None:
                yield item
                if self.trial:
                    return
        has_more_path = self.api.has_more_path
        more = bool(dotted(data, has_more_path)) if has_more_path else bool(records)
        if more and not self.trial:
            number = int(response.meta["adscreen_page"]) + 1
            if self.may_schedule_listing(self.page_url(number)):
                yield self.api_request(number)

    def record_item(self, response: Response, record: Any, index: int) -> Any:
        """The record as an item, or ``None`` after recording why not: one bad record never costs the others."""
        where = f"{response.url}#item{index}"
        try:
            return self._record_item(response, record)
        except Exception as exc:  # noqa: BLE001 - whatever a hostile record does, it fails alone
            detail = str(exc) if isinstance(exc, BadRecord) else f"{type(exc).__name__}: {exc}"
            self.reject(where, "bad_record", detail, http_status=response.status, raw=_record_bytes(record))
            return None

    def _record_item(self, response: Response, record: Any) -> Any:
        if not isinstance(record, dict):
            raise BadRecord(f"record is {type(record).__name__}, not an object")
        url = dotted(record, self.api.detail_url_field) if self.api.detail_url_field else None
        if url is not None and not isinstance(url, str):
            raise BadRecord(f"{self.api.detail_url_field} is {type(url).__name__}, not a URL string")
        if not url and self.api.url_template:
            try:
                url = self.api.url_template.format_map(_FormatDict(record))
            except (KeyError, IndexError, ValueError, AttributeError) as exc:
                raise BadRecord(f"url_template needs {exc}") from exc
        if not url:
            raise BadRecord("record has no URL")
        absolute = response.urljoin(url.strip())
        if urlsplit(absolute).scheme not in ("http", "https"):
            raise BadRecord(f"not an http(s) URL: {absolute[:200]}")
        raw = _record_bytes(record)
        item = self.page_item(response, role="json", record=record)
        item.url = absolute
        item.body = raw
        item.encoding = "utf-8"
        item.headers = {**item.headers, "x-adscreen-api-page": response.url}
        return item


class BadRecord(ValueError):
    """A listing record that cannot become a document (reason ``bad_record``)."""


def _record_bytes(record: Any) -> bytes:
    """The record as evidence: readable UTF-8 JSON, or escaped JSON when it holds lone surrogates."""
    try:
        return json.dumps(record, ensure_ascii=False, sort_keys=True, default=repr).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(record, ensure_ascii=True, sort_keys=True, default=repr).encode("ascii")
