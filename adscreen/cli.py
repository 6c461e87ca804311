"""The ``adscreen`` command line (Typer). Sub-commands of the libraries are mounted from their own packages.

The libraries read no environment: the root callback hands them this project's settings before any command runs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from adscreen.settings import get_settings
from classifier import cli as clf_cli
from keywords import cli as keywords_cli
from operators import cli as operators_cli
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


_STATE = {"debug": False}


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", help="show the traceback of an expected error instead of its one line")
    ] = False,
) -> None:
    """adscreen: screening of ads and listings for illegal-fundraising promotions."""
    _STATE["debug"] = debug
    settings = get_settings()
    keywords_cli.configure(settings.lexicon_dir)
    clf_cli.configure(settings.model_dir, after_train=_fit_combiner_after_train)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema (PostgreSQL or SQLite)."""
    from store.db import upgrade

    upgrade(get_settings().database_url)
    console.print(f"schema up to date: {_redact(get_settings().database_url)}")


# --- sources ------------------------------------------------------------------------------------------------------
# Expected errors of these commands are one line on stderr saying what to do, exit status 2 (`--debug`: traceback).


class CliError(Exception):
    """An expected error of a command: its message is the one line shown, with the fix."""


@contextmanager
def _one_line_errors() -> Iterator[None]:
    from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError

    from crawler.run import CrawlRefused
    from store.sources import ProfileError, SourceInUse

    try:
        yield
    except (CliError, CrawlRefused, ProfileError, SourceInUse) as exc:
        if _STATE["debug"]:
            raise
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except (OperationalError, InterfaceError, ProgrammingError) as exc:
        if _STATE["debug"]:
            raise
        typer.echo(f"error: {_database_problem(exc)}", err=True)
        raise typer.Exit(2) from exc


def _database_problem(exc: Exception) -> str:
    first = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    url = _redact(get_settings().database_url)
    if "no such table" in first or ("relation" in first and "does not exist" in first):
        return f"the database {url} has no adscreen schema ({first}): run `adscreen db upgrade`"
    return f"database {url} unreachable ({first}): start it, or set ADSCREEN_DATABASE_URL"


def _check_database() -> None:
    """One line instead of a traceback when the database is down or was never migrated."""
    from sqlalchemy import inspect

    from store.db import engine_for

    url = get_settings().database_url
    with engine_for(url).connect() as conn:
        if not inspect(conn).has_table("sources"):
            raise CliError(f"the database {_redact(url)} has no adscreen schema: run `adscreen db upgrade`")


def _check_broker() -> None:
    """With a broker configured, the crawl sends its scoring batches there: it has to answer."""
    from kombu import Connection

    url = get_settings().broker_url
    if not url:
        return
    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=3)
    except Exception as exc:  # noqa: BLE001 - kombu raises transport-specific errors
        raise CliError(
            f"broker {_redact(url)} unreachable ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}):"
            " start it (e.g. Redis), or unset ADSCREEN_BROKER_URL to crawl and score in this process"
        ) from exc


def _load_profile_file(path: Path) -> dict[str, Any]:
    from store.sources import ProfileError, load_profile

    try:
        return load_profile(path)
    except ProfileError as exc:
        raise CliError(f"invalid profile {path}: {exc}") from exc


def _say(text: str) -> None:
    """One line as it is: no wrapping at the terminal width (URLs stay whole), no markup or highlighting (a hostile
    URL is text)."""
    console.print(text, soft_wrap=True, highlight=False, markup=False)


def _beijing(at: datetime | None) -> str:
    """A time as every screen shows it: ``YYYY-MM-DD HH:MM 北京时间``."""
    if at is None:
        return "-"
    if at.tzinfo is None:  # stored UTC without a zone (older rows)
        at = at.replace(tzinfo=UTC)
    return at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M 北京时间")


def _existing_source(session: Any, name: str) -> Any:
    from store.sources import get_source, list_sources

    source = get_source(session, name)
    if source is None:
        known = ", ".join(s.name for s in list_sources(session)[:20]) or "none yet"
        raise CliError(
            f"unknown source {name!r} (known: {known}): add its profile first: adscreen sources add PROFILE.yaml"
        )
    return source


