"""``adscreen operators …`` (mounted by adscreen.cli): list, show, rebuild, split, merge, stop, warnings.

The command line is the host's glue, like ``review/cli.py``: it reads the settings and the database (lazily, inside
each command); the extraction and linking modules of this package stay a plain library.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Operators behind the ads: linked listings, risk index, early warnings.", no_args_is_help=True)
console = Console()
BEIJING = timezone(timedelta(hours=8))


def _settings() -> Any:
    from adscreen.settings import get_settings

    return get_settings()


def risk_config(settings: Any) -> Any:
    """The risk thresholds of the settings (ADSCREEN_OPERATOR_*)."""
    from operators.risk import RiskConfig

    return RiskConfig(
        high_threshold=settings.operator_high_threshold,
        watch_threshold=settings.operator_watch_threshold,
        spike_per_day=settings.operator_spike_per_day,
    )


def _beijing(iso: str | None) -> str:
    if not iso:
        return "-"
    t = datetime.fromisoformat(iso)
    t = t.replace(tzinfo=UTC) if t.tzinfo is None else t
    return t.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M 北京时间")


@app.command("list")
def list_cmd(
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    level: Annotated[str | None, typer.Option(help="高风险, 重点关注 or 正常监测")] = None,
    region: Annotated[str | None, typer.Option(help="only operators with an ad in this region")] = None,
    category: Annotated[str | None, typer.Option(help="only operators whose ads hit this scheme category")] = None,
    min_documents: Annotated[int, typer.Option(help="operators with at least this many ads")] = 2,
    limit: int = 50,
) -> None:
    """Operators by risk index, highest first, with the index's components."""
    from store.db import session_scope
    from store.operators import list_operators

    if fmt not in ("table", "json"):
        console.print("[red]--format must be table or json[/red]")
        raise typer.Exit(2)
    with session_scope(_settings().database_url) as session:
        rows = list_operators(session, level=level, region=region, category=category,
                              min_documents=min_documents, limit=limit)  # fmt: skip
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("id", "index", "level", "ads", "sites", "regions", "max", "mean", "confirmed", "7d +/-",
                  "categories", "name", title="operators")  # fmt: skip
    for r in rows:
        c = r["components"]
        table.add_row(
            str(r["id"]), f"{r['risk_index']:.1f}", r["level"], str(r["documents"]), str(c.get("sites", 0)),
            str(len(c.get("regions") or [])), f"{c.get('max_score', 0):.2f}", f"{c.get('mean_score', 0):.2f}",
            f"{c.get('confirmed', 0)}/{c.get('dismissed', 0)}",
            f"{c.get('new_last_7_days', 0)}/{c.get('new_previous_7_days', 0)}",
            ",".join(c.get("categories") or [])[:30], (r["name"] or "")[:24],
        )  # fmt: skip
    console.print(table)


