"""The ``adscreen`` command line (Typer). Sub-commands of the libraries are mounted from their own packages.

The libraries read no environment: the root callback hands them this project's settings before any command runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from adscreen.settings import get_settings
from classifier import cli as clf_cli
from keywords import cli as keywords_cli
from review import cli as review_cli

app = typer.Typer(
    help="adscreen: screening of ads and listings for illegal-fundraising promotions.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
sources_app = typer.Typer(help="Crawl sources (one profile file per site).", no_args_is_help=True)
queue_app = typer.Typer(help="The inspectors' flag queue.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(sources_app, name="sources")
app.add_typer(queue_app, name="queue")
console = Console()


@app.callback()
def main() -> None:
    """adscreen: screening of ads and listings for illegal-fundraising promotions."""
    settings = get_settings()
    keywords_cli.configure(settings.lexicon_dir)
    clf_cli.configure(settings.model_dir)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema (PostgreSQL or SQLite)."""
    from store.db import upgrade

    upgrade(get_settings().database_url)
    console.print(f"schema up to date: {_redact(get_settings().database_url)}")


@sources_app.command("add")
def sources_add(profile: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Register a source from its profile file (re-adding replaces the profile)."""
    from store.db import session_scope
    from store.sources import ProfileError, load_profile, upsert_source

    try:
        data = load_profile(profile)
    except ProfileError as exc:
        console.print(f"[red]invalid profile {profile}: {exc}[/red]")
        raise typer.Exit(2) from exc
    with session_scope(get_settings().database_url) as session:
        source = upsert_source(session, data, actor=_actor())
        console.print(
            f"source [bold]{source.name}[/bold] ({source.kind}) saved, every {source.interval_seconds}s"
        )


@sources_app.command("list")
def sources_list() -> None:
    from store.db import session_scope
    from store.sources import list_sources

    table = Table("name", "kind", "interval (s)", "enabled", "last crawled")
    with session_scope(get_settings().database_url) as session:
        for s in list_sources(session):
            table.add_row(
                s.name, s.kind, str(s.interval_seconds), str(s.enabled), str(s.last_crawled_at or "-")
            )
    console.print(table)


@sources_app.command("crawl")
def sources_crawl(name: str) -> None:
    """Crawl one source now (in a subprocess), then queue its new documents for scoring."""
    from crawler.run import crawl_source

    stats = crawl_source(name, get_settings().database_url)
    console.print_json(json.dumps(stats, ensure_ascii=False, default=str))


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="worker processes")] = 2,
    queues: Annotated[
        str, typer.Option(help="comma-separated: default (scoring, rescoring), crawl")
    ] = "default,crawl",
    loglevel: str = "INFO",
) -> None:
    """Run a Celery worker (needs ADSCREEN_BROKER_URL)."""
    _require_broker()
    from worker.celery_app import QUEUES
    from worker.celery_app import app as celery_app

    try:
        names = [QUEUES[q.strip()] for q in queues.split(",") if q.strip()]
    except KeyError as exc:
        console.print(f"[red]unknown queue {exc}; expected some of {sorted(QUEUES)}[/red]")
        raise typer.Exit(2) from exc
    celery_app.worker_main(
        ["worker", f"--concurrency={concurrency}", f"--loglevel={loglevel}", "-Q", ",".join(names)]
    )


@app.command()
def beat(loglevel: str = "INFO") -> None:
    """Run Celery beat: crawls on each source's interval, and the sweeper of unscored documents."""
    _require_broker()
    from worker.celery_app import app as celery_app

    schedule = get_settings().var_dir / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    celery_app.start(["beat", f"--loglevel={loglevel}", f"--schedule={schedule}"])


@app.command("demo-site")
def demo_site(port: int = 8765, host: str = "127.0.0.1") -> None:
    """Serve the bundled demo classified-ad site and listing API on loopback."""
    from demo_site.server import serve

    console.print(f"demo site on http://{host}:{port}/")
    serve(host, port)


@queue_app.command("list")
def queue_list(
    status: Annotated[
        str | None, typer.Option(help="open, claimed, confirmed, dismissed, referred, …")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    limit: int = 50,
) -> None:
    from store.db import session_scope
    from store.queue import QueueFilter, list_flags

    with session_scope(get_settings().database_url) as session:
        flags = list_flags(session, QueueFilter(status=status), limit=limit)
        rows = [
            {
                "flag_id": f.id,
                "status": f.status,
                "level": f.level,
                "score": f.priority,
                "category": f.category,
                "title": f.document.title,
                "url": f.document.url,
                "explanation": f.verdict.explanation,
            }
            for f in flags
        ]
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("id", "status", "level", "score", "category", "title")
    for r in rows:
        table.add_row(
            str(r["flag_id"]),
            r["status"],
            r["level"],
            f"{r['score']:.2f}",
            r["category"] or "-",
            (r["title"] or "")[:40],
        )
    console.print(table)


@app.command()
def score(
    inp: Annotated[Path, typer.Option("--in", exists=True, dir_okay=False, help="JSONL with id and text")],
    out: Annotated[Path, typer.Option("--out", help="JSONL verdicts")],
    classifier: Annotated[bool, typer.Option(help="use the trained classifier when there is one")] = True,
) -> None:
    """Score texts without a database: one output line per input line, an error record for a bad one.

    Exit status 0 when every record was scored, 1 when some were not (their count on stderr), 2 on a usage error.
    """
    from adscreen.batch_score import score_file

    n, errors = score_file(inp, out, get_settings(), use_classifier=classifier, console=console)
    console.print(f"wrote {n} records → {out}")
    if errors:
        typer.echo(f"{errors} of {n} records failed (see their error field)", err=True)
        raise typer.Exit(1)


@app.command("evaluate-blend")
def evaluate_blend(
    split: Annotated[str, typer.Option(help="seed-set split to report (train, dev, test)")] = "test",
    fit: Annotated[bool, typer.Option(help="fit the keyword/classifier blend on the dev split first")] = False,
    data: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="labelled JSONL (default: the seed set)")
    ] = None,
) -> None:
    """Keywords alone, classifier alone and the combined verdict on a labelled split."""
    from scoring.evaluate import SEED, compare

    compare(get_settings(), data or SEED, split, fit, echo=typer.echo)


