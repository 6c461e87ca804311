"""Evasion variants of lexicon terms: pinyin / initials standing in for characters, and homophone folding.

Why generate variants of *terms* rather than transliterate *texts*: pypinyin costs ~5 µs a character, far too slow for
the hot path, while lexicon terms are few and variants are built once per lexicon version.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

from .normalize import HAN

_HAN_SET = (0x4E00, 0x9FA6)


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def pinyin_variants(term: str, max_keys: int = 160) -> list[str]:
    """Forms of a (normalised, all-Han) term with some characters replaced by pinyin or initials: bao本, 稳zhuan,
    bb保息. Initials are only used in terms of ≥3 characters, ``x`` only in ≥4 (it collides with digit masks)."""
    n = len(term)
    if n < 2 or not all(_is_han(c) for c in term):
        return []
    full = lazy_pinyin(term, style=Style.NORMAL, errors="ignore")
    if len(full) != n:
        return []
    # polyphones: the reading in context (还本 → huan) and the character's default reading (还 → hai), since an
    # evader typing one character at a time gets the latter
    single = [lazy_pinyin(ch, style=Style.NORMAL, errors="ignore") for ch in term]
    opts: list[list[str]] = []
    for ch, py, alone in zip(term, full, single, strict=True):
        o = [ch, py]
        if alone and alone[0] and alone[0] != py:
            o.append(alone[0])
        for reading in dict.fromkeys([py] + (alone[:1] if alone else [])):
            # initials only in longer terms; "x" (息, 现 …) only in ≥4-character ones, as x is also a digit mask
            if reading and n >= 3 and (reading[0] != "x" or n >= 4) and reading[0] not in o:
                o.append(reading[0])
        opts.append(o)
    max_subs = n if n <= 4 else 2
    out: list[str] = []
    for combo in itertools.product(*opts):
        subs = sum(1 for c, ch in zip(combo, term, strict=True) if c != ch)
        if subs == 0 or subs > max_subs:
            continue
        kept_han = sum(1 for c, ch in zip(combo, term, strict=True) if c == ch)
        if kept_han == 0 and not (n >= 3 and all(c == py for c, py in zip(combo, full, strict=True))):
            continue  # all-Latin only as full pinyin of a long term (wenzhuanbupei), never initials (bbbx)
        out.append("".join(combo))
        if len(out) >= max_keys:
            break
    if n >= 3 and "".join(full) not in out and n > 4:
        out.append("".join(full))
    return out


@lru_cache(maxsize=1)
def homophone_table() -> dict[int, str]:
    """Han character → representative of its (toned) pinyin class, for str.translate. 薇→微, 镇→真, 保→保 …"""
    reps: dict[str, str] = {}
    table: dict[int, str] = {}
    chars = [chr(cp) for cp in range(*_HAN_SET)]
    for ch, py in zip(
        chars, lazy_pinyin(chars, style=Style.TONE3, errors=lambda x: ["?"] * len(x)), strict=False
    ):
        if not py or py == "?" or not py.isascii():
            continue
        rep = reps.setdefault(py, ch)
        if rep != ch:
            table[ord(ch)] = rep
    return table


def homophone_key(term: str) -> str:
    return term.translate(homophone_table())


__all__ = ["HAN", "homophone_key", "homophone_table", "pinyin_variants"]
