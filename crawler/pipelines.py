"""Item pipelines, one job each, ordered in ``crawler.settings.ITEM_PIPELINES`` (replaceable by setting).

validation → encoding → extraction → de-duplication → storage → images (``crawler.images``) → scoring enqueue. A refused page raises
:class:`~crawler.rejections.Rejected`, which the rejection recorder turns into a stored rejection.
"""

from __future__ import annotations

import hashlib
import logging
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from parsel import Selector
from scrapy.crawler import Crawler

from crawler.encoding import DecodeError, decode_body, normalise
from crawler.extract import dotted, main_text, parse_datetime, select_text, text_from_markup
from crawler.images import image_urls, record_image_urls
from crawler.items import Page
from crawler.rejections import Duplicate, Rejected
from crawler.storage import BatchSaver
from crawler.urls import canonical_url
from crawler.validation import binary_reason, size_reason
from store.documents import DocumentIn
from store.sources import HtmlFields, HtmlProfile, JsonApiProfile, SourceProfile
from worker.dispatch import send

log = logging.getLogger(__name__)
FIELD_NAMES = ("title", "publisher", "contact", "posted_at", "region", "price", "category")


class _Stage:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.settings = crawler.settings
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        return cls(crawler)

    @property
    def profile(self) -> SourceProfile:
        return self.crawler.spider.profile  # type: ignore[union-attr]


class ValidationPipeline(_Stage):
    """Size limit (``max_body_bytes``) and binary bodies, before anything parses them."""

    def process_item(self, item: Page) -> Page:
        reason = size_reason(item.body, self.settings.getint("ADSCREEN_MAX_BODY_BYTES"))
        if reason:
            raise Rejected("too_large", reason)
        if item.role == "html":
            reason = binary_reason(item.body, item.headers.get("content-type"))
            if reason:
                raise Rejected("binary", reason)
        return item


class EncodingPipeline(_Stage):
    """Decode HTML bodies: profile override, BOM, declared charset if it fits, else detection."""

    def process_item(self, item: Page) -> Page:
        if item.role != "html":
            return item
        try:
            item.html, item.encoding = decode_body(item.body, item.declared_encoding, self.profile.encoding)
        except DecodeError as exc:
            raise Rejected("decode_error", str(exc)) from exc
        if item.declared_encoding and item.encoding:
            self.stats.inc_value(f"adscreen/encoding/{item.encoding}")
            if normalise(item.declared_encoding) != item.encoding:
                self.stats.inc_value("adscreen/encoding_mislabelled")
        return item


class ExtractionPipeline(_Stage):
    """Fields by the profile's selectors (or JSON paths) and the cleaned main text; empty text is refused."""

    def process_item(self, item: Page) -> Page:
        if item.role == "html":
            self._from_html(item)
        else:
            self._from_record(item)
        limit = self.settings.getint("ADSCREEN_MAX_TEXT_CHARS")
        if limit and len(item.text) > limit:
            item.text = item.text[:limit]
            self.stats.inc_value("adscreen/text_truncated")
        if not item.text.strip():
            raise Rejected("empty_text", "no text after extraction")
        item.html = None  # the decoded copy is no longer needed; the raw body stays as evidence
        return item

    def _from_html(self, item: Page) -> None:
        sel = Selector(text=item.html or "", base_url=item.url)
        spec = self.profile.fields if isinstance(self.profile, HtmlProfile) else HtmlFields()
        item.text, fallback = main_text(sel, spec.body)
        item.image_urls = image_urls(sel, spec.images, spec.body, item.url)
        if fallback:
            self.stats.inc_value("adscreen/body_fallback")
        values = {name: select_text(sel, getattr(spec, name)) for name in FIELD_NAMES}
        if not values["title"]:
            values["title"] = select_text(sel, "title::text")
        self._assign(item, values)

    def _from_record(self, item: Page) -> None:
        assert isinstance(self.profile, JsonApiProfile)
        spec = self.profile.api.fields
        record = item.record or {}
        item.text = text_from_markup(dotted(record, spec.body))
        item.image_urls = record_image_urls(record, spec.images, item.url)
        raw_posted = dotted(record, spec.posted_at)
        values: dict[str, Any] = {
            name: text_from_markup(dotted(record, getattr(spec, name))) or None for name in FIELD_NAMES
        }
        values["posted_at"] = raw_posted
        self._assign(item, values)

    def _assign(self, item: Page, values: dict[str, Any]) -> None:
        item.title = values.pop("title")
        item.posted_at = parse_datetime(values.pop("posted_at"), self.zone)
        item.fields = {k: (str(v)[:2000] if v is not None else None) for k, v in values.items()}

    @cached_property
    def zone(self) -> ZoneInfo:
        """The source's time zone: posted times without a zone of their own are read in it."""
        return ZoneInfo(self.profile.timezone)


