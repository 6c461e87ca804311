"""API and page tests of the review app on a fresh PostgreSQL database: every route, roles, CSRF, decisions."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from review.app import create_app
from review.services import lexicon as review_lexicon
from store.db import session_scope
from store.models import AuditEvent, Decision, Flag, LoginAttempt, TermProposal, User
from tests.review_fixtures import PASSWORD, add_case, seed

pytestmark = [pytest.mark.services, pytest.mark.usefixtures("cheap_argon2")]

PAGE_GETS = [
    "/audit",
    "/",
    "/queue",
    "/cases/{id}",
    "/cases/{id}/snapshot",
    "/cases/{id}/evidence",
    "/referrals",
    "/lexicon",
    "/dashboard",
    "/api/docs",
]
API_GETS = [
    "/api/v1/auth/me",
    "/api/v1/openapi.json",
    "/api/v1/queue",
    "/api/v1/queue/counts",
    "/api/v1/cases/{id}",
    "/api/v1/referrals",
    "/api/v1/referrals/{id}",
    "/api/v1/lexicon",
    "/api/v1/lexicon/proposals",
    "/api/v1/lexicon/suggestions",
    "/api/v1/dashboard",
    "/api/v1/audit",
]
API_POSTS = [
    "/api/v1/auth/logout",
    "/api/v1/queue/next",
    "/api/v1/cases/{id}/claim",
    "/api/v1/cases/{id}/release",
    "/api/v1/cases/{id}/decision",
    "/api/v1/referrals/export",
    "/api/v1/lexicon/proposals",
    "/api/v1/lexicon/proposals/1/approve",
    "/api/v1/lexicon/proposals/1/reject",
]
# (method, path, roles allowed besides admin)
ROLE_RULES = [
    ("GET", "/queue", {"inspector"}),
    ("GET", "/referrals", {"inspector"}),
    ("GET", "/cases/{id}/evidence", {"inspector"}),
    ("GET", "/api/v1/queue", {"inspector"}),
    ("GET", "/api/v1/queue/counts", {"inspector"}),
    ("POST", "/api/v1/queue/next", {"inspector"}),
    ("POST", "/api/v1/cases/{id}/claim", {"inspector"}),
    ("POST", "/api/v1/cases/{id}/release", {"inspector"}),
    ("POST", "/api/v1/cases/{id}/decision", {"inspector"}),
    ("GET", "/api/v1/referrals", {"inspector"}),
    ("GET", "/api/v1/referrals/{id}", {"inspector"}),
    ("POST", "/api/v1/referrals/export", {"inspector"}),
    ("POST", "/api/v1/lexicon/proposals/{p}/approve", {"lexicon_editor"}),
    ("POST", "/api/v1/lexicon/proposals/{p}/reject", {"lexicon_editor"}),
    ("GET", "/api/v1/lexicon/suggestions", {"lexicon_editor"}),
    ("POST", "/lexicon/proposals/{p}/approve", {"lexicon_editor"}),
    ("POST", "/cases/{id}/decide", {"inspector"}),
    ("POST", "/cases/{id}/claim", {"inspector"}),
    ("POST", "/referrals/export", {"inspector"}),
    ("GET", "/audit", set()),
    ("POST", "/lexicon/propose", {"inspector", "lexicon_editor"}),
    ("GET", "/api/v1/audit", set()),
]


class FakeLexiconStore:
    """Stands in for keywords.LexiconStore: records what the app asked of it."""

    added: list[tuple] = []

    def __init__(self, path):
        self.path = path

    def add_term(self, term, category, weight, kind="literal", note="", actor=None, reason=None):
        FakeLexiconStore.added.append((term, category, weight, actor, reason))
        return self.current_version()

    def current_version(self):
        return f"v{len(FakeLexiconStore.added) + 1}"

    def load(self):
        from keywords import Lexicon, Term

        terms = [Term(t[0], t[1], t[2]) for t in FakeLexiconStore.added]
        return Lexicon.from_terms(terms, version=self.current_version())

    def history(self):
        return [{"action": "add", "term": t[0], "actor": t[3]} for t in FakeLexiconStore.added]


@pytest.fixture
def env(pg_url, tmp_path, monkeypatch):
    with session_scope(pg_url) as s:
        flags = seed(s)
        ids = [f.id for f in flags]
    app = create_app(pg_url, lexicon_dir=tmp_path / "lexicon")
    rescored: list[str] = []
    app.state.rescore = lambda: rescored.append("open")
    app.state.run_job = lambda job: job()  # the approval's background rescore, run at once
    FakeLexiconStore.added = []
    monkeypatch.setattr(review_lexicon, "store", FakeLexiconStore)
    return {"url": pg_url, "app": app, "ids": ids, "rescored": rescored}


def api_client(app, username: str) -> tuple[TestClient, str]:
    c = TestClient(app)
    r = c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    token = r.json()["csrf_token"]
    c.headers["X-CSRF-Token"] = token
    return c, token


def page_token(c: TestClient, path: str = "/queue") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', c.get(path).text).group(1)


def page_login(app, username: str) -> TestClient:
    c = TestClient(app)
    token = page_token(c, "/login")
    r = c.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    return c


def fill(path: str, ids: list[int], proposal: int = 1) -> str:
    return path.replace("{id}", str(ids[0])).replace("{p}", str(proposal))


# --- authentication ---------------------------------------------------------------------------------------


def test_anonymous_pages_redirect_to_login_and_api_answers_401(env):
    c = TestClient(env["app"])
    for path in PAGE_GETS:
        r = c.get(fill(path, env["ids"]), follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login", path
    for path in API_GETS:
        assert c.get(fill(path, env["ids"])).status_code == 401, path
    token = page_token(c, "/login")
    for path in API_POSTS:
        r = c.post(fill(path, env["ids"]), json={}, headers={"X-CSRF-Token": token})
        assert r.status_code == 401, path
    assert c.get("/openapi.json").status_code == 404  # the schema is not public
    assert c.get("/docs").status_code == 404


def test_login_wrong_password_then_rate_limited(env):
    c = TestClient(env["app"])
    for _ in range(5):
        r = c.post("/api/v1/auth/login", json={"username": "insp", "password": "wrong-password"})
        assert r.status_code == 401
    r = c.post("/api/v1/auth/login", json={"username": "insp", "password": PASSWORD})
    assert r.status_code == 429  # even the right password is refused for a while
    token = page_token(c, "/login")
    r = c.post("/login", data={"username": "insp", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429 and "过多" in r.text
    # another account is not locked by insp's failures
    assert c.post("/api/v1/auth/login", json={"username": "insp2", "password": PASSWORD}).status_code == 200
    with session_scope(env["url"]) as s:
        assert s.query(LoginAttempt).filter_by(username="insp", success=False).count() == 5


def test_login_limits_count_the_client_behind_a_trusted_proxy(env):
    """Behind a reverse proxy every request comes from the proxy: its X-Forwarded-For names the real client, and
    only a configured proxy's header is believed (anyone can send the header)."""
    proxied = create_app(env["url"], trusted_proxies="10.0.0.0/8")
    direct = create_app(env["url"])
    fwd = {"X-Forwarded-For": "203.0.113.7, 10.0.0.9"}  # client, then an inner proxy (trusted, skipped)
    bad = {"username": "insp", "password": "wrong-password"}
    via_proxy = TestClient(proxied, client=("10.0.0.5", 40000))
    assert via_proxy.post("/api/v1/auth/login", json=bad, headers=fwd).status_code == 401
    outsider = TestClient(proxied, client=("198.51.100.1", 40000))  # not a proxy: its header is a forgery
    assert outsider.post("/api/v1/auth/login", json=bad, headers=fwd).status_code == 401
    forged = TestClient(direct, client=("198.51.100.2", 40000))  # no proxies configured: header ignored
    assert forged.post("/api/v1/auth/login", json=bad, headers=fwd).status_code == 401
    with session_scope(env["url"]) as s:
        ips = [a.ip for a in s.query(LoginAttempt).filter_by(username="insp").order_by(LoginAttempt.id)]
    assert ips == ["203.0.113.7", "198.51.100.1", "198.51.100.2"]


