"""Labelled rows: loading, splits, extra rows from the caller, and a content hash for provenance."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

POSITIVE = "fundraising"


def label_to_int(label: object) -> int:
    """``fundraising`` / True / 1 / "confirmed" -> 1; anything else (``negative``, dismissed, 0) -> 0."""
    if isinstance(label, bool):
        return int(label)
    if isinstance(label, int | float):
        return int(label > 0)
    return int(str(label).strip().lower() in {POSITIVE, "1", "true", "positive", "confirmed"})


def load_rows(path: Path) -> list[dict]:
    """JSON lines with at least ``text`` and ``label``; rows without ``split`` count as train."""
    rows = []
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if "text" not in row or "label" not in row:
                raise ValueError(f"{path}:{n}: row needs 'text' and 'label'")
            row.setdefault("split", "train")
            rows.append(row)
    return rows


def extra_rows(items: Iterable[dict]) -> list[dict]:
    """Caller-supplied ``{text, label}`` rows (e.g. inspectors' decisions): train split only, never dev/test."""
    out = []
    for i, item in enumerate(items):
        out.append(
            {
                "id": str(item.get("id", f"extra-{i}")),
                "source": item.get("source", "extra"),
                "text": item.get("text") or "",
                "label": POSITIVE if label_to_int(item.get("label")) else "negative",
                "subtype": item.get("subtype", "extra"),
                "split": "train",
            }
        )
    return out


def by_split(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {"train": [], "dev": [], "test": []}
    for row in rows:
        out.setdefault(row.get("split", "train"), []).append(row)
    return out


def data_hash(rows: list[dict]) -> str:
    """sha256 over (id, text, label, split) in file order: changes whenever the training data does."""
    h = hashlib.sha256()
    for row in rows:
        key = [
            str(row.get("id", "")),
            row.get("text", ""),
            str(label_to_int(row["label"])),
            row.get("split", ""),
        ]
        h.update(json.dumps(key, ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def source_class_factors(rows: list[dict], power: float = 0.5, clip: float = 8.0) -> list[float]:
    """Per-row factor ((n_source / 2) / n_source_class) ** power, clipped to [1/clip, clip]: balances the classes
    within each source, on top of ``source_weights`` and the global class balance.

    Why: the SMS corpus is 3 % pitches, so with only global balancing the SMS marketing style itself (尊敬的客户,
    凡购买…即赠) reads as "not a pitch", and a wealth firm's SMS pitch in that style scores low whatever it offers.
    A source with a single class keeps factor 1.
    """
    keys = [(source_group(r), label_to_int(r["label"])) for r in rows]
    n = Counter(keys)
    out = []
    for g, label in keys:
        pos, neg = n[(g, 1)], n[(g, 0)]
        own = pos if label else neg
        out.append(min(clip, max(1.0 / clip, ((pos + neg) / 2 / own) ** power)) if pos and neg else 1.0)
    return out


def source_group(row: dict) -> str:
    """The style a row stands for: its ``source`` up to the first ``:`` (``written:sms-b3`` -> ``written``)."""
    return str(row.get("source") or "unknown").split(":", 1)[0]


def source_weights(rows: list[dict], power: float = 0.5, clip: float = 4.0) -> list[float]:
    """Per-row weight (n_mean / n_source) ** power, clipped to [1/clip, clip], normalised to mean 1.

    Why: the seed set is 45 % BDCI posts and the written set will add thousands of short ads; an unweighted loss
    lets the biggest source's style decide what a pitch looks like. ``power`` 0 turns it off, 1 balances the
    sources fully; 0.5 (the default) halves the imbalance in log terms without letting a 90-row source dominate.
    """
    if not rows:
        return []
    groups = [source_group(r) for r in rows]
    counts: dict[str, int] = {}
    for g in groups:
        counts[g] = counts.get(g, 0) + 1
    mean = len(rows) / len(counts)
    raw = [min(clip, max(1.0 / clip, (mean / counts[g]) ** power)) for g in groups]
    scale = len(raw) / sum(raw)
    return [w * scale for w in raw]
