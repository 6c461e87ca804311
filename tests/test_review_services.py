"""The service layer's seams: one claim rule, one LexiconError, keywords used directly, adapters kept thin."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest

import keywords
from keywords.categories import CATEGORIES
from review.services import cases, lexicon
from store import queue
from store.db import session_scope
from store.models import Flag, User, utcnow
from tests.review_fixtures import add_case, seed

REVIEW = Path(__file__).resolve().parents[1] / "review"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_api_does_not_import_the_html_module_and_pages_not_the_api():
    assert not {"review.pages"} & _imports(REVIEW / "api.py")
    assert not {"review.api"} & _imports(REVIEW / "pages.py")


def test_no_probing_of_our_own_packages():
    for path in REVIEW.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "except ImportError" not in text, path
        assert "getattr(mod" not in text and "CATEGORY_LABELS" not in text, path
    classes = [
        node.name
        for path in REVIEW.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
    ]
    assert "LexiconError" not in classes  # the one LexiconError is keywords'
    assert lexicon.LexiconError is keywords.LexiconError


def test_categories_are_keywords_categories():
    shown = lexicon.categories()
    assert shown == {n: c.label for n, c in CATEGORIES.items() if not c.hidden}
    assert "helper" not in shown and shown["pension"] == CATEGORIES["pension"].label


@pytest.fixture
def db(sqlite_url):
    with session_scope(sqlite_url) as s:
        ids = [f.id for f in seed(s)]
    return sqlite_url, ids


def _user(s, name: str) -> User:
    return s.query(User).filter_by(username=name).one()


def test_the_claim_rule(db):
    url, ids = db
    with session_scope(url) as s:
        insp, insp2, admin = _user(s, "insp"), _user(s, "insp2"), _user(s, "admin")
        a, b = s.get(Flag, ids[0]), s.get(Flag, ids[1])
        assert cases.may_take(s, a, insp) and cases.may_take(s, a, insp2)  # open: anyone
        cases.claim(s, insp, a.id, 600)
        assert cases.may_take(s, a, insp) and not cases.may_take(s, a, insp2)  # claimed: its holder only
        a.claim_expires_at = utcnow() - timedelta(seconds=1)
        s.flush()
        assert cases.may_take(s, a, insp2)  # an expired claim: anyone again
        cases.claim(s, insp2, a.id, 600)
        cases.decide(s, insp2, a.id, "confirm", None, "", 600)
        assert not any(cases.may_take(s, a, u) for u in (insp, insp2, admin))  # decided: nobody
        cases.decide(s, insp, b.id, "escalate", None, "", 600)
        assert not cases.may_take(s, b, insp) and cases.may_take(s, b, admin)  # escalated: an admin
        assert not queue.can_claim(s, b.id, "admin")  # … without a claim (store.queue.claimable says no)
        decided = cases.decide(s, admin, b.id, "dismiss", "ad_law", "", 600)
        assert decided.decided == [b.id] and s.get(Flag, b.id).status == "dismissed"


def test_renewing_ones_own_claim_extends_it_without_a_new_audit_event(db):
    from store.models import AuditEvent

    url, ids = db
    with session_scope(url) as s:
        insp = _user(s, "insp")
        first = cases.claim(s, insp, ids[0], 60).claim_expires_at
        again = cases.claim(s, insp, ids[0], 3600).claim_expires_at
        assert again > first
        claims = s.query(AuditEvent).filter_by(action="flag.claim", entity_id=str(ids[0])).all()
        assert len(claims) == 1 and claims[0].before == {"status": "open", "assignee": None}


def test_a_reason_is_kept_only_for_dismissals(db):
    from store.models import Decision

    url, ids = db
    with session_scope(url) as s:
        insp = _user(s, "insp")
        cases.decide(s, insp, ids[0], "confirm", "x" * 300, "", 600)  # would not fit the column
        assert s.query(Decision).filter_by(flag_id=ids[0]).one().reason is None


def test_case_text_goes_through_the_service_functions(db):
    url, _ = db
    with session_scope(url) as s:
        flag = add_case(s, 300, "年化收益12%，保本保息", title="标题")
        assert cases.case_text_fields(flag) == {"title": "标题", "body": "年化收益12%，保本保息"}
        hits = {h["term"]: h["text"] for h in cases.case_hits(flag)}
        assert hits["保本保息"] == "保本保息" and hits["年化收益"] == "年化收益"
        assert "<mark" in str(cases.case_highlight(flag))
        snap = cases.case_snapshot(flag)
        assert snap.extension == ".html" and snap.sha256 == flag.document.raw_sha256 and snap.body
