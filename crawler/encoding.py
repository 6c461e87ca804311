"""Charset detection for Chinese pages, which are often GBK/Big5 and often mislabelled (e.g. GBK sent as UTF-8).

Order: profile override > BOM > declared charset (header, then <meta>) if it decodes strictly > UTF-8 > statistical
detection among the CJK charsets. A declared Latin-1 is never trusted for non-ASCII bytes: servers default to it.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

# Supersets decode everything their subsets do, and real sites use the extensions while declaring the subset.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "big5": "big5hkscs",
    "cp950": "big5hkscs",
    "ascii": "utf-8",
}
_WEAK = {
    "iso8859-1",
    "iso8859-15",
    "cp1252",
    "ascii",
}  # servers default to these; never trusted for non-ASCII
_CANDIDATES = ["utf_8", "gb18030", "big5hkscs"]
_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-]+)""", re.I)
_BOMS = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]


class DecodeError(ValueError):
    """The body cannot be read as text in any plausible charset."""


def normalise(name: str | None) -> str | None:
    """Python codec name for a declared charset, widened to its superset; None if unknown."""
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    name = _SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = re.search(r"charset\s*=\s*[\"']?([^\s;\"']+)", content_type, re.I)
    return match.group(1) if match else None


def meta_charset(body: bytes) -> str | None:
    match = _META.search(body[:4096])
    return match.group(1).decode("ascii", "ignore") if match else None


def _strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_body(body: bytes, declared: str | None = None, override: str | None = None) -> tuple[str, str]:
    """Return ``(text, codec)``; raise :class:`DecodeError` when nothing fits."""
    if override:
        codec = normalise(override)
        if codec is None:
            raise DecodeError(f"unknown override encoding {override!r}")
        return body.decode(codec, errors="replace"), codec
    for bom, codec in _BOMS:
        if body.startswith(bom):
            text = _strict(body, codec)
            if text is not None:
                return text.lstrip("\ufeff"), codec
    ascii_only = body.isascii()
    for name in (declared, meta_charset(body)):
        codec = normalise(name)
        if codec is None or (codec in _WEAK and not ascii_only):
            continue
        text = _strict(body, codec)
        if text is not None:
            return text, codec
    text = _strict(body, "utf-8")
    if text is not None:
        return text, "utf-8"
    best = charset_normalizer.from_bytes(body[:200_000], cp_isolation=_CANDIDATES).best()
    order = ([normalise(best.encoding)] if best is not None else []) + [normalise(c) for c in _CANDIDATES]
    for codec in order:
        if codec is None:
            continue
        text = _strict(body, codec)
        if text is not None:
            return text, codec
    raise DecodeError("body does not decode as UTF-8, GB18030 or Big5")