@sources_app.command("add")
def sources_add(profile: Annotated[Path, typer.Argument(dir_okay=False, help="the profile (YAML)")]) -> None:
    """Register a source from its profile file (re-adding replaces the profile; a disabled source stays disabled)."""
    from store.db import session_scope
    from store.sources import upsert_source

    with _one_line_errors():
        data = _load_profile_file(profile)
        _check_database()
        with session_scope(get_settings().database_url) as session:
            source = upsert_source(session, data, actor=_actor())
            state = "" if source.enabled else f" — disabled: adscreen sources enable {source.name}"
            _say(
                f"source {source.name} ({source.kind}) saved, every {source.interval_seconds}s{state}"
            )


@sources_app.command("list")
def sources_list() -> None:
    """The registered sources, their schedule and when they were last crawled."""
    from store.db import session_scope
    from store.sources import list_sources

    with _one_line_errors():
        _check_database()
        table = Table("name", "kind", "interval (s)", "enabled", "last crawled")
        with session_scope(get_settings().database_url) as session:
            for s in list_sources(session):
                table.add_row(s.name, s.kind, str(s.interval_seconds), str(s.enabled), _beijing(s.last_crawled_at))
        console.print(table, soft_wrap=True)


@sources_app.command("test")
def sources_test(
    profile: Annotated[Path, typer.Argument(dir_okay=False, help="the profile (YAML) to try")],
    as_json: Annotated[bool, typer.Option("--json", help="print the trial's result as JSON")] = False,
) -> None:
    """Try a profile: fetch one listing page and one detail page (or API record), print the extracted fields.

    Nothing is stored, not even a rejection: the database is not touched. The same fetching as a crawl (robots.txt,
    SSRF guard, charset detection, extraction), so what this prints is what a crawl would store.
    """
    from crawler.run import crawl_source

    with _one_line_errors():
        data = _load_profile_file(profile)
        with console.status(f"fetching one listing page of {data['name']} …"):
            stats = crawl_source(data["name"], settings=get_settings(), profile=data, trial=True)
        trial = stats.get("trial") or {}
        if as_json:
            sys.stdout.write(json.dumps(trial, ensure_ascii=False, indent=2) + "\n")
        else:
            _print_trial(trial)
        if stats["start_refused"]:
            _refuse_start(stats["start_refused"][0])
        if not trial.get("items"):
            raise CliError(
                f"{profile}: no document extracted — check list.detail_link / api.items_path and the fields "
                "against the page (rejections above)"
            )


def _print_trial(trial: dict[str, Any]) -> None:
    listing = trial.get("listing")
    if listing:
        nxt = listing.get("next_page") or "none found"
        _say(f"listing page {listing['url']}: {listing['links']} detail links / records, next page: {nxt}")
    else:
        _say("no listing page could be read (see the rejections below)")
    for item in trial.get("items") or []:
        table = Table("field", "value", title=Text(f"detail {item['url']}"), show_lines=True)
        for key in ("title", "publisher", "contact", "posted_at", "region", "price", "category", "encoding"):
            value = item.get(key)
            if key == "posted_at" and value:
                value = _beijing(datetime.fromisoformat(value))
            table.add_row(key, Text("-" if value in (None, "") else str(value)))  # page text is never markup
        text = item.get("text") or ""
        table.add_row("text", Text(text[:600] + (f" … ({len(text)} characters)" if len(text) > 600 else "")))
        console.print(table, soft_wrap=True)
    for rejection in trial.get("rejections") or []:
        _say(f"refused {rejection['url']}: {rejection['reason']} {rejection['detail'][:200]}")


def _refuse_start(refused: dict[str, str]) -> None:
    detail = refused["detail"]
    if "metadata" in detail or "link-local" in detail:
        fix = "link-local and cloud-metadata addresses are never crawled: correct the URL"
    elif "not a host the profile names" in detail:
        fix = "list the host under allowed_hosts in the profile if it is meant to be crawled"
    else:
        fix = "if this is a site on your own network that you mean to crawl, set allow_private: true in the profile"
    raise CliError(f"start URL {refused['url']} refused by the SSRF guard ({detail}): {fix}")


@sources_app.command("crawl")
def sources_crawl(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="print the crawl's figures as JSON instead")] = False,
) -> None:
    """Crawl one source now and print what happened.

    With a broker, new and changed documents are queued for the scoring workers; without one (the embedded mode)
    they are scored here, so flags are raised before the command ends.
    """
    from crawler.run import crawl_source
    from store.db import session_scope

    settings = get_settings()
    with _one_line_errors():
        _check_database()
        with session_scope(settings.database_url) as session:
            source = _existing_source(session, name)
            if not source.enabled:
                raise CliError(f"source {name!r} is disabled: enable it first: adscreen sources enable {name}")
        _check_broker()
        with console.status(f"crawling {name} …"):
            stats = crawl_source(name, settings=settings)
        if settings.embedded:
            stats["scored"], stats["flagged"] = _score_stored(settings, stats["score_deferred_ids"])
        if as_json:
            sys.stdout.write(json.dumps(stats, ensure_ascii=False, default=str, indent=2) + "\n")
        else:
            _print_crawl_summary(stats, settings.embedded)
        if stats["start_refused"]:
            _refuse_start(stats["start_refused"][0])


