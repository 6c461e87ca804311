"""Linking logic, risk index and the signed webhook, as plain library code (no database)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from operators.link import CannotLink, LinkConfig, UnionFind, components, reconcile
from operators.risk import HIGH, NORMAL, WATCH, DocFacts, RiskConfig, assess
from operators.webhook import send, sign, verify

PHONE = ("phone", "+8613812345678")


def test_strong_keys_link_weak_ones_must_add_up_and_a_city_links_nothing():
    groups = components({
        1: [PHONE], 2: [PHONE, ("region", "商丘")], 3: [("region", "商丘")],
        4: [("brand", "鑫瑞"), ("phone_partial", "138****1234")], 5: [("brand", "鑫瑞"), ("phone_partial", "138****1234")],
        6: [("brand", "鑫瑞")], 7: [("app", "鑫瑞宝"), ("phone_partial", "139****0000")],
        8: [("app", "鑫瑞宝"), ("phone_partial", "139****0000")],
    })  # fmt: skip
    assert groups == [[1, 2], [3], [4, 5], [6], [7], [8]]  # app 0.5 + partial 0.4 < 1


def test_cannot_link_keeps_sides_apart_and_must_link_joins():
    keys = {1: [PHONE], 2: [PHONE], 3: [PHONE], 4: [("wechat", "abc123")]}
    assert components(keys, cannot=[CannotLink(9, frozenset({3}), frozenset({1, 2}))]) == [[1, 2], [3], [4]]
    assert components(keys, must=[[1, 4]]) == [[1, 2, 3, 4]]
    uf = UnionFind([1, 2, 3], [CannotLink(1, frozenset({1}), frozenset({3}))])
    assert uf.union(1, 2) and not uf.union(2, 3) and uf.refused == 1


def test_weights_are_configurable():
    keys = {1: [("app", "x宝")], 2: [("app", "x宝")]}
    assert components(keys) == [[1], [2]]
    assert components(keys, LinkConfig(weights={"app": 1.0})) == [[1, 2]]


def test_reconcile_keeps_the_id_of_the_largest_overlap_then_the_larger_then_the_older():
    old = {1: 10, 2: 10, 3: 20, 4: 30, 5: 30}
    assert reconcile([[1, 2, 3, 4, 5]], old, {10: 2, 20: 1, 30: 2}) == [10]  # tie on overlap: older id
    assert reconcile([[1, 2], [3], [4, 5, 6]], old, {10: 2, 20: 1, 30: 2}) == [10, 20, 30]
    assert reconcile([[1], [2]], {1: 10, 2: 10}, {10: 2}) == [10, None]  # a split: one keeps the id


NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _doc(i: int, score: float, days_ago: float, **kw) -> DocFacts:
    return DocFacts(i, score, kw.pop("source", 1), kw.pop("region", "梁园区"), seen_at=NOW - timedelta(days=days_ago),
                    **kw)  # fmt: skip


def test_risk_components_are_kept_and_add_up():
    docs = [_doc(1, 0.9, 1, categories=["return_promise"]), _doc(2, 0.7, 2, source=2, region="睢阳区",
            categories=["elderly"]), _doc(3, 0.5, 10, confirmed=True)]  # fmt: skip
    r = assess(docs, NOW)
    c = r.components
    assert (c["documents"], c["sites"], c["regions"], c["confirmed"]) == (3, 2, ["梁园区", "睢阳区"], 1)
    assert c["max_score"] == 0.9 and c["mean_score"] == pytest.approx(0.7)
    assert c["categories"] == ["elderly", "return_promise"]
    assert (c["new_last_7_days"], c["new_previous_7_days"], c["new_last_day"]) == (2, 1, 0)
    assert c["first_seen"] < c["last_seen"]
    assert r.index == pytest.approx(round(sum(c["points"].values()), 1), abs=0.11)
    assert r.formula_version == "op-risk-1" and 0 <= r.index <= 100


def test_levels_follow_configurable_thresholds_and_dismissals_damp():
    many = [_doc(i, 0.95, 0.5, source=i % 3, region=f"区{i % 4}", categories=["a", "b", "c"], confirmed=i < 2)
            for i in range(20)]  # fmt: skip
    high = assess(many, NOW)
    assert high.level == HIGH and high.index >= 90
    assert assess(many, NOW, RiskConfig(high_threshold=99.5, watch_threshold=50)).level == WATCH
    assert assess([_doc(1, 0.1, 30)], NOW).level == NORMAL
    dismissed = [_doc(i, 0.95, 0.5, dismissed=True) for i in range(4)]
    assert assess(dismissed, NOW).components["dismissed_factor"] == 0.5


class _Receiver(BaseHTTPRequestHandler):
    statuses: list[int] = []
    seen: list[tuple[dict, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append((dict(self.headers), body))
        status = type(self).statuses.pop(0) if type(self).statuses else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def receiver():
    _Receiver.statuses, _Receiver.seen = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Receiver
    server.shutdown()
    server.server_close()


def test_webhook_is_signed_and_retried_with_backoff(receiver):
    url, handler = receiver
    handler.statuses = [503, 500, 200]
    sleeps: list[float] = []
    delivery = send(url, "s3cret", {"kind": "high_risk", "operator": {"id": 7, "name": "鑫瑞"}}, sleep=sleeps.append)
    assert delivery.ok and delivery.attempts == 3 and delivery.status == 200
    assert sleeps == [1.0, 2.0]
    headers, body = handler.seen[-1]
    assert json.loads(body)["operator"]["name"] == "鑫瑞"
    assert verify("s3cret", headers["X-Adscreen-Timestamp"], body, headers["X-Adscreen-Signature"])
    assert not verify("other", headers["X-Adscreen-Timestamp"], body, headers["X-Adscreen-Signature"])
    assert headers["X-Adscreen-Signature"] == "sha256=" + sign("s3cret", headers["X-Adscreen-Timestamp"], body)


def test_webhook_gives_up_on_a_refusal_and_after_the_last_attempt(receiver):
    url, handler = receiver
    handler.statuses = [400]
    refused = send(url, "k", {"a": 1}, sleep=lambda _s: None)
    assert not refused.ok and refused.attempts == 1 and refused.status == 400
    handler.statuses = [503] * 5
    failed = send(url, "k", {"a": 1}, attempts=3, sleep=lambda _s: None)
    assert not failed.ok and failed.attempts == 3 and failed.status == 503
    down = send("http://127.0.0.1:9/none", "k", {"a": 1}, attempts=2, sleep=lambda _s: None, timeout_s=1)
    assert not down.ok and down.status is None and down.error


@pytest.mark.services
def test_pending_warnings_are_delivered_and_marked(pg_url, receiver):
    from sqlalchemy import select

    from store.db import session_scope
    from store.models import Operator, OperatorWarning
    from store.operators import deliver_warnings

    url, handler = receiver
    with session_scope(pg_url) as s:
        op = Operator(status="active", name="鑫瑞", document_count=3, risk_index=80.0, risk_level=HIGH,
                      risk_components={}, formula_version="op-risk-1")  # fmt: skip
        s.add(op)
        s.flush()
        for key in ("a", "b"):
            s.add(OperatorWarning(operator_id=op.id, kind="high_risk", risk_index=80.0, level=HIGH, detail={},
                                  dedupe_key=key, webhook_status="pending", webhook_attempts=0))  # fmt: skip
    handler.statuses = [200, 400]
    with session_scope(pg_url) as s:
        assert deliver_warnings(s, url, "k", sleep=lambda _s: None) == {"sent": 1, "failed": 1}
    with session_scope(pg_url) as s:
        rows = {w.dedupe_key: w for w in s.scalars(select(OperatorWarning))}
        assert rows["a"].webhook_status == "sent" and rows["a"].delivered_at is not None
        assert rows["b"].webhook_status == "failed" and "400" in rows["b"].last_error
    body = json.loads(handler.seen[0][1])
    assert body["operator"]["name"] == "鑫瑞" and "北京时间" in body["at_beijing"]


@pytest.mark.services
def test_a_transient_failure_is_retried_later_and_a_refusal_or_an_old_warning_is_not(pg_url, receiver):
    """The bureau must get every warning: a receiver that was down (5xx on every quick attempt, or unreachable) gets
    it again once the back-off has passed; a 4xx refusal and a warning failing for over two days stay failed."""
    from datetime import timedelta

    from sqlalchemy import select

    from store.db import session_scope
    from store.models import Operator, OperatorWarning, utcnow
    from store.operators import RETRY_FIRST, deliver_warnings, retry_delay

    url, handler = receiver
    t0 = utcnow()
    with session_scope(pg_url) as s:
        op = Operator(status="active", name="鑫瑞", document_count=3, risk_index=80.0, risk_level=HIGH,
                      risk_components={}, formula_version="op-risk-1")  # fmt: skip
        s.add(op)
        s.flush()
        for key, at in (("down", t0), ("old", t0 - timedelta(days=3))):
            s.add(OperatorWarning(operator_id=op.id, kind="high_risk", risk_index=80.0, level=HIGH, detail={}, at=at,
                                  dedupe_key=key, webhook_status="pending", webhook_attempts=0))  # fmt: skip
    quick = {"sleep": lambda _s: None, "attempts": 2}
    handler.statuses = [503] * 4
    with session_scope(pg_url) as s:
        assert deliver_warnings(s, url, "k", now=t0, **quick) == {"retrying": 1, "failed": 1}
    with session_scope(pg_url) as s:
        rows = {w.dedupe_key: w for w in s.scalars(select(OperatorWarning))}
        assert rows["down"].webhook_status == "retrying" and rows["down"].next_attempt_at == t0 + RETRY_FIRST
        assert rows["old"].webhook_status == "failed" and rows["old"].next_attempt_at is None
    with session_scope(pg_url) as s:  # not due yet: nothing is sent
        assert deliver_warnings(s, url, "k", now=t0 + RETRY_FIRST / 2, **quick) == {}
    handler.statuses = [502, 502]
    with session_scope(pg_url) as s:  # second round fails too: the gap doubles
        assert deliver_warnings(s, url, "k", now=t0 + RETRY_FIRST, **quick) == {"retrying": 1}
        w = s.scalars(select(OperatorWarning).where(OperatorWarning.dedupe_key == "down")).one()
        assert w.next_attempt_at == t0 + RETRY_FIRST + retry_delay(2) and retry_delay(2) == 2 * RETRY_FIRST
    n_seen = len(handler.seen)
    with session_scope(pg_url) as s:  # the receiver is back
        assert deliver_warnings(s, url, "k", now=t0 + timedelta(hours=1), **quick) == {"sent": 1}
    with session_scope(pg_url) as s:
        w = s.scalars(select(OperatorWarning).where(OperatorWarning.dedupe_key == "down")).one()
        assert w.webhook_status == "sent" and w.webhook_attempts == 5 and w.next_attempt_at is None
    assert len(handler.seen) == n_seen + 1 and json.loads(handler.seen[-1][1])["operator"]["name"] == "鑫瑞"
    assert retry_delay(40) == timedelta(hours=6)
