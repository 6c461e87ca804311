"""Evasion-resistant normalisation with a map from every normalised character back to the original text.

Why: promoters disguise phrases (全角, 繁體, 保☆本, 零🈚风险, 稳稳稳赚) and inspectors need the span in the ORIGINAL text.
Design for speed: one C-level ``str.translate`` does all 1:1 folding (NFKC width/compat, case, 繁→简 by character,
look-alikes); deletions (control/zero-width chars, lone surrogates, symbols between Han characters, repeated Han
characters) run as a few regex passes and only then do we pay for an index list.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(f"[{HAN}]")

# Look-alike characters (形似字) seen in evasion; folded onto the character they imitate. Small on purpose: every
# entry is a character that has no ordinary meaning in ad text. Extend with care.
LOOKALIKES = {
    "夲": "本",
    "圡": "土",
    "朩": "木",
    "冋": "回",
    "贃": "赚",
    "賺": "赚",
    "咹": "安",
    "徃": "往",
    "氜": "日",
    "湶": "泉",
    "㊣": "正",
    "〇": "零",
}

# Always removed: C0/C1 controls (except whitespace, which counts as a separator), format characters (zero-width,
# bidi), variation selectors, combining marks (strike-through evasion), tag characters and lone surrogates.
_ALWAYS_RANGES = (
    (0x00, 0x08),
    (0x0B, 0x0C),
    (0x0E, 0x1F),
    (0x7F, 0x9F),
    (0xAD, 0xAD),
    (0x300, 0x36F),
    (0x1AB0, 0x1AFF),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x20D0, 0x20FF),
    (0xFE00, 0xFE0F),
    (0xFE20, 0xFE2F),
    (0xFEFF, 0xFEFF),
    (0xD800, 0xDFFF),
    (0xE0000, 0xE01EF),
)
_ALWAYS = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _ALWAYS_RANGES) + "]+")
# Separator = anything that is not Han, ASCII letter/digit or ordinary sentence punctuation. Removed only when it
# sits between Han characters (or between a Han character and a letter/digit), so 保☆本 → 保本 but 保本。收益 keeps
# its full stop.
_SEPCHAR = f"[^{HAN}a-z0-9,。;:!?()、%《》【】\\[\\]{{}}]"
_SEPRUN = re.compile(f"{_SEPCHAR}+")  # reference form; normalize() finds the runs on its class string
# Repeated Han characters (稳稳稳赚 → 稳赚); applied identically to lexicon terms, so 天天返利 still matches itself.
_REPEAT = re.compile(
    f"([{HAN}])\\1+"
)  # reference form; normalize() compares each code point with its predecessor

# Character classes, one character of the class string that normalize() builds per character of text.
_C_OTHER, _C_SEP, _C_WORD, _C_HAN, _C_GONE = 0, 1, 2, 3, 4  # GONE: always removed
_SEPRUN_C = re.compile(
    "\x01\x01*"
)  # a run of separators; starts with a literal, so the engine skips ahead fast


@lru_cache(maxsize=1)
def class_lut() -> np.ndarray:
    """The class of every code point, as ``_SEPCHAR`` and ``HAN`` define them (always-removed ones not marked)."""
    cls = np.full(0x110000, _C_SEP, dtype=np.uint32)
    for lo, hi in ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)):
        cls[lo : hi + 1] = _C_HAN
    cls[ord("a") : ord("z") + 1] = _C_WORD
    cls[ord("0") : ord("9") + 1] = _C_WORD
    for c in ",。;:!?()、%《》【】[]{}":
        cls[ord(c)] = _C_OTHER
    return cls


def _opencc_chars() -> dict[str, str]:
    """Single-character 繁→简 map from OpenCC's own dictionary (character level keeps spans 1:1)."""
    import opencc

    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and len(parts[0]) == 1:
            simp = parts[1].split(" ")[0]
            if len(simp) == 1:
                out[parts[0]] = simp
    return out


@lru_cache(maxsize=1)
def fold_table() -> dict[int, str]:
    """ord → replacement for every 1:1 fold (NFKC + lower case + 繁→简 + look-alikes)."""
    t2s = _opencc_chars()
    table: dict[int, str] = {}
    ranges = [(0x20, 0xD800), (0xE000, 0x10000), (0x1F100, 0x1F300)]
    for lo, hi in ranges:
        for cp in range(lo, hi):
            c = chr(cp)
            n = unicodedata.normalize("NFKC", c).lower()
            if len(n) != 1:
                continue
            n = t2s.get(n, n)
            n = LOOKALIKES.get(n, n)
            if n != c:
                table[cp] = n
    for src, dst in LOOKALIKES.items():
        table[ord(src)] = dst
    return table


