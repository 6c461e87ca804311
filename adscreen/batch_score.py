"""``adscreen score``: JSONL in, verdict JSONL out, no database. A bad record gets an error record, never a skip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from scoring.engine import build_scorer

BATCH = 64


def _parse(line_no: int, line: str) -> tuple[Any, str | None, str | None]:
    """(id, text, error)."""
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"line:{line_no}", None, f"invalid JSON: {exc.msg}"
    if not isinstance(rec, dict):
        return f"line:{line_no}", None, "record is not an object"
    rid = rec.get("id", f"line:{line_no}")
    text = rec.get("text")
    if not isinstance(text, str):
        return rid, None, "record has no string 'text'"
    return rid, text, None


def score_file(
    inp: Path, out: Path, settings: Any, *, use_classifier: bool, console: Console
) -> tuple[int, int]:
    scorer = build_scorer(settings, use_classifier=use_classifier)
    lines = [ln for ln in inp.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    parsed = [_parse(i + 1, ln) for i, ln in enumerate(lines)]
    errors = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh, Progress(console=console, transient=True) as progress:
        task = progress.add_task("scoring", total=len(parsed))
        for start in range(0, len(parsed), BATCH):
            chunk = parsed[start : start + BATCH]
            good = [(rid, text) for rid, text, err in chunk if err is None]
            verdicts = iter(scorer.score([t for _, t in good]))
            for rid, _text, err in chunk:
                if err is not None:
                    errors += 1
                    rec = {
                        "id": rid,
                        "error": err,
                        "score": None,
                        "level": None,
                        "flag": None,
                        "hits": [],
                        "classifier_prob": None,
                    }
                else:
                    rec = next(verdicts).to_record(rid)
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            progress.advance(task, len(chunk))
    return len(parsed), errors
