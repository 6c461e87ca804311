"""Operators in the review app (issue 13): the list by index with its filters, the operator page (ads, timeline,
identifiers with exact spans, link graph, components), confirm-all by the claim rules, the package per operator,
split and merge, warnings in the queue and on the dashboard, scoping by unit, and the API's typed answers.

A browser test in Chromium checks the page as an inspector sees it: ECharts draws both charts from same-origin
files under the app's CSP, every marked identifier is exactly its stored characters, and nothing in the ads runs.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select

from operators.risk import HIGH, RiskConfig
from review.app import create_app
from store import units
from store.db import session_scope
from store.identifiers import identifier_texts
from store.models import (
    AuditEvent,
    Decision,
    DocumentIdentifier,
    Flag,
    Operator,
    OperatorWarning,
    User,
)
from store.operators import link_documents, operator_of
from tests.browser import login, needs_chromium, serving
from tests.review_fixtures import add_case, login_api, seed

pytestmark = pytest.mark.usefixtures("cheap_argon2")
BIG = 2**70
HOSTILE = '<img src=x onerror="window.__xss=1">'
# one operator: the same phone written four ways (spaces, plain, Chinese digits, dashes) and a WeChat ID; two of
# its ads are in 睢阳区, two in 梁园区 (two responsible units); a fifth ad of another operator stands alone
ADS = [
    ("养老公寓火爆认购，年化收益12%，保本保息，详询 138 1234 5678", "河南商丘睢阳区", "pension"),
    ("养老床位投资，每年固定返利，零风险，电话：13812345678 " + HOSTILE, "睢阳区", "return_promise"),
    ("康养基地入股分红，面向全社会募集，联系 一三八一二三四五六七八", "商丘市梁园区", "coop"),
    ("合作社入股分红，稳赚不赔，加V：yl_kangyang88 或电话 138-1234-5678", "梁园区", "coop"),
]
LONE = ("数字资产平台内测，平台币即将上线，邀请好友得奖励，客服 13999990000", "北京", "crypto")


def make_operator(url: str, risk: RiskConfig = RiskConfig(high_threshold=30, watch_threshold=10)) -> dict:
    """Seed cases, the operator's four ads and a lone ad, linked with low thresholds (so it is 高风险, warned)."""
    with session_scope(url) as s:
        units.sync_units(s, units.load_units_file())
        seed(s)
        flags = [
            add_case(s, 500 + i, text, title=f"养老项目{i}号" + (HOSTILE if i == 1 else ""), region=region,
                     category=cat, score=0.95 - 0.1 * i)
            for i, (text, region, cat) in enumerate(ADS)
        ]  # fmt: skip
        lone = add_case(s, 600, LONE[0], region=LONE[1], category=LONE[2], score=0.7)
        doc_ids = [f.document_id for f in [*flags, lone]]
        link_documents(s, doc_ids, risk=risk)
        op_id = operator_of(s, doc_ids[0])
        units.route_flags(s, flag_ids=[f.id for f in [*flags, lone]])
        return {
            "op": op_id,
            "flags": [f.id for f in flags],
            "docs": doc_ids[:4],
            "lone": lone.id,
            "lone_op": operator_of(s, lone.document_id),
        }


@pytest.fixture
def env(db_url, tmp_path):
    data = make_operator(db_url)
    app = create_app(db_url, lexicon_dir=tmp_path / "lexicon")
    app.state.rescore = lambda: None
    return {**data, "url": db_url, "app": app}


def _client(env, name="insp"):
    return login_api(env["app"], name)