def test_login_api_refuses_form_posts_and_unknown_users(env):
    c = TestClient(env["app"])
    r = c.post("/api/v1/auth/login", data={"username": "insp", "password": PASSWORD})
    assert r.status_code == 403  # a cross-site form cannot log someone in
    assert c.post("/api/v1/auth/login", json={"username": "nobody", "password": PASSWORD}).status_code == 401


def test_session_cookie_flags_and_security_headers(env):
    c = TestClient(env["app"])
    r = c.get("/login")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "secure" not in cookie.replace("samesite", "")  # the plain-HTTP demo must be able to log in


def test_cookie_secure_setting_marks_the_session_cookie(env, monkeypatch):
    from adscreen.settings import get_settings

    monkeypatch.setenv("ADSCREEN_COOKIE_SECURE", "true")
    get_settings.cache_clear()
    try:
        app = create_app(env["url"])
    finally:
        get_settings.cache_clear()
    cookie = TestClient(app, base_url="https://testserver").get("/login").headers["set-cookie"].lower()
    assert "; secure" in cookie


def test_page_login_and_logout(env):
    c = page_login(env["app"], "insp")
    assert c.get("/queue").status_code == 200
    token = page_token(c)
    assert c.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert c.get("/queue", follow_redirects=False).status_code == 303


