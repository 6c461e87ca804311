"""Charset detection for Chinese pages, which are often GBK/Big5 and often mislabelled (e.g. GBK sent as UTF-8).

Order: profile override > BOM > declared charset (header, then <meta>) if it decodes strictly AND the text is
plausible Chinese > UTF-8 > the most plausible of GB18030, Big5-HKSCS and charset-normalizer's guess. A declared
Latin-1 is never trusted for non-ASCII bytes: servers default to it. Plausibility matters because GB18030 decodes
almost any byte string: a Big5 page labelled ``charset=gbk`` decodes "strictly" into kana, symbols and rare
characters (セそ崩蔼Μ…), which would be stored, read by nobody and matched by no keyword — an evasion route.
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


# Plausible Chinese: the 3,755 level-1 (common) characters of GB2312 and the 5,401 level-1 characters of Big5,
# taken from the codecs themselves. Real ad text scores 0.95-1.0; GBK read as Big5 or Big5 read as GBK at most 0.7.
TRUST = 0.85


def _table(codec: str, leads: range, trails: list[int]) -> set[str]:
    out = set()
    for lead in leads:
        for trail in trails:
            try:
                out.add(bytes([lead, trail]).decode(codec))
            except UnicodeDecodeError:
                pass
    return {ch for ch in out if "\u4e00" <= ch <= "\u9fff"}


_COMMON_HANZI = frozenset(
    _table("gb2312", range(0xB0, 0xD8), list(range(0xA1, 0xFF)))
    | _table("big5", range(0xA4, 0xC7), [*range(0x40, 0x7F), *range(0xA1, 0xFF)])
)
# Signs of a wrong decoding: rare or compatibility ideographs, private use, U+FFFD, kana, bopomofo, box drawing,
# Greek and Cyrillic (the symbol rows of GBK and Big5), C1 controls, Hangul.
_SUSPECT = (
    (0x0080, 0x009F), (0x0370, 0x04FF), (0x2500, 0x257F), (0x3040, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
    (0xAC00, 0xD7AF), (0xE000, 0xF8FF), (0xF900, 0xFAFF), (0xFFFD, 0xFFFD), (0xF0000, 0x10FFFF),
)  # fmt: skip
_PUNCT = ((0x2010, 0x205E), (0x3000, 0x303F), (0xFF01, 0xFF5E))


def _within(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= code <= hi for lo, hi in ranges)


def plausibility(text: str) -> float:
    """Share of the telling non-ASCII characters that are common hanzi or CJK punctuation (1.0 when none)."""
    good = bad = 0
    for ch in text:
        code = ord(ch)
        if code < 128:
            continue
        if ch in _COMMON_HANZI or _within(code, _PUNCT):
            good += 1
        elif _within(code, _SUSPECT):
            bad += 1
    return good / (good + bad) if good + bad else 1.0


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
    tried: list[tuple[float, str, str]] = []  # (plausibility, codec, text) of strict decodings, in order
    for name in (declared, meta_charset(body)):
        codec = normalise(name)
        if codec is None or (codec in _WEAK and not ascii_only) or codec in (c for _, c, _ in tried):
            continue
        text = _strict(body, codec)
        if text is None:
            continue
        score = plausibility(text)
        if score >= TRUST:
            return text, codec
        tried.append((score, codec, text))  # decodes, but into garble: a mislabelled page, maybe
    text = _strict(body, "utf-8")
    if text is not None:  # valid UTF-8 with multibyte sequences is UTF-8; legacy text almost never is
        return text, "utf-8"
    best = charset_normalizer.from_bytes(body[:200_000], cp_isolation=_CANDIDATES).best()
    for codec in ([normalise(best.encoding)] if best is not None else []) + [normalise(c) for c in _CANDIDATES]:
        if codec is None or codec in (c for _, c, _ in tried):
            continue
        text = _strict(body, codec)
        if text is not None:
            tried.append((plausibility(text), codec, text))
    if not tried:
        raise DecodeError("body does not decode as UTF-8, GB18030 or Big5")
    score, codec, text = max(tried, key=lambda t: t[0])  # max keeps the first of equals: the declared one
    return text, codec