@app.command("score-pending")
def score_pending() -> None:
    """Score every unscored document in-process (the embedded mode's replacement for the workers)."""
    from adscreen.demo import score_unscored

    n = score_unscored(get_settings(), console)
    console.print(f"scored {n} documents")


@app.command()
def rescore(scope: Annotated[str, typer.Option(help="open (undecided flags) or all")] = "open") -> None:
    """After a lexicon or model change: score again (queued on Celery, in-process in the embedded mode)."""
    if scope not in ("open", "all"):
        console.print("[red]--scope must be open or all[/red]")
        raise typer.Exit(2)
    if get_settings().embedded:
        from adscreen.demo import score_unscored

        n = score_unscored(get_settings(), console, rescore_scope=scope)
        console.print(f"rescored {n} documents in-process")
        return
    from worker.dispatch import send

    send("adscreen.rescore", scope)
    console.print(f"rescore of scope {scope!r} queued")


@app.command("export-decisions")
def export_decisions(
    out: Annotated[Path, typer.Option("--out", help="JSONL of {id, text, label, subtype}")],
) -> None:
    """Inspectors' decisions as labelled rows, for `adscreen train --extra FILE` (merged into the train split)."""
    from store.db import session_scope
    from store.training import decision_rows

    with session_scope(get_settings().database_url) as session:
        rows = decision_rows(session)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    pos = sum(r["label"] == "fundraising" for r in rows)
    console.print(f"{len(rows)} decided cases ({pos} confirmed, {len(rows) - pos} dismissed) → {out}")


@app.command()
def sweep() -> None:
    """Re-enqueue documents left unscored."""
    from worker.dispatch import send

    console.print(f"sweep: {send('adscreen.sweep_unscored')}")


@app.command()
def demo(
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="serve the review app after the summary")
    ] = True,
    port: Annotated[int, typer.Option(help="port of the review app")] = 8000,
) -> None:
    """The main job on the embedded default: crawl the bundled demo site, score, fill the queue, summarise."""
    from adscreen.demo import run_demo

    run_demo(get_settings(), console, serve=serve, port=port)


# The libraries' own commands, mounted directly: a broken import in one of them must fail loudly, not make the
# command vanish.
app.add_typer(keywords_cli.app, name="keywords", help="The keyword lexicon: match, test, add, remove, …")
app.command("train")(clf_cli.train)
app.command("evaluate")(clf_cli.evaluate)
app.command("convert")(clf_cli.convert)
app.command("serve")(review_cli.serve)
app.add_typer(review_cli.users_app, name="users", help="Accounts of the review app.")


def _require_broker() -> None:
    if get_settings().embedded:
        console.print(
            "[red]ADSCREEN_BROKER_URL is not set: workers need a broker (e.g. redis://localhost:6379/0)[/red]"
        )
        raise typer.Exit(2)


def _actor() -> str:
    return get_settings().cli_actor


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)