def test_login_rotates_csrf_token(env):
    c = TestClient(env["app"])
    before = page_token(c, "/login")
    c.post("/login", data={"username": "insp", "password": PASSWORD, "csrf_token": before})
    assert page_token(c) != before


# --- CSRF and roles ---------------------------------------------------------------------------------------


def test_state_changes_need_the_csrf_token(env):
    c, token = api_client(env["app"], "insp")
    fid = env["ids"][0]
    del c.headers["X-CSRF-Token"]
    assert c.post(f"/api/v1/cases/{fid}/claim").status_code == 403
    assert c.post(f"/api/v1/cases/{fid}/claim", headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert c.post(f"/cases/{fid}/claim", data={"csrf_token": "forged"}).status_code == 403
    other, other_token = api_client(env["app"], "insp2")
    assert c.post(f"/api/v1/cases/{fid}/claim", headers={"X-CSRF-Token": other_token}).status_code == 403
    r = c.post(
        f"/api/v1/cases/{fid}/claim", headers={"X-CSRF-Token": token, "Origin": "https://evil.example"}
    )
    assert r.status_code == 403
    with session_scope(env["url"]) as s:
        assert s.get(Flag, fid).status == "open"
    assert c.post(f"/api/v1/cases/{fid}/claim", headers={"X-CSRF-Token": token}).status_code == 200


@pytest.mark.parametrize("role_user", ["insp", "editor", "admin"])
def test_role_checks(env, role_user):
    role = {"insp": "inspector", "editor": "lexicon_editor", "admin": "admin"}[role_user]
    with session_scope(env["url"]) as s:
        insp = s.query(User).filter_by(username="insp").one()
        pid = review_lexicon.propose(s, insp, "保本保息", "return_promise", 0.5, "", env["ids"][0]).id
    c, token = api_client(env["app"], role_user)
    for method, path, allowed in ROLE_RULES:
        url = path.replace("{id}", str(env["ids"][0])).replace("{p}", str(pid))
        if method == "GET":
            r = c.get(url, follow_redirects=False)
        elif url.startswith("/api/"):
            r = c.post(url, json={"action": "escalate"} if url.endswith("decision") else {})
        else:
            r = c.post(url, data={"csrf_token": token, "action": "escalate"}, follow_redirects=False)
        if role == "admin" or role in allowed:
            assert r.status_code != 403, (role, method, url, r.status_code)
        else:
            assert r.status_code == 403, (role, method, url, r.status_code)


def test_every_role_sees_dashboard_lexicon_and_case(env):
    for user in ("insp", "editor", "admin"):
        c, _ = api_client(env["app"], user)
        for path in ("/dashboard", "/lexicon", f"/cases/{env['ids'][0]}", "/api/docs"):
            assert c.get(path).status_code == 200, (user, path)
        assert c.get("/api/v1/dashboard").status_code == 200
        assert c.get(f"/api/v1/cases/{env['ids'][0]}").status_code == 200


def test_editor_case_page_has_no_decision_form(env):
    c, _ = api_client(env["app"], "editor")
    html = c.get(f"/cases/{env['ids'][0]}").text
    assert 'id="decide-form"' not in html and 'id="propose-form"' in html


# --- queue ------------------------------------------------------------------------------------------------


def test_queue_order_filters_and_counts(env):
    c, _ = api_client(env["app"], "insp")
    items = c.get("/api/v1/queue").json()["items"]
    assert [i["priority"] for i in items] == sorted((i["priority"] for i in items), reverse=True)
    assert len(items) == 5 and items[0]["flag_id"] == env["ids"][0]
    assert [i["category"] for i in c.get("/api/v1/queue?category=property").json()["items"]] == ["property"]
    assert {i["level"] for i in c.get("/api/v1/queue?level=medium").json()["items"]} == {"medium"}
    assert c.get("/api/v1/queue?region=上海").json()["items"] == []
    assert c.get("/api/v1/queue?status=claimed").json()["items"] == []
    assert c.get("/api/v1/queue?since=2999-01-01").json()["items"] == []
    assert c.get("/api/v1/queue/counts").json() == {"open": 5}
    html = c.get("/queue?category=property&level=bogus").text
    assert "产权式商铺" in html and "养老公寓" not in html


def test_claim_is_exclusive_and_release_reopens(env):
    a, _ = api_client(env["app"], "insp")
    b, _ = api_client(env["app"], "insp2")
    first = a.post("/api/v1/queue/next").json()
    assert first["flag_id"] == env["ids"][0] and first["assignee"] == "insp"
    assert b.post(f"/api/v1/cases/{first['flag_id']}/claim").status_code == 409
    second = b.post("/api/v1/queue/next").json()
    assert second["flag_id"] == env["ids"][1]
    assert b.post(f"/api/v1/cases/{first['flag_id']}/release").status_code == 409  # not hers
    assert a.post(f"/api/v1/cases/{first['flag_id']}/release").json()["status"] == "open"
    assert b.post(f"/api/v1/cases/{first['flag_id']}/claim").json()["assignee"] == "insp2"
    assert a.get("/api/v1/queue/counts").json() == {"open": 3, "claimed": 2}


def test_expired_claim_can_be_taken_over(env):
    env["app"].state.ttl = -1  # every claim is already expired
    a, _ = api_client(env["app"], "insp")
    b, _ = api_client(env["app"], "insp2")
    fid = env["ids"][0]
    assert a.post(f"/api/v1/cases/{fid}/claim").status_code == 200
    assert b.post(f"/api/v1/cases/{fid}/claim").json()["assignee"] == "insp2"


def test_next_on_empty_queue(env):
    c, _ = api_client(env["app"], "insp")
    for _ in env["ids"]:
        r = c.post("/api/v1/queue/next")
        assert r.status_code == 200
        _confirm(c, r.json()["flag_id"])
    assert c.post("/api/v1/queue/next").status_code == 204
    r = page_login(env["app"], "insp2").post("/queue/next", data={"csrf_token": "x"})
    assert r.status_code == 403  # and the page route also needs its token


# --- cases and decisions ----------------------------------------------------------------------------------


def test_case_json_has_evidence_and_history(env):
    c, _ = api_client(env["app"], "insp")
    case = c.get(f"/api/v1/cases/{env['ids'][0]}").json()
    assert case["verdict"]["classifier_prob"] == pytest.approx(0.93)
    assert {h["term"] for h in case["verdict"]["hits"]} >= {"保本保息"}
    assert case["document"]["raw_sha256"] and case["document"]["publisher"].startswith("某某")
    assert [e["action"] for e in case["history"]] == ["flag.raise"]
    assert c.get("/api/v1/cases/999999").status_code == 404
    assert c.get("/cases/999999").status_code == 404


def test_case_page_highlights_hits(env):
    c, _ = api_client(env["app"], "insp")
    html = c.get(f"/cases/{env['ids'][0]}").text
    assert re.search(r'<mark class="hl hl-return_promise" title="[^"]*" data-field="body"[^>]*>保本保息</mark>', html)
    assert 'sandbox=""' in html and f'src="/cases/{env["ids"][0]}/snapshot"' in html


def test_dismiss_needs_a_reason_and_everything_is_audited(env):
    c, _ = api_client(env["app"], "insp")
    fid = env["ids"][2]
    r = c.post(f"/api/v1/cases/{fid}/decision", json={"action": "dismiss"})
    assert r.status_code == 409
    r = c.post(
        f"/api/v1/cases/{fid}/decision", json={"action": "dismiss", "reason": "warning_news", "note": "新闻"}
    )
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    r = c.post(f"/api/v1/cases/{fid}/decision", json={"action": "confirm"})
    assert r.status_code == 409  # decided cases cannot be claimed again
    assert c.post(f"/api/v1/cases/{fid}/decision", json={"action": "approve"}).status_code == 422
    with session_scope(env["url"]) as s:
        d = s.scalars(select(Decision).where(Decision.flag_id == fid)).one()
        assert (d.reviewer, d.action, d.reason, d.note) == ("insp", "dismiss", "warning_news", "新闻")
        events = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity == "flag", AuditEvent.entity_id == str(fid))
            .order_by(AuditEvent.id)
        ).all()
        assert [e.action for e in events] == ["flag.raise", "flag.claim", "flag.dismiss"]
        assert events[-1].before["status"] == "claimed" and events[-1].after["status"] == "dismissed"