class Marks(HTMLParser):
    """Every <mark class="ident"> of a page with its attributes and text."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "mark" and "ident" in (a.get("class") or ""):
            self._open = {**a, "text": ""}

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag):
        if tag == "mark" and self._open is not None:
            self.marks.append(self._open)
            self._open = None


def _spans_of(url: str, doc_ids: list[int]) -> dict[tuple[int, str, int, int], str]:
    """What the database says each identifier span is: identifier_texts(...)[version][field][start:end]."""
    out = {}
    with session_scope(url) as s:
        idents = list(s.scalars(select(DocumentIdentifier).where(DocumentIdentifier.document_id.in_(doc_ids))))
        texts = identifier_texts(s, [i.version_id for i in idents])
        for i in idents:
            text = texts[i.version_id][i.field]
            assert text[i.start : i.end] == i.matched
            out[(i.document_id, i.field, i.start, i.end)] = i.matched
    return out


# --- the list ------------------------------------------------------------------------------------------------


def test_the_list_is_sorted_by_index_and_filters_by_level_unit_region_and_category(env):
    c = _client(env)
    body = c.get("/api/v1/operators?min_documents=1").json()
    indexes = [o["risk_index"] for o in body["items"]]
    assert indexes == sorted(indexes, reverse=True) and len(indexes) >= 2
    first = body["items"][0]
    assert first["id"] == env["op"] and first["level"] == HIGH and first["documents"] == 4
    assert first["components"]["points"]["max_score"] > 0 and first["formula_version"] == "op-risk-1"

    def ids(query: str) -> list[int]:
        r = c.get(f"/api/v1/operators?{query}")
        assert r.status_code == 200, r.text
        return [o["id"] for o in r.json()["items"]]

    assert ids("") == [env["op"]]  # at least two ads by default: the lone ad's operator is left out
    assert env["lone_op"] in ids("min_documents=1")
    assert ids("level=高风险") == [env["op"]] and ids("level=正常监测&min_documents=1") != [env["op"]]
    assert ids("region=睢阳") == [env["op"]] and ids("region=商丘") == [env["op"]]  # a parent area finds it
    assert ids("region=郑州") == [] and ids("region=北京&min_documents=1") == [env["lone_op"]]
    assert ids("unit=sq-suiyang") == [env["op"]] and ids("unit=sq-liangyuan") == [env["op"]]
    assert ids("unit=sq-minquan") == []
    assert ids("category=coop") == [env["op"]] and ids("category=crypto") == []
    page = c.get("/api/v1/operators?min_documents=1&limit=1").json()
    assert len(page["items"]) == 1 and page["has_more"] is True
    assert c.get("/api/v1/operators?min_documents=1&limit=1&offset=1").json()["items"][0]["id"] == env["lone_op"]
    assert c.get("/api/v1/operators?level=high").status_code == 422  # the levels are the Chinese ones

    html = c.get("/operators").text
    assert f'href="/operators/{env["op"]}"' in html and "高风险" in html and "重点关注" in html
    assert f"OP-{env['op']:06d}" in html and HOSTILE not in html
    assert 'href="/operators"' in c.get("/queue").text  # the nav links the list
    assert f"OP-{env['op']:06d}" not in c.get("/operators?unit=sq-minquan").text
    assert c.get(f"/operators?page={BIG}&source_id={BIG}&level=x").status_code == 200  # bad filters ignored


# --- the operator page ---------------------------------------------------------------------------------------


def test_the_operator_page_shows_ads_components_timeline_identifiers_and_graph(env):
    c = _client(env)
    r = c.get(f"/operators/{env['op']}")
    assert r.status_code == 200
    html = r.text
    for fid in env["flags"]:
        assert f'href="/cases/{fid}"' in html  # every ad links its case
    assert "0.95" in html and "待处理" in html
    for key in ("max_score", "mean_score", "documents", "sites", "regions", "categories", "confirmed", "growth",
                "dismissed"):  # fmt: skip
        assert f'data-component="{key}"' in html, key
    assert 'id="formula-version">op-risk-1<' in html
    assert html.count('class="svg-fallback"') == 2 and "每日新增广告（北京时间）" in html
    charts = re.findall(r"data-echarts='([^']*)'", html)
    timeline, graph = (json.loads(x.replace("&#39;", "'")) for x in charts)
    assert timeline["kind"] == "timeline" and sum(map(sum, timeline["series"].values())) == 4
    assert graph["kind"] == "graph" and len([n for n in graph["nodes"] if n.get("document")]) == 4
    assert graph["links"] and "广告" in graph["categories"]

    # identifiers: each marked span is exactly the stored characters at the stored offsets
    parser = Marks()
    parser.feed(html)
    stored = _spans_of(env["url"], env["docs"])
    assert len(parser.marks) >= 6
    for m in parser.marks:
        key = (int(m["data-doc"]), m["data-field"], int(m["data-start"]), int(m["data-end"]))
        assert stored[key] == m["text"], m
    shown = {m["text"] for m in parser.marks}
    assert {"138 1234 5678", "13812345678", "一三八一二三四五六七八", "138-1234-5678"} <= shown
    # nothing from the ads became markup: the hostile title and text are escaped everywhere
    assert HOSTILE not in html and "&lt;img src=x onerror=" in html
    assert '<script src="/static/operators.js" defer></script>' in html and "<script>" not in html
    assert r.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self'")


def test_the_api_answers_typed_details_and_never_a_server_error_for_bad_ids(env):
    c = _client(env)
    d = c.get(f"/api/v1/operators/{env['op']}").json()
    assert d["id"] == env["op"] and d["hidden_documents"] == 0 and len(d["documents_list"]) == 4
    assert {a["flag_id"] for a in d["documents_list"]} == set(env["flags"])
    spans = [s for i in d["identifiers"] for s in i["spans"]]
    stored = _spans_of(env["url"], env["docs"])
    assert spans and all(stored[(s["document_id"], s["field"], s["start"], s["end"])] == s["matched"] for s in spans)
    phone = next(i for i in d["identifiers"] if i["kind"] == "phone" and i["value"] == "+8613812345678")
    assert phone["documents"] == 4 and not phone["hub"]
    assert d["graph"]["edges"] and d["warnings"][0]["kind"] == "high_risk"
    for path in (f"/api/v1/operators/{BIG}", "/api/v1/operators/0", f"/api/v1/operators?offset={BIG}",
                 f"/api/v1/operators?source_id={BIG}"):  # fmt: skip
        assert c.get(path).status_code == 422, path
    for verb in ("confirm-open", "export", "split", "merge"):
        assert c.post(f"/api/v1/operators/{BIG}/{verb}", json={}).status_code == 422, verb
    assert c.post(f"/api/v1/operators/{env['op']}/merge", json={"operator_ids": [BIG]}).status_code == 422
    assert c.get("/api/v1/operators/999999").status_code == 404
    assert c.post("/api/v1/operators/999999/confirm-open", json={}).status_code == 404
    assert c.get(f"/operators/{BIG}").status_code == 404 and c.get("/operators/999999").status_code == 404
    token = c.headers["X-CSRF-Token"]
    assert c.post(f"/operators/{BIG}/confirm-open", data={"csrf_token": token}).status_code == 404
    lone = b'{"note": "x\\ud800"}'  # a lone surrogate, as a JSON escape
    r = c.post(f"/api/v1/operators/{env['op']}/confirm-open", content=lone, headers={"content-type": "application/json"})
    assert r.status_code == 422


# --- confirm all open cases ----------------------------------------------------------------------------------


def test_confirm_all_follows_the_claim_rule_and_roles_and_is_audited(env):
    other = _client(env, "insp2")
    held = env["flags"][2]
    assert other.post(f"/api/v1/cases/{held}/claim").status_code == 200
    editor = _client(env, "editor")
    assert editor.post(f"/api/v1/operators/{env['op']}/confirm-open", json={}).status_code == 403
    c = _client(env)
    r = c.post(f"/api/v1/operators/{env['op']}/confirm-open", json={"note": "同一团伙"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert sorted(body["confirmed"]) == sorted(set(env["flags"]) - {held})
    assert [s["flag_id"] for s in body["skipped"]] == [held] and "insp2" in body["skipped"][0]["reason"]
    with session_scope(env["url"]) as s:
        statuses = {f: s.get(Flag, f).status for f in env["flags"]}
        assert statuses[held] == "claimed" and s.get(Flag, held).assignee == "insp2"
        assert all(v == "confirmed" for f, v in statuses.items() if f != held)
        notes = list(s.scalars(select(Decision.note).where(Decision.flag_id.in_(env["flags"]))))
        assert len(notes) == 3 and all("团伙 OP-" in n and "同一团伙" in n for n in notes)
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "operator.confirm_open")).one()
        assert event.actor == "insp" and event.entity_id == str(env["op"])
        assert event.after["skipped"][0]["flag_id"] == held
        assert s.get(Operator, env["op"]).risk_components["confirmed"] == 3  # the index saw the confirmations
        assert s.get(Flag, env["lone"]).status == "open"  # another operator's case is untouched
    again = c.post(f"/api/v1/operators/{env['op']}/confirm-open").json()
    assert again["confirmed"] == [] and [s["flag_id"] for s in again["skipped"]] == [held]

    token = other.headers["X-CSRF-Token"]  # the page form: insp2 confirms the one it holds
    r = other.post(f"/operators/{env['op']}/confirm-open", data={"csrf_token": token, "note": ""},
                   follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"/operators/{env['op']}"
    assert "已确认 1 件" in other.get(r.headers["location"]).text


# --- scope (属地管理) ------------------------------------------------------------------------------------------


def test_a_scoped_inspector_sees_and_acts_on_its_units_cases_only(env):
    with session_scope(env["url"]) as s:
        insp = s.scalars(select(User).where(User.username == "insp")).one()
        insp2 = s.scalars(select(User).where(User.username == "insp2")).one()
        units.set_user_units(s, insp.id, ["sq-suiyang"])
        units.set_user_units(s, insp2.id, ["sq-minquan"])
    c = _client(env)
    assert [o["id"] for o in c.get("/api/v1/operators").json()["items"]] == [env["op"]]
    assert c.get("/api/v1/operators?unit=sq-liangyuan").json()["items"] == []  # not one of its units
    d = c.get(f"/api/v1/operators/{env['op']}").json()
    assert d["hidden_documents"] == 2 and {a["flag_id"] for a in d["documents_list"]} == set(env["flags"][:2])
    hidden_docs = set(env["docs"][2:])
    assert not any(s["document_id"] in hidden_docs for i in d["identifiers"] for s in i["spans"])
    assert not any(n["id"] in {f"d{x}" for x in hidden_docs} for n in d["graph"]["nodes"])
    html = c.get(f"/operators/{env['op']}").text
    assert "康养基地" not in html and "yl_kangyang88" not in html and "另有 2 条广告" in html
    body = c.post(f"/api/v1/operators/{env['op']}/confirm-open", json={}).json()
    assert sorted(body["confirmed"]) == sorted(env["flags"][:2])
    assert {s["reason"] for s in body["skipped"]} == {"不属于您负责的单位"}
    assert c.post(f"/api/v1/operators/{env['op']}/split", json={"document_ids": [env["docs"][3]]}).status_code == 400
    with session_scope(env["url"]) as s:
        assert [s.get(Flag, f).status for f in env["flags"][2:]] == ["open", "open"]

    outsider = _client(env, "insp2")  # scoped to a unit the operator has no case in: as if it did not exist
    assert outsider.get("/api/v1/operators").json()["items"] == []
    assert outsider.get(f"/api/v1/operators/{env['op']}").status_code == 404
    assert outsider.get(f"/operators/{env['op']}").status_code == 404
    assert outsider.post(f"/api/v1/operators/{env['op']}/confirm-open", json={}).status_code == 404


# --- the referral package per operator -------------------------------------------------------------------------


def test_the_package_per_operator_has_an_evidence_sheet_per_case_and_a_summary_sheet(env):
    c = _client(env)
    assert c.post(f"/api/v1/operators/{env['op']}/export").status_code == 409  # nothing confirmed yet
    c.post(f"/api/v1/operators/{env['op']}/confirm-open", json={})
    r = c.post(f"/api/v1/operators/{env['op']}/export")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert f'referral-OP-{env["op"]:06d}-' in r.headers["content-disposition"]
    assert hashlib.sha256(r.content).hexdigest() == r.headers["x-package-sha256"]
    z = zipfile.ZipFile(io.BytesIO(r.content))
    names = set(z.namelist())
    code = f"OP-{env['op']:06d}"
    assert {f"operator/{code}.html", f"operator/{code}.json", "manifest.json", "referrals.csv"} <= names
    sheets = sorted(n for n in names if n.startswith("cases/"))
    assert len(sheets) == 4
    manifest = json.loads(z.read("manifest.json"))
    for name, digest in manifest["files"].items():
        assert hashlib.sha256(z.read(name)).hexdigest() == digest, name
    assert f"operator/{code}.html" in manifest["files"]
    summary = z.read(f"operator/{code}.html").decode()
    assert code in summary and "风险指数分项" in summary and "op-risk-1" in summary
    assert all(f'href="../{s}"' in summary for s in sheets)  # each case links its evidence sheet
    assert HOSTILE not in summary and "<script" not in summary
    data = json.loads(z.read(f"operator/{code}.json"))
    assert data["id"] == env["op"] and len(data["documents"]) == 4 and len(data["cases_in_package"]) == 4
    rows = json.loads(z.read("referrals.json"))
    with session_scope(env["url"]) as s:
        for row in rows:  # the judged versions' text and SHA-256, as the single-case package has them
            flag = s.get(Flag, row["flag_id"])
            assert row["sha256"] == flag.version.raw_sha256 and row["verbatim_text"] == flag.version.text
            snap = z.read(row["snapshot_file"])
            assert hashlib.sha256(snap).hexdigest() == flag.version.raw_sha256
            assert flag.status == "referred"
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "operator.referral_export")).one()
        assert event.after["sha256"] == r.headers["x-package-sha256"]
    assert c.post(f"/api/v1/operators/{env['op']}/export").status_code == 409  # referred once

    token = c.headers["X-CSRF-Token"]  # the page form needs the confirmation box
    r = c.post(f"/operators/{env['op']}/export", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303


# --- split and merge ---------------------------------------------------------------------------------------------


def test_split_and_merge_by_an_inspector_are_audited_and_checked(env):
    c = _client(env)
    op, docs = env["op"], env["docs"]
    for bad in ([docs[0], docs[1], docs[2], docs[3]], [env["lone"] + 10_000], []):
        r = c.post(f"/api/v1/operators/{op}/split", json={"document_ids": bad})
        assert r.status_code in (400, 422), (bad, r.text)
    r = c.post(f"/api/v1/operators/{op}/split", json={"document_ids": docs[2:], "note": "不同经营者"})
    assert r.status_code == 200, r.text
    split = r.json()
    assert split["remaining_id"] == op and split["new_id"] != op and split["moved"] == docs[2:]
    with session_scope(env["url"]) as s:
        assert {operator_of(s, d) for d in docs[2:]} == {split["new_id"]}
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "operator.manual_split")).one()
        assert event.actor == "insp" and event.after["note"] == "不同经营者"
    assert c.post(f"/api/v1/operators/{op}/merge", json={"operator_ids": [op]}).status_code == 400
    assert c.post(f"/api/v1/operators/{op}/merge", json={"operator_ids": [999999]}).status_code == 404
    r = c.post(f"/api/v1/operators/{op}/merge", json={"operator_ids": [split["new_id"]], "note": "确为一家"})
    assert r.status_code == 200, r.text
    kept = r.json()["kept_id"]
    with session_scope(env["url"]) as s:
        assert {operator_of(s, d) for d in docs} == {kept}
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "operator.manual_merge")).one().actor == "insp"
    # the merged-away id follows to the kept operator
    gone = split["new_id"] if kept != split["new_id"] else op
    assert c.get(f"/api/v1/operators/{gone}").json()["id"] == kept

    token = c.headers["X-CSRF-Token"]  # the page forms
    r = c.post(f"/operators/{kept}/split", data={"csrf_token": token, "document_id": [str(docs[3])], "note": ""},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    with session_scope(env["url"]) as s:
        new = operator_of(s, docs[3])
    assert new != kept
    r = c.post(f"/operators/{kept}/merge", data={"csrf_token": token, "operator_ids": f"OP-{new:06d}"},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    r = c.post(f"/operators/{kept}/merge", data={"csrf_token": token, "operator_ids": "abc"})
    assert r.status_code == 400 and "团伙编号" in r.text
    assert _client(env, "editor").post(f"/api/v1/operators/{kept}/split", json={"document_ids": [docs[0]]}).status_code == 403


# --- early warnings in the queue and on the dashboard ------------------------------------------------------------


def test_warnings_show_as_operator_cases_in_the_queue_and_on_the_dashboard(env):
    with session_scope(env["url"]) as s:
        assert s.scalars(select(OperatorWarning.kind).where(OperatorWarning.operator_id == env["op"])).all() == [
            "high_risk"
        ]
    c = _client(env)
    queue = c.get("/queue").text
    assert "团伙预警" in queue and f'href="/operators/{env["op"]}"' in queue and "进入高风险" in queue
    assert queue.index("团伙预警") < queue.index('class="queue"', queue.index("团伙预警") + 1)
    dashboard = c.get("/dashboard").text
    assert "团伙预警" in dashboard and f'href="/operators/{env["op"]}"' in dashboard
    rows = c.get("/api/v1/operators/warnings").json()
    assert [w["operator_id"] for w in rows] == [env["op"]] and rows[0]["open_cases"] == 4
    c.post(f"/api/v1/operators/{env['op']}/confirm-open", json={})
    assert c.get("/api/v1/operators/warnings").json()[0]["open_cases"] == 0
    with session_scope(env["url"]) as s:
        units.set_user_units(s, s.scalars(select(User).where(User.username == "insp2")).one().id, ["sq-minquan"])
    assert _client(env, "insp2").get("/api/v1/operators/warnings").json() == []  # not its units
    assert "团伙预警" not in _client(env, "insp2").get("/queue").text


# --- schemathesis over the operator operations, with operators in the database ----------------------------------


def test_operator_operations_under_schemathesis_with_linked_operators(env):
    """The shared schemathesis run sees no operator (its fixture links none); this one does: no 5xx, every answer
    as documented, for generated valid and invalid input (ids 1, 2 … exist here, so handlers are reached)."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation import GenerationMode
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    client = login_api(env["app"], "admin")
    headers = {"Cookie": f"adscreen_session={client.cookies['adscreen_session']}",
               "X-CSRF-Token": client.headers["X-CSRF-Token"]}  # fmt: skip
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", env["app"], headers=headers)
    operations = [op.ok() for op in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith("/api/v1/operators")]
    assert len(operations) == 7
    failures, statuses = [], []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=25, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case) -> None:
                response = case.call(headers=headers)
                statuses.append(response.status_code)
                case.validate_response(response, checks=checks, headers=headers)

            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE
            except Exception as exc:  # noqa: BLE001 - report every operation's failure
                failures.append(f"{operation.method.upper()} {operation.path} [{mode.value}]: {exc}"[:1500])
    assert not failures, "\n\n".join(failures)
    assert statuses.count(200) > 10 and statuses.count(422) > 10, sorted(set(statuses))


