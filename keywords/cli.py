"""Typer sub-commands for the keyword engine, mounted as ``adscreen keywords …``.

The live lexicon directory is ``--lexicon-dir``, else the host's default (``adscreen`` passes its
``ADSCREEN_LEXICON_DIR`` with :func:`configure`; this library reads no environment), else ``var/lexicon``.

adscreen keywords match --in IN.jsonl --out OUT.jsonl
adscreen keywords test "保本保息，年化15%"
adscreen keywords add 稳赚不赔 return_promise 0.7 --actor alice --reason "…"
adscreen keywords remove|reweight|import|export|history|suggest
adscreen keywords allow add|remove|list  (phrases inside which a blocked term does not count)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .categories import CATEGORIES, label
from .lexicon import LexiconError
from .matcher import Matcher, TextRejected
from .store import LexiconStore

app = typer.Typer(help="关键词词库引擎：匹配、测试、增删改、导入导出、新词建议", no_args_is_help=True)
console = Console()
_DIR: dict[str, Path | None] = {"value": None, "default": Path("var/lexicon")}


def configure(lexicon_dir: Path) -> None:
    """Set the lexicon directory used when ``--lexicon-dir`` is not given."""
    _DIR["default"] = Path(lexicon_dir)


@app.callback()
def main(
    lexicon_dir: Path = typer.Option(
        None, "--lexicon-dir", help="live lexicon directory (default: ADSCREEN_LEXICON_DIR under adscreen)"
    ),
) -> None:
    _DIR["value"] = lexicon_dir


def _store() -> LexiconStore:
    return LexiconStore(_DIR["value"] or _DIR["default"])


def _fail(msg: str) -> None:
    console.print(f"[red]{msg}[/red]")
    raise typer.Exit(1)


@app.command("match")
def match_cmd(
    inp: Path = typer.Option(..., "--in", help="JSON lines with id and text ('-' = stdin)"),
    out: Path = typer.Option(..., "--out", help="JSON lines with id, keyword_score, hits ('-' = stdout)"),
) -> None:
    """Match every record; bad records are reported with an error field instead of stopping the run."""
    m = Matcher(_store().load())
    src = sys.stdin if str(inp) == "-" else inp.open(encoding="utf-8")
    dst = sys.stdout if str(out) == "-" else out.open("w", encoding="utf-8")
    n = errors = 0
    try:
        for lineno, line in enumerate(src, start=1):
            if not line.strip():
                continue
            rec = None
            try:
                rec = json.loads(line)
                r = m.match(rec.get("text") or "")
                row = {
                    "id": rec.get("id"),
                    "keyword_score": r.score,
                    "hits": [h.to_dict() for h in r.hits],
                    "explanation": r.explanation,
                    "lexicon_version": r.lexicon_version,
                }
            except (json.JSONDecodeError, TextRejected, AttributeError) as exc:
                errors += 1
                row = {
                    "id": rec.get("id") if isinstance(rec, dict) else None,
                    "line": lineno,
                    "error": str(exc),
                }
            dst.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    finally:
        if dst is not sys.stdout:
            dst.close()
    Console(stderr=True).print(f"matched {n} records ({errors} errors), lexicon {m.version}")


@app.command("test")
def test_cmd(text: str = typer.Argument(..., help="text to explain")) -> None:
    """Explain one text: highlighted spans, hit table and the one-line explanation."""
    m = Matcher(_store().load())
    try:
        r = m.match(text)
    except TextRejected as exc:
        _fail(str(exc))
        return
    styled = Text(text)
    for h in r.hits:
        styled.stylize("bold white on green" if h.counter else "bold white on red", h.start, h.end)
    console.print(styled)
    table = Table("原文", "词条", "类别", "权重", "规则", "归一化")
    for h in r.hits:
        table.add_row(
            text[h.start : h.end],
            h.term,
            label(h.category) + ("（反证）" if h.counter else ""),
            f"{h.weight:.2f}",
            h.rule,
            h.normalized,
        )
    console.print(table)
    console.print(f"[bold]得分 {r.score:.2f}[/bold]  {r.explanation}  (词库 {r.lexicon_version})")


@app.command("add")
def add_cmd(
    term: str,
    category: str = typer.Argument(..., help="one of: " + ", ".join(CATEGORIES)),
    weight: float = typer.Argument(0.5),
    kind: str = typer.Option("literal", help="literal | pattern | combo"),
    pattern: str = typer.Option("", help="regex (pattern) or expression (combo)"),
    note: str = typer.Option(""),
    actor: str = typer.Option(..., help="who makes the change"),
    reason: str = typer.Option("", help="why"),
) -> None:
    """Add a term (or regex pattern / combination rule); bumps the lexicon version, recorded with who and why."""
    try:
        v = _store().add_term(term, category, weight, kind, note, actor=actor, reason=reason, pattern=pattern)
    except LexiconError as exc:
        _fail(str(exc))
        return
    console.print(f"added {term!r} → version {v}")


@app.command("remove")
def remove_cmd(term: str, actor: str = typer.Option(...), reason: str = typer.Option("")) -> None:
    """Remove a term; bumps the lexicon version (the history keeps what was removed, by whom and why)."""
    try:
        v = _store().remove_term(term, actor=actor, reason=reason)
    except (LexiconError, KeyError) as exc:
        _fail(f"cannot remove {term!r}: {exc}")
        return
    console.print(f"removed {term!r} → version {v}")


@app.command("reweight")
def reweight_cmd(
    term: str, weight: float, actor: str = typer.Option(...), reason: str = typer.Option("")
) -> None:
    """Change a term's weight (0–1); bumps the lexicon version."""
    try:
        v = _store().reweight(term, weight, actor=actor, reason=reason)
    except (LexiconError, KeyError) as exc:
        _fail(f"cannot reweight {term!r}: {exc}")
        return
    console.print(f"reweighted {term!r} → version {v}")


