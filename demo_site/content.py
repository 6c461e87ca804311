"""The demo site's content, kept as data (YAML) so the lead's demo summary and tests can read the expected labels."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
PAGE_SIZE = 8  # ads per category listing page
API_PAGE_SIZE = 10  # listings per JSON API page


def _load(name: str) -> Any:
    return yaml.safe_load((DATA_DIR / name).read_text(encoding="utf-8"))


@cache
def site() -> dict[str, Any]:
    """Site name, ICP line and the ordered category list."""
    return _load("site.yaml")


@cache
def categories() -> dict[str, str]:
    """Category slug -> display name, in navigation order."""
    return {c["slug"]: c["name"] for c in site()["categories"]}


@cache
def ads() -> tuple[dict[str, Any], ...]:
    """All classified ads, newest first within each category (as a listing page shows them)."""
    items = [_normalise(a) for a in _load("ads.yaml")["ads"]]
    unknown = {a["category"] for a in items} - set(categories())
    if unknown:
        raise ValueError(f"ads.yaml uses unknown categories {sorted(unknown)}")
    return tuple(sorted(items, key=lambda a: (a["posted"], a["id"]), reverse=True))


@cache
def listings() -> tuple[dict[str, Any], ...]:
    """All platform-API listings, newest first (API page order)."""
    items = [dict(x) for x in _load("listings.yaml")["listings"]]
    return tuple(sorted(items, key=lambda a: (a["created_at"], a["id"]), reverse=True))


def _normalise(ad: dict[str, Any]) -> dict[str, Any]:
    out = dict(ad)
    for key in ("title", "body", "publisher", "contact", "region", "price", "posted"):
        out[key] = str(out.get(key, "")).strip()
    return out


def ad_by_id(ad_id: int) -> dict[str, Any] | None:
    return next((a for a in ads() if a["id"] == ad_id), None)


def listing_by_id(listing_id: int) -> dict[str, Any] | None:
    return next((x for x in listings() if x["id"] == listing_id), None)


def category_ads(slug: str) -> list[dict[str, Any]]:
    return [a for a in ads() if a["category"] == slug]


def page_count(n_items: int, size: int) -> int:
    return max(1, -(-n_items // size))


def expected_labels() -> dict[str, dict[str, Any]]:
    """Expected label per demo document path (``/ad/<id>.html`` and ``/api/item/<id>``), for demo summaries/tests."""
    out: dict[str, dict[str, Any]] = {}
    for a in ads():
        out[f"/ad/{a['id']}.html"] = _label(a)
    for x in listings():
        out[f"/api/item/{x['id']}"] = _label(x)
    return out


def expected_operators() -> dict[str, str | None]:
    """The true operator behind each demo document path (None: it stands alone), the linking answer key."""
    out: dict[str, str | None] = {}
    for a in ads():
        out[f"/ad/{a['id']}.html"] = a.get("operator")
    for x in listings():
        out[f"/api/item/{x['id']}"] = x.get("operator")
    return out


def _label(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "expected": item["expected"],
        "subtype": item["subtype"],
        "disguise": list(item.get("disguise") or []),
        "repost_of": item.get("repost_of"),
    }
