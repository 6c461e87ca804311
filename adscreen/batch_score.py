"""``adscreen score``: JSON lines in, verdict JSON lines out, no database.

Every input line yields exactly one output line, in input order, so that output line N answers input line N. A line
that cannot be scored gets an ``error`` record saying why; nothing in the input can stop the run:

- lines are split on ``\\n`` only: U+2028/U+2029 or ``\\r`` inside a JSON string do not end a record; a UTF-8 byte
  order mark at the start of the file is ignored;
- an empty line, bytes that are not UTF-8, invalid JSON (nesting too deep for the parser included), a value that is
  not an object, an ``id`` that is not a string or a number, a ``text`` that is not a string or is longer than
  ``max_text_chars``, and a lone surrogate in ``id`` or ``text`` are error records;
- a record may carry an ``image`` (a file path, relative to the working directory) next to ``text`` (or instead of
  it): the image is checked (``imaging.check``), read (OCR, QR codes) and scored as the ``ocr`` field with the text;
  a missing or unreadable file is an error record, a refused image (SVG, bomb, polyglot …) is scored on the text
  alone with ``image_rejected`` saying why;
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
    image: str | None = None


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
    image = rec.get("image")
    if image is not None and (not isinstance(image, str) or not image.strip() or "\x00" in image):
        return Line(number, rid, error=f"'image' must be a file path, not {_json_type(image)}")
    text = rec.get("text")
    if text is None and image is not None and "text" not in rec:
        text = ""  # an image alone: its text is all there is
    if not isinstance(text, str):
        what = "no 'text'" if "text" not in rec else f"a 'text' that is {_json_type(text)}"
        return Line(number, rid, error=f"record has {what}; expected a string")
    if len(text) > max_text_chars:
        return Line(
            number, rid, error=f"'text' has {len(text)} characters; the limit is {max_text_chars} (max_text_chars)"
        )
    if where := _surrogate(text):
        return Line(number, rid, error=f"'text' has a lone surrogate ({where}): not valid Unicode text")
    if image is not None and (where := _surrogate(image)):
        return Line(number, rid, error=f"'image' has a lone surrogate ({where})")
    return Line(number, rid, text, image=image)


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


class ImageReader:
    """Image files for ``adscreen score`` and ``adscreen score-image``; the OCR engine loads on the first image."""

    def __init__(self, max_bytes: int, max_pixels: int, threads: int | None = None) -> None:
        from imaging.check import Limits

        self.limits = Limits(max_bytes=max_bytes, max_pixels=max_pixels)
        self.threads = threads

    def read(self, path: str) -> dict[str, Any]:
        """``{ocr_text, qr, lines, rejected}`` of one file; OSError when it cannot be read."""
        from imaging.ocr import process_engine
        from imaging.reading import read_image

        with open(path, "rb") as fh:  # at most one byte over the limit: a huge file is refused, not loaded
            data = fh.read(self.limits.max_bytes + 1)
        reading = read_image(data, process_engine(self.threads), self.limits)
        rejected = None if reading.check.ok else {"reason": reading.check.reason, "detail": reading.check.detail}
        return {
            "ocr_text": reading.text,
            "qr": [{"format": c.format, "text": c.text} for c in reading.codes],
            "lines": reading.line_dicts,
            "rejected": rejected,
        }

    def record(self, scorer: Scorer, rid: Any, path: str, text: str | None = None) -> dict[str, Any]:
        """The verdict record of an image (with a text beside it, when given): ocr hits carry their pixel boxes."""
        from imaging.spans import attach_boxes, compose_blocks

        got = self.read(path)
        ocr_text, blocks = compose_blocks([(path, got["ocr_text"])])  # the file's path stands for the image id
        verdict = scorer.score_fields([{"body": text or "", "ocr": ocr_text}])[0]
        rec = verdict.to_record(rid)
        rec["hits"] = attach_boxes(rec["hits"], blocks, {path: got["lines"]})
        rec.update(image=path, ocr_text=got["ocr_text"], qr=got["qr"])
        if got["rejected"]:
            rec["image_rejected"] = got["rejected"]
        return rec


def _image_record(scorer: Scorer, images: ImageReader | None, ln: Line) -> dict[str, Any]:
    try:
        if images is None:
            raise ValueError("no image reader")
        return images.record(scorer, ln.rid, ln.image or "", ln.text)
    except OSError as exc:
        ln.error = f"image {ln.image!r} cannot be read: {exc.strerror or type(exc).__name__}"
    except Exception as exc:  # noqa: BLE001 - reported in the record, the run goes on
        ln.error = f"scoring failed: {type(exc).__name__}: {exc}"
    return error_record(ln)


def score_lines(scorer: Scorer, lines: list[Line], images: ImageReader | None = None) -> list[dict[str, Any]]:
    """Output records for a chunk of lines; a text the scorer fails on becomes an error record, not an abort."""
    with_image = {ln.number: _image_record(scorer, images, ln) for ln in lines if ln.error is None and ln.image}
    good = [ln for ln in lines if ln.error is None and ln.number not in with_image]
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
        with_image[ln.number] if ln.number in with_image
        else error_record(ln) if ln.error is not None
        else by_line[ln.number].to_record(ln.rid)
        for ln in lines
    ]  # fmt: skip


def image_files_records(scorer: Scorer, images: ImageReader, paths: list[str]) -> list[dict[str, Any]]:
    """``adscreen score-image``: one record per file, in order; a file that cannot be read is an error record."""
    out = []
    for number, path in enumerate(paths, start=1):
        out.append(_image_record(scorer, images, Line(number, path, None, image=path)))
    return out


def score_file(
    inp: Path, out: Path, settings: Any, *, use_classifier: bool, console: Console
) -> tuple[int, int]:
    """Score ``inp`` into ``out``; returns (records written, error records among them)."""
    scorer = build_scorer(settings, use_classifier=use_classifier)
    images = ImageReader(settings.max_image_bytes, settings.max_image_pixels, settings.ocr_threads)
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
            for rec in score_lines(scorer, chunk, images):
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