@lru_cache(maxsize=1)
def fold_lut() -> np.ndarray:
    """The fold table as a code-point lookup array: numpy ``take`` is ~2x faster than ``str.translate`` on Han text."""
    return lut_from(fold_table())


@lru_cache(maxsize=1)
def clean_lut() -> np.ndarray:
    """:func:`fold_lut`, except that every code point whose fold is always removed (controls, zero-width, lone
    surrogates …) maps to U+0000 (itself always removed), so one ``"\\x00" in text`` tells whether pass 1 has work."""
    lut = fold_lut().copy()
    always = np.zeros(0x110000, dtype=bool)
    for lo, hi in _ALWAYS_RANGES:
        always[lo : hi + 1] = True
    lut[always[lut]] = 0
    return lut


# The hot path calls these directly: the codec functions skip the lookup of the codec by name, and a dtype object
# skips numpy's argument conversion.
_encode = codecs.utf_32_le_encode
_decode = codecs.utf_32_le_decode
_frombuffer = np.frombuffer
_U32 = np.dtype(np.uint32)


def lut_from(table: dict[int, str]) -> np.ndarray:
    lut = np.arange(0x110000, dtype=np.uint32)
    for k, v in table.items():
        lut[k] = ord(v)
    return lut


def translate(text: str, lut: np.ndarray) -> str:
    """1:1 code-point translation through ``lut`` (lone surrogates pass through untouched); a uint64 ``lut`` gives
    two characters per character (low half first)."""
    return _decode(lut[_frombuffer(_encode(text, "surrogatepass")[0], _U32)].tobytes(), "surrogatepass")[0]


class FoldTable:
    """Everything :func:`normalize` looks up per code point, as one row of uint32 columns: the cleaned fold
    (:func:`clean_lut`), the class of the folded character (``_C_GONE`` if it is always removed) and optionally the
    folded character through an extra lookup ``alt_lut`` (uint32: one column; uint64: two, i.e. two characters per
    character), which fills in :attr:`Normalized.alt`. One ``take`` per text then yields all of them, and decoding
    the rows gives one string from which the folded text and the class string are sliced."""

    def __init__(self, alt_lut: np.ndarray | None = None) -> None:
        clean = clean_lut()
        cls = class_lut()[clean]
        cls[clean == 0] = _C_GONE
        cols = [clean, cls]
        if alt_lut is not None:
            if alt_lut.dtype == np.uint64:
                pairs = alt_lut.view(np.uint32).reshape(-1, 2)
                cols += [pairs[:, 0][clean], pairs[:, 1][clean]]
            else:
                cols.append(alt_lut.astype(np.uint32)[clean])
        self.width = len(cols)  # characters per character of text in the decoded rows
        self.rows = np.ascontiguousarray(np.stack(cols, axis=1), dtype=np.uint32)


@lru_cache(maxsize=1)
def plain_table() -> FoldTable:
    return FoldTable()


class Normalized:
    """A normalised text plus the original index of each of its characters (``idx`` None means identity).

    The index list is only built when asked for (most texts have no hit to map back); ``alt`` is the normalised text
    passed through the extra lookup of the :class:`FoldTable` given to :func:`normalize` (the matcher's spelling of
    the homophone-folded text), else None.
    """

    __slots__ = ("text", "orig_len", "alt", "_idx", "_pos", "_mid_len", "_spans")

    def __init__(
        self,
        text: str,
        idx: list[int] | None,
        orig_len: int,
        alt: str | None = None,
        *,
        pos: np.ndarray | None = None,
        mid_len: int = 0,
        spans: list[tuple[int, int]] | None = None,
    ) -> None:
        self.text = text
        self.orig_len = orig_len
        self.alt = alt
        self._idx = idx
        self._pos = pos  # original index of each character left after pass 1 (None: pass 1 removed nothing)
        self._mid_len = mid_len  # length after pass 1
        self._spans = spans  # what passes 2 and 3 removed, as sorted disjoint spans of the pass-1 text

    @property
    def idx(self) -> list[int] | None:
        if self._idx is None and (self._pos is not None or self._spans):
            idx = self._pos.tolist() if self._pos is not None else list(range(self._mid_len))
            for a, b in reversed(self._spans or ()):
                del idx[a:b]
            self._idx = idx
        return self._idx

    def orig(self, i: int) -> int:
        idx = self.idx
        return i if idx is None else idx[i]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised [start, end) back to the original text's [start, end)."""
        if end <= start:
            p = self.orig(start) if start < len(self.text) else self.orig_len
            return p, p
        return self.orig(start), self.orig(end - 1) + 1

    def __repr__(self) -> str:
        return f"Normalized(text={self.text!r}, idx={self.idx!r}, orig_len={self.orig_len})"


