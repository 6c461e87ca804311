"""Highlighted case text built from verdict hit spans. Every piece of crawled text is escaped here."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup, escape

_CLASS_SAFE = re.compile(r"[^a-z0-9_-]")


def css_class(category: str | None) -> str:
    """A category name reduced to characters that cannot leave a class attribute."""
    return _CLASS_SAFE.sub("", (category or "other").lower())[:40] or "other"


def valid_spans(text: str, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hits with usable spans, in order, without overlaps (the heavier hit wins an overlap)."""
    spans = []
    for h in hits or []:
        start, end = h.get("start"), h.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
            spans.append(h)
    spans.sort(key=lambda h: (-(float(h.get("weight") or 0)), h["start"]))
    taken: list[dict[str, Any]] = []
    for h in spans:
        if all(h["end"] <= t["start"] or h["start"] >= t["end"] for t in taken):
            taken.append(h)
    return sorted(taken, key=lambda h: h["start"])


def highlight(text: str, hits: list[dict[str, Any]], field: str = "body") -> Markup:
    """The text as HTML with ``<mark>`` around matched spans; nothing from the document is left unescaped.

    Each mark carries its field and offsets (``data-field``, ``data-start``, ``data-end``), so what is shown can be
    checked against what was computed.
    """
    out: list[str] = []
    pos = 0
    for h in valid_spans(text, hits):
        out.append(str(escape(text[pos : h["start"]])))
        label = f"{h.get('category', '')} · {h.get('term', '')} · 权重 {h.get('weight', '')}"
        if h.get("rule"):
            label += f" · 规则 {h['rule']}"
        out.append(
            f'<mark class="hl hl-{css_class(h.get("category"))}" title="{escape(label)}" '
            f'data-field="{escape(field)}" data-start="{int(h["start"])}" data-end="{int(h["end"])}">'
            f"{escape(text[h['start'] : h['end']])}</mark>"
        )
        pos = h["end"]
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def safe_href(url: str | None) -> str | None:
    """Only http(s) URLs become links; ``javascript:`` and friends are shown as text only."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() in {"http", "https"} and parts.netloc:
        return url.strip()
    return None
