"""Evidence that stands up: exact spans per field, frozen versions, identity per source, aware UTC times."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from keywords import Lexicon, Matcher
from scoring.documents import score_document_ids
from scoring.engine import Scorer
from store.db import session_scope
from store.documents import DocumentIn, save_document, snapshot, versions_of
from store.fields import compose, place_hits
from store.models import Document, DocumentVersion, Flag, FlagStatus, Source, Verdict
from store.queue import claim, decide, mark_referred

ROOT = Path(__file__).resolve().parents[1]
BENIGN = "二手自行车转让，九成新，价格面议，限本地自提。"
PITCH = "本公司理财产品保本保息，稳赚不赔，年化收益18%，一万起投，推荐好友另有返利。"


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer(matcher=Matcher(Lexicon.bundled()), classifier=None)


def _texts() -> list[str]:
    from demo_site.content import ads

    rows = [json.loads(ln) for ln in (ROOT / "classifier/data/seed.jsonl").read_text("utf-8").splitlines()[:200]]
    return [a["title"] + "。" + a["body"] for a in ads()] + [r["text"][:400] for r in rows] + [PITCH, BENIGN]


def test_every_hit_indexes_its_field_exactly(scorer):
    """Property over real-style texts and random field layouts: fields[field][start:end] == matched."""
    rnd = random.Random(7)
    texts = _texts()
    checked = 0
    for _ in range(300):
        title = rnd.choice(texts)[: rnd.randint(0, 30)]
        body = rnd.choice(texts)
        if rnd.random() < 0.3:
            body = body + rnd.choice(texts)
        fields = {"title": title, "body": body}
        (verdict,) = scorer.score_fields([fields])
        comp = compose(fields)
        raw = scorer.matcher.match(comp.text).hits
        offsets = {name: start for name, start, _ in comp.segments}
        assert len(verdict.hits) == len(raw)
        for h, r in zip(verdict.hits, raw, strict=True):
            assert h["field"] in fields and h["matched"]
            assert fields[h["field"]][h["start"] : h["end"]] == h["matched"], h
            # the same characters the matcher found in the text it read (unless it ran past the field's end)
            shifted = (h["start"] + offsets[h["field"]], h["end"] + offsets[h["field"]])
            assert shifted[0] == r.start and (shifted[1] == r.end or r.end > shifted[1])
            assert comp.text[shifted[0] : shifted[1]] == h["matched"]
            checked += 1
    assert checked > 500


def test_title_hits_are_not_shifted_onto_the_body():
    """The old bug: offsets into title+'\\n'+text applied to the body alone misplaced every highlight."""
    fields = {"title": "保本保息理财", "body": "联系人王经理，年化18%，电话138xxxx"}
    comp = compose(fields)
    m = Matcher(Lexicon.bundled()).match(comp.text)
    placed = place_hits(comp, fields, [h.to_dict() for h in m.hits])
    by_field = {(h["field"], h["matched"]) for h in placed}
    assert ("title", "保本保息") in by_field
    assert any(f == "body" and "18%" in s for f, s in by_field)


def test_a_title_inside_the_body_is_read_once():
    comp = compose({"title": "保本保息", "body": "本店保本保息，欢迎咨询"})
    assert comp.text == "本店保本保息，欢迎咨询" and [s[0] for s in comp.segments] == ["body"]


def _doc(url: str, body: str, source_id: int | None = None, **kw) -> DocumentIn:
    return DocumentIn(url=url, canonical_url=url, text=body, raw=f"<html>{body}</html>".encode(),
                      title=kw.pop("title", "广告"), source_id=source_id, **kw)


def _stored_hits_are_exact(url: str) -> int:
    n = 0
    with session_scope(url) as s:
        for v in s.scalars(select(Verdict)):
            fields = v.version.fields()
            for h in v.hits:
                assert fields[h["field"]][h["start"] : h["end"]] == h["matched"]
                n += 1
    return n


def test_a_changed_page_is_judged_again_and_a_referred_case_stays_pinned(db_url, scorer):
    with session_scope(db_url) as s:
        pitch, _ = save_document(s, _doc("http://a.test/p", PITCH))
        benign, _ = save_document(s, _doc("http://a.test/b", BENIGN))
        ids = [pitch.id, benign.id]
    score_document_ids(db_url, ids, scorer)
    with session_scope(db_url) as s:
        flag = s.scalar(select(Flag).where(Flag.document_id == ids[0]))
        assert s.scalar(select(Flag).where(Flag.document_id == ids[1])) is None
        v1 = flag.version
        v1_id, v1_sha, v1_text = v1.id, v1.raw_sha256, v1.text
        claim(s, flag.id, "inspector1", ttl_seconds=600)
        decide(s, flag.id, "inspector1", "confirm")
        mark_referred(s, [flag.id], "inspector1")
        flag_id = flag.id
    # the publisher edits both pages; the re-crawl stores new versions, the scoring judges them again
    with session_scope(db_url) as s:
        _, status_p = save_document(s, _doc("http://a.test/p", "本店转让二手家具，价格面议。"))
        _, status_b = save_document(s, _doc("http://a.test/b", BENIGN + "另有理财产品保本保息，稳赚不赔，年化收益20%。"))
        assert status_p == status_b == "updated"
    score_document_ids(db_url, ids, scorer)
    with session_scope(db_url) as s:
        referred = s.get(Flag, flag_id)
        assert referred.status == FlagStatus.REFERRED.value
        assert referred.version_id == v1_id and referred.verdict.version_id == v1_id
        assert referred.version.raw_sha256 == v1_sha and referred.version.text == v1_text
        assert snapshot(referred.version) == f"<html>{PITCH}</html>".encode()
        assert [v.number for v in versions_of(s, ids[0])] == [1, 2]
        # the benign ad rewritten into a pitch is flagged on its new version
        new_flag = s.scalar(select(Flag).where(Flag.document_id == ids[1]))
        assert new_flag is not None and new_flag.version.number == 2 and new_flag.status == "open"
        assert "保本保息" in {h["matched"] for h in new_flag.verdict.hits}
    assert _stored_hits_are_exact(db_url) > 3


def test_an_open_flag_follows_the_new_version_and_withdraws(db_url, scorer):
    with session_scope(db_url) as s:
        doc, _ = save_document(s, _doc("http://a.test/p", PITCH))
        doc_id = doc.id
    score_document_ids(db_url, [doc_id], scorer)
    with session_scope(db_url) as s:
        save_document(s, _doc("http://a.test/p", BENIGN))
    score_document_ids(db_url, [doc_id], scorer)
    with session_scope(db_url) as s:
        (flag,) = s.scalars(select(Flag).where(Flag.document_id == doc_id)).all()
        assert flag.status == FlagStatus.WITHDRAWN.value and flag.version.number == 2
        assert flag.verdict.version_id == flag.version_id


def test_a_claimed_case_is_not_moved_to_a_new_version(db_url, scorer):
    with session_scope(db_url) as s:
        doc, _ = save_document(s, _doc("http://a.test/p", PITCH))
        doc_id = doc.id
    score_document_ids(db_url, [doc_id], scorer)
    with session_scope(db_url) as s:
        flag = s.scalar(select(Flag))
        claim(s, flag.id, "inspector1", ttl_seconds=600)
        save_document(s, _doc("http://a.test/p", PITCH + "另送黄金。"))
    score_document_ids(db_url, [doc_id], scorer)
    with session_scope(db_url) as s:
        flags = s.scalars(select(Flag).where(Flag.document_id == doc_id).order_by(Flag.id)).all()
        assert [f.version.number for f in flags] == [1, 2]
        assert flags[0].status == FlagStatus.CLAIMED.value and flags[1].status == FlagStatus.OPEN.value


def test_two_sources_never_share_a_document(db_url):
    with session_scope(db_url) as s:
        a, b = Source(name="a", kind="html", profile={}), Source(name="b", kind="html", profile={})
        s.add_all([a, b])
        s.flush()
        d1, st1 = save_document(s, _doc("http://same.test/1", PITCH, a.id, publisher="甲公司"))
        d2, st2 = save_document(s, _doc("http://same.test/1", BENIGN, b.id, publisher=None))
        assert st1 == st2 == "new" and d1.id != d2.id
        assert s.get(Document, d1.id).publisher == "甲公司" and s.get(Document, d1.id).text == PITCH


def test_times_are_aware_utc_on_both_databases(db_url):
    beijing = timezone(timedelta(hours=8))
    posted = datetime(2026, 11, 20, 21, 0, tzinfo=beijing)
    with session_scope(db_url) as s:
        doc, _ = save_document(s, _doc("http://a.test/t", PITCH, posted_at=posted))
        doc_id = doc.id
    with session_scope(db_url) as s:
        doc = s.get(Document, doc_id)
        version = s.scalar(select(DocumentVersion).where(DocumentVersion.document_id == doc_id))
        for value in (doc.posted_at, version.posted_at, version.captured_at, doc.created_at):
            assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
        assert doc.posted_at == posted and doc.posted_at.hour == 13
        assert doc.posted_at.astimezone(beijing).hour == 21
        # a comparison in SQL agrees with the instant, not the wall time
        later = s.scalar(select(Document.id).where(Document.posted_at > datetime(2026, 11, 20, 12, 30, tzinfo=UTC)))
        assert later == doc_id


def test_a_page_whose_only_change_is_an_image_gets_a_new_version(db_url):
    from store.images import ImageIn, save_version_images
    from tests.test_images_pipeline import MENU_POSTER, PITCH_POSTER

    with session_scope(db_url) as s:
        doc, _ = save_document(s, _doc("http://a.test/i", BENIGN, image_urls=["http://cdn.test/a.png"]))
        save_version_images(s, doc.current_version_id, [ImageIn("http://cdn.test/a.png", MENU_POSTER)])
    with session_scope(db_url) as s:
        _, same = save_document(s, _doc("http://a.test/i", BENIGN, image_urls=["http://cdn.test/a.png"]))
        _, imported = save_document(s, _doc("http://a.test/i", BENIGN))  # no image list known: text decides
        changed, status = save_document(s, _doc("http://a.test/i", BENIGN, image_urls=["http://cdn.test/b.png"]))
        assert (same, imported, status) == ("unchanged", "unchanged", "updated") and changed.version_count == 2
        save_version_images(s, changed.current_version_id, [ImageIn("http://cdn.test/b.png", PITCH_POSTER)])