@app.command("show")
def show_cmd(
    operator_id: Annotated[int, typer.Argument(help="operator id (a merged one shows the operator it joined)")],
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """One operator: index components, its ads, its identifiers and what links them."""
    from store.db import session_scope
    from store.operators import operator_detail

    with session_scope(_settings().database_url) as session:
        detail = operator_detail(session, operator_id)
    if detail is None:
        console.print(f"[red]no operator {operator_id}[/red]")
        raise typer.Exit(1)
    if fmt == "json":
        sys.stdout.write(json.dumps(detail, ensure_ascii=False, indent=2, default=str) + "\n")
        return
    if detail["id"] != operator_id:
        console.print(f"operator {operator_id} was merged into {detail['id']}")
    c = detail["components"]
    console.print(
        f"[bold]operator {detail['id']}[/bold] {detail['name']}  index [bold]{detail['risk_index']:.1f}[/bold] "
        f"{detail['level']}  ({detail['formula_version']}, {_beijing(detail['risk_updated_at'])})"
    )
    points = c.get("points") or {}
    parts = Table("component", "value", "points", title="index components")
    for key, value in (
        ("documents", c.get("documents")), ("sites", c.get("sites")), ("regions", ", ".join(c.get("regions") or [])),
        ("max_score", c.get("max_score")), ("mean_score", c.get("mean_score")),
        ("categories", ", ".join(c.get("categories") or [])), ("confirmed", c.get("confirmed")),
        ("dismissed", c.get("dismissed")), ("first_seen", _beijing(c.get("first_seen"))),
        ("last_seen", _beijing(c.get("last_seen"))),
        ("growth", f"{c.get('new_last_7_days', 0)} in the last 7 days vs {c.get('new_previous_7_days', 0)}"),
    ):  # fmt: skip
        pts = points.get(key if key != "growth" else "growth")
        parts.add_row(key, str(value), "-" if pts is None else f"{pts:.1f}")
    parts.add_row("dismissed factor", str(c.get("dismissed_factor", 1)), "×")
    console.print(parts)
    ads = Table("doc", "seen", "score", "flag", "region", "title", title="ads")
    for d in detail["documents_list"]:
        ads.add_row(str(d["document_id"]), d["seen_at_beijing"] or "-",
                    "-" if d["score"] is None else f"{d['score']:.2f}", d["flag_status"] or "-",
                    d["region"] or "-", (d["title"] or "")[:36])  # fmt: skip
    console.print(ads)
    idents = Table("kind", "value", "ads", "links", "as written", title="identifiers")
    for i in detail["identifiers"]:
        written = sorted({s["matched"] for s in i["spans"]})
        links = "hub" if i["hub"] else ("yes" if i["weight"] >= 1 else f"weak {i['weight']}" if i["weight"] else "no")
        idents.add_row(i["kind"], i["value"], str(i["documents"]), links, " | ".join(written)[:50])
    console.print(idents)


@app.command("rebuild")
def rebuild_cmd() -> None:
    """Relink every document from scratch (repairs); ids, splits and merges are kept."""
    from store.db import session_scope
    from store.operators import rebuild

    settings = _settings()
    with session_scope(settings.database_url) as session:
        result = rebuild(session, risk=risk_config(settings), actor=settings.cli_actor)
    console.print(
        f"rebuilt: {result.documents} documents, {len(result.created)} new operators, {len(result.merged)} merged, "
        f"{len(result.split)} split, {len(result.warnings)} new warnings"
    )


@app.command("split")
def split_cmd(
    operator_id: int,
    document_ids: Annotated[list[int], typer.Argument(help="the documents that are a different operator")],
    note: Annotated[str, typer.Option(help="why (kept in the audit log)")] = "",
) -> None:
    """Take documents out of a wrongly merged operator (kept across rebuilds, audited)."""
    from store.db import session_scope
    from store.operators import split_operator

    settings = _settings()
    try:
        with session_scope(settings.database_url) as session:
            rest, new = split_operator(session, operator_id, document_ids, actor=settings.cli_actor, note=note,
                                       risk=risk_config(settings))  # fmt: skip
            console.print(f"operator {rest.id} keeps {rest.document_count} ads; new operator {new.id} has "
                          f"{new.document_count}")  # fmt: skip
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


@app.command("merge")
def merge_cmd(
    operator_ids: Annotated[list[int], typer.Argument(help="two or more operators that are one")],
    note: Annotated[str, typer.Option(help="why (kept in the audit log)")] = "",
) -> None:
    """Join operators that are one (kept across rebuilds, audited)."""
    from store.db import session_scope
    from store.operators import merge_operators

    settings = _settings()
    try:
        with session_scope(settings.database_url) as session:
            op = merge_operators(session, operator_ids, actor=settings.cli_actor, note=note,
                                 risk=risk_config(settings))  # fmt: skip
            console.print(f"merged into operator {op.id} ({op.document_count} ads)")
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


@app.command("stop")
def stop_cmd(
    entry: Annotated[str, typer.Argument(help="kind:value (phone:+864006001234) or text holding the identifier")],
    source: Annotated[str | None, typer.Option(help="only on this source's documents")] = None,
    reason: str = "",
) -> None:
    """Stop an identifier from linking (a platform hotline, a footer); run `rebuild` to undo its links."""
    from store.db import session_scope
    from store.identifiers import add_stop
    from store.sources import get_source

    settings = _settings()
    with session_scope(settings.database_url) as session:
        source_id = None
        if source:
            src = get_source(session, source)
            if src is None:
                console.print(f"[red]no source {source!r}[/red]")
                raise typer.Exit(2)
            source_id = src.id
        try:
            stops = add_stop(session, entry, actor=settings.cli_actor, source_id=source_id, reason=reason)
        except ValueError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        console.print("stopped: " + ", ".join(f"{s.kind}:{s.value}" for s in stops))


@app.command("warnings")
def warnings_cmd(
    deliver: Annotated[bool, typer.Option(
        help="send pending warnings, and retrying ones now due, to ADSCREEN_WARNING_WEBHOOK_URL")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    limit: int = 50,
) -> None:
    """Early warnings (an operator entered 高风险, or spiked), newest first; optionally deliver them."""
    from store.db import session_scope
    from store.operators import deliver_warnings, list_warnings, warning_payload

    settings = _settings()
    with session_scope(settings.database_url) as session:
        if deliver:
            if not settings.warning_webhook_url:
                console.print("[red]ADSCREEN_WARNING_WEBHOOK_URL is not set[/red]")
                raise typer.Exit(2)
            counts = deliver_warnings(session, settings.warning_webhook_url, settings.warning_webhook_secret)
            console.print(f"delivered: {counts or 'nothing pending'}")
        rows = [
            {**warning_payload(session, w), "webhook_status": w.webhook_status}
            for w in list_warnings(session, limit=limit)
        ]
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2, default=str) + "\n")
        return
    table = Table("id", "at", "kind", "operator", "index", "level", "webhook", title="early warnings")
    for r in rows:
        table.add_row(str(r["warning_id"]), r["at_beijing"], r["kind"], f"{r['operator']['id']} {r['operator']['name']}"[:30],
                      f"{r['operator']['risk_index']:.1f}", r["operator"]["level"], r["webhook_status"])  # fmt: skip
    console.print(table)
