"""LexiconStore: the live lexicon in a directory, with a version counter and an append-only changelog.

The allow-list (phrases inside which a blocked term does not count) lives in the same ``lexicon.yaml`` (``allow:``),
so adding or removing a phrase is a lexicon version like any term edit: workers reload it, verdicts carry the new
version and documents are rescored under it.

Files: ``lexicon.yaml`` (flat layout, carries its own version), ``VERSION`` (one short line, so other processes can
poll it cheaply), ``changelog.jsonl`` (who / when / why / what, one JSON object per change) and ``.lock`` (fcntl lock
serialising writers across processes). Writes are atomic (temp file + rename): a reader sees the old or the new
lexicon, never half of one; ``load`` re-reads if the version moved underneath it.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from .lexicon import FIELDS, AllowPhrase, Lexicon, LexiconError, Term
from .normalize import normalize_term

CSV_FIELDS = FIELDS


class TermNotFound(LexiconError, KeyError):
    """remove/reweight of a term that is not in the lexicon."""


class AllowNotFound(LexiconError, KeyError):
    """remove_allow of a phrase that is not on the allow-list."""


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _bool(value: str | None) -> bool | str | None:
    """A CSV boundary cell: empty → automatic, ``head`` → head only, otherwise yes/no."""
    if value is None or str(value).strip() == "":
        return None
    v = str(value).strip().lower()
    if v == "head":
        return "head"
    return v in ("1", "true", "yes", "y", "是")


class LexiconStore:
    def __init__(self, path: str | os.PathLike[str], seed: Lexicon | None = None) -> None:
        self.dir = Path(path)
        self.lex_path = self.dir / "lexicon.yaml"
        self.version_path = self.dir / "VERSION"
        self.log_path = self.dir / "changelog.jsonl"
        self._seed = seed
        self._ensure()

    # ---------------------------------------------------------------- plumbing
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with (self.dir / ".lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _ensure(self) -> None:
        if self.version_path.exists() and self.lex_path.exists():
            return
        with self._locked():
            if self.version_path.exists() and self.lex_path.exists():
                return
            lex = self._seed if self._seed is not None else Lexicon.bundled()
            seeded = Lexicon.from_terms(lex, version="v1", allow=lex.allow.values())
            self._write(
                seeded,
                {
                    "action": "seed",
                    "actor": "system",
                    "reason": f"seeded from {lex.version}",
                    "count": len(seeded),
                },
            )

    def _write(self, lex: Lexicon, change: dict) -> str:
        _atomic_write(self.lex_path, lex.dump_yaml())
        entry = {"version": lex.version, "at": datetime.now(UTC).isoformat(timespec="seconds"), **change}
        with self.log_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        _atomic_write(self.version_path, lex.version + "\n")
        return lex.version

    @staticmethod
    def _next(version: str) -> str:
        try:
            return f"v{int(version.lstrip('v')) + 1}"
        except ValueError:
            return "v1"

    def _change(self, mutate, change: dict) -> str:
        if not change.get("actor"):
            raise LexiconError("every change needs an actor (who)")
        with self._locked():
            lex = Lexicon.load_yaml(self.lex_path)
            mutate(lex)
            change.update(change.pop("_extra", {}))  # details only known after the mutation (old weight …)
            lex.version = self._next(lex.version)
            for t in lex:
                t.validate()
            for a in lex.allow.values():
                a.validate()
            return self._write(lex, change)

    # ---------------------------------------------------------------- reading
    def current_version(self) -> str:
        """Cheap: one small file read. Workers poll this to notice changes made by other processes."""
        try:
            return self.version_path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return ""

    def load(self) -> Lexicon:
        for _ in range(5):
            before = self.current_version()
            lex = Lexicon.load_yaml(self.lex_path)
            if lex.version == before or before == "":
                return lex
        return lex

    def history(self) -> list[dict]:
        if not self.log_path.exists():
            return []
        return [
            json.loads(line)
            for line in self.log_path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]

    # ---------------------------------------------------------------- changes
    @staticmethod
    def _find(lex: Lexicon, term: str) -> str:
        if term in lex.terms:
            return term
        key = normalize_term(term)
        for name in lex.terms:
            if normalize_term(name) == key:
                return name
        raise TermNotFound(term)

    def add_term(
        self,
        term: str,
        category: str,
        weight: float,
        kind: str = "literal",
        note: str = "",
        *,
        actor: str,
        reason: str = "",
        pattern: str = "",
        provenance: str = "",
        boundary: bool | str | None = None,
    ) -> str:
        """Add (or replace) a term; returns the new version."""
        new = Term(
            term.strip(), category, weight, kind, note, provenance or f"added by {actor}", pattern, boundary
        )
        new.validate()

        def mutate(lex: Lexicon) -> None:
            lex.terms[new.term] = new

        return self._change(
            mutate, {"action": "add", "actor": actor, "reason": reason, "term": new.to_dict()}
        )

    def remove_term(self, term: str, *, actor: str, reason: str = "") -> str:
        removed: dict = {}

        def mutate(lex: Lexicon) -> None:
            name = self._find(lex, term)
            removed.update(lex.terms.pop(name).to_dict())

        return self._change(mutate, {"action": "remove", "actor": actor, "reason": reason, "term": removed})

    def reweight(self, term: str, weight: float, *, actor: str, reason: str = "") -> str:
        info: dict = {}

        def mutate(lex: Lexicon) -> None:
            name = self._find(lex, term)
            t = lex.terms[name]
            info.update(term=name, old_weight=t.weight, new_weight=float(weight))
            t.weight = float(weight)

        return self._change(mutate, {"action": "reweight", "actor": actor, "reason": reason, "_extra": info})

    def add_allow(
        self, phrase: str, *, actor: str, reason: str = "", note: str = "", provenance: str = ""
    ) -> str:
        """Put a phrase on the allow-list (a positive hit wholly inside it no longer counts); returns the new version.

        Refused (LexiconError): empty, longer than 60 characters, control characters, fewer than two characters
        after normalisation, the same after normalisation as a listed phrase, or exactly a literal term (that
        would silence the term everywhere: remove or reweight it instead)."""
        entry = AllowPhrase(phrase, note, provenance or f"added by {actor}").validate()

        def mutate(lex: Lexicon) -> None:
            clash = next(
                (t.term for t in lex if t.kind == "literal" and normalize_term(t.term) == entry.key), None
            )
            if clash is not None:
                raise LexiconError(
                    f"allow-list phrase {entry.phrase!r} is the lexicon term {clash!r} itself: "
                    "remove or reweight the term instead"
                )
            lex.add_allow(entry)

        return self._change(
            mutate, {"action": "allow_add", "actor": actor, "reason": reason, "allow": entry.to_dict()}
        )

    def remove_allow(self, phrase: str, *, actor: str, reason: str = "") -> str:
        """Take a phrase off the allow-list (found as written or by its normalised spelling); a new version."""
        removed: dict = {}

        def mutate(lex: Lexicon) -> None:
            entry = lex.find_allow(phrase)
            if entry is None:
                raise AllowNotFound(phrase)
            removed.update(lex.allow.pop(entry.phrase).to_dict())

        return self._change(
            mutate, {"action": "allow_remove", "actor": actor, "reason": reason, "allow": removed}
        )

    def bundled_missing(self, bundled: Lexicon) -> list[Term]:
        """Terms of a newer bundled lexicon that the live one lacks and that no change here ever removed.

        Why: the bundled file only seeds a new store, so a running deployment never sees terms added to it later
        (e.g. new counter-evidence); and an analyst who removed a term meant it, so it is not offered back.
        """
        known = {normalize_term(t.term) for t in self.load()}
        known |= {normalize_term(str((e.get("term") or {}).get("term", ""))) for e in self.history()
                  if e.get("action") == "remove"}  # fmt: skip
        return [t for t in bundled if normalize_term(t.term) not in known]

    def add_bundled(self, bundled: Lexicon, *, actor: str, reason: str = "") -> tuple[str | None, list[Term]]:
        """Add :meth:`bundled_missing` as one new version (None when nothing is missing); weights the analysts
        changed and terms they removed stay as they are."""
        missing = self.bundled_missing(bundled)
        if not missing:
            return None, []

        def mutate(lex: Lexicon) -> None:
            for t in missing:
                lex.terms.setdefault(t.term, t)

        version = self._change(mutate, {"action": "add_bundled", "actor": actor, "reason": reason,
                                        "from": bundled.version, "count": len(missing),
                                        "terms": [t.term for t in missing]})  # fmt: skip
        return version, missing

    def import_csv(
        self, path: str | os.PathLike[str], *, actor: str, reason: str = "", replace: bool = False
    ) -> str:
        """Upsert every row (columns as in :data:`CSV_FIELDS`; term and category required); one version for all.
        ``replace=True`` makes the CSV the whole lexicon."""
        rows: list[Term] = []
        with open(path, encoding="utf-8-sig", newline="") as fh:
            for i, row in enumerate(csv.DictReader(fh), start=2):
                try:
                    t = Term(
                        term=(row.get("term") or "").strip(),
                        category=(row.get("category") or "").strip(),
                        weight=float(row.get("weight") or 0.3),
                        kind=(row.get("kind") or "literal").strip(),
                        note=row.get("note") or "",
                        provenance=row["provenance"]
                        if row.get("provenance") is not None
                        else f"csv import by {actor}",
                        pattern=row.get("pattern") or "",
                        boundary=_bool(row.get("boundary")),
                    ).validate()
                except (LexiconError, ValueError) as exc:
                    raise LexiconError(f"{path}: line {i}: {exc}") from exc
                rows.append(t)

        def mutate(lex: Lexicon) -> None:
            if replace:
                lex.terms.clear()
            for t in rows:
                lex.terms[t.term] = t

        return self._change(
            mutate,
            {
                "action": "import",
                "actor": actor,
                "reason": reason,
                "count": len(rows),
                "replace": replace,
                "source": str(path),
            },
        )

    def export_csv(self, path: str | os.PathLike[str]) -> int:
        lex = self.load()
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(CSV_FIELDS))
            w.writeheader()
            for t in lex:
                row = t.to_dict()
                row["boundary"] = "" if t.boundary is None else str(t.boundary).lower()
                w.writerow(row)
        return len(lex)
