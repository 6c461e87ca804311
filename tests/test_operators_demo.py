"""The demo site's operator answer key: every operator found, hubs kept out, pairwise precision >= 0.95 and recall
>= 0.90 when the demo documents are stored and linked batch by batch, as scoring does."""

from __future__ import annotations

from collections import Counter

from demo_site import crawl_profiles
from demo_site.content import ads, expected_operators, listings
from operators.demo_key import demo_linking_scores, prepare_demo_stops
from operators.link import pairwise_scores
from store.db import session_scope
from store.documents import DocumentIn, save_document
from store.operators import link_documents, list_operators
from store.sources import upsert_source

BASE = "http://127.0.0.1:8765"


def test_the_key_has_operators_of_three_to_ten_ads_across_categories_and_hub_decoys() -> None:
    key = expected_operators()
    sizes = Counter(v for v in key.values() if v)
    big = [op for op, n in sizes.items() if n >= 3]
    assert len(big) >= 5 and all(3 <= sizes[op] <= 10 for op in big)
    for op in big:
        cats = {a["category"] for a in ads() if a.get("operator") == op}
        assert len(cats) >= 2, op
    # decoys: unrelated ads carrying the site's own hotline, and listings carrying an ad agency's number
    assert sum("174-0100-0100" in a["contact"] for a in ads()) >= 8
    agency = [x for x in listings() if "174 0100 0200" in x["seller"]["phone"]]
    assert len({x["seller"]["name"] for x in agency}) >= 7 and not any(x.get("operator") for x in agency)


def test_pairwise_scores_count_pairs() -> None:
    s = pairwise_scores({1: "a", 2: "a", 3: "a", 4: "b"}, {1: "x", 2: "x", 3: None, 4: "x"})
    assert (s["predicted_pairs"], s["true_pairs"], s["true_positive_pairs"]) == (3, 3, 1)
    assert round(s["precision"], 3) == 0.333 and round(s["recall"], 3) == 0.333


def test_linking_the_stored_demo_documents_meets_the_targets(sqlite_url) -> None:
    with session_scope(sqlite_url) as s:
        source = {p["name"]: upsert_source(s, p, actor="test").id for p in crawl_profiles(BASE)}
        assert prepare_demo_stops(s) == 1 and prepare_demo_stops(s) == 0
        ids = []
        for a in ads():
            url = f"{BASE}/ad/{a['id']}.html"
            doc, _ = save_document(s, DocumentIn(
                url=url, canonical_url=url, text=a["body"], raw=b"x", title=a["title"], publisher=a["publisher"],
                contact=a["contact"], region=a["region"], source_id=source["demo-classifieds"]))  # fmt: skip
            ids.append(doc.id)
        for x in listings():
            url = f"{BASE}/api/item/{x['id']}"
            doc, _ = save_document(s, DocumentIn(
                url=url, canonical_url=url, text=x["description"], raw=b"x", title=x["title"],
                publisher=x["seller"]["name"], contact=x["seller"]["phone"], region=x["city"],
                source_id=source["demo-platform-api"]))  # fmt: skip
            ids.append(doc.id)
    for i in range(0, len(ids), 32):  # the scoring batch size
        with session_scope(sqlite_url) as s:
            link_documents(s, ids[i : i + 32])
    scores = demo_linking_scores(sqlite_url)
    assert scores["documents"] == len(ads()) + len(listings())
    assert scores["precision"] >= 0.95 and scores["recall"] >= 0.90, scores
    with session_scope(sqlite_url) as s:
        ops = list_operators(s, min_documents=2, limit=100)
    assert len(ops) >= 7
    assert not any(o["documents"] >= 7 for o in ops), "a hub welded unrelated ads together"
