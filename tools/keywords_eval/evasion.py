"""Evasion set: disguised copies of the positive texts, one family at a time (domain.md §2E).

Families: traditional script (OpenCC s2t), symbol insertion inside the phrases that matched, pinyin substitution of
one character per matched phrase, full-width ASCII, and numerals/rates written in Chinese words. Targeting the matched
phrases mimics a promoter who knows which words get caught; texts are otherwise unchanged.
"""

from __future__ import annotations

import random
import re

from pypinyin import Style, lazy_pinyin

from keywords.matcher import Matcher

SYMBOLS = ["☆", "·", " ", "*", "❤", "\u200b", "~", "🔥"]
_DIGITS = "零一二三四五六七八九"


def _han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def traditional(text: str, spans, rng) -> str:
    import opencc

    return opencc.OpenCC("s2t").convert(text)


def fullwidth(text: str, spans, rng) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in text)


def _edit_spans(text: str, spans, fn) -> str:
    out = list(text)
    for s, e in sorted(spans, reverse=True):
        out[s:e] = fn(text[s:e])
    return "".join(out)


def symbols(text: str, spans, rng) -> str:
    def ins(seg: str) -> list[str]:
        res: list[str] = []
        for i, ch in enumerate(seg):
            res.append(ch)
            if i < len(seg) - 1 and _han(ch) and _han(seg[i + 1]):
                res.append(rng.choice(SYMBOLS))
        return res

    return _edit_spans(text, spans, ins)


def pinyin(text: str, spans, rng) -> str:
    def sub(seg: str) -> list[str]:
        idx = [i for i, c in enumerate(seg) if _han(c)]
        if len(idx) < 2:
            return list(seg)
        i = rng.choice(idx)
        py = lazy_pinyin(seg[i], style=Style.NORMAL)[0]
        if len(idx) >= 3 and rng.random() < 0.3:
            py = py[0]
        return list(seg[:i]) + [py] + list(seg[i + 1 :])

    return _edit_spans(text, spans, sub)


def _cn(n: str) -> str:
    if not n.isdigit():
        return n
    v = int(n)
    if v < 10:
        return _DIGITS[v]
    if v < 100:
        t, u = divmod(v, 10)
        return ("" if t == 1 else _DIGITS[t]) + "十" + (_DIGITS[u] if u else "")
    return "".join(_DIGITS[int(c)] for c in n)


def numerals(text: str, spans, rng) -> str:
    text = re.sub(
        r"(\d+)%", lambda m: rng.choice(["百分之" + _cn(m.group(1)), _cn(m.group(1)) + "个点"]), text
    )
    text = re.sub(
        r"x+(?:\.x+)?%", lambda m: rng.choice(["百分之" + m.group(0)[:-1], m.group(0)[:-1] + "个点"]), text
    )
    return re.sub(r"\d+", lambda m: _cn(m.group(0)), text)


FAMILIES = {
    "traditional": traditional,
    "symbols": symbols,
    "pinyin": pinyin,
    "fullwidth": fullwidth,
    "numerals": numerals,
}


def make_evasions(texts: list[str], matcher: Matcher, seed: int = 13) -> list[tuple[int, str, str]]:
    """(index of source text, family, disguised text) for every text and family."""
    rng = random.Random(seed)
    out: list[tuple[int, str, str]] = []
    for i, text in enumerate(texts):
        r = matcher.match(text)
        spans = _disjoint([(h.start, h.end) for h in r.hits if not h.counter and h.rule in ("literal",)])
        for fam, fn in FAMILIES.items():
            out.append((i, fam, fn(text, spans, rng)))
    return out


def _disjoint(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s < out[-1][1]:
            continue
        out.append((s, e))
    return out