def test_cannot_decide_a_case_claimed_by_another(env):
    a, _ = api_client(env["app"], "insp")
    b, _ = api_client(env["app"], "insp2")
    fid = env["ids"][0]
    a.post(f"/api/v1/cases/{fid}/claim")
    assert b.post(f"/api/v1/cases/{fid}/decision", json={"action": "confirm"}).status_code == 409
    assert (
        a.post(f"/api/v1/cases/{fid}/decision", json={"action": "escalate"}).json()["status"] == "escalated"
    )


def test_near_duplicate_group_is_decided_together(env):
    with session_scope(env["url"]) as s:
        text = "高端养老社区认购，年化收益12%，保本保息，电话13800000000"
        dup_ids = [add_case(s, 100 + i, text.replace("13800000000", f"1390000000{i}")).id for i in range(3)]
    a, _ = api_client(env["app"], "insp")
    b, _ = api_client(env["app"], "insp2")
    b.post(f"/api/v1/cases/{dup_ids[2]}/claim")  # held by another inspector: left alone
    case = a.get(f"/api/v1/cases/{dup_ids[0]}").json()
    assert {d["flag_id"] for d in case["duplicates"]} == set(dup_ids[1:])
    r = a.post(f"/api/v1/cases/{dup_ids[0]}/decision", json={"action": "confirm", "whole_group": True})
    assert r.json()["decided"] == dup_ids[:2]
    with session_scope(env["url"]) as s:
        assert [s.get(Flag, i).status for i in dup_ids] == ["confirmed", "confirmed", "claimed"]


