"""The paged JSON listing API of the demo platform (UTF-8), shaped like a typical app backend."""

from __future__ import annotations

from typing import Any

from demo_site.content import API_PAGE_SIZE, listing_by_id, listings, page_count

PUBLIC_FIELDS = ("id", "title", "description", "seller", "city", "price", "category", "created_at")


def public_item(item: dict[str, Any], base_url: str) -> dict[str, Any]:
    """What the API exposes: never the ``expected`` label, plus an absolute detail URL on this server."""
    out = {k: item[k] for k in PUBLIC_FIELDS}
    out["url"] = f"{base_url}/api/item/{item['id']}"
    return out


def listings_page(page: int, base_url: str) -> dict[str, Any]:
    """One API page; pages past the end are empty with ``has_more`` false (a crawler must stop there)."""
    all_items = listings()
    pages = page_count(len(all_items), API_PAGE_SIZE)
    start = (page - 1) * API_PAGE_SIZE
    items = [public_item(x, base_url) for x in all_items[start : start + API_PAGE_SIZE]] if page >= 1 else []
    return {
        "code": 0,
        "msg": "ok",
        "data": {"items": items, "has_more": 1 <= page < pages, "page": page, "page_size": API_PAGE_SIZE,
                 "total": len(all_items)},
    }  # fmt: skip


def item_detail(item_id: int, base_url: str) -> dict[str, Any] | None:
    """A single listing as a top-level object, so the profile's field mapping works on it too."""
    item = listing_by_id(item_id)
    return None if item is None else public_item(item, base_url)
