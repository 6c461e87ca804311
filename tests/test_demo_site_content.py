"""The demo content and profiles: both classes present, the brief's scheme types and disguises covered, profiles valid."""

from __future__ import annotations

from collections import Counter

import pytest

from demo_site import DEFAULT_BASE_URL, crawl_profiles, profile_paths
from demo_site.content import ads, categories, expected_labels, listings
from store.sources import load_profile, validate_profile

NEGATIVE_SUBTYPES = {"finance_legit", "loan_ad", "warning_news", "other_ad", "ad_law", "normal"}
SCHEMES = {"yield_promise", "leaseback", "original_shares", "elderly_care", "coop_shares", "forestry_agri",
           "consumption_rebate", "p2p", "crypto", "pyramid", "membership_dividend"}  # fmt: skip


def test_ads_have_both_classes_and_every_listed_scheme() -> None:
    items = ads()
    assert 100 <= len(items) <= 140
    classes = Counter(a["expected"] for a in items)
    assert set(classes) == {"fundraising", "negative"}
    assert classes["fundraising"] >= 30 and classes["negative"] >= 50
    assert SCHEMES <= {a["subtype"] for a in items if a["expected"] == "fundraising"}
    assert {a["subtype"] for a in items if a["expected"] == "negative"} <= NEGATIVE_SUBTYPES
    assert {"finance_legit", "loan_ad", "warning_news", "other_ad"} <= {a["subtype"] for a in items}
    assert {"pinyin", "symbols", "traditional", "fullwidth"} <= {
        d for a in items for d in a.get("disguise") or []
    }


def test_every_category_is_populated_and_pages() -> None:
    counts = Counter(a["category"] for a in ads())
    assert set(counts) == set(categories())
    assert all(n > 8 for n in counts.values())  # every category needs at least a second listing page


def test_ads_are_gbk_encodable_and_complete() -> None:
    for a in ads():
        for key in ("title", "body", "publisher", "contact", "region", "price", "posted"):
            assert a[key], (a["id"], key)
            a[key].encode("gbk")
    ids = [a["id"] for a in ads()]
    assert len(ids) == len(set(ids))


def test_reposts_point_at_an_existing_ad_with_the_same_label() -> None:
    by_id = {a["id"]: a for a in ads()}
    reposts = [a for a in ads() if a.get("repost_of")]
    assert reposts
    for a in reposts:
        assert by_id[a["repost_of"]]["expected"] == a["expected"]


def test_listings_have_both_classes_and_utf8_only_disguises() -> None:
    items = listings()
    assert len(items) == 40
    assert set(Counter(x["expected"] for x in items)) == {"fundraising", "negative"}
    assert {"emoji", "zero_width"} <= {d for x in items for d in x.get("disguise") or []}
    zero_width = next(x for x in items if "zero_width" in (x.get("disguise") or []))
    assert "\u200b" in zero_width["description"]


def test_expected_labels_cover_every_document_path() -> None:
    labels = expected_labels()
    assert len(labels) == len(ads()) + len(listings())
    assert labels["/ad/10001.html"]["expected"] == "fundraising"
    assert labels["/ad/10002.html"] == {"expected": "negative", "subtype": "finance_legit", "disguise": [],
                                        "repost_of": None}  # fmt: skip


def test_profile_files_validate_and_use_the_default_address() -> None:
    paths = profile_paths()
    assert [p.name for p in paths] == ["demo-classifieds.yaml", "demo-platform-api.yaml"]
    for path in paths:
        data = load_profile(path)
        assert data["allow_private"] is True
        assert DEFAULT_BASE_URL in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("base", ["http://127.0.0.1:40123", "http://127.0.0.1:40123/"])
def test_profiles_point_at_the_given_base_url(base: str) -> None:
    loaded = {p["name"]: p for p in crawl_profiles(base)}
    assert set(loaded) == {"demo-classifieds", "demo-platform-api"}
    for p in loaded.values():
        validate_profile(p)
    html = loaded["demo-classifieds"]
    assert html["kind"] == "html" and html["encoding"] is None
    assert html["start_urls"] == [f"http://127.0.0.1:40123/c/{slug}/" for slug in categories()]
    assert loaded["demo-platform-api"]["api"]["url"] == "http://127.0.0.1:40123/api/listings?page={page}"
    assert "8765" not in repr(loaded)
