"""Scoring through a real Celery worker on the real Redis broker against the real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from store.db import session_scope, upgrade
from store.documents import DocumentIn, save_document
from store.models import Document, Flag, Verdict
from tests.conftest import _pg_url_for, create_database, drop_database
from tests.workers import WorkerProcess, client, wait_for, worker_env

PITCHES = [
    "某某财富投资管理公司：保本保息，年化收益18%，一万起投，推荐好友投资再返利2%。",
    "产权式商铺售后包租，十年返租，年均收益12%，到期原价回购，名额有限！",
    "养老公寓会员卡火热认购，每年返利10%，三年返本，子女放心，老人安心。",
    "内部原始股认购，公司即将上市，一股变十股，稳赚不赔，机会难得。",
]
ORDINARY = [
    "二手自行车转让，九成新，价格面议，限本地自提。",
    "招聘餐厅服务员两名，包吃住，月薪四千，有意者面谈。",
    "家政保洁，擦玻璃、油烟机清洗，上门服务，价格实惠。",
]


def _insert_docs(url: str, n: int) -> list[int]:
    texts = PITCHES + ORDINARY
    ids = []
    with session_scope(url) as s:
        for i in range(n):
            body = f"{texts[i % len(texts)]}（第{i}条）"
            doc, _ = save_document(
                s,
                DocumentIn(
                    url=f"http://t.test/{i}", canonical_url=f"http://t.test/{i}", text=body, raw=body.encode()
                ),
            )
            ids.append(doc.id)
    return ids


def _count(url: str, model) -> int:
    with session_scope(url) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _scored(url: str) -> int:
    with session_scope(url) as s:
        return s.scalar(select(func.count(Document.id)).where(Document.scored_at.is_not(None))) or 0


@pytest.fixture
def worker_factory(pg_url, redis_url, namespace, tmp_path):
    started: list[WorkerProcess] = []

    def start(**extra: str) -> WorkerProcess:
        env = worker_env(pg_url, redis_url, namespace, tmp_path, **extra)
        w = WorkerProcess(env, tmp_path / f"worker{len(started)}.log")
        started.append(w)
        w.wait_ready()
        return w

    yield start
    for w in started:
        w.stop()


def test_batches_sent_by_name_are_scored_and_flagged(pg_url, redis_url, namespace, worker_factory):
    ids = _insert_docs(pg_url, 21)
    worker_factory()
    app = client(redis_url)
    for i in range(0, len(ids), 8):
        app.send_task("adscreen.score_batch", args=[ids[i : i + 8]], queue=namespace)
    wait_for(lambda: _scored(pg_url) == len(ids), 90, "every document scored")
    with session_scope(pg_url) as s:
        verdicts = list(s.scalars(select(Verdict)))
        assert len(verdicts) == len(ids) == len({v.document_id for v in verdicts})
        assert all(v.detectors == ["keywords"] and v.detector_versions.startswith("kw:") for v in verdicts)
        flagged = {f.document.text for f in s.scalars(select(Flag))}
    pitch_docs = [t for t in flagged if any(t.startswith(p) for p in PITCHES)]
    assert len(pitch_docs) == len(flagged) > 0, "only pitches are flagged"
    assert len(flagged) >= 0.75 * sum(1 for i in range(21) if i % 7 < len(PITCHES))


def test_kill_9_mid_batch_loses_nothing_and_duplicates_nothing(pg_url, redis_url, namespace, worker_factory):
    ids = _insert_docs(pg_url, 48)
    slow = {"ADSCREEN_SCORE_DELAY_MS": "150", "ADSCREEN_BROKER_VISIBILITY_TIMEOUT": "5"}
    first = worker_factory(**slow)
    app = client(redis_url)
    app.conf.broker_transport_options = {"visibility_timeout": 5}
    for i in range(0, len(ids), 6):
        app.send_task("adscreen.score_batch", args=[ids[i : i + 6]], queue=namespace)
    wait_for(lambda: 0 < _scored(pg_url), 60, "the first batch committed")
    first.kill9()  # the next batch was mid-way: its transaction dies with the process
    assert _scored(pg_url) < len(ids)
    worker_factory(**slow)
    wait_for(lambda: _scored(pg_url) == len(ids), 120, "every document scored after the restart")
    with session_scope(pg_url) as s:
        per_doc = s.execute(select(Verdict.document_id, func.count()).group_by(Verdict.document_id)).all()
        assert len(per_doc) == len(ids) and all(n == 1 for _, n in per_doc), "no duplicate verdicts"
        flags = s.execute(select(Flag.document_id, func.count()).group_by(Flag.document_id)).all()
        assert flags and all(n == 1 for _, n in flags), "no duplicate flags"


def test_sweeper_rescues_documents_never_enqueued(pg_url, redis_url, namespace, worker_factory):
    ids = _insert_docs(pg_url, 10)  # stored, but their scoring message was "lost"
    worker_factory(ADSCREEN_SWEEPER_MIN_AGE_SECONDS="0")
    client(redis_url).send_task("adscreen.sweep_unscored", queue=namespace)
    wait_for(lambda: _scored(pg_url) == len(ids), 60, "the sweeper's batches scored")
    assert _count(pg_url, Verdict) == len(ids)


def test_worker_retries_while_the_database_is_down(
    redis_url, namespace, worker_factory, tmp_path, monkeypatch
):
    """The batch arrives before its database exists; backoff retries finish it once the database is up."""
    name = f"adscreen_t_down_{namespace}"
    url = _pg_url_for(name)
    env_url = url
    # the worker fixture uses pg_url; start this worker by hand against the missing database
    from tests.workers import WorkerProcess

    w = WorkerProcess(worker_env(env_url, redis_url, namespace, tmp_path), tmp_path / "down.log")
    try:
        w.wait_ready()
        client(redis_url).send_task("adscreen.score_batch", args=[[1, 2, 3]], queue=namespace)
        wait_for(
            lambda: b"Retry in" in (tmp_path / "down.log").read_bytes(), 60, "a retry after the DB error"
        )
        create_database(name)
        upgrade(url)
        _insert_docs(url, 3)
        wait_for(lambda: _scored(url) == 3, 90, "the retried batch scored")
        assert _count(url, Verdict) == 3
    finally:
        w.stop()
        drop_database(name)
