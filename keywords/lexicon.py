"""Lexicon data model: terms with category, weight, kind, note and provenance, loaded from human-editable YAML, and
the allow-list: longer phrases inside which a blocked term does not count (a longer phrase wins).

Two YAML layouts are accepted: the bundled *seed* (grouped by category, compact, easy to review) and the *flat*
layout the live store writes (one mapping per term, every field explicit, easy to diff). Either may carry an
``allow:`` list (phrase, note, provenance); it is part of the lexicon, so it is versioned with the terms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from .categories import CATEGORIES
from .normalize import normalize_term

KINDS = ("literal", "pattern", "combo")
SEED_PATH = Path(__file__).parent / "data" / "lexicon.yaml"
BOUNDARY_MODES = ("true", "both", "false", "head")
FIELDS = ("term", "category", "weight", "kind", "note", "provenance", "pattern", "boundary")
ALLOW_FIELDS = ("phrase", "note", "provenance")
MAX_ALLOW = 60  # characters of an allow-list phrase as written (the review app's limit for terms too)
MAX_ALLOW_NOTE = 500
# C0 controls (tab, newline and CR are whitespace, collapsed before this check), DEL … C1 controls, lone surrogates
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

try:  # the C loader is ~10x faster; fall back when libyaml is missing
    _Loader = yaml.CSafeLoader
    _Dumper = yaml.CSafeDumper
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader  # type: ignore[misc]
    _Dumper = yaml.SafeDumper  # type: ignore[misc]


class LexiconError(ValueError):
    """Invalid lexicon entry (unknown category or kind, weight outside [0, 1], bad combo expression)."""


@dataclass(slots=True)
class Term:
    term: str  # the phrase (literal), a name (combo) or a label (pattern)
    category: str
    weight: float
    kind: str = "literal"
    note: str = ""
    provenance: str = ""
    pattern: str = ""  # regex for kind=pattern, expression for kind=combo (see combos.py)
    # jieba word-boundary check: True (a word straddling either end drops the hit), "head" (only a word straddling
    # the start does: 返租 in 返租金 stays, 返租 in 往返租车 goes), False (never), None = automatic (True for
    # positive terms of ≤2 Han characters)
    boundary: bool | str | None = None

    def validate(self) -> Term:
        if not self.term or not self.term.strip():
            raise LexiconError("empty term")
        if self.category not in CATEGORIES:
            raise LexiconError(f"unknown category {self.category!r} for {self.term!r}")
        if self.kind not in KINDS:
            raise LexiconError(f"unknown kind {self.kind!r} for {self.term!r}")
        try:
            self.weight = float(self.weight)
        except (TypeError, ValueError) as exc:
            raise LexiconError(f"weight of {self.term!r} is not a number") from exc
        if not 0.0 <= self.weight <= 1.0:
            raise LexiconError(f"weight of {self.term!r} must be within [0, 1]")
        if isinstance(self.boundary, str):
            b = self.boundary.strip().lower()
            if b not in BOUNDARY_MODES:
                raise LexiconError(f"boundary of {self.term!r} must be true, false or head, not {self.boundary!r}")
            self.boundary = {"true": True, "both": True, "false": False}.get(b, b)
        if self.kind in ("pattern", "combo") and not self.pattern:
            raise LexiconError(f"{self.kind} {self.term!r} needs a pattern/expression")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class AllowPhrase:
    """An allow-list phrase: a positive hit lying wholly inside one of its occurrences does not count there.

    Matched in the same normalised space as terms (:func:`normalize_term`), so 保本保息理财風險提示 or
    保 本 保 息 理 财 风 险 提 示 are the phrase too. Phrases are whitespace-collapsed as written."""

    phrase: str
    note: str = ""
    provenance: str = ""
    # the normalised phrase: what the matcher scans for and what makes two phrases the same (set by validate)
    key: str = field(default="", repr=False, compare=False)

    def validate(self) -> AllowPhrase:
        self.phrase = " ".join(str(self.phrase or "").split())
        self.key = normalize_term(self.phrase)
        self.note = str(self.note or "")
        self.provenance = str(self.provenance or "")
        if not self.phrase:
            raise LexiconError("empty allow-list phrase")
        if len(self.phrase) > MAX_ALLOW:
            raise LexiconError(f"allow-list phrase {self.phrase[:20]!r}… is longer than {MAX_ALLOW} characters")
        if _CONTROL.search(self.phrase) or _CONTROL.search(self.note) or _CONTROL.search(self.provenance):
            raise LexiconError(f"allow-list phrase {self.phrase!r} or its note contains control characters")
        if len(self.note) > MAX_ALLOW_NOTE:
            raise LexiconError(f"the note of allow-list phrase {self.phrase!r} is longer than {MAX_ALLOW_NOTE}")
        if len(self.key) < 2:
            raise LexiconError(
                f"allow-list phrase {self.phrase!r} leaves fewer than 2 characters after normalisation"
            )
        return self

    def to_dict(self) -> dict:
        return {"phrase": self.phrase, "note": self.note, "provenance": self.provenance}


@dataclass
class Lexicon:
    terms: dict[str, Term] = field(default_factory=dict)
    version: str = "seed"
    # phrase (as written) → entry; no two share a normalised key (see :meth:`add_allow`)
    allow: dict[str, AllowPhrase] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.terms)

    def __iter__(self):
        return iter(self.terms.values())

    def get(self, term: str) -> Term | None:
        return self.terms.get(term)

    def by_kind(self, kind: str) -> list[Term]:
        return [t for t in self.terms.values() if t.kind == kind]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.terms.values():
            out[t.category] = out.get(t.category, 0) + 1
        return out

    def find_allow(self, phrase: str) -> AllowPhrase | None:
        """The allow-list entry spelt ``phrase`` or normalising to the same key (穩賺 finds 稳赚)."""
        hit = self.allow.get(" ".join(phrase.split()))
        if hit is not None:
            return hit
        key = normalize_term(phrase)
        if not key:
            return None
        return next((a for a in self.allow.values() if (a.key or normalize_term(a.phrase)) == key), None)

    def add_allow(self, entry: AllowPhrase) -> AllowPhrase:
        """Validate and add ``entry``; a phrase normalising like one already listed is refused (LexiconError)."""
        entry.validate()
        same = self.find_allow(entry.phrase)
        if same is not None:
            raise LexiconError(
                f"allow-list phrase {entry.phrase!r} is already listed as {same.phrase!r} (same after normalisation)"
            )
        self.allow[entry.phrase] = entry
        return entry

    @classmethod
    def from_terms(
        cls, terms: Iterable[Term], version: str = "seed", allow: Iterable[AllowPhrase] = ()
    ) -> Lexicon:
        lex = cls(version=version)
        for t in terms:
            lex.terms[t.term] = t.validate()
        for a in allow:
            lex.add_allow(AllowPhrase(a.phrase, a.note, a.provenance))
        return lex

    @classmethod
    def load_yaml(cls, path: str | Path) -> Lexicon:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_Loader) or {}
        return cls.from_data(data)

    @classmethod
    def bundled(cls) -> Lexicon:
        """The seed lexicon shipped in keywords/data/lexicon.yaml."""
        return cls.load_yaml(SEED_PATH)

    @classmethod
    def from_data(cls, data: dict) -> Lexicon:
        version = str(data.get("version", "seed"))
        allow = [_allow_item(item) for item in data.get("allow") or []]
        if "terms" in data:  # flat layout
            return cls.from_terms((Term(**_pick(row)) for row in data["terms"]), version, allow)
        return cls.from_terms(_expand_seed(data), version, allow)

    def to_data(self) -> dict:
        data: dict = {"version": self.version, "terms": [t.to_dict() for t in self.terms.values()]}
        if self.allow:  # written only when there is one, so a lexicon without it dumps as before
            data["allow"] = [a.to_dict() for a in self.allow.values()]
        return data

    def dump_yaml(self) -> str:
        return yaml.dump(self.to_data(), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=200)


def _pick(row: dict) -> dict:
    return {k: row[k] for k in FIELDS if k in row and row[k] is not None}


def _allow_item(item: str | dict) -> AllowPhrase:
    """An ``allow:`` entry: a bare string, or a mapping with phrase (and note, provenance)."""
    if isinstance(item, str):
        return AllowPhrase(item)
    if isinstance(item, dict) and "phrase" in item:
        return AllowPhrase(**{k: item[k] for k in ALLOW_FIELDS if k in item and item[k] is not None})
    raise LexiconError(f"cannot read allow-list item {item!r}")


def _expand_seed(data: dict) -> Iterable[Term]:
    """Seed layout: categories → {weight, provenance, terms: [str | {term: weight} | {term:…, weight:…}]}."""
    for cat, block in (data.get("categories") or {}).items():
        default_w = float(block.get("weight", 0.3))
        prov = str(block.get("provenance", ""))
        for item in block.get("terms") or []:
            if isinstance(item, str):
                yield Term(item, cat, default_w, provenance=prov)
            elif isinstance(item, dict) and "term" in item:
                row = {"category": cat, "weight": default_w, "provenance": prov, **item}
                yield Term(**_pick(row))
            elif isinstance(item, dict) and len(item) == 1:
                ((term, w),) = item.items()
                if isinstance(w, dict):  # 保本: {weight: 0.45, note: …}
                    yield Term(
                        **_pick(
                            {"category": cat, "weight": default_w, "provenance": prov, **w, "term": str(term)}
                        )
                    )
                else:
                    yield Term(str(term), cat, float(w), provenance=prov)
            else:
                raise LexiconError(f"cannot read seed item {item!r} in {cat}")
    for item in data.get("combos") or []:
        yield Term(
            **_pick({"kind": "combo", "category": "combo", "provenance": "seed combination rule", **item})
        )
    for item in data.get("patterns") or []:
        yield Term(**_pick({"kind": "pattern", "provenance": "seed pattern", **item}))
