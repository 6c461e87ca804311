"""``adscreen score``: JSON lines in, verdict JSON lines out, no database.

Every input line yields exactly one output line, in input order, so that output line N answers input line N. A line
that cannot be scored gets an ``error`` record saying why; nothing in the input can stop the run:

- lines are split on ``\\n`` only: U+2028/U+2029 or ``\\r`` inside a JSON string do not end a record; a UTF-8 byte
  order mark at the start of the file is ignored;
- an empty line, bytes that are not UTF-8, invalid JSON (nesting too deep for the parser included), a value that is
  not an object, an ``id`` that is not a string or a number, a ``text`` that is not a string or is longer than
  ``max_text_chars``, and a lone surrogate in ``id`` or ``text`` are error records;
- the output is valid UTF-8: a lone surrogate is written as a ``\\udXXX`` JSON escape (which decodes back to the
  same string), so even an error record carries the input's id unchanged.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import Progress

from scoring.engine import Scorer, build_scorer

BATCH = 64
BOM = b"\xef\xbb\xbf"
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class Line:
    """One input line: the record's id and text, or the reason it cannot be scored."""

    number: int
    rid: Any
    text: str | None = None
    error: str | None = None


def max_line_bytes(max_text_chars: int) -> int:
    """A line longer than this cannot hold an acceptable record: 12 bytes per character is ``\\ud83d\\ude00``."""
    return 12 * max_text_chars + (1 << 20)


def read_lines(fh: IO[bytes], limit: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes without the newline), or None for a line over ``limit`` bytes (skipped, not kept)."""
    number = 0
    while True:
        chunk = fh.readline(limit + 1)
        if not chunk:
            return
        number += 1
        if number == 1 and chunk.startswith(BOM):
            chunk = chunk[len(BOM) :]
        if len(chunk) > limit and not chunk.endswith(b"\n"):
            while (more := fh.readline(1 << 20)) and not more.endswith(b"\n"):
                pass
            yield number, None
            continue
        yield number, chunk.removesuffix(b"\n")


def _surrogate(s: str) -> str | None:
    m = _SURROGATE.search(s)
    return None if m is None else f"U+{ord(m.group()):04X} at index {m.start()}"


def parse_line(number: int, raw: bytes | None, max_text_chars: int, limit: int) -> Line:
    """Decode and check one line; never raises."""
    fallback = f"line:{number}"
    if raw is None:
        return Line(number, fallback, error=f"line longer than {limit} bytes")
    if not raw.strip():
        return Line(number, fallback, error="empty line")
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Line(number, fallback, error=f"not UTF-8 (byte {exc.start})")
    try:
        rec = json.loads(line)
    except RecursionError:
        return Line(number, fallback, error="invalid JSON: nested too deeply")
    except json.JSONDecodeError as exc:
        return Line(number, fallback, error=f"invalid JSON: {exc.msg} (column {exc.colno})")
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        return Line(number, fallback, error=f"invalid JSON: {exc}")
    if not isinstance(rec, dict):
        return Line(number, fallback, error=f"record is a JSON {type(rec).__name__}, not an object")
    rid = rec.get("id", fallback)
    if rid is None:
        rid = fallback
    if isinstance(rid, bool) or not isinstance(rid, str | int | float):
        return Line(number, fallback, error=f"'id' must be a string or a number, not {_json_type(rid)}")
    if isinstance(rid, float) and not math.isfinite(rid):
        return Line(number, fallback, error=f"'id' must be a finite number, not {rid}")
    if isinstance(rid, str) and (where := _surrogate(rid)):
        return Line(number, rid, error=f"'id' has a lone surrogate ({where}); it is written escaped in this record")
    text = rec.get("text")
    if not isinstance(text, str):
        what = "no 'text'" if "text" not in rec else f"a 'text' that is {_json_type(text)}"
        return Line(number, rid, error=f"record has {what}; expected a string")
    if len(text) > max_text_chars:
        return Line(
            number, rid, error=f"'text' has {len(text)} characters; the limit is {max_text_chars} (max_text_chars)"
        )
    if where := _surrogate(text):
        return Line(number, rid, error=f"'text' has a lone surrogate ({where}): not valid Unicode text")
    return Line(number, rid, text)


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def error_record(line: Line) -> dict[str, Any]:
    return {
        "id": line.rid,
        "line": line.number,
        "error": line.error,
        "score": None,
        "level": None,
        "flag": None,
        "hits": [],
        "classifier_prob": None,
    }


def encode(rec: dict[str, Any]) -> bytes:
    """One JSON line in UTF-8; a lone surrogate becomes its ``\\udXXX`` escape, still valid JSON for the same string."""
    return (json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8", errors="backslashreplace")


def score_lines(scorer: Scorer, lines: list[Line]) -> list[dict[str, Any]]:
    """Output records for a chunk of lines; a text the scorer fails on becomes an error record, not an abort."""
    good = [ln for ln in lines if ln.error is None]
    try:
        verdicts = scorer.score([ln.text or "" for ln in good])
    except Exception:  # noqa: BLE001 - find the one record that fails, score the others
        verdicts = []
        for ln in good:
            try:
                verdicts.append(scorer.score([ln.text or ""])[0])
            except Exception as exc:  # noqa: BLE001 - reported in the record, the run goes on
                ln.error = f"scoring failed: {type(exc).__name__}: {exc}"
                verdicts.append(None)
    by_line = {ln.number: v for ln, v in zip(good, verdicts, strict=True)}
    return [
        error_record(ln) if ln.error is not None else by_line[ln.number].to_record(ln.rid) for ln in lines
    ]


def score_file(
    inp: Path, out: Path, settings: Any, *, use_classifier: bool, console: Console
) -> tuple[int, int]:
    """Score ``inp`` into ``out``; returns (records written, error records among them)."""
    scorer = build_scorer(settings, use_classifier=use_classifier)
    limit = max_line_bytes(settings.max_text_chars)
    written = errors = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        inp.open("rb") as src,
        out.open("wb") as dst,
        Progress(console=console, transient=True) as progress,
    ):
        task = progress.add_task("scoring", total=inp.stat().st_size or None)
        chunk: list[Line] = []

        def flush() -> None:
            nonlocal written, errors
            for rec in score_lines(scorer, chunk):
                dst.write(encode(rec))
                written += 1
                errors += "error" in rec
            chunk.clear()
            progress.update(task, completed=src.tell())

        for number, raw in read_lines(src, limit):
            chunk.append(parse_line(number, raw, settings.max_text_chars, limit))
            if len(chunk) >= BATCH:
                flush()
        flush()
    return written, errors
