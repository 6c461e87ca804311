"""One text for the detectors, many named fields for the evidence.

The detectors read a document's fields joined into one text (the title carries the pitch as often as the body
does, and the lexicon's combination rules and the classifier should see both together). Every hit is then mapped
back into the field it falls in, so a hit is ``{field, start, end, matched}`` with
``fields[field][start:end] == matched``: the characters an inspector sees highlighted and the bureau receives are
the characters that matched, in the text as captured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SEPARATOR = "\n"


@dataclass(frozen=True)
class Composed:
    """The detectors' text and where each field sits in it."""

    text: str
    segments: tuple[tuple[str, int, int], ...]  # (field, start, end) in ``text``

    def locate(self, start: int, end: int) -> tuple[str, int, int] | None:
        """The field a detector span starts in, and the span in that field's offsets (clipped to the field)."""
        for name, s, e in self.segments:
            if s <= start < e or (start == end == s):
                return name, start - s, min(end, e) - s
        return None


def compose(fields: Mapping[str, str | None]) -> Composed:
    """Join the non-empty fields in order; a title the body already contains is not read twice."""
    parts: list[tuple[str, str]] = []
    body = fields.get("body") or ""
    for name, value in fields.items():
        if not value:
            continue
        if name == "title" and value in body:
            continue
        parts.append((name, value))
    pieces: list[str] = []
    segments: list[tuple[str, int, int]] = []
    pos = 0
    for i, (name, value) in enumerate(parts):
        if i:
            pieces.append(SEPARATOR)
            pos += len(SEPARATOR)
        pieces.append(value)
        segments.append((name, pos, pos + len(value)))
        pos += len(value)
    return Composed("".join(pieces), tuple(segments))


def place_hits(
    composed: Composed, fields: Mapping[str, str | None], hits: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Hits re-expressed in field offsets, each with the original characters it covers as ``matched``.

    A span that runs over a field's end (a combination rule spanning title and body) is clipped to the field it
    starts in; a span that lies on no field (the separator itself) is dropped, since it covers no captured character.
    """
    out: list[dict[str, Any]] = []
    for h in hits:
        start, end = h.get("start"), h.get("end")
        if not isinstance(start, int) or not isinstance(end, int):
            continue
        where = composed.locate(start, end)
        if where is None:
            continue
        name, s, e = where
        value = fields.get(name) or ""
        out.append({**h, "field": name, "start": s, "end": e, "matched": value[s:e]})
    return out