def _score_stored(settings: Any, ids: list[int]) -> tuple[int, int]:
    """Embedded mode: score the documents the crawl stored (new and changed), as the workers would."""
    from operators.cli import risk_config
    from scoring.documents import score_document_ids
    from scoring.engine import build_scorer

    if not ids:
        return 0, 0
    scored = flagged = 0
    with console.status(f"scoring {len(ids)} documents …"):
        scorer = build_scorer(settings)
        risk = risk_config(settings)  # the operator thresholds, as the workers use them
        size = settings.score_batch_size
        for start in range(0, len(ids), size):
            result = score_document_ids(settings.database_url, ids[start : start + size], scorer, risk=risk)
            scored += result.scored
            flagged += result.flagged
        from scoring.images import read_unread_images

        read_unread_images(settings, scorer)  # the images (OCR, QR), after the text verdicts (issue 14)
    # flags of these documents after both passes: an image-only pitch is flagged by the images pass
    from sqlalchemy import func, select

    from store.db import session_scope
    from store.models import Flag

    with session_scope(settings.database_url) as session:
        flagged = max(flagged, session.scalar(select(func.count(Flag.id)).where(Flag.document_id.in_(ids))) or 0)
    return scored, flagged


def _print_crawl_summary(stats: dict[str, Any], embedded: bool) -> None:
    _say(
        f"crawled {stats['source']}: {stats['pages']} pages, {stats['requests']} requests "
        f"in {stats['elapsed_seconds']:.1f} s ({stats['finish_reason']})"
    )
    _say(
        f"documents: {stats['documents_new']} new, {stats['documents_updated']} changed, {stats['unchanged']} "
        f"unchanged ({stats['not_modified']} answered 304), {stats['duplicates']} duplicates within the crawl"
    )
    rejections = stats.get("rejections") or {}
    examples = stats.get("rejection_examples") or {}
    _say(f"rejections: {stats['rejections_total']}" + ("" if rejections else " (none)"))
    for reason, count in sorted(rejections.items(), key=lambda kv: (-kv[1], kv[0])):
        _say(f"  {reason:<18} {count:>5}  e.g. {examples.get(reason, '-')}")
    if embedded:
        _say(
            f"scored {stats.get('scored', 0)} documents in this process: {stats.get('flagged', 0)} flags raised"
            + (" — see them with: adscreen queue list" if stats.get("flagged") else "")
        )
    else:
        queued = stats["score_enqueued"]
        _say(f"queued {queued} documents for scoring on the workers (flags appear as they are scored)")
        if stats["score_not_enqueued"]:
            _say(
                f"{stats['score_not_enqueued']} documents could not be queued (broker): the sweeper "
                "queues them later"
            )


def _set_enabled(name: str, enabled: bool) -> None:
    from store.db import session_scope
    from store.sources import set_enabled

    with _one_line_errors():
        _check_database()
        with session_scope(get_settings().database_url) as session:
            _existing_source(session, name)
            set_enabled(session, name, enabled, actor=_actor())
        if enabled:
            _say(f"source {name} enabled: the schedule crawls it again every interval")
        else:
            _say(f"source {name} disabled: the schedule skips it (adscreen sources enable {name} to resume)")


@sources_app.command("disable")
def sources_disable(name: str) -> None:
    """Stop crawling a source: the schedule skips it and `sources crawl` refuses it; its documents stay."""
    _set_enabled(name, False)


@sources_app.command("enable")
def sources_enable(name: str) -> None:
    """Crawl a disabled source again on its schedule."""
    _set_enabled(name, True)


