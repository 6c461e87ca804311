"""Logins: one username normalisation for the limiter and authentication; logout ends the session on the server."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from review.app import create_app
from review.users import deactivate, normalize_username, set_password
from store.db import session_scope
from store.models import AuditEvent, LoginAttempt, User
from tests.review_fixtures import PASSWORD, login_api, seed

pytestmark = pytest.mark.usefixtures("cheap_argon2")


@pytest.fixture
def app(sqlite_url, tmp_path):
    with session_scope(sqlite_url) as s:
        seed(s)
    application = create_app(sqlite_url, lexicon_dir=tmp_path / "lexicon")
    application.state.url = sqlite_url
    return application


def _bad(c: TestClient, name: str) -> int:
    return c.post("/api/v1/auth/login", json={"username": name, "password": "wrong-password"}).status_code


def test_normalisation_is_nfkc_then_strip():
    assert normalize_username("  insp\t") == "insp"
    assert normalize_username("ｉｎｓｐ\u3000") == "insp"  # full-width letters, ideographic space
    assert normalize_username("Insp") == "Insp"  # case is kept: existing accounts keep their names


def test_padding_the_username_does_not_bypass_the_account_lockout(app):
    c = TestClient(app)
    # five failures under five spellings of one account: all count against "insp"
    for name in ("insp", " insp", "insp ", "\tinsp\n", "ｉｎｓｐ"):
        assert _bad(c, name) == 401
    for name in ("insp", "  insp  ", "ｉｎｓｐ\u3000"):
        r = c.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        assert r.status_code == 429, name  # locked, whatever the padding
    with session_scope(app.state.url) as s:
        names = {a.username for a in s.query(LoginAttempt)}
    assert names == {"insp"}
    assert _bad(c, " insp2 ") == 401 and login_api(app, " insp2 ")  # other accounts unaffected


def test_padded_username_logs_in_on_the_page_too(app):
    c = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
    r = c.post(
        "/login", data={"username": "  insp ", "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/queue"


def test_a_copied_cookie_is_refused_after_api_logout(app):
    c = login_api(app, "insp")
    stolen = c.cookies["adscreen_session"]
    assert c.post("/api/v1/auth/logout").json() == {"ok": True}
    replay = TestClient(app, cookies={"adscreen_session": stolen})
    assert replay.get("/api/v1/auth/me").status_code == 401
    assert replay.get("/queue", follow_redirects=False).headers["location"] == "/login"
    with session_scope(app.state.url) as s:
        assert s.query(User).filter_by(username="insp").one().session_version == 1
        assert s.query(AuditEvent).filter_by(action="user.logout").count() == 1
    assert login_api(app, "insp").get("/api/v1/auth/me").status_code == 200  # a new login works


def test_a_copied_cookie_is_refused_after_page_logout(app):
    c = login_api(app, "insp2")
    stolen = c.cookies["adscreen_session"]
    page = TestClient(app, cookies={"adscreen_session": stolen})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get("/queue").text).group(1)
    r = page.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    replay = TestClient(app, cookies={"adscreen_session": stolen})
    assert replay.get("/api/v1/auth/me").status_code == 401


@pytest.mark.parametrize("change", ["password", "deactivate"])
def test_password_change_and_deactivation_end_sessions(app, change):
    c = login_api(app, "insp")
    with session_scope(app.state.url) as s:
        user = s.query(User).filter_by(username="insp").one()
        if change == "password":
            set_password(s, user, "another-password", actor="admin")
        else:
            deactivate(s, user, actor="admin")
    assert c.get("/api/v1/auth/me").status_code == 401


def test_unusable_login_input_is_a_clear_422_not_a_server_error(app):
    c = TestClient(app)
    for body in ({"username": "insp\ud800", "password": "x"}, {"username": "insp", "password": "\x00"}):
        raw = json.dumps(body)  # ASCII escapes: "\ud800" on the wire, a lone surrogate once decoded
        r = c.post("/api/v1/auth/login", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 422 and "代理项或 NUL" in r.text, body
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
    r = c.post("/login", data={"username": "in\x00sp", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 401