# --- in Chromium ---------------------------------------------------------------------------------------------------

@pytest.mark.services
@needs_chromium
def test_the_operator_page_in_chromium(pg_url, tmp_path, browser, shots):
    data = make_operator(pg_url)
    app = create_app(pg_url, lexicon_dir=tmp_path / "lexicon")
    app.state.rescore = lambda: None
    with serving(app) as base:
        context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        errors, console, outside = [], [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: console.append(m.text) if m.type in ("error", "warning") else None)
        page.on("request", lambda r: None if r.url.startswith((base, "data:", "blob:")) else outside.append(r.url))
        page.on("dialog", lambda d: (errors.append("dialog " + d.message), d.dismiss()))
        login(page, base)
        assert page.locator("#operator-warnings tr.operator-case").count() == 1
        page.click(f"#operator-warnings a[href='/operators/{data['op']}']")
        page.wait_for_url(f"{base}/operators/{data['op']}")
        page.wait_for_selector("#timeline-chart[data-echarts-ready='1']")
        page.wait_for_selector("#graph-chart[data-echarts-ready='1']")
        assert page.locator("#timeline-chart canvas").count() >= 1 and page.locator("#graph-chart canvas").count() >= 1
        assert page.locator("#timeline-chart .svg-fallback").is_hidden()
        # every marked identifier is exactly its stored characters at its stored offsets
        marks = page.eval_on_selector_all(
            "mark.ident", "ms => ms.map(m => [+m.dataset.doc, m.dataset.field, +m.dataset.start, +m.dataset.end, m.textContent])"
        )  # fmt: skip
        stored = _spans_of(pg_url, data["docs"])
        assert len(marks) >= 6 and all(stored[tuple(m[:4])] == m[4] for m in marks)
        assert page.evaluate("() => window.__xss") is None
        assert page.locator("main img, main script:not([src])").count() == 0
        assert "onerror" in page.locator("#operator-ads").inner_text()  # shown as text
        page.screenshot(path=str(shots / "operator.png"), full_page=True)

        page.click("#confirm-open-btn")
        page.wait_for_url(f"{base}/operators/{data['op']}")
        assert "已确认 4 件" in page.locator(".flash").first.inner_text()
        page.check("#export-confirm")
        with page.expect_download() as dl:
            page.click("#operator-export-btn")
        names = zipfile.ZipFile(io.BytesIO(Path(dl.value.path()).read_bytes())).namelist()
        assert f"operator/OP-{data['op']:06d}.html" in names

        page.goto(f"{base}/operators/{data['op']}")
        page.check(f"#operator-ads input[value='{data['docs'][3]}']")
        page.click("#split-btn")
        page.wait_for_url(f"{base}/operators/{data['op']}")
        assert "拆为团伙" in page.locator(".flash").first.inner_text()
        page.goto(f"{base}/operators")
        assert page.locator("#operator-list tbody tr").count() >= 1
        assert "高风险" in page.locator("#operator-list").inner_text()
        page.screenshot(path=str(shots / "operators.png"), full_page=False)
        assert errors == [] and outside == []
        assert not [m for m in console if "Content Security Policy" in m or "Refused" in m], console
    with session_scope(pg_url) as s:
        assert s.get(Flag, data["flags"][0]).status == "referred"