@sources_app.command("remove")
def sources_remove(name: str) -> None:
    """Delete a source that never stored anything (one added by mistake).

    A source with documents or recorded rejections is refused: its documents are evidence of cases and point at
    it, so it stays registered; disable it instead.
    """
    from store.db import session_scope
    from store.sources import remove_source

    with _one_line_errors():
        _check_database()
        with session_scope(get_settings().database_url) as session:
            _existing_source(session, name)
            remove_source(session, name, actor=_actor())
        _say(f"source {name} removed")


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="worker processes")] = 2,
    queues: Annotated[
        str, typer.Option(help="comma-separated: default (scoring, rescoring), crawl, images (OCR, QR codes)")
    ] = "default,crawl,images",
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
    classifier: Annotated[
        bool | None,
        typer.Option(help="use the trained classifier when there is one (default: ADSCREEN_USE_CLASSIFIER)"),
    ] = None,
) -> None:
    """Score texts without a database: one output line per input line, an error record for a bad one.

    Exit status 0 when every record was scored, 1 when some were not (their count on stderr), 2 on a usage error.
    """
    from adscreen.batch_score import score_file

    settings = get_settings()
    use = settings.use_classifier if classifier is None else classifier
    n, errors = score_file(inp, out, settings, use_classifier=use, console=console)
    console.print(f"wrote {n} records → {out}")
    if errors:
        typer.echo(f"{errors} of {n} records failed (see their error field)", err=True)
        raise typer.Exit(1)


@app.command("score-image")
def score_image(
    files: Annotated[list[Path], typer.Argument(help="image files (PNG, JPEG, GIF, WebP, BMP)")],
    classifier: Annotated[
        bool | None,
        typer.Option(help="use the trained classifier when there is one (default: ADSCREEN_USE_CLASSIFIER)"),
    ] = None,
) -> None:
    """OCR, QR codes and the verdict of each image, one JSON line per file: id, ocr_text, qr, score, level, flag, hits.

    Every file is checked first (magic bytes, pixel limit, SVG, polyglots): a refused one says why in
    ``image_rejected``; a file that cannot be read is an ``error`` record. Exit status 1 when some were errors.
    """
    from adscreen.batch_score import ImageReader, encode, image_files_records
    from scoring.engine import build_scorer

    s = get_settings()
    scorer = build_scorer(s, use_classifier=classifier)
    reader = ImageReader(s.max_image_bytes, s.max_image_pixels, s.ocr_threads)
    records = image_files_records(scorer, reader, [str(f) for f in files])
    for rec in records:
        sys.stdout.buffer.write(encode(rec))
    sys.stdout.flush()
    if errors := sum("error" in r for r in records):
        typer.echo(f"{errors} of {len(records)} files failed (see their error field)", err=True)
        raise typer.Exit(1)


@app.command()
def evaluate(
    split: Annotated[str, typer.Option(help="seed-set split (test, dev, train); 'all' for every row of --data")] = "test",
    data: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="labelled JSONL (default: the seed set)")
    ] = None,
    errors: Annotated[bool, typer.Option("--errors", help="list misses and false alarms with their top features")] = False,
    evasion: Annotated[bool, typer.Option("--evasion", help="recall on evasion rewrites of the positives")] = False,
    out: Annotated[Path, typer.Option(help="report.json and calibration.png go here")] = Path("var/eval"),
) -> None:
    """The combined verdict and each detector alone: P/R/F1, hard-negative flags, per source and subtype."""
    from scoring.evaluate import SEED
    from scoring.evaluate import evaluate as run_evaluation

    run_evaluation(
        get_settings(), data or SEED, None if split == "all" else split,
        errors=errors, evasion=evasion, out_dir=out, echo=typer.echo,
    )


@app.command("fit-combiner")
def fit_combiner(
    force: Annotated[bool, typer.Option(help="refit even if one was fitted on the same data")] = False,
) -> None:
    """Fit the detectors' combination for the current classifier (``adscreen train`` does this itself)."""
    from scoring.evaluate import ensure_combiner

    c = ensure_combiner(get_settings(), force=force, echo=typer.echo)
    typer.echo(f"combination {c.version}: {json.dumps(c.meta.get('metrics', {}).get('dev_at_0.5'))}")


def _fit_combiner_after_train(model_dir: Path, rows: list[dict]) -> None:
    """``adscreen train`` refits the combination for whichever classifier is current after training."""
    from scoring.evaluate import ensure_combiner

    ensure_combiner(get_settings().model_copy(update={"model_dir": model_dir}), rows, echo=typer.echo)


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
app.add_typer(operators_cli.app, name="operators", help="Operators behind the ads: list, show, rebuild, …")
app.command("train")(clf_cli.train)
app.command("evaluate-classifier")(clf_cli.evaluate)
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

