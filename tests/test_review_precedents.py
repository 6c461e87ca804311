"""The judged rows a case explanation cites are links, and their page and API show exactly the seed row."""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient

from classifier.paths import default_seed_path
from review.app import create_app
from review.services import precedents
from store.db import session_scope
from tests.review_fixtures import add_case, seed
from tests.test_review_api import api_client, page_login

pytestmark = [pytest.mark.services, pytest.mark.usefixtures("cheap_argon2")]


def _seed_rows() -> tuple[dict, dict]:
    rows = [json.loads(line) for line in default_seed_path().read_text(encoding="utf-8").splitlines()]
    real = next(r for r in rows if r["source"] != "written" and r["split"] == "train" and "<" not in r["text"])
    written = next(r for r in rows if r["source"] == "written")
    return real, written


@pytest.fixture
def env(pg_url, tmp_path):
    real, written = _seed_rows()
    why = f"综合判定0.91：与已判定为集资宣传的样本相近：{real['id']}、{written['id']}、bdcie-9999999，分类器判为集资宣传（0.90）"
    with session_scope(pg_url) as s:
        seed(s)
        flag = add_case(s, 901, "保本保息，年化18%，一万起投", explanation=why)
        fid = flag.id
    return {"app": create_app(pg_url, lexicon_dir=tmp_path / "lexicon"), "flag": fid, "real": real,
            "written": written, "why": why}


def test_case_page_links_each_cited_real_row_and_shows_the_explanation_unchanged(env):
    c = page_login(env["app"], "insp")
    page = c.get(f"/cases/{env['flag']}").text
    para = re.search(r'<p class="explanation">(.*?)</p>', page, re.S).group(1)
    assert html.unescape(re.sub(r"<[^>]+>", "", para)) == env["why"]  # what is shown is what was computed
    links = re.findall(r'<a href="/precedents/([^"]+)"[^>]*>([^<]+)</a>', para)
    assert links == [(env["real"]["id"], env["real"]["id"]), ("bdcie-9999999", "bdcie-9999999")]
    assert env["written"]["id"] not in [i for i, _ in links]  # written rows are never precedents


def test_precedent_page_and_api_show_the_seed_row(env):
    real = env["real"]
    c = page_login(env["app"], "insp")
    page = c.get(f"/precedents/{real['id']}")
    assert page.status_code == 200
    assert html.escape(real["text"], quote=False) in page.text and real["id"] in page.text
    api, _ = api_client(env["app"], "insp")
    got = api.get(f"/api/v1/precedents/{real['id']}").json()
    assert {k: got[k] for k in ("id", "text", "label", "subtype", "split", "provenance", "rubric_version")} == {
        k: real[k] for k in ("id", "text", "label", "subtype", "split", "provenance", "rubric_version")}
    assert got["subtype_label"] and got["subtype_label"] in page.text


def test_unknown_written_or_hostile_ids_are_not_found_and_never_echoed_raw(env):
    c = page_login(env["app"], "insp")
    api, _ = api_client(env["app"], "insp")
    for rid in ("bdcie-9999999", env["written"]["id"]):
        assert c.get(f"/precedents/{rid}").status_code == 404
    assert api.get("/api/v1/precedents/bdcie-9999999").status_code == 404
    assert api.get(f"/api/v1/precedents/{env['written']['id']}").status_code == 422  # not a corpus id at all
    hostile = "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"
    r = c.get(f"/precedents/{hostile}")
    assert r.status_code == 404 and "<img src=x" not in r.text
    assert api.get(f"/api/v1/precedents/{hostile}").status_code == 422
    assert TestClient(env["app"]).get(f"/api/v1/precedents/{env['real']['id']}").status_code == 401


def test_segments_cut_only_whole_corpus_ids():
    text = "相近：bdcie-00000、sms-000002，又见xbdcie-1、w-w08-sms-pos-0001"
    assert [pid for _, pid in precedents.segments(text) if pid] == ["bdcie-00000", "sms-000002"]
    assert "".join(piece for piece, _ in precedents.segments(text)) == text
    assert precedents.segments("") == [] and precedents.segments(None) == []
