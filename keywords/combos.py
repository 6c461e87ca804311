"""Combination rules (AND / NOT within a window), e.g. 保本 with 收益 nearby unless a risk disclosure is near.

Expression syntax (one line, CSV-friendly): ``all=保本|保息;收益|回报 window=20 not=@risk_disclosure|警惕``.
Groups are separated by ``;`` and all must match; alternatives by ``|``; ``@name`` means any hit of that category.
Window is in normalised characters between the outermost hits.
"""

from __future__ import annotations

from dataclasses import dataclass

from .lexicon import LexiconError
from .normalize import normalize_term


@dataclass(frozen=True)
class Group:
    terms: frozenset[str]  # normalised term keys
    cats: frozenset[str]

    def matches(self, key: str, category: str) -> bool:
        return key in self.terms or category in self.cats


@dataclass(frozen=True)
class ComboRule:
    all: tuple[Group, ...]
    none: tuple[Group, ...]
    window: int

    def words(self) -> set[str]:
        out: set[str] = set()
        for g in self.all + self.none:
            out |= g.terms
        return out


def _group(text: str) -> Group:
    terms, cats = set(), set()
    for alt in text.split("|"):
        alt = alt.strip()
        if not alt:
            continue
        if alt.startswith("@"):
            cats.add(alt[1:])
        else:
            terms.add(normalize_term(alt))
    if not terms and not cats:
        raise LexiconError(f"empty group in combo: {text!r}")
    return Group(frozenset(terms), frozenset(cats))


def parse(expr: str) -> ComboRule:
    groups: list[Group] = []
    none: list[Group] = []
    window = 20
    for part in expr.split():
        key, _, value = part.partition("=")
        if key == "all":
            groups = [_group(g) for g in value.split(";") if g.strip()]
        elif key == "not":
            none = [_group(g) for g in value.split(";") if g.strip()]
        elif key == "window":
            try:
                window = int(value)
            except ValueError as exc:
                raise LexiconError(f"bad window in combo {expr!r}") from exc
        else:
            raise LexiconError(f"unknown combo field {key!r} in {expr!r}")
    if len(groups) < 2:
        raise LexiconError(f"combo needs at least two groups: {expr!r}")
    return ComboRule(tuple(groups), tuple(none), window)
