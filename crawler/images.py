"""The images of a detail page (or API record): found by the profile's ``images`` selector in the body region,
fetched through the same downloader as pages (SSRF guard, robots.txt, AutoThrottle, User-Agent), checked and stored
by content hash next to the snapshot (``store.images``), every refusal a rejection with its reason.

Only pages stored as new or changed versions have their images fetched: an unchanged page's version already
holds them. At most ``ADSCREEN_MAX_IMAGES_PER_PAGE`` images a page (the others are ``image_too_many``), at most
``ADSCREEN_MAX_IMAGE_BYTES`` each (``image_too_large``: the download is cancelled there); the type is read from the
magic bytes, SVG is never rendered, decompression bombs are refused from their header (``imaging.check``).
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector
from scrapy import Request
from twisted.python.failure import Failure

from crawler.extract import BOILERPLATE_TAGS, dotted
from crawler.items import Page
from crawler.rejections import classify_failure
from imaging.check import Limits
from store.db import session_scope
from store.images import ImageIn, record_image_refusal, save_version_images
from store.models import Document

_BACKGROUND = re.compile(r"background(?:-image)?\s*:[^;]*?url\(\s*(['\"]?)([^'\")]+)\1\s*\)", re.IGNORECASE)
_LAZY = ("src", "data-src", "data-original", "data-lazy-src")
_BOILERPLATE = " | ".join(f"ancestor::{t}" for t in sorted(BOILERPLATE_TAGS))
CACHE = 64  # image responses kept per crawl by URL: a banner on every page is downloaded once


def _keep(url: str | None, base: str) -> str | None:
    if not url:
        return None
    url = urljoin(base, url.strip())
    return url if urlsplit(url).scheme in ("http", "https") else None  # data:, javascript:, blob: are not fetched


def image_urls(sel: Selector, images: str | None, body: str | None, base: str) -> list[str]:
    """Image URLs: ``images`` (default ``img``) inside the ``body`` region (the page minus nav, header, footer,
    aside and forms when there is no body selector) in page order, lazy-loading attributes included, then the
    ``background-image`` URLs of inline styles in that region. Duplicates once."""
    if not images:
        return []
    if body:
        regions = sel.xpath(body[6:]) if body.startswith("xpath:") else sel.css(body)
    else:
        regions = sel.css("body") or [sel]
    out: list[str] = []
    for region in regions:
        found = region.xpath(images[6:]) if images.startswith("xpath:") else region.css(images)
        for node in found:
            if not body and node.xpath(_BOILERPLATE):
                continue
            if isinstance(node.root, str):  # an ``::attr(...)`` selector gave the URL itself
                out.append(node.root)
                continue
            out.append(next((v for a in _LAZY if (v := node.attrib.get(a))), ""))
        for style in region.xpath(".//@style").getall():
            out.extend(m.group(2) for m in _BACKGROUND.finditer(style))
    seen: set[str] = set()
    kept = []
    for raw in out:
        url = _keep(raw, base)
        if url and url not in seen:
            seen.add(url)
            kept.append(url)
    return kept


def record_image_urls(record: dict[str, Any], path: str | None, base: str) -> list[str]:
    """Image URLs of a JSON record at a dotted path: a URL, a list of URLs, or a list of objects with ``url``."""
    value = dotted(record, path) if path else None
    items = value if isinstance(value, list) else [value]
    out, seen = [], set()
    for v in items:
        raw = v.get("url") or v.get("src") if isinstance(v, dict) else v
        url = _keep(raw if isinstance(raw, str) else None, base)
        if url and url not in seen:
            seen.add(url)
            out.append(url)
    return out


def _save(
    database_url: str,
    doc_id: int,
    fetched: list[ImageIn],
    refused: list[tuple[str, str, str, bytes | None]],
    source_id: int | None,
    limits: Limits,
) -> list[str]:
    """Store a capture's images on the version just saved; returns the reasons of those the checks refused."""
    with session_scope(database_url) as session:
        version_id = session.get(Document, doc_id).current_version_id  # the version this capture just stored
        rows = save_version_images(session, version_id, fetched, source_id=source_id, limits=limits)
        for url, reason, detail, raw in refused:
            record_image_refusal(session, version_id, url, reason, detail, source_id=source_id, raw=raw)
        return [r.reason for r in rows if r.reason]


class ImagePipeline:
    """Fetch and store the images of newly stored versions (after ``StoragePipeline``, before the enqueue)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler, self.settings, self.stats = crawler, crawler.settings, crawler.stats
        self.max_images = self.settings.getint("ADSCREEN_MAX_IMAGES_PER_PAGE", 8)
        self.limits = Limits(
            max_bytes=self.settings.getint("ADSCREEN_MAX_IMAGE_BYTES", Limits.max_bytes),
            max_pixels=self.settings.getint("ADSCREEN_MAX_IMAGE_PIXELS", Limits.max_pixels),
        )
        self.cache: OrderedDict[str, asyncio.Future[tuple[bytes, str | None]]] = OrderedDict()

    @classmethod
    def from_crawler(cls, crawler: Any) -> ImagePipeline:
        return cls(crawler)

    async def _download(self, url: str) -> tuple[bytes, str | None]:
        request = Request(
            url, dont_filter=True, meta={"adscreen_role": "image", "download_maxsize": self.limits.max_bytes}
        )
        response = await self.crawler.engine.download_async(request)
        if response.status != 200:
            raise _HttpRefused(response.status, response.body)
        return response.body, response.headers.get(b"Content-Type", b"").decode("latin-1") or None

    async def _fetch(self, url: str) -> tuple[bytes, str | None]:
        """One download per URL and crawl (pages fetched at the same time wait for the same one)."""
        task = self.cache.get(url)
        if task is None:
            task = self.cache[url] = asyncio.ensure_future(self._download(url))
            if len(self.cache) > CACHE:
                self.cache.popitem(last=False)
        else:
            self.cache.move_to_end(url)
        return await asyncio.shield(task)

    async def process_item(self, item: Page) -> Page:
        if item.save_status not in ("new", "updated") or item.doc_id is None or not item.image_urls:
            return item
        refused: list[tuple[str, str, str, bytes | None]] = []
        for url in item.image_urls[self.max_images :]:
            refused.append((url, "image_too_many", f"image {item.image_urls.index(url) + 1} of {item.url}; "
                                                   f"at most {self.max_images} a page", None))  # fmt: skip
        fetched: list[ImageIn] = []
        for url in item.image_urls[: self.max_images]:
            try:
                data, ctype = await self._fetch(url)
                fetched.append(ImageIn(url, data, declared_type=ctype))
            except _HttpRefused as exc:
                refused.append((url, "image_http_error", f"HTTP {exc.status} (image of {item.url})", exc.body))
            except Exception as exc:  # noqa: BLE001 - every failure is a rejection, the page is kept
                failure = Failure(exc)
                failure.request = Request(url)  # type: ignore[attr-defined]
                reason, detail, _, raw = classify_failure(failure)
                reason = "image_too_large" if reason == "too_large" else reason
                refused.append((url, reason, f"{detail} (image of {item.url})", raw))
        checked = await asyncio.to_thread(
            _save, self.settings.get("ADSCREEN_DATABASE_URL"), item.doc_id, fetched, refused,
            getattr(self.crawler.spider, "source_id", None), self.limits,
        )  # fmt: skip
        self.stats.inc_value("adscreen/images_stored", len(fetched) - len(checked))
        for reason in [r for _, r, _, _ in refused] + checked:
            self.stats.inc_value(f"adscreen/images_refused/{reason}")
        return item


class _HttpRefused(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.body = status, body
