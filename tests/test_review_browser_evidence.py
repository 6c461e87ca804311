"""In real headless Chromium: the characters highlighted on the case page are the hits' ``matched`` characters,
for a case scored by the real lexicon with hits in the title and the body (the old bug put title hits on the body)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from keywords import Lexicon, Matcher
from review.app import create_app
from review.users import create_user
from scoring.documents import score_document_ids
from scoring.engine import Scorer
from store.db import session_scope
from store.documents import DocumentIn, save_document
from store.models import Flag
from tests.browser import login, needs_chromium, serving
from tests.review_fixtures import PASSWORD

pytestmark = [pytest.mark.services, needs_chromium, pytest.mark.usefixtures("cheap_argon2")]
TITLE = "稳赚不赔 年化十八個點"
BODY = "誠邀合夥人！保@本保息，一万起投，推荐好友另返2%。&lt;b&gt;咨询：王经理"


@pytest.fixture
def served(pg_url, tmp_path):
    with session_scope(pg_url) as s:
        doc, _ = save_document(s, DocumentIn(url="https://ads.example.org/x/1", canonical_url="https://ads.example.org/x/1",
                                             title=TITLE, text=BODY, raw=b"<html>x</html>"))
        create_user(s, "insp", PASSWORD, "inspector")
        doc_id = doc.id
    score_document_ids(pg_url, [doc_id], Scorer(matcher=Matcher(Lexicon.bundled()), classifier=None))
    with session_scope(pg_url) as s:
        flag_id = s.scalar(select(Flag.id).where(Flag.document_id == doc_id))
    app = create_app(pg_url, lexicon_dir=tmp_path / "lexicon")
    with serving(app) as base:
        yield {"base": base, "flag": flag_id, "app": app}


def test_highlighted_characters_equal_the_hits_matched(served, browser):
    c = TestClient(served["app"])
    assert c.post("/api/v1/auth/login", json={"username": "insp", "password": PASSWORD}).status_code == 200
    hits = c.get(f"/api/v1/cases/{served['flag']}").json()["verdict"]["hits"]
    computed = {(h["field"], h["start"], h["end"], h["matched"]) for h in hits}
    assert {f for f, *_ in computed} == {"title", "body"}
    page = browser.new_page()
    login(page, served["base"])
    page.goto(f"{served['base']}/cases/{served['flag']}")
    shown = page.eval_on_selector_all(
        "mark.hl",
        "els => els.map(e => [e.dataset.field, +e.dataset.start, +e.dataset.end, e.textContent])",
    )
    title_text = page.inner_text("#case-title-text")
    body_text = page.inner_text("#case-text")
    assert shown, "nothing highlighted"
    for field, start, end, chars in shown:
        assert (field, start, end, chars) in computed  # what the browser shows is a hit, character for character
        assert {"title": TITLE, "body": BODY}[field][start:end] == chars
    assert title_text == TITLE and body_text == BODY  # the text itself is shown as captured (escaped, not parsed)
    assert {f for f, *_ in shown} == {"title", "body"}
