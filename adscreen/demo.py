"""``adscreen demo``: the whole job on the embedded default (SQLite file, tasks in-process).

This mode exists for the one-command demo only; production runs Celery workers on Redis against PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select

from operators.cli import risk_config
from scoring.documents import score_document_ids
from scoring.engine import build_scorer
from store.db import session_scope, upgrade
from store.documents import rescore_ids, unscored_ids
from store.models import Document, Flag, Rejection

DEMO_USER = ("inspector", "demo-inspector-2026")
DEMO_SITE_PORT = 8765


def ensure_classifier(settings: Any, console: Console) -> None:
    """Convert the base model and train the classifier on first run; later runs reuse the cache."""
    from scoring.evaluate import ensure_combiner

    if not settings.use_classifier:
        console.print(
            "classifier disabled (ADSCREEN_USE_CLASSIFIER=false): scoring with the lexicon and the n-gram model"
        )
    else:
        from classifier.setup import ensure_model
        from scoring.engine import classifier_dir

        run = ensure_model(classifier_dir(settings), progress=True)
        console.print(f"classifier ready: {run}")
    with console.status("fitting the detectors' combination (train out-of-fold, dev calibration)"):
        ensure_combiner(settings, echo=lambda s: None)


def score_unscored(settings: Any, console: Console, rescore_scope: str | None = None) -> int:
    """Score documents in-process with a progress bar (all unscored, or again those of a rescore scope)."""
    scorer = build_scorer(settings)
    risk = risk_config(settings)  # the operator thresholds, as the workers use them
    with session_scope(settings.database_url) as session:
        if rescore_scope is not None:
            ids = rescore_ids(session, rescore_scope)
        else:
            ids = unscored_ids(session, limit=10**9)
    size = settings.score_batch_size
    with _progress(console) as progress:
        task = progress.add_task("scoring documents", total=len(ids))
        for start in range(0, len(ids), size):
            score_document_ids(settings.database_url, ids[start : start + size], scorer, risk=risk)
            progress.advance(task, len(ids[start : start + size]))
    from scoring.images import read_unread_images

    with console.status("reading the images (OCR, QR codes) …"):  # after the text verdicts (issue 14)
        read_unread_images(settings, scorer)
    return len(ids)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def run_demo(settings: Any, console: Console, *, serve: bool, port: int) -> None:
    if not settings.embedded:
        console.print("[yellow]ADSCREEN_BROKER_URL is set, but the demo always runs in-process.[/yellow]")
    console.print(
        Panel.fit(
            "adscreen demo — embedded mode: SQLite file and in-process tasks (demo only; production uses "
            "PostgreSQL + Redis + Celery workers, see README)",
            style="cyan",
        )
    )
    upgrade(settings.database_url)
    ensure_classifier(settings, console)

    from demo_site import crawl_profiles
    from demo_site.server import start_in_thread

    try:  # a stable port keeps canonical URLs (and so documents) the same across demo runs
        server, base_url = start_in_thread("127.0.0.1", DEMO_SITE_PORT)
    except OSError:
        server, base_url = start_in_thread("127.0.0.1", 0)
    console.print(f"demo site serving on {base_url}")
    try:
        from crawler.run import crawl_source
        from store.sources import upsert_source

        with session_scope(settings.database_url) as session:
            names = [upsert_source(session, p, actor="demo").name for p in crawl_profiles(base_url)]
        for name in names:
            with console.status(f"crawling {name} …"):
                stats = crawl_source(name, settings=settings)
            console.print(f"crawled [bold]{name}[/bold]: {_fmt_stats(stats)}")
    finally:
        server.shutdown()
    score_unscored(settings, console)
    print_summary(settings, console)
    print_agreement(settings, console)
    # operators (issue 13): the site's stop list, a rebuild with it, linking precision/recall against the key
    from operators.demo_key import demo_operators

    demo_operators(settings, console)
    if serve:
        _serve(settings, console, port)


def _fmt_stats(stats: dict) -> str:
    keys = ("pages", "documents_new", "documents_updated", "unchanged", "duplicates")
    parts = [f"{k}={stats[k]}" for k in keys if k in stats]
    rej = stats.get("rejections") or {}
    if rej:
        parts.append("rejections=" + ",".join(f"{k}:{v}" for k, v in rej.items()))
    return " ".join(parts) or str(stats)


def print_summary(settings: Any, console: Console, top: int = 10) -> dict[str, Any]:
    with session_scope(settings.database_url) as session:
        n_docs = session.scalar(select(func.count(Document.id))) or 0
        rejections = Counter(
            dict(session.execute(select(Rejection.reason, func.count()).group_by(Rejection.reason)).all())
        )
        levels = Counter(dict(session.execute(select(Flag.level, func.count()).group_by(Flag.level)).all()))
        flags = list(session.scalars(select(Flag).order_by(Flag.priority.desc(), Flag.id).limit(top)))
        rows = [(f.id, f.level, f.priority, f.document.title or "", f.verdict.explanation) for f in flags]
    console.print(
        Panel.fit(
            f"documents: {n_docs}    rejections: {sum(rejections.values())} {dict(rejections) or ''}\n"
            f"flags: {sum(levels.values())}  (high {levels.get('high', 0)}, medium {levels.get('medium', 0)}, "
            f"low {levels.get('low', 0)})",
            title="summary",
        )
    )
    table = Table("flag", "level", "score", "title", "why", title=f"top {top} flags", show_lines=True)
    for fid, level, score, title, why in rows:
        table.add_row(str(fid), level, f"{score:.2f}", title[:30], why[:120])
    console.print(table)
    return {"documents": n_docs, "rejections": dict(rejections), "flags": dict(levels)}


def demo_agreement(database_url: str) -> dict[str, int]:
    """How the queue matches the demo site's own answer key (fundraising vs negative per ad)."""
    from urllib.parse import urlsplit

    from demo_site.content import expected_labels

    expected = expected_labels()
    counts = Counter()
    with session_scope(database_url) as session:
        rows = session.execute(
            select(Document.url, Flag.status).outerjoin(Flag, Flag.document_id == Document.id)
        )
        for url, status in rows:
            label = expected.get(urlsplit(url).path)
            if label is None:
                continue
            flagged = status is not None and status != "withdrawn"
            positive = label["expected"] == "fundraising"
            counts[("tp" if positive else "fp") if flagged else ("fn" if positive else "tn")] += 1
    return dict(counts)


def print_agreement(settings: Any, console: Console) -> None:
    c = demo_agreement(settings.database_url)
    tp, fp, fn = c.get("tp", 0), c.get("fp", 0), c.get("fn", 0)
    if tp + fp + fn == 0:
        return
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    console.print(
        f"against the demo site's answer key: {tp} pitches flagged, {fn} missed, {fp} false alarms, "
        f"{c.get('tn', 0)} correctly left out — precision {precision:.2f}, recall {recall:.2f}"
    )


def _serve(settings: Any, console: Console, port: int) -> None:
    import uvicorn

    from review.app import create_app
    from review.users import ensure_user

    with session_scope(settings.database_url) as session:
        ensure_user(session, DEMO_USER[0], DEMO_USER[1], "admin")  # kept from an earlier run when it exists
    console.print(
        Panel.fit(
            f"review app: http://127.0.0.1:{port}/   login: {DEMO_USER[0]} / {DEMO_USER[1]}  (Ctrl-C to stop)",
            style="green",
        )
    )
    uvicorn.run(create_app(settings.database_url), host="127.0.0.1", port=port, log_level="warning")
