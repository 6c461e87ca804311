"""The item that travels through the pipelines: one fetched page or one API record, enriched stage by stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scrapy.http import Response


@dataclass(repr=False)
class Page:
    url: str
    role: str  # "html" (detail page) or "json" (API record)
    body: bytes
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    declared_encoding: str | None = None
    record: dict[str, Any] | None = None  # json_api: the listing record
    # filled by the pipelines
    html: str | None = None
    encoding: str | None = None
    canonical_url: str | None = None
    title: str | None = None
    text: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    posted_at: datetime | None = None
    doc_id: int | None = None
    save_status: str | None = None
    image_urls: list[str] = field(default_factory=list)  # the page's images (crawler.images), in page order

    def __repr__(self) -> str:  # bodies can be megabytes: never log them
        return f"<Page {self.role} {self.url} {len(self.body)} bytes>"


def headers_dict(response: Response) -> dict[str, str]:
    """Response headers as plain lower-case strings, for storage as evidence."""
    out = {}
    for key, values in response.headers.items():
        name = key.decode("latin-1").lower()
        out[name] = ", ".join(v.decode("latin-1") for v in values)
    return out
