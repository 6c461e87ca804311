"""What the inspector sees and the bureau receives, checked against what the detectors computed and what was
captured: highlights by field, the pinned version after the page changes, the referral's SHA-256."""

from __future__ import annotations

import csv
import hashlib
import html as htmllib
import io
import json
import re
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from keywords import Lexicon, Matcher
from review.app import create_app
from review.users import create_user
from scoring.documents import score_document_ids
from scoring.engine import Scorer
from store.db import session_scope
from store.documents import DocumentIn, mark_removed, save_document
from store.models import DocumentVersion, Flag, Source
from tests.review_fixtures import PASSWORD

TITLE = "保本保息 年化18%"
BODY = "某某财富投资管理公司诚邀合伙人：稳赚不赔，推荐好友再返利2%，一万起投。联系电话138xxxx5678"
MARK = re.compile(
    r'<mark class="hl [^"]*" title="[^"]*" data-field="(\w+)" data-start="(\d+)" data-end="(\d+)">(.*?)</mark>', re.S
)


def _capture(session, source_id, title, body):
    return save_document(
        session,
        DocumentIn(
            url="https://ads.example.org/p/1",
            canonical_url="https://ads.example.org/p/1",
            title=title,
            text=body,
            publisher="某某财富",
            raw=f"<html><h1>{title}</h1><p>{body}</p></html>".encode(),
            http_headers={"content-type": "text/html; charset=utf-8"},
            encoding="utf-8",
            source_id=source_id,
        ),
    )


@pytest.fixture
def case(pg_url, tmp_path):
    scorer = Scorer(matcher=Matcher(Lexicon.bundled()), classifier=None)
    with session_scope(pg_url) as s:
        src = Source(name="示例网", kind="html", profile={})
        s.add(src)
        s.flush()
        doc, _ = _capture(s, src.id, TITLE, BODY)
        create_user(s, "insp", PASSWORD, "inspector")
        ids = (src.id, doc.id)
    score_document_ids(pg_url, [ids[1]], scorer)
    app = create_app(pg_url, lexicon_dir=tmp_path / "lexicon")
    c = TestClient(app)
    r = c.post("/api/v1/auth/login", json={"username": "insp", "password": PASSWORD})
    assert r.status_code == 200
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    with session_scope(pg_url) as s:
        flag_id = s.scalar(select(Flag.id).where(Flag.document_id == ids[1]))
    return {"url": pg_url, "c": c, "flag": flag_id, "source": ids[0], "doc": ids[1], "scorer": scorer}


def _marks(page: str) -> list[tuple[str, int, int, str]]:
    return [(f, int(a), int(b), htmllib.unescape(t)) for f, a, b, t in MARK.findall(page)]


def test_every_highlight_is_exactly_a_computed_hit(case):
    c = case["c"]
    hits = c.get(f"/api/v1/cases/{case['flag']}").json()["verdict"]["hits"]
    assert {h["field"] for h in hits} == {"title", "body"}  # the title's 保本保息 is not moved onto the body
    fields = {"title": TITLE, "body": BODY}
    for h in hits:
        assert fields[h["field"]][h["start"] : h["end"]] == h["matched"]
    page = c.get(f"/cases/{case['flag']}").text
    marks = _marks(page)
    assert marks, "no highlight on the case page"
    computed = {(h["field"], h["start"], h["end"], h["matched"]) for h in hits}
    for m in marks:
        assert m in computed, m  # each highlighted run is a hit, with the hit's own characters
        assert fields[m[0]][m[1] : m[2]] == m[3]
    assert any(m[0] == "title" and m[3] == "保本保息" for m in marks)
    sheet = c.get(f"/cases/{case['flag']}/evidence").text
    assert set(_marks(sheet)) == set(marks)


def test_referral_package_is_what_was_captured_and_matched_even_after_the_page_changes(case):
    c, url = case["c"], case["url"]
    fid = case["flag"]
    assert c.post(f"/api/v1/cases/{fid}/claim").status_code == 200
    assert c.post(f"/api/v1/cases/{fid}/decision", json={"action": "confirm"}).status_code == 200
    # the publisher rewrites the ad, the crawler captures it, the scorer judges it; then the page is removed
    with session_scope(url) as s:
        _, status = _capture(s, case["source"], "二手家具转让", "九成新沙发，价格面议。")
        assert status == "updated"
    score_document_ids(url, [case["doc"]], case["scorer"])
    with session_scope(url) as s:
        mark_removed(s, case["doc"], 404)
        v1 = s.scalar(select(DocumentVersion).where(DocumentVersion.document_id == case["doc"], DocumentVersion.number == 1))
        db_sha, raw = v1.raw_sha256, f"<html><h1>{TITLE}</h1><p>{BODY}</p></html>".encode()
    assert db_sha == hashlib.sha256(raw).hexdigest()
    page = c.get(f"/cases/{fid}").text
    assert "网页已变更" in page and "网页已删除" in page and f"/cases/{fid}/diff" in page
    assert TITLE.split()[0] in page and "九成新沙发" not in page  # the case shows what was judged
    diff = c.get(f"/cases/{fid}/diff").text
    assert "<del>" in diff and "九成新沙发" in diff
    doc = c.get(f"/api/v1/cases/{fid}").json()["document"]
    assert doc["version"] == 1 and doc["current_version"] == 2 and doc["page_changed"] and doc["removed_status"] == 404
    assert doc["text"] == BODY and doc["raw_sha256"] == db_sha
    # refer: the package carries the version-1 bytes and its SHA-256, as the database holds them
    r = c.post("/referrals/export", data={"csrf_token": c.headers["X-CSRF-Token"], "flag_ids": str(fid), "confirm": "1"})
    if r.status_code != 200 or r.headers.get("content-type") != "application/zip":
        r = c.post("/api/v1/referrals/export", json={"flag_ids": [fid]})
    assert r.status_code == 200, r.text[:300]
    z = zipfile.ZipFile(io.BytesIO(r.content))
    names = z.namelist()
    snap_name = next(n for n in names if n.startswith("snapshots/"))
    assert z.read(snap_name) == raw and hashlib.sha256(z.read(snap_name)).hexdigest() == db_sha
    rows = list(csv.DictReader(io.StringIO(z.read(next(n for n in names if n.endswith(".csv"))).decode("utf-8-sig"))))
    assert rows[0]["快照SHA-256"] == db_sha and "网页已变更" in rows[0]["网页变更"]
    assert "[标题]" in rows[0]["命中指标"] and "九成新" not in rows[0]["原文"]
    record = json.loads(z.read(next(n for n in names if n.endswith(".json"))))
    record = record[0] if isinstance(record, list) else record.get("cases", [record])[0]
    for ind in record["matched_indicators"]:
        assert {"title": TITLE, "body": BODY}[ind["field"]][ind["start"] : ind["end"]] == ind["span"]
    # later crawls never change what the package said
    with session_scope(url) as s:
        _capture(s, case["source"], "又改了", "第三版内容")
        assert s.scalar(select(DocumentVersion.raw_sha256).where(DocumentVersion.id == v1.id)) == db_sha
    assert c.get(f"/api/v1/cases/{fid}").json()["document"]["raw_sha256"] == db_sha