def _sep_spans(cs: str) -> list[tuple[int, int]]:
    """Separator runs (≤4 chars) that sit between Han characters, or between Han and a letter/digit, found on the
    class string ``cs`` of the text."""
    out = []
    n = len(cs)
    for m in _SEPRUN_C.finditer(cs):
        a, b = m.span()
        if b - a > 4 or a == 0 or b >= n:
            continue
        left, right = cs[a - 1], cs[b]
        if (left == "\x03" and (right == "\x03" or right == "\x02")) or (right == "\x03" and left == "\x02"):
            out.append((a, b))
    return out


def _drop(text: str, spans: list[tuple[int, int]]) -> str:
    pieces: list[str] = []
    pos = 0
    for a, b in spans:
        pieces.append(text[pos:a])
        pos = b
    pieces.append(text[pos:])
    return "".join(pieces)


def normalize(text: str, table: FoldTable | None = None) -> Normalized:
    """Fold and clean ``text``; see module docstring for the families handled.

    Pass 1 removes the always-removed characters, pass 2 separators between Han characters (on pass 1's output),
    pass 3 repeated Han characters (on pass 2's output). In pass 2's output two characters are neighbours either
    because they already were (separators are never Han, so pass 2 cannot split a Han pair) or because a removed run
    sat between them, so pass 3 is one vectorised comparison of each code point with its predecessor plus a look
    across each removed run. With a ``table`` built with an extra lookup, ``alt`` is filled in too.
    """
    if table is None:
        table = plain_table()
    rows = table.rows.take(_frombuffer(_encode(text, "surrogatepass")[0], _U32), axis=0)
    k = table.width
    u = _decode(rows.tobytes(), "surrogatepass")[0]
    s = u[::k]
    cs = u[1::k]
    pos = None
    if "\x04" in cs:  # pass 1
        keep = rows[:, 1] != _C_GONE
        pos = keep.nonzero()[0]
        rows = rows[keep]
        u = _decode(rows.tobytes(), "surrogatepass")[0]
        s = u[::k]
        cs = u[1::k]
    n = len(s)
    spans = _sep_spans(cs) if "\x01" in cs else []  # pass 2
    # pass 3: positions (in pass 1's output) of a Han character equal to its new predecessor
    reps: list[int] = []
    if n > 1:
        codes = rows[:, 0]
        eq = codes[1:] == codes[:-1]
        if b"\x01" in eq.tobytes():
            for j in (eq.nonzero()[0] + 1).tolist():
                if cs[j] == "\x03":
                    reps.append(j)
    for a, b in spans:
        if cs[b] == "\x03" and s[b] == s[a - 1]:
            reps.append(b)
    if reps:
        spans = sorted(spans + [(j, j + 1) for j in reps])
    alt = None
    if k > 2:
        alt = _decode(rows[:, 2:].tobytes(), "surrogatepass")[0]
        if spans:
            w = k - 2  # characters of ``alt`` per character of text
            alt = _drop(alt, spans if w == 1 else [(a * w, b * w) for a, b in spans])
    if spans:
        s = _drop(s, spans)
    elif pos is None:
        return Normalized(s, None, len(text), alt)
    return Normalized(s, None, len(text), alt, pos=pos, mid_len=n, spans=spans)


def normalize_term(term: str) -> str:
    """Normalise a lexicon term exactly like text, so both sides meet in the same space."""
    return normalize(term.strip()).text


def has_han(s: str) -> bool:
    return _HAN_RE.search(s) is not None
