"""Operators in the worker: the settings' thresholds reach the linker through scoring (tasks and the embedded
path), and the beat task ``adscreen.deliver_warnings`` POSTs pending warnings to the webhook, signed, once."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from keywords import Lexicon, Matcher
from operators.risk import HIGH, NORMAL, RiskConfig
from operators.webhook import verify
from scoring.documents import score_document_ids
from scoring.engine import Scorer
from store.db import session_scope
from store.documents import DocumentIn, save_document
from store.models import Operator, OperatorWarning
from store.operators import operator_of
from tests.conftest import embedded_mode

ADS = [
    "本公司理财产品保本保息，年化收益18%，详询 138 1234 5678",
    "稳赚不赔，月息3分，加V：bb_licai88，电话 13812345678",
]


def _ads(url: str) -> list[int]:
    ids = []
    with session_scope(url) as s:
        for i, text in enumerate(ADS):
            key = f"http://ads.example/w{i}"
            doc, _ = save_document(s, DocumentIn(url=key, canonical_url=key, text=text, raw=text.encode()))
            ids.append(doc.id)
    return ids


def _operator(url: str, doc_id: int) -> tuple[float, str, int]:
    with session_scope(url) as s:
        op = s.get(Operator, operator_of(s, doc_id))
        warnings = s.scalar(select(OperatorWarning.id).where(OperatorWarning.operator_id == op.id).limit(1))
        return op.risk_index, op.risk_level, warnings or 0


def test_scoring_links_with_the_thresholds_it_is_given(sqlite_url):
    scorer = Scorer(matcher=Matcher(Lexicon.bundled()), classifier=None)
    ids = _ads(sqlite_url)
    score_document_ids(sqlite_url, ids, scorer)
    index, level, warned = _operator(sqlite_url, ids[0])
    assert 0 < index < 70 and level != HIGH and not warned  # the defaults: not high
    score_document_ids(sqlite_url, ids, scorer, risk=RiskConfig(high_threshold=index - 1, watch_threshold=1))
    again, level, warned = _operator(sqlite_url, ids[0])
    assert again == index and level == HIGH and warned  # the same index, judged by the given thresholds
    score_document_ids(sqlite_url, ids, scorer, risk=RiskConfig(high_threshold=99, watch_threshold=98))
    assert _operator(sqlite_url, ids[0])[1] == NORMAL


@pytest.fixture
def embedded(sqlite_url, tmp_path, monkeypatch):
    extra = {"ADSCREEN_USE_OCR": "false", "ADSCREEN_OPERATOR_HIGH_THRESHOLD": "2",
             "ADSCREEN_OPERATOR_WATCH_THRESHOLD": "1", "ADSCREEN_WARNING_WEBHOOK_URL": None}
    with embedded_mode(monkeypatch, sqlite_url, tmp_path / "lexicon", **extra) as url:
        yield url


def test_the_score_task_passes_the_settings_thresholds(embedded):
    import worker.tasks as tasks

    ids = _ads(embedded)
    tasks.score_batch(ids)
    index, level, warned = _operator(embedded, ids[0])
    assert 2 <= index < 70 and level == HIGH and warned  # ADSCREEN_OPERATOR_HIGH_THRESHOLD=2, not the default 70


class _Receiver(BaseHTTPRequestHandler):
    got: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.got.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def receiver():
    _Receiver.got = []
    srv = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/hook", _Receiver.got
    srv.shutdown()


def test_beat_delivers_pending_warnings_once_when_a_webhook_is_set(embedded, receiver, monkeypatch):
    import worker.tasks as tasks
    from adscreen.settings import get_settings
    from worker.celery_app import app

    assert app.conf.beat_schedule["deliver-warnings"]["task"] == "adscreen.deliver_warnings"
    assert "adscreen.deliver_warnings" in app.tasks
    ids = _ads(embedded)
    tasks.score_batch(ids)
    assert tasks.deliver_warnings() == {}  # no webhook configured: nothing sent, the warning stays pending
    with session_scope(embedded) as s:
        assert [w.webhook_status for w in s.scalars(select(OperatorWarning))] == ["pending"]

    url, got = receiver
    monkeypatch.setenv("ADSCREEN_WARNING_WEBHOOK_URL", url)
    monkeypatch.setenv("ADSCREEN_WARNING_WEBHOOK_SECRET", "s3cret")
    get_settings.cache_clear()
    assert tasks.deliver_warnings() == {"sent": 1}
    assert tasks.deliver_warnings() == {}  # sent once: the next tick has nothing pending
    assert len(got) == 1
    headers, body = got[0]
    headers = {k.lower(): v for k, v in headers.items()}
    assert verify("s3cret", headers["x-adscreen-timestamp"], body, headers["x-adscreen-signature"])
    payload = json.loads(body)
    assert payload["kind"] == "high_risk" and payload["operator"]["level"] == HIGH
    with session_scope(embedded) as s:
        w = s.scalars(select(OperatorWarning)).one()
        assert w.webhook_status == "sent" and w.delivered_at is not None