class DedupPipeline(_Stage):
    """Within one crawl, the same canonical URL or the same title+text is stored once (counted as duplicate)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.urls: set[str] = set()
        self.contents: set[bytes] = set()

    def process_item(self, item: Page) -> Page:
        item.canonical_url = canonical_url(item.url)
        if item.canonical_url in self.urls:
            raise Duplicate(f"canonical URL seen: {item.canonical_url}")
        key = hashlib.sha256(
            "\x00".join([item.title or "", item.text, *(v or "" for v in item.fields.values())]).encode()
        ).digest()
        if key in self.contents:
            raise Duplicate(f"content seen: {item.url}")
        self.urls.add(item.canonical_url)
        self.contents.add(key)
        return item


class StoragePipeline(_Stage):
    """Save through ``store.documents.save_document`` with the raw body as evidence, batched off the crawl loop
    (``ADSCREEN_STORE_BATCH`` — the ``store_batch`` setting — documents per transaction at most)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.saver = BatchSaver(
            self.settings.get("ADSCREEN_DATABASE_URL"), self.settings.getint("ADSCREEN_STORE_BATCH")
        )

    async def process_item(self, item: Page) -> Page:
        doc_in = DocumentIn(
            url=item.url,
            canonical_url=item.canonical_url or canonical_url(item.url),
            text=item.text,
            raw=item.body,
            title=item.title,
            publisher=item.fields.get("publisher"),
            contact=item.fields.get("contact"),
            region=item.fields.get("region"),
            platform=self.profile.platform,
            category=item.fields.get("category"),
            price=item.fields.get("price"),
            posted_at=item.posted_at,
            http_status=item.status,
            http_headers=item.headers,
            encoding=item.encoding,
            source_id=getattr(self.crawler.spider, "source_id", None),
            image_urls=list(item.image_urls),
        )
        item.doc_id, item.save_status = await self.saver.save(doc_in)
        key = {"new": "documents_new", "updated": "documents_updated"}.get(item.save_status, "unchanged")
        self.stats.inc_value(f"adscreen/{key}")
        return item


class ScoringEnqueuePipeline(_Stage):
    """Send new and updated document ids to ``adscreen.score_batch`` in batches.

    Without a broker (``ADSCREEN_EMBEDDED``) nothing is sent: the ids are returned in the crawl's stats
    (``score_deferred_ids``) and the caller scores them in its own process, so this one never loads models.
    """

    task_name = "adscreen.score_batch"

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.batch_size = crawler.settings.getint("ADSCREEN_SCORE_BATCH_SIZE", 32)
        self.embedded = crawler.settings.getbool("ADSCREEN_EMBEDDED")
        self.pending: list[int] = []

    def process_item(self, item: Page) -> Page:
        if item.save_status in ("new", "updated") and item.doc_id is not None:
            self.pending.append(item.doc_id)
            if len(self.pending) >= self.batch_size:
                self.flush()
        return item

    def close_spider(self) -> None:
        self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        ids, self.pending = self.pending, []
        if self.embedded:
            self.stats.inc_value("adscreen/score_deferred", len(ids))
            self.stats.set_value("adscreen/score_deferred_ids", [
                *(self.stats.get_value("adscreen/score_deferred_ids") or []), *ids])  # fmt: skip
            return
        try:
            sent = send(self.task_name, ids)
        except Exception:  # the sweeper re-enqueues unscored documents later
            log.exception("could not enqueue scoring of %d documents", len(ids))
            self.stats.inc_value("adscreen/score_not_enqueued", len(ids))
            return
        self.stats.inc_value(
            "adscreen/score_enqueued" if sent is not None else "adscreen/score_deferred", len(ids)
        )


class TrialPipeline(_Stage):
    """``adscreen sources test``: the extracted item goes into the stats (``adscreen/trial_items``), not the store."""

    def process_item(self, item: Page) -> Page:
        listed = self.stats.get_value("adscreen/trial_items") or []
        entry = {
            "url": item.url,
            "title": item.title,
            "text": item.text,
            "posted_at": item.posted_at.isoformat() if item.posted_at else None,
            "encoding": item.encoding,
            "images": item.image_urls,
            **item.fields,
        }
        self.stats.set_value("adscreen/trial_items", [*listed, entry])
        return item
