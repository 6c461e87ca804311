"""The judged rows a case explanation cites as precedents (与已判定为集资宣传的样本相近：bdcie-…).

Why: an inspector told "this ad resembles rows judged to be pitches" must be able to read those rows and their
labels, or the explanation is an unverifiable claim. The served neighbours index holds real seed rows only, so the
seed set shipped with the package is where each cited id is looked up.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from classifier.paths import default_seed_path
from review.labels import SUBTYPE_LABELS
from review.services.errors import NotFound

# corpus ids as the seed set spells them; written (synthetic) rows are never cited, so ``w-`` ids are not linked
PRECEDENT_ID = re.compile(r"(?<![\w-])(?:bdcie|bdcin|sms|ifly|thuc|tnews)-\d{1,7}(?![\w-])")


@dataclass(frozen=True)
class Precedent:
    id: str
    text: str
    label: str
    subtype: str
    source: str
    split: str
    label_method: str
    provenance: str
    rubric_version: int

    @property
    def subtype_label(self) -> str:
        """The rubric label in the Chinese inspectors read."""
        return SUBTYPE_LABELS.get(self.subtype, self.subtype)


@lru_cache(maxsize=4)
def _index(path: Path) -> dict[str, Precedent]:
    out: dict[str, Precedent] = {}
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        r = json.loads(line)
        if r.get("source") == "written":
            continue
        out[r["id"]] = Precedent(r["id"], r["text"], r["label"], r["subtype"], r["source"], r["split"],
                                 r.get("label_method", ""), r.get("provenance", ""), int(r.get("rubric_version", 0)))
    return out


def get(row_id: str, seed: Path | None = None) -> Precedent:
    """The judged row ``row_id``; NotFound for any other string (written rows and unknown ids alike)."""
    found = _index(seed or default_seed_path()).get(row_id) if PRECEDENT_ID.fullmatch(row_id or "") else None
    if found is None:
        raise NotFound(f"没有编号为 {row_id[:40]!r} 的已判定样本")
    return found


def segments(text: str | None) -> list[tuple[str, str | None]]:
    """``text`` cut into (piece, id) pairs, id set where the piece is a cited precedent: the page links those."""
    out: list[tuple[str, str | None]] = []
    pos = 0
    for m in PRECEDENT_ID.finditer(text or ""):
        if m.start() > pos:
            out.append((text[pos : m.start()], None))
        out.append((m.group(0), m.group(0)))
        pos = m.end()
    if pos < len(text or ""):
        out.append((text[pos:], None))
    return out
