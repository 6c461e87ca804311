"""End-to-end throughput: documents/s through Celery + Redis + PostgreSQL vs in-process `adscreen score`.

Both sides score the same documents with the same detectors (the classifier when one is trained, unless
--no-classifier). Needs PostgreSQL and Redis (the test services). Prints both figures and their ratio.

    .venv/bin/python bench/bench_e2e.py [--docs 2000] [--workers 2] [--no-classifier]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from store.db import engine_for, session_scope, upgrade  # noqa: E402
from store.documents import DocumentIn, save_document  # noqa: E402
from store.models import Document  # noqa: E402
from tests.workers import WorkerProcess, client, wait_for, worker_env  # noqa: E402

PG_ADMIN = os.environ.get("ADSCREEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("ADSCREEN_TEST_REDIS", "redis://127.0.0.1:6379/0")


def sample_texts(n: int) -> list[str]:
    """~100-character ads: the demo site's ads, varied so that no two documents are identical."""
    try:
        from demo_site.content import ads

        base = [f"{a['title']}。{a['body']}"[:100] for a in ads()]
    except Exception:  # noqa: BLE001 - fall back to a small built-in mix
        base = [
            "某某财富：保本保息，年化收益18%，一万起投，推荐好友投资再返利。名额有限，欢迎来电咨询，专人对接。",
            "二手自行车转让，九成新，价格面议，限本地自提。另有儿童座椅一个，一起带走可优惠，周末可看车。",
            "【某银行】理财产品预期年化收益率3.5%，理财非存款，产品有风险，投资须谨慎。详询各网点。",
        ]
    return [f"{base[i % len(base)]}（编号{i}）" for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2, help="worker processes (prefork concurrency)")
    ap.add_argument("--no-classifier", action="store_true")
    args = ap.parse_args()
    texts = sample_texts(args.docs)
    use_clf = "false" if args.no_classifier else os.environ.get("ADSCREEN_USE_CLASSIFIER", "true")
    tmp = Path(tempfile.mkdtemp(prefix="bench_e2e_"))
    os.environ["ADSCREEN_USE_CLASSIFIER"] = use_clf
    os.environ.setdefault("ADSCREEN_LEXICON_DIR", str(tmp / "lexicon"))

    # in-process baseline: `adscreen score` on the same texts
    from rich.console import Console

    from adscreen.batch_score import score_file
    from adscreen.settings import get_settings

    inp, out = tmp / "in.jsonl", tmp / "out.jsonl"
    inp.write_text(
        "\n".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in enumerate(texts))
    )
    t0 = time.perf_counter()
    score_file(inp, out, get_settings(), use_classifier=use_clf == "true", console=Console(quiet=True))
    inproc = args.docs / (time.perf_counter() - t0)

    # the pipeline: documents in PostgreSQL, batches on Redis, real worker processes
    name = f"adscreen_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rpartition("/")[0] + "/" + name
    queue = f"bench{uuid.uuid4().hex[:8]}"
    worker = None
    try:
        upgrade(url)
        ids = []
        with session_scope(url) as s:
            for i, t in enumerate(texts):
                doc, _ = save_document(
                    s, DocumentIn(url=f"http://b/{i}", canonical_url=f"http://b/{i}", text=t, raw=t.encode())
                )
                ids.append(doc.id)
        env = worker_env(
            url,
            REDIS,
            queue,
            tmp,
            ADSCREEN_USE_CLASSIFIER=use_clf,
            ADSCREEN_LEXICON_DIR=os.environ["ADSCREEN_LEXICON_DIR"],
            ADSCREEN_MODEL_DIR=os.environ.get("ADSCREEN_MODEL_DIR", str(ROOT / "var/models")),
        )
        worker = WorkerProcess(env, tmp / "worker.log", concurrency=args.workers)
        worker.wait_ready(180)
        app = client(REDIS)
        size = get_settings().score_batch_size

        def scored() -> int:
            with session_scope(url) as s:
                return s.scalar(select(func.count(Document.id)).where(Document.scored_at.is_not(None))) or 0

        t0 = time.perf_counter()
        for i in range(0, len(ids), size):
            app.send_task("adscreen.score_batch", args=[ids[i : i + size]], queue=queue)
        wait_for(lambda: scored() == len(ids), 1800, "all documents scored")
        pipeline = args.docs / (time.perf_counter() - t0)
    finally:
        if worker:
            worker.stop()
        engine_for(url).dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"documents: {args.docs}  classifier: {use_clf}  worker processes: {args.workers}")
    print(f"in-process `adscreen score`: {inproc:8.1f} docs/s")
    print(f"Celery+Redis+PostgreSQL:     {pipeline:8.1f} docs/s")
    print(f"ratio pipeline/in-process:   {pipeline / inproc:8.2f}  (target >= 0.8)")


if __name__ == "__main__":
    main()
