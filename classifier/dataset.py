"""Labelled rows: loading, splits, extra rows from the caller, and a content hash for provenance."""

from __future__ import annotations

import hashlib
import json
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
