"""Static facts about a regular expression, used to skip work on texts where it cannot match.

``first_chars``: the characters a non-empty match can start with (prefixing ``(?=[…])`` lets the engine reject other
positions with one class test instead of trying every alternative). ``required_chars``: a small set of characters at
least one of which occurs in every match (when a text has none of them, the regex need not run at all).
Both answer None when they cannot tell (case-insensitive flags, categories, negated classes, back-references …);
the caller then runs the regex as written. Built on the standard library's own parser (``re._parser``).
"""

from __future__ import annotations

import re

try:  # Python ≥ 3.11
    from re import _constants as _c
    from re import _parser as _p
except ImportError:  # pragma: no cover
    _p = _c = None  # type: ignore[assignment]

_MAX_CLASS = 64  # a class or range larger than this says too little to be worth a set


def _parse(pattern: str):
    if _p is None:
        return None
    try:
        parsed = _p.parse(pattern)
    except Exception:  # noqa: BLE001 - anything the parser rejects is simply not analysed
        return None
    if parsed.state.flags & (re.IGNORECASE | re.LOCALE):
        return None
    return parsed


def _class(items) -> set[str] | None:
    out: set[str] = set()
    for op, av in items:
        if op is _c.LITERAL:
            out.add(chr(av))
        elif op is _c.RANGE and av[1] - av[0] < _MAX_CLASS:
            out.update(chr(c) for c in range(av[0], av[1] + 1))
        else:  # NEGATE, CATEGORY, big ranges
            return None
    return out if len(out) <= _MAX_CLASS else None


def _first_seq(seq) -> tuple[set[str], bool] | None:
    acc: set[str] = set()
    for item in seq:
        r = _first_item(*item)
        if r is None:
            return None
        chars, nullable = r
        acc |= chars
        if not nullable:
            return acc, False
    return acc, True


def _first_item(op, av) -> tuple[set[str], bool] | None:
    if op is _c.LITERAL:
        return {chr(av)}, False
    if op is _c.IN:
        chars = _class(av)
        return None if chars is None else (chars, False)
    if op is _c.SUBPATTERN:
        _group, add_flags, _del_flags, sub = av
        if add_flags & (re.IGNORECASE | re.LOCALE):
            return None
        return _first_seq(sub)
    if op is _c.ATOMIC_GROUP:
        return _first_seq(av)
    if op is _c.BRANCH:
        acc: set[str] = set()
        nullable = False
        for alt in av[1]:
            r = _first_seq(alt)
            if r is None:
                return None
            acc |= r[0]
            nullable = nullable or r[1]
        return acc, nullable
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
        lo, _hi, sub = av
        r = _first_seq(sub)
        if r is None:
            return None
        return r[0], r[1] or lo == 0
    if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):  # zero-width: the first consumed character comes later
        return set(), True
    return None  # ANY, NOT_LITERAL, GROUPREF, GROUPREF_EXISTS, CATEGORY …


def _required_seq(seq) -> set[str] | None:
    best: set[str] | None = None
    for item in seq:
        r = _required_item(*item)
        if r is not None and (best is None or len(r) < len(best)):
            best = r
    return best


def _required_item(op, av) -> set[str] | None:
    if op is _c.LITERAL:
        return {chr(av)}
    if op is _c.IN:
        return _class(av)
    if op is _c.SUBPATTERN:
        _group, add_flags, _del_flags, sub = av
        if add_flags & (re.IGNORECASE | re.LOCALE):
            return None
        return _required_seq(sub)
    if op is _c.ATOMIC_GROUP:
        return _required_seq(av)
    if op is _c.BRANCH:
        acc: set[str] = set()
        for alt in av[1]:
            r = _required_seq(alt)
            if r is None:
                return None
            acc |= r
        return acc if len(acc) <= _MAX_CLASS else None
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
        lo, _hi, sub = av
        return _required_seq(sub) if lo >= 1 else None
    return None


def first_chars(pattern: str) -> set[str] | None:
    """Characters every non-empty match of ``pattern`` starts with; None if unknown or if it can match empty."""
    parsed = _parse(pattern)
    if parsed is None:
        return None
    r = _first_seq(parsed)
    if r is None or r[1] or not r[0]:
        return None
    return r[0]


def required_chars(pattern: str) -> set[str] | None:
    """A small set of characters, one of which occurs in every match of ``pattern``; None if unknown."""
    parsed = _parse(pattern)
    if parsed is None:
        return None
    return _required_seq(parsed) or None


def char_class(chars: set[str]) -> str:
    """A regex character class matching exactly ``chars``."""
    return "[" + "".join(sorted(re.escape(c) if c not in "\\]^-[" else "\\" + c for c in chars)) + "]"


__all__ = ["char_class", "first_chars", "required_chars"]