def test_a_warning_waiting_for_a_retry_says_when_on_the_page_and_in_the_api(env):
    """What the page shows is what was stored: the next delivery attempt of a retrying warning, in 北京时间."""
    from datetime import UTC, datetime

    due = datetime(2026, 12, 1, 20, 36, tzinfo=UTC)  # 04:36 the next day in Beijing
    with session_scope(env["url"]) as s:
        w = s.scalars(select(OperatorWarning).where(OperatorWarning.operator_id == env["op"])).one()
        w.webhook_status, w.next_attempt_at, w.last_error = "retrying", due, "HTTP 503"
    c = _client(env)
    html = c.get(f"/operators/{env['op']}").text
    assert "推送失败，稍后重试（下次 2026-12-02 04:36 北京时间）" in html
    assert "推送 推送" not in html  # every status label names 推送 itself
    warning = c.get(f"/api/v1/operators/{env['op']}").json()["warnings"][0]
    assert warning["webhook_status"] == "retrying"
    assert datetime.fromisoformat(warning["next_attempt_at"].replace("Z", "+00:00")) == due


def test_an_identifier_only_an_image_carries_is_shown_in_the_image_text(env):
    """A phone read from an ad's image is stored with its span in the ``ocr`` field; the operator page shows it in
    that text (图片文字) with exactly its characters marked, not an empty excerpt cut from the body."""
    from store.images import add_ocr_identifiers
    from store.models import Document, VersionOCR

    with session_scope(env["url"]) as s:
        version_id = s.get(Document, env["docs"][0]).current_version_id
        s.add(VersionOCR(version_id=version_id, engine="test-ocr", text="扫码咨询 热线 139 8765 4321 年化18%",
                         blocks=[], codes=[], qr_text=""))  # fmt: skip
        s.flush()
        assert ("phone", "+8613987654321") in add_ocr_identifiers(s, version_id)
    html = _client(env).get(f"/operators/{env['op']}").text
    parser = Marks()
    parser.feed(html)
    ocr = [m for m in parser.marks if m["data-field"] == "ocr"]
    assert [m["text"] for m in ocr] == ["139 8765 4321"]
    stored = _spans_of(env["url"], env["docs"])
    assert stored[(int(ocr[0]["data-doc"]), "ocr", int(ocr[0]["data-start"]), int(ocr[0]["data-end"]))] == "139 8765 4321"
    assert "图片文字" in html