allow_app = typer.Typer(
    help="放行短语：较长短语中包含的词条在此处不计为命中（每次增删都是一个新词库版本）", no_args_is_help=True
)
app.add_typer(allow_app, name="allow")


@allow_app.command("add")
def allow_add_cmd(
    phrase: str,
    note: str = typer.Option("", help="why the phrase is harmless"),
    actor: str = typer.Option(..., help="who makes the change"),
    reason: str = typer.Option("", help="why"),
) -> None:
    """Put a phrase on the allow-list: a blocked term wholly inside it no longer counts there; bumps the version."""
    try:
        v = _store().add_allow(phrase, actor=actor, reason=reason, note=note)
    except LexiconError as exc:
        _fail(f"cannot allow {phrase!r}: {exc}")
        return
    console.print(f"allowed {phrase!r} → version {v}")


@allow_app.command("remove")
def allow_remove_cmd(phrase: str, actor: str = typer.Option(...), reason: str = typer.Option("")) -> None:
    """Take a phrase off the allow-list (as written or any spelling that normalises the same); bumps the version."""
    try:
        v = _store().remove_allow(phrase, actor=actor, reason=reason)
    except (LexiconError, KeyError) as exc:
        _fail(f"cannot remove allow-list phrase {phrase!r}: {exc}")
        return
    console.print(f"removed allow-list phrase {phrase!r} → version {v}")


@allow_app.command("list")
def allow_list_cmd() -> None:
    """The allow-list of the current lexicon version: phrase, note, provenance."""
    lex = _store().load()
    table = Table("放行短语", "说明", "来源", title=f"词库 {lex.version}：{len(lex.allow)} 条放行短语")
    for a in lex.allow.values():
        table.add_row(a.phrase, a.note, a.provenance)
    console.print(table)


@app.command("import")
def import_cmd(
    path: Path,
    actor: str = typer.Option(...),
    reason: str = typer.Option(""),
    replace: bool = typer.Option(False, help="make the CSV the whole lexicon"),
) -> None:
    """Import terms from CSV (the export format): added or updated, or with --replace the whole lexicon."""
    try:
        v = _store().import_csv(path, actor=actor, reason=reason, replace=replace)
    except (LexiconError, OSError) as exc:
        _fail(str(exc))
        return
    console.print(f"imported {path} → version {v}")


@app.command("upgrade")
def upgrade_cmd(
    apply: bool = typer.Option(False, help="add them (one new lexicon version); without it only list them"),
    actor: str = typer.Option("", help="who makes the change (required with --apply)"),
    reason: str = typer.Option("bundled lexicon update"),
) -> None:
    """Terms the bundled lexicon has gained since this store was seeded (and no analyst removed): list, or add."""
    from .lexicon import Lexicon

    store, bundled = _store(), Lexicon.bundled()
    missing = store.bundled_missing(bundled)
    table = Table("词条", "类别", "权重", "来源", title=f"内置词库有、当前词库 {store.current_version()} 没有的词条：{len(missing)} 条")
    for t in missing:
        table.add_row(t.term, t.category, f"{t.weight:g}", t.provenance)
    console.print(table)
    if not apply or not missing:
        if missing:
            console.print("add them with: adscreen keywords upgrade --apply --actor NAME")
        return
    if not actor:
        _fail("--apply needs --actor (who makes the change)")
        return
    try:
        version, added = store.add_bundled(bundled, actor=actor, reason=reason)
    except LexiconError as exc:
        _fail(str(exc))
        return
    console.print(f"added {len(added)} bundled terms → version {version}")


@app.command("export")
def export_cmd(path: Path) -> None:
    """Export the current lexicon version as CSV (term, category, weight, kind, note, provenance, pattern, boundary)."""
    n = _store().export_csv(path)
    console.print(f"exported {n} terms to {path}")


@app.command("history")
def history_cmd(limit: int = typer.Option(20)) -> None:
    """The latest lexicon changes, one JSON line each: version, who, when, why, what."""
    for e in _store().history()[-limit:]:
        console.print(json.dumps(e, ensure_ascii=False))


@app.command("suggest")
def suggest_cmd(
    confirmed: Path = typer.Option(..., help="JSON lines (text) of confirmed fundraising texts"),
    dismissed: Path = typer.Option(..., help="JSON lines (text) of dismissed texts"),
    top_k: int = typer.Option(30),
) -> None:
    """Candidate terms over-represented in confirmed vs dismissed texts, for a lexicon editor to accept."""
    from .suggest import suggest_terms

    def texts(p: Path) -> list[str]:
        return [
            json.loads(x).get("text", "") for x in p.read_text(encoding="utf-8").splitlines() if x.strip()
        ]

    rows = suggest_terms(texts(confirmed), texts(dismissed), _store().load(), top_k=top_k)
    table = Table("候选词", "z", "确认", "驳回", "例句")
    for d in rows:
        table.add_row(
            d["term"], f"{d['score']:.2f}", str(d["confirmed"]), str(d["dismissed"]), d["example"][:40]
        )
    console.print(table)


if __name__ == "__main__":
    app()
