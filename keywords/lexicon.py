"""Lexicon data model: terms with category, weight, kind, note and provenance, loaded from human-editable YAML.

Two YAML layouts are accepted: the bundled *seed* (grouped by category, compact, easy to review) and the *flat*
layout the live store writes (one mapping per term, every field explicit, easy to diff).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from .categories import CATEGORIES

KINDS = ("literal", "pattern", "combo")
SEED_PATH = Path(__file__).parent / "data" / "lexicon.yaml"
BOUNDARY_MODES = ("true", "both", "false", "head")
FIELDS = ("term", "category", "weight", "kind", "note", "provenance", "pattern", "boundary")

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


@dataclass
class Lexicon:
    terms: dict[str, Term] = field(default_factory=dict)
    version: str = "seed"

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

    @classmethod
    def from_terms(cls, terms: Iterable[Term], version: str = "seed") -> Lexicon:
        lex = cls(version=version)
        for t in terms:
            lex.terms[t.term] = t.validate()
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
        if "terms" in data:  # flat layout
            return cls.from_terms((Term(**_pick(row)) for row in data["terms"]), version)
        return cls.from_terms(_expand_seed(data), version)

    def to_data(self) -> dict:
        return {"version": self.version, "terms": [t.to_dict() for t in self.terms.values()]}

    def dump_yaml(self) -> str:
        return yaml.dump(self.to_data(), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=200)


def _pick(row: dict) -> dict:
    return {k: row[k] for k in FIELDS if k in row and row[k] is not None}


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