def test_page_decision_flow_goes_to_next_case(env):
    c = page_login(env["app"], "insp")
    token = page_token(c)
    fid = env["ids"][0]
    r = c.post(
        f"/cases/{fid}/decide",
        data={"csrf_token": token, "action": "confirm", "note": "典型", "go_next": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{env['ids'][1]}"
    assert "已确认" in c.get(f"/cases/{fid}").text
    r = c.post(f"/cases/{env['ids'][1]}/release", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    r = c.post(
        f"/cases/{env['ids'][2]}/decide", data={"csrf_token": token, "action": "dismiss", "note": "我写的备注"}
    )
    # refused in place, in Chinese, with the note kept (not an English 409 page)
    assert r.status_code == 422 and 'id="form-error"' in r.text and "排除须选择理由" in r.text
    assert "我写的备注</textarea>" in r.text and "409" not in r.text


def test_snapshot_is_served_inert(env):
    c, _ = api_client(env["app"], "insp")
    r = c.get(f"/cases/{env['ids'][0]}/snapshot")
    assert r.headers["content-security-policy"].startswith(
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    )
    assert "sandbox" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-type"].startswith("text/html")
    t = c.get(f"/cases/{env['ids'][0]}/snapshot?as=text")
    assert t.headers["content-type"].startswith("text/plain") and "<html>" in t.text


# --- referral ---------------------------------------------------------------------------------------------


def _confirm(c: TestClient, fid: int) -> None:
    assert (
        c.post(f"/api/v1/cases/{fid}/decision", json={"action": "confirm", "note": "移送"}).status_code == 200
    )


def test_referral_export_package_and_status(env):
    from openpyxl import load_workbook

    c, _ = api_client(env["app"], "insp")
    with session_scope(env["url"]) as s:
        evil = add_case(s, 200, '=HYPERLINK("http://evil")年化收益20%\x0b\x01', title="=cmd|' /C calc'!A0").id
    for fid in (env["ids"][0], env["ids"][1], evil):
        _confirm(c, fid)
    records = c.get("/api/v1/referrals").json()
    assert {r["flag_id"] for r in records} == {env["ids"][0], env["ids"][1], evil}
    rec = c.get(f"/api/v1/referrals/{env['ids'][0]}").json()
    assert (
        rec["reviewer"] == "insp"
        and rec["decision"] == "确认涉嫌非法集资宣传"
        and rec["source_type"] == "自主监测"
    )
    assert rec["matched_indicators"] and rec["matched_indicators"][0]["span"] in rec["verbatim_text"]
    assert rec["normalized_text"]  # keywords.normalize when available
    assert c.get(f"/api/v1/referrals/{env['ids'][3]}").status_code == 404  # not confirmed

    r = c.post("/api/v1/referrals/export", json={"flag_ids": [env["ids"][0], evil]})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    names = set(zf.namelist())
    assert {"referrals.csv", "referrals.xlsx", "referrals.json", "manifest.json"} <= names
    case_ids = [n[len("cases/") : -len(".html")] for n in names if n.startswith("cases/")]
    assert len(case_ids) == 2
    csv_text = zf.read("referrals.csv").decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("案件编号,线索来源,发现时间")
    assert "'=HYPERLINK" in csv_text and ",=HYPERLINK" not in csv_text  # no formula injection
    ws = load_workbook(io.BytesIO(zf.read("referrals.xlsx"))).active
    assert ws.max_row == 3 and ws["A1"].value == "案件编号"
    assert all(not str(cell.value or "").startswith("=") for row in ws.iter_rows() for cell in row)
    import hashlib
    import json

    manifest = json.loads(zf.read("manifest.json"))
    for name, digest in manifest["files"].items():
        assert hashlib.sha256(zf.read(name)).hexdigest() == digest
    for rec in json.loads(zf.read("referrals.json")):
        assert rec["snapshot_file"] == f"snapshots/{rec['case_id']}.html"  # the captured page's own extension
        assert hashlib.sha256(zf.read(rec["snapshot_file"])).hexdigest() == rec["sha256"]
        sheet = zf.read(f"cases/{rec['case_id']}.html").decode()
        assert rec["sha256"] in sheet and "证据页" in sheet
    with session_scope(env["url"]) as s:
        assert (
            s.get(Flag, env["ids"][0]).status == "referred"
            and s.get(Flag, env["ids"][1]).status == "confirmed"
        )
        assert (
            s.scalars(select(AuditEvent).where(AuditEvent.action == "referral.export")).one().after["flags"]
        )
    assert c.post("/api/v1/referrals/export", json={"flag_ids": [env["ids"][0]]}).status_code == 409
    assert sorted(r["flag_id"] for r in c.get("/api/v1/referrals?status=referred").json()) == sorted(
        [env["ids"][0], evil]
    )


def test_referral_export_page_form(env):
    c = page_login(env["app"], "insp")
    api, _ = api_client(env["app"], "insp")
    _confirm(api, env["ids"][0])
    assert "ADS-" in c.get("/referrals").text
    token = page_token(c, "/referrals")
    r = c.post("/referrals/export", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303  # nothing selected
    r = c.post("/referrals/export", data={"csrf_token": token, "flag_id": str(env["ids"][0])})
    assert r.status_code == 200 and "content-disposition" not in r.headers  # first the confirmation step
    assert "确认导出并标记为已移送" in r.text and 'name="confirm" value="1"' in r.text
    with session_scope(env["url"]) as s:
        assert s.get(Flag, env["ids"][0]).status == "confirmed"  # nothing referred before confirming
    r = c.post(
        "/referrals/export", data={"csrf_token": token, "flag_id": str(env["ids"][0]), "confirm": "1"}
    )
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("attachment")
    with session_scope(env["url"]) as s:
        assert s.get(Flag, env["ids"][0]).status == "referred"
    ev = c.get(f"/cases/{env['ids'][0]}/evidence")
    assert ev.status_code == 200 and ev.headers["content-security-policy"].startswith("default-src 'none'")


# --- lexicon ----------------------------------------------------------------------------------------------


def test_propose_approve_reject_and_rescore(env):
    insp, _ = api_client(env["app"], "insp")
    editor, _ = api_client(env["app"], "editor")
    fid = env["ids"][0]
    r = insp.post(
        "/api/v1/lexicon/proposals",
        json={"term": " 养老 公寓 ", "category": "pension", "weight": 0.4, "flag_id": fid},
    )
    assert r.status_code == 201 and r.json()["term"] == "养老 公寓" and r.json()["status"] == "pending"
    pid = r.json()["id"]
    assert (
        insp.post(
            "/api/v1/lexicon/proposals", json={"term": "x", "category": "nope", "weight": 0.4}
        ).status_code
        == 400
    )
    assert (
        insp.post(
            "/api/v1/lexicon/proposals", json={"term": "x", "category": "pension", "weight": 3}
        ).status_code
        == 400
    )
    assert insp.post(f"/api/v1/lexicon/proposals/{pid}/approve").status_code == 403
    assert [p["id"] for p in editor.get("/api/v1/lexicon/proposals?status=pending").json()] == [pid]
    r = editor.post(f"/api/v1/lexicon/proposals/{pid}/approve")
    assert r.status_code == 200 and r.json()["status"] == "approved" and r.json()["lexicon_version"] == "v2"
    assert FakeLexiconStore.added == [
        ("养老 公寓", "pension", 0.4, "editor", f"proposal #{pid} by insp from flag #{fid}")
    ]
    assert env["rescored"] == ["open"]
    assert editor.post(f"/api/v1/lexicon/proposals/{pid}/reject").status_code == 400  # already decided
    lex = editor.get("/api/v1/lexicon").json()
    assert lex["version"] == "v2" and lex["terms"][0]["term"] == "养老 公寓" and lex["categories"]["pension"]
    p2 = insp.post(
        "/api/v1/lexicon/proposals", json={"term": "床位补贴", "category": "pension", "weight": 0.3}
    ).json()
    assert editor.post(f"/api/v1/lexicon/proposals/{p2['id']}/reject").json()["status"] == "rejected"
    assert env["rescored"] == ["open"]  # rejection triggers nothing
    with session_scope(env["url"]) as s:
        actions = [
            e.action for e in s.scalars(select(AuditEvent).where(AuditEvent.entity == "term_proposal"))
        ]
        assert actions == ["lexicon.propose", "lexicon.approve", "lexicon.propose", "lexicon.reject"]


def test_propose_from_case_page_and_approve_on_lexicon_page(env):
    c = page_login(env["app"], "insp")
    token = page_token(c)
    fid = env["ids"][0]
    r = c.post(
        f"/cases/{fid}/propose",
        data={"csrf_token": token, "term": "推荐好友再返", "category": "recruitment", "weight": "0.5"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "推荐好友再返" in c.get(f"/cases/{fid}").text
    e = page_login(env["app"], "editor")
    html = e.get("/lexicon").text
    assert "推荐好友再返" in html and "批准" in html
    with session_scope(env["url"]) as s:
        pid = s.scalars(select(TermProposal.id)).one()
    r = e.post(
        f"/lexicon/proposals/{pid}/approve",
        data={"csrf_token": page_token(e, "/lexicon")},
        follow_redirects=False,
    )
    assert r.status_code == 303 and env["rescored"] == ["open"]
    assert "已批准" in e.get("/lexicon").text or "批准" in e.get("/lexicon").text


def test_suggestions_route(env):
    insp, _ = api_client(env["app"], "insp")
    editor, _ = api_client(env["app"], "editor")
    assert editor.get("/api/v1/lexicon/suggestions").json() == []  # nothing confirmed yet
    texts = [  # three different ads of one scheme: its name has the support of three groups
        "金鹅宝计划第一期火热招募中，认购即送豪礼，每月到账。",
        "会员专享：加入金鹅宝，养老无忧，子女放心，名额有限。",
        "金鹅宝项目说明会本周六在市民中心举行，现场签约有礼。",
    ]
    with session_scope(env["url"]) as s:
        extra = [add_case(s, 300 + i, text).id for i, text in enumerate(texts)]
    _confirm(insp, env["ids"][0])
    for fid in extra:
        _confirm(insp, fid)
    insp.post(f"/api/v1/cases/{env['ids'][1]}/decision", json={"action": "dismiss", "reason": "ad_law"})
    got = editor.get("/api/v1/lexicon/suggestions?top_k=5").json()
    assert got and len(got) <= 5 and all(0 <= g["precision"] <= 1 for g in got)
    assert any("金鹅宝" in g["term"] for g in got)
    page = editor.get("/lexicon?suggest=1").text
    assert "金鹅宝" in page and 'action="/lexicon/propose"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = editor.post(
        "/lexicon/propose",
        data={"csrf_token": token, "term": "保本", "category": "return_promise", "weight": "0.4"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert [
        (p["term"], p["flag_id"], p["proposed_by"]) for p in editor.get("/api/v1/lexicon/proposals").json()
    ] == [("保本", None, "editor")]


# --- dashboard and docs -----------------------------------------------------------------------------------


def test_dashboard_numbers_and_charts(env):
    c, _ = api_client(env["app"], "insp")
    _confirm(c, env["ids"][0])
    c.post(f"/api/v1/cases/{env['ids'][1]}/decision", json={"action": "dismiss", "reason": "normal"})
    s = c.get("/api/v1/dashboard").json()
    assert s["confirmation_rate"] == 0.5 and s["backlog"] == 3 and s["throughput"] == {"insp": 2}
    assert sum(sum(v) for v in s["flags_by_category"].values()) == 5
    assert s["flags_by_source"] == {"示例分类信息网": [0] * 29 + [5]}
    html = c.get("/dashboard").text
    assert html.count('class="chart"') == 8 and "50%" in html
    assert '<script type="application/json" id="dashboard-data">' in html
    assert '<script src="/static/vendor/echarts/echarts.min.js"' in html


def test_openapi_lists_the_api(env):
    c, _ = api_client(env["app"], "insp")
    paths = c.get("/api/v1/openapi.json").json()["paths"]
    assert {
        "/api/v1/queue",
        "/api/v1/cases/{flag_id}/decision",
        "/api/v1/referrals/export",
        "/api/v1/lexicon/proposals",
    } <= set(paths)
    assert not any(p.startswith("/cases") for p in paths)
    assert "/api/v1/referrals/export" in c.get("/api/docs").text


def test_api_logout(env):
    c, _ = api_client(env["app"], "insp")
    assert c.post("/api/v1/auth/logout").json() == {"ok": True}
    assert c.get("/api/v1/auth/me").status_code == 401


def test_rescore_failure_keeps_the_approval(env):
    def broker_down():
        raise ConnectionError("redis unreachable")

    env["app"].state.rescore = broker_down
    insp, _ = api_client(env["app"], "insp")
    editor, _ = api_client(env["app"], "editor")
    pid = insp.post(
        "/api/v1/lexicon/proposals", json={"term": "保本", "category": "return_promise", "weight": 0.6}
    ).json()["id"]
    r = editor.post(f"/api/v1/lexicon/proposals/{pid}/approve")
    assert (
        r.status_code == 200 and r.json()["status"] == "approved" and r.json()["rescore_requested"] is False
    )
    with session_scope(env["url"]) as s:
        failed = s.scalars(select(AuditEvent).where(AuditEvent.action == "lexicon.rescore_failed")).one()
        assert "redis" in failed.after["error"]


def test_approval_with_the_real_lexicon_store(env, monkeypatch, tmp_path):
    keywords = pytest.importorskip("keywords")
    monkeypatch.setattr(review_lexicon, "store", keywords.LexiconStore)
    insp, _ = api_client(env["app"], "insp")
    editor, _ = api_client(env["app"], "editor")
    before = editor.get("/api/v1/lexicon").json()
    assert before["error"] is None and before["terms"]
    pid = insp.post(
        "/api/v1/lexicon/proposals",
        json={"term": "床位返租", "category": "pension", "weight": 0.7, "flag_id": env["ids"][0]},
    ).json()["id"]
    r = editor.post(f"/api/v1/lexicon/proposals/{pid}/approve")
    assert r.status_code == 200, r.text
    after = editor.get("/api/v1/lexicon").json()
    assert after["version"] != before["version"] and r.json()["lexicon_version"] == after["version"]
    found = editor.get("/api/v1/lexicon?q=床位返租").json()["terms"]
    assert any(t["term"] == "床位返租" and t["category"] == "pension" for t in found)
    assert after["history"][0]["actor"] == "editor" and f"proposal #{pid}" in after["history"][0]["reason"]
    assert env["rescored"] == ["open"]
    assert "床位返租" in editor.get("/lexicon").text


def test_admin_audit_log(env):
    c, _ = api_client(env["app"], "admin")
    fid = env["ids"][0]
    c.post(f"/api/v1/cases/{fid}/decision", json={"action": "escalate", "note": "<b>上报</b>"})
    events = c.get(f"/api/v1/audit?entity=flag&entity_id={fid}").json()
    assert [e["action"] for e in events] == ["flag.escalate", "flag.claim", "flag.raise"]
    assert events[0]["before"]["status"] == "claimed" and events[0]["after"]["note"] == "<b>上报</b>"
    assert [e["actor"] for e in c.get("/api/v1/audit?actor=admin").json()][:1] == ["admin"]
    html = c.get("/audit?entity=flag").text
    assert "admin 将此案上报" in html and "<b>上报</b>" not in html and "flag.escalate" not in html


def test_escalated_case_is_decided_by_an_admin(env):
    insp, _ = api_client(env["app"], "insp")
    admin, _ = api_client(env["app"], "admin")
    fid = env["ids"][0]
    insp.post(f"/api/v1/cases/{fid}/decision", json={"action": "escalate", "note": "拿不准"})
    assert insp.post(f"/api/v1/cases/{fid}/decision", json={"action": "confirm"}).status_code == 409
    assert "已上报" in admin.get(f"/cases/{fid}").text
    r = admin.post(f"/api/v1/cases/{fid}/decision", json={"action": "confirm", "note": "确认"})
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    assert [d["action"] for d in admin.get(f"/api/v1/cases/{fid}").json()["decisions"]] == [
        "escalate",
        "confirm",
    ]


def test_password_change_ends_sessions_and_cookie_holds_no_hash(env):
    import base64
    import json

    from review.users import hash_password
    from store.models import User

    c, _ = api_client(env["app"], "insp")
    raw = c.cookies["adscreen_session"].split(".")[0]
    data = json.loads(base64.b64decode(raw + "=" * (-len(raw) % 4)))
    with session_scope(env["url"]) as s:
        user = s.query(User).filter_by(username="insp").one()
        assert data["uid"] == user.id and data["pw"] not in user.password_hash
        user.password_hash = hash_password("a-new-password")
    assert c.get("/api/v1/auth/me").status_code == 401
