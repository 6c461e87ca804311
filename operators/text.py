"""Folding text for identifier matching without losing the way back to the original characters.

Contacts in ads are written to dodge filters: full-width digits and letters, Chinese digits (一三八, 幺, 两, 洞),
zero-width characters between digits. Matching runs on a folded copy; ``Folded.span`` maps a match back to the
original offsets, so every identifier keeps the exact characters it was read from.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# characters dropped before matching (zero-width joiners and spaces, variation selectors, soft hyphen, BOM)
DROPPED = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\ufe0e\ufe0f")
CHINESE_DIGITS = {
    "零": "0", "〇": "0", "○": "0", "洞": "0", "一": "1", "幺": "1", "壹": "1", "二": "2", "两": "2", "兩": "2",
    "贰": "2", "貳": "2", "三": "3", "叁": "3", "參": "3", "四": "4", "肆": "4", "五": "5", "伍": "5", "六": "6",
    "陆": "6", "陸": "6", "七": "7", "柒": "7", "拐": "7", "八": "8", "捌": "8", "九": "9", "玖": "9", "勾": "9",
}  # fmt: skip


@lru_cache(maxsize=1)
def ascii_table() -> dict[int, str]:
    """Full-width ASCII → ASCII, ideographic space → space, circled and other compatibility digits → digits."""
    table: dict[int, str] = {0x3000: " "}
    for cp in range(0xFF01, 0xFF5F):
        table[cp] = chr(cp - 0xFEE0)
    for cp in list(range(0x2460, 0x2474)) + list(range(0x2776, 0x2794)) + list(range(0x24F5, 0x24FF)):
        n = unicodedata.normalize("NFKC", chr(cp))
        value = unicodedata.digit(chr(cp), None)
        if value is not None and value < 10:
            table[cp] = str(value)
        elif len(n) == 1 and n.isdigit():
            table[cp] = n
    for c, r in {"—": "-", "–": "-", "－": "-", "﹣": "-", "·": ".", "•": ".", "×": "*", "＊": "*"}.items():
        table[ord(c)] = r
    return table


@lru_cache(maxsize=1)
def digit_table() -> dict[int, str]:
    """``ascii_table`` plus Chinese digits as ASCII digits (for phone, QQ and WeChat numbers)."""
    table = dict(ascii_table())
    for c, d in CHINESE_DIGITS.items():
        table[ord(c)] = d
    return table


@dataclass(frozen=True, slots=True)
class Folded:
    """A folded text and, where characters were dropped, the original index of each folded character."""

    text: str
    positions: tuple[int, ...] | None  # None: same length as the original, index i is i

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) of the folded [start, end)."""
        if self.positions is None:
            return start, end
        return self.positions[start], self.positions[end - 1] + 1


_DROPPED_RE = re.compile("[" + "".join(sorted(DROPPED)) + "]")


def fold(text: str, table: dict[int, str]) -> Folded:
    """``text`` through a 1:1 table, with the dropped characters removed (and their positions remembered)."""
    if _DROPPED_RE.search(text) is None:
        return Folded(text.translate(table), None)
    keep = [i for i, c in enumerate(text) if c not in DROPPED]
    return Folded("".join(text[i] for i in keep).translate(table), tuple(keep))


@lru_cache(maxsize=1)
def t2s_chars() -> dict[int, str]:
    """Single-character 繁→简 from OpenCC's own dictionary (opencc-python-reimplemented ships it)."""
    import opencc

    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    out: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and len(parts[0]) == 1:
            simp = parts[1].split(" ")[0]
            if len(simp) == 1:
                out[ord(parts[0])] = simp
    return out


def canonical_name(text: str) -> str:
    """NFKC, 繁→简, lower case, and no spaces or punctuation: one spelling per company or app name."""
    s = unicodedata.normalize("NFKC", text).translate(t2s_chars()).lower()
    return "".join(c for c in s if c.isalnum())
