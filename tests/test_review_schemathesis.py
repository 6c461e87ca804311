"""``/api/v1`` under schemathesis: no server error and every answer as the OpenAPI document says, for generated
valid and invalid input (a bounded run: a fixed number of examples per operation, derandomised).

Schemathesis never sends lone surrogates (it generates strings that can be encoded), so a Hypothesis test of
its own sends them, as JSON escapes, in every string field of every JSON body.

Also the two causes of the 576 server errors found before: ids no database column can hold (2**70 in a path or
body) and lone surrogates in JSON strings. Both must be a 4xx with a clear message, never a 500.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from review.app import create_app
from store.db import session_scope
from tests.review_fixtures import login_api, seed

EXAMPLES = 30  # per operation and mode: ~22 operations x 2 modes, well under a minute on SQLite
SKIP = {("POST", "/api/v1/auth/logout")}  # would end the session the run is authenticated with
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


pytestmark = pytest.mark.usefixtures("cheap_argon2")


@pytest.fixture
def api(request, sqlite_url, tmp_path):
    url = request.getfixturevalue("pg_url") if getattr(request, "param", "sqlite") == "postgresql" else sqlite_url
    with session_scope(url) as s:
        ids = [f.id for f in seed(s)]
    app = create_app(url, lexicon_dir=tmp_path / "lexicon")
    app.state.rescore = lambda: None
    client = login_api(app, "admin")  # admins pass every role check: every operation is reachable
    headers = {
        "Cookie": f"adscreen_session={client.cookies['adscreen_session']}",
        "X-CSRF-Token": client.headers["X-CSRF-Token"],
    }
    return {"app": app, "client": client, "headers": headers, "ids": ids}


@pytest.mark.parametrize(
    "api", ["sqlite", pytest.param("postgresql", marks=pytest.mark.services)], indirect=True
)
def test_no_server_error_and_answers_match_the_schema(api):
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api["app"], headers=api["headers"])
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: schemathesis.Case) -> None:
                response = case.call(headers=api["headers"])
                statuses[response.status_code] += 1
                case.validate_response(response, checks=CHECKS, headers=api["headers"])

            try:
                run()
            except Unsatisfiable:  # no input to make invalid (an operation without parameters or body)
                assert mode is GenerationMode.NEGATIVE
            except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report them all
                failures.append(f"{operation.method.upper()} {operation.path} [{mode.value}]: {exc}"[:1500])
    assert api["client"].get("/api/v1/auth/me").status_code == 200  # the run stayed authenticated
    assert not failures, "\n\n".join(failures)
    assert statuses[200] > 50 and statuses[422] > 50, statuses  # the run did reach the handlers


BIG = 2**70


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/api/v1/cases/{BIG}", None),
        ("POST", f"/api/v1/cases/{BIG}/claim", None),
        ("POST", f"/api/v1/cases/{BIG}/release", None),
        ("POST", f"/api/v1/cases/{BIG}/decision", {"action": "confirm"}),
        ("GET", f"/api/v1/referrals/{BIG}", None),
        ("POST", f"/api/v1/lexicon/proposals/{BIG}/approve", None),
        ("POST", f"/api/v1/lexicon/proposals/{BIG}/reject", None),
        ("GET", f"/api/v1/queue?source_id={BIG}", None),
        ("GET", f"/api/v1/queue?offset={BIG}", None),
        ("POST", "/api/v1/referrals/export", {"flag_ids": [BIG]}),
        ("POST", "/api/v1/lexicon/proposals", {"term": "保本", "category": "rate", "weight": 0.5, "flag_id": BIG}),
    ],
)
def test_out_of_range_ids_are_422_not_500(api, method, path, body):
    r = api["client"].request(method, path, json=body)
    assert r.status_code == 422, (r.status_code, r.text)
    assert r.json()["detail"][0]["loc"]


def test_dates_out_of_range_are_clamped_not_a_server_error(api):
    c = api["client"]
    for query in ("since=0001-01-01", "until=0001-01-01", "since=9999-12-31", "until=9999-12-31"):
        assert c.get(f"/api/v1/queue?{query}").status_code == 200, query
        assert c.get(f"/queue?{query}").status_code == 200, query
    assert len(c.get("/api/v1/queue?since=0001-01-01").json()["items"]) == 5
    assert c.get("/api/v1/queue?until=0001-01-01").json()["items"] == []


def test_out_of_range_ids_on_the_pages_are_404(api):
    c = api["client"]
    for path in (f"/cases/{BIG}", f"/cases/{BIG}/snapshot", f"/cases/{BIG}/evidence"):
        assert c.get(path).status_code == 404, path
    token = c.headers["X-CSRF-Token"]
    assert c.post(f"/cases/{BIG}/claim", data={"csrf_token": token}).status_code == 404
    assert c.post(f"/lexicon/proposals/{BIG}/approve", data={"csrf_token": token}).status_code == 404
    assert c.get(f"/queue?source_id={BIG}&page={BIG}").status_code == 200  # unusable filters are ignored


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/auth/login", {"username": "admin\ud800", "password": "x"}),
        ("/api/v1/cases/{id}/decision", {"action": "dismiss", "reason": "ad_law", "note": "\udfff"}),
        ("/api/v1/lexicon/proposals", {"term": "保本\ud83d", "category": "rate", "weight": 0.5}),
        ("/api/v1/lexicon/proposals", {"term": "保本", "category": "rate", "weight": 0.5, "note": "a\x00b"}),
    ],
)
def test_lone_surrogates_and_nul_in_json_are_a_clear_422(api, path, body):
    raw = json.dumps(body)  # "\ud800" escapes on the wire; decoded, a lone surrogate
    r = api["client"].post(
        path.replace("{id}", str(api["ids"][0])), content=raw, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422, (r.status_code, r.text)
    assert "代理项或 NUL" in r.json()["detail"][0]["msg"]


def test_unusable_text_in_page_forms_is_a_400(api):
    c = api["client"]
    token = c.headers["X-CSRF-Token"]
    fid = api["ids"][0]
    r = c.post(f"/cases/{fid}/decide", data={"csrf_token": token, "action": "confirm", "note": "a\x00b"})
    assert r.status_code == 400 and "无效" in r.text
    r = c.post(
        f"/cases/{fid}/propose",
        data={"csrf_token": token, "term": "保\x00本", "category": "rate", "weight": "0.5"},
    )
    assert r.status_code == 400
    assert c.get("/audit?actor=a%00b").status_code == 200
    assert c.get("/queue?region=%00").status_code == 200


# every code point, lone surrogates (category Cs) and NUL included
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=12)
BODIES = {
    "/api/v1/auth/login": st.fixed_dictionaries({"username": ANY_TEXT, "password": ANY_TEXT}),
    "/api/v1/cases/{id}/decision": st.fixed_dictionaries(
        {"action": st.sampled_from(["confirm", "dismiss", "escalate"]), "reason": ANY_TEXT, "note": ANY_TEXT}
    ),
    "/api/v1/lexicon/proposals": st.fixed_dictionaries(
        {"term": ANY_TEXT, "category": ANY_TEXT | st.just("rate"), "weight": st.just(0.5), "note": ANY_TEXT}
    ),
}


@pytest.mark.parametrize("path", sorted(BODIES))
def test_any_code_point_in_json_strings_is_answered_without_a_server_error(api, path):
    url = path.replace("{id}", str(api["ids"][0]))

    @settings(max_examples=40, deadline=None, database=None, derandomize=True)
    @given(body=BODIES[path])
    def run(body: dict) -> None:
        r = api["client"].post(url, content=json.dumps(body), headers={"Content-Type": "application/json"})
        assert r.status_code < 500, (body, r.status_code, r.text)
        bad = any(isinstance(v, str) and ("\x00" in v or any(0xD800 <= ord(c) <= 0xDFFF for c in v)) for v in body.values())
        if bad:
            assert r.status_code == 422 and "代理项或 NUL" in r.text, (body, r.text)

    run()
