"""The ``ocr`` field: the text of a document's images, one block per image, and the way back from a hit to pixels.

An image's text is its OCR lines joined with ``\\n``; a version's ``ocr`` field is its images' texts joined with
``BLOCK_SEPARATOR``, in page order, each image once. ``blocks`` record where each image's text sits in the field, so
a hit ``{field: "ocr", start, end}`` maps to the image it falls in and to the lines (and the characters inside
them) it covers: ``hit_boxes`` gives axis-aligned pixel boxes ``[x0, y0, x1, y1]`` to draw over the image.

Lines and blocks are plain JSON-shaped dicts here (as stored): a line is ``{"text", "box", "score", "chars"}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

LINE_SEPARATOR = "\n"
BLOCK_SEPARATOR = "\n\n"


def image_text(lines: Sequence[Mapping[str, Any]]) -> str:
    return LINE_SEPARATOR.join(str(ln["text"]) for ln in lines)


def line_offsets(lines: Sequence[Mapping[str, Any]]) -> list[tuple[int, int]]:
    """(start, end) of each line in ``image_text(lines)``."""
    out, pos = [], 0
    for ln in lines:
        n = len(str(ln["text"]))
        out.append((pos, pos + n))
        pos += n + len(LINE_SEPARATOR)
    return out


def compose_blocks(texts: Sequence[tuple[Any, str]]) -> tuple[str, list[dict[str, Any]]]:
    """The ``ocr`` field of (image id, image text) pairs (the id: a stored image's, or any key), and its blocks ``{image_id, start, end}``.

    An image without text, or one already in the field (the same picture twice on a page), adds no block.
    """
    parts: list[str] = []
    blocks: list[dict[str, Any]] = []
    seen: set[Any] = set()
    pos = 0
    for image_id, text in texts:
        if not text or image_id in seen:
            continue
        seen.add(image_id)
        if parts:
            parts.append(BLOCK_SEPARATOR)
            pos += len(BLOCK_SEPARATOR)
        parts.append(text)
        blocks.append({"image_id": image_id, "start": pos, "end": pos + len(text)})
        pos += len(text)
    return "".join(parts), blocks


def _bbox(quads: Sequence[Sequence[Sequence[float]]]) -> list[int]:
    xs = [p[0] for q in quads for p in q]
    ys = [p[1] for q in quads for p in q]
    return [int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys))]


def hit_boxes(
    blocks: Sequence[Mapping[str, Any]],
    lines_of: Mapping[Any, Sequence[Mapping[str, Any]]],
    start: int,
    end: int,
) -> list[dict[str, Any]]:
    """Pixel boxes of the characters ``[start, end)`` of the ``ocr`` field covers: ``{image_id, line, box}`` each."""
    out: list[dict[str, Any]] = []
    for block in blocks:
        s, e = max(start, block["start"]), min(end, block["end"])
        if s >= e:
            continue
        image_id = block["image_id"]
        lines = lines_of.get(image_id) or []
        for i, (ls, le) in enumerate(line_offsets(lines)):
            a, b = max(s - block["start"], ls), min(e - block["start"], le)
            if a >= b:
                continue
            chars = lines[i].get("chars") or []
            picked = chars[a - ls : b - ls] if len(chars) == le - ls else [lines[i]["box"]]
            out.append({"image_id": image_id, "line": i, "box": _bbox(picked)})
    return out


def attach_boxes(
    hits: Sequence[Mapping[str, Any]],
    blocks: Sequence[Mapping[str, Any]],
    lines_of: Mapping[Any, Sequence[Mapping[str, Any]]],
) -> list[dict[str, Any]]:
    """Hits with ``image_id`` (the image the hit starts in) and ``boxes`` added to every hit in the ``ocr`` field."""
    out = []
    for h in hits:
        h = dict(h)
        if h.get("field") == "ocr" and isinstance(h.get("start"), int) and isinstance(h.get("end"), int):
            boxes = hit_boxes(blocks, lines_of, h["start"], h["end"])
            h["image_id"] = boxes[0]["image_id"] if boxes else None
            h["boxes"] = boxes
        out.append(h)
    return out
