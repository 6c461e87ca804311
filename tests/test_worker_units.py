"""Worker seams on SQLite, in-process (no broker): the sweep query, crawl scheduling, producers by task name.

The same tasks run on real Celery workers against PostgreSQL and Redis in ``test_pipeline_worker.py``.
"""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from store.db import session_scope
from store.documents import DocumentIn, save_document
from store.models import Document, Source, utcnow
from store.sources import mark_crawled
from store.sweep import stale_unscored_ids
from tests.conftest import embedded_mode

ROOT = Path(__file__).resolve().parents[1]
PITCH = "某某财富：保本保息，年化收益18%，一万起投，推荐好友投资再返利2%。"
PLAIN = "二手自行车转让，九成新，价格面议，限本地自提。"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_dispatch_and_tasks_do_not_import_each_other():
    assert not any(n.startswith("worker.tasks") for n in _imports(ROOT / "worker/dispatch.py"))
    assert not any(n.startswith("worker.dispatch") for n in _imports(ROOT / "worker/tasks.py"))


def _docs(url: str, texts: list[str], ages_s: list[int]) -> list[int]:
    ids = []
    with session_scope(url) as s:
        for i, (text, age) in enumerate(zip(texts, ages_s, strict=True)):
            doc, _ = save_document(
                s, DocumentIn(url=f"http://t.test/{i}", canonical_url=f"http://t.test/{i}", text=text, raw=b"x")
            )
            s.flush()
            s.execute(update(Document).where(Document.id == doc.id).values(fetched_at=utcnow() - timedelta(seconds=age)))
            ids.append(doc.id)
    return ids


def test_sweep_query_leaves_fresh_and_scored_documents_alone(sqlite_url):
    ids = _docs(sqlite_url, [PITCH, PLAIN, PITCH, PLAIN], [600, 10, 900, 3600])
    with session_scope(sqlite_url) as s:
        s.execute(update(Document).where(Document.id == ids[3]).values(scored_at=utcnow()))
    with session_scope(sqlite_url) as s:
        assert stale_unscored_ids(s, 120) == [ids[0], ids[2]]
        assert stale_unscored_ids(s, 120, limit=1) == [ids[0]]
        assert stale_unscored_ids(s, 0, now=utcnow() + timedelta(seconds=5)) == [ids[0], ids[1], ids[2]]


@pytest.fixture
def embedded(sqlite_url, tmp_path, monkeypatch):
    """Settings of the embedded mode on a fresh SQLite file, keywords only; the process scorer rebuilt after."""
    with embedded_mode(monkeypatch, sqlite_url, tmp_path / "lexicon", ADSCREEN_SCORE_BATCH_SIZE="2") as url:
        yield url


def test_sweep_sent_by_name_scores_the_stale_documents_in_process(embedded):
    from worker.dispatch import send

    ids = _docs(embedded, [PITCH, PLAIN, PITCH, PLAIN, PITCH], [600, 600, 600, 600, 5])
    assert send("adscreen.sweep_unscored") == 4  # in batches of 2: the sibling task runs in-process too
    with session_scope(embedded) as s:
        scored = dict(s.execute(select(Document.id, Document.scored_at)).all())
    assert [scored[i] is not None for i in ids] == [True, True, True, True, False]


def test_schedule_claims_due_sources_once(embedded, monkeypatch):
    import worker.tasks as tasks

    sent: list[tuple[str, tuple]] = []
    monkeypatch.setattr(tasks, "submit", lambda task, *args: sent.append((task.name, args)))
    with session_scope(embedded) as s:
        never, recent, stale, off = (
            Source(name=n, kind="html", profile={"name": n}, interval_seconds=3600)
            for n in ("never", "recent", "stale", "off")
        )
        s.add_all([never, recent, stale, off])
        s.flush()
        mark_crawled(s, recent.id, utcnow() - timedelta(seconds=60))
        mark_crawled(s, stale.id, utcnow() - timedelta(seconds=7200))
        mark_crawled(s, off.id, utcnow() - timedelta(days=2))
        s.execute(update(Source).where(Source.id == off.id).values(enabled=False))
        ids = {"never": never.id, "stale": stale.id}
    before = utcnow()
    assert sorted(tasks.schedule_crawls()) == ["never", "stale"]
    assert sorted(sent) == [("adscreen.crawl_source", ("never",)), ("adscreen.crawl_source", ("stale",))]
    with session_scope(embedded) as s:
        for sid in ids.values():
            assert s.get(Source, sid).last_crawled_at >= before - timedelta(seconds=1)
    assert tasks.schedule_crawls() == []  # the slots are claimed: the next tick sends nothing
    assert len(sent) == 2
