"""Main-text extraction and cleaning: text only, never HTML, without scripts, styles or invisible characters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

import lxml.html
from parsel import Selector

DROP_TAGS = {"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas", "head"}
BOILERPLATE_TAGS = {"nav", "header", "footer", "aside", "form"}
BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "h1", "h2", "h3", "h4", "h5", "h6",
    "dd", "dt", "dl", "pre", "blockquote", "hr", "td", "th", "main", "body",
}  # fmt: skip
# Zero-width and bidi-control characters: promoters use them to split keywords ("保\u200b本").
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")  # lone surrogates (JSON "\\ud800"): no database can store them
_HSPACE = re.compile(r"[^\S\n]+")
_BLANKS = re.compile(r"\n\s*\n+")
_TAGLIKE = re.compile(r"<\s*[a-zA-Z/!][^>]*>")
CHINA_TZ = timezone(timedelta(hours=8))


def clean_text(text: str | None) -> str:
    """Remove invisible/control characters and collapse whitespace, keeping one newline between blocks."""
    if not text:
        return ""
    text = _INVISIBLE.sub("", _SURROGATE.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))
    text = _CONTROL.sub(" ", text)
    lines = (_HSPACE.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANKS.sub("\n", "\n".join(line for line in lines if line)).strip()


def element_text(root: Any, drop: set[str] = DROP_TAGS) -> str:
    """Visible text of an lxml element; block elements become line breaks. The tree is not modified."""
    parts: list[str] = []

    def walk(el: Any) -> None:
        tag = el.tag if isinstance(el.tag, str) else None  # comments and PIs have a callable tag
        if tag is not None and tag.lower() not in drop:
            block = tag.lower() in BLOCK_TAGS
            if block:
                parts.append("\n")
            if el.text:
                parts.append(el.text)
            for child in el:
                walk(child)
            if block:
                parts.append("\n")
        if el.tail:
            parts.append(el.tail)

    walk(root)
    return clean_text("".join(parts))


def _texts(sel: Selector, expr: str, drop: set[str]) -> list[str]:
    results = sel.xpath(expr[6:]) if expr.startswith("xpath:") else sel.css(expr)
    out = []
    for result in results:
        root = result.root
        out.append(clean_text(root) if isinstance(root, str) else element_text(root, drop))
    return [t for t in out if t]


def select_text(sel: Selector, expr: str | None, joiner: str = " ") -> str | None:
    """Text of a CSS (or ``xpath:``) selector: string results as they are, elements by their visible text."""
    if not expr:
        return None
    texts = _texts(sel, expr, DROP_TAGS)
    return joiner.join(texts) if texts else None


def select_links(sel: Selector, expr: str | None) -> list[str]:
    """URLs from a selector that yields strings (``::attr(href)``) or elements (their ``href``)."""
    if not expr:
        return []
    results = sel.xpath(expr[6:]) if expr.startswith("xpath:") else sel.css(expr)
    links = []
    for result in results:
        root = result.root
        value = root if isinstance(root, str) else root.get("href")
        if value and value.strip():
            links.append(value.strip())
    return links


def main_text(sel: Selector, expr: str | None) -> tuple[str, bool]:
    """The body text from the profile's selector, else the page minus boilerplate; second value: fallback used."""
    if expr:
        text = select_text(sel, expr, joiner="\n")
        if text:
            return text, False
    body = sel.css("body")
    root = body[0].root if body else sel.root
    if isinstance(root, str):
        return clean_text(root), True
    return element_text(root, DROP_TAGS | BOILERPLATE_TAGS), True


def text_from_markup(value: Any) -> str:
    """A JSON field as clean text; HTML inside API descriptions is reduced to its text."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return clean_text("\n".join(text_from_markup(v) for v in value))
    text = _SURROGATE.sub("", str(value))  # before lxml, which cuts the text at a lone surrogate
    if _TAGLIKE.search(text):
        try:
            return element_text(lxml.html.fragment_fromstring(text, create_parent="div"))
        except (ValueError, lxml.etree.ParserError):
            pass
    return clean_text(text)


_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:\s*[T ]?\s*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?)?"
)


def parse_datetime(value: Any, zone: tzinfo = CHINA_TZ) -> datetime | None:
    """Posted time from an epoch number, ISO string or a Chinese date, in UTC; a time without a zone of its own is
    read in ``zone`` (the source's ``timezone``, Beijing time by default)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if text.isdigit():
        return parse_datetime(int(text), zone)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)
    except ValueError:
        pass
    match = _DATE.search(text)
    if not match:
        return None
    y, mo, d, h, mi, s = (int(g) if g else 0 for g in match.groups())
    try:
        return datetime(y, mo, d, h, mi, s, tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def dotted(data: Any, path: str | None) -> Any:
    """``a.b.0.c`` lookup into nested dicts/lists; None when any step is missing."""
    if not path:
        return None
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.lstrip("-").isdigit():
            index = int(part)
            data = data[index] if -len(data) <= index < len(data) else None
        else:
            return None
        if data is None:
            return None
    return data
