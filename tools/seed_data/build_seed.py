"""Rebuild `seed.jsonl` from the reading decisions (`decisions.tsv`) and the shared corpora.

The decisions file holds only IDs and labels; texts are copied from `../shared/data/corpus` at build time, so the
project never carries rows that were not read. Holdout IDs are refused twice: `load_corpus` skips them, and a
decision naming one is an error. Rows that are near-duplicates of a holdout row are dropped as well, so the
evaluation set cannot leak in through a twin.

Usage: python -m tools.seed_data.build_seed [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

from tools.seed_data.common import CODES, HOLDOUT, SUBTYPES, dup_key, holdout_ids, load_corpus

# The reading decisions and the seed set are the classifier's package data; this builder only writes them.
DATA = Path(__file__).resolve().parents[2] / "classifier" / "data"
DECISIONS = DATA / "decisions.tsv"
# Rows picked for reading because a model found them likely or uncertain (active learning). The pick is biased
# towards the model's blind spots, so these rows go to the train split only and never shape dev/test.
TRAIN_ONLY = DATA / "decisions_train_only.tsv"
SEED = DATA / "seed.jsonl"
RUBRIC_VERSION = 2
SPLITS = (("train", 0.70), ("dev", 0.15), ("test", 0.15))


def first_decisions(path: Path = DECISIONS) -> dict[str, str]:
    """Map id -> subtype of its *first* decision: the stratum that fixes its split.

    Why: a correction appended later (a second reading, an adjudication) must never move a row between train, dev
    and test, or the "fixed test split" would change under every label fix.
    """
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        rid, code = line.split("\t")[:2]
        out.setdefault(rid, CODES.get(code, "skipped"))
    return out


def read_decisions(path: Path = DECISIONS) -> dict[str, str]:
    """Map id -> subtype; a later line overrides an earlier one (corrections are appended); `S` drops a row."""
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        rid, code = line.split("\t")[:2]
        if code == "S":
            out.pop(rid, None)
            continue
        if code not in CODES:
            raise ValueError(f"{path.name}:{n}: unknown code {code!r}")
        out[rid] = CODES[code]
    return out


def _rank(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def assign_splits(rows: list[dict]) -> None:
    """Stratified, deterministic split: near-duplicate groups move together, ranked by a hash of their key.

    Within each stratum (the subtype of a row's first decision) the groups are ordered by sha256(dup_key) and cut at 70/15/15 of the rows, so every
    subtype is represented in every split in proportion, and the result depends only on the data.
    """
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row["_key"]].append(row)
    by_subtype: dict[str, list[str]] = defaultdict(list)
    for key, members in groups.items():
        by_subtype[Counter(m["stratum"] for m in members).most_common(1)[0][0]].append(key)
    for keys in by_subtype.values():
        keys.sort(key=_rank)
        total = sum(len(groups[k]) for k in keys)
        done = 0
        for key in keys:
            position = done / total
            edge, split = 0.0, SPLITS[-1][0]
            for name, share in SPLITS:
                edge += share
                if position < edge:
                    split = name
                    break
            for member in groups[key]:
                member["split"] = split
            done += len(groups[key])


def build() -> tuple[list[dict], dict[str, int]]:
    decisions = read_decisions()
    strata = first_decisions()
    train_only = read_decisions(TRAIN_ONLY) if TRAIN_ONLY.exists() else {}
    both = sorted(set(train_only) & set(strata))
    if both:
        raise SystemExit(f"{len(both)} IDs are in both decision files, e.g. {both[:3]}")
    decisions.update(train_only)
    held = holdout_ids()
    if not held:
        print(f"warning: {HOLDOUT} not found; holdout exclusion cannot be verified", file=sys.stderr)
    leaked = sorted(set(decisions) & held)
    if leaked:
        raise SystemExit(f"{len(leaked)} decisions name holdout IDs; remove them from {DECISIONS.name}")
    held_keys: set[str] = set()
    rows: list[dict] = []
    seen: set[str] = set()
    for row in load_corpus(exclude=set()):
        if row["id"] in held:
            held_keys.add(dup_key(row["text"]))
            continue
        subtype = decisions.get(row["id"])
        if subtype is None:
            continue
        seen.add(row["id"])
        rows.append(
            {
                "id": row["id"],
                "source": row["source"],
                "text": row["text"],
                "label": "fundraising" if subtype == "fundraising" else "negative",
                "subtype": subtype,
                "rubric_version": RUBRIC_VERSION,
                "split": "",
                "label_method": "read",
                "_key": dup_key(row["text"]),
                "stratum": strata.get(row["id"], "train_only"),
            }
        )
    missing = sorted(set(decisions) - seen)
    if missing:
        raise SystemExit(f"{len(missing)} decided IDs are not in the corpora, e.g. {missing[:3]}")
    kept = [r for r in rows if r["_key"] not in held_keys]
    stats = {"decided": len(rows), "dropped_holdout_twins": len(rows) - len(kept)}
    fixed = [r for r in kept if r["id"] not in train_only]
    assign_splits(fixed)
    # a train-only row that is a near-duplicate of a dev/test row would leak it into training: drop it
    eval_keys = {r["_key"] for r in fixed if r["split"] != "train"}
    extra = [r for r in kept if r["id"] in train_only]
    stats["dropped_eval_twins"] = sum(r["_key"] in eval_keys for r in extra)
    for row in extra:
        row["split"] = "train"
    kept = fixed + [r for r in extra if r["_key"] not in eval_keys]
    for row in kept:
        del row["_key"], row["stratum"]
    kept.sort(key=lambda r: r["id"])
    return kept, stats


def render(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def table(rows: list[dict]) -> str:
    """Markdown counts per subtype and split, for DATA.md."""
    c = Counter((r["subtype"], r["split"]) for r in rows)
    lines = ["| subtype | train | dev | test | total |", "|---|---:|---:|---:|---:|"]
    for st in SUBTYPES:
        n = [c[(st, s)] for s, _ in SPLITS]
        lines.append(f"| {st} | {n[0]} | {n[1]} | {n[2]} | {sum(n)} |")
    n = [sum(c[(st, s)] for st in SUBTYPES) for s, _ in SPLITS]
    lines.append(f"| **all** | {n[0]} | {n[1]} | {n[2]} | {sum(n)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if seed.jsonl differs from a fresh build")
    args = parser.parse_args()
    rows, stats = build()
    text = render(rows)
    if args.check:
        if not SEED.exists() or SEED.read_text(encoding="utf-8") != text:
            raise SystemExit("seed.jsonl is stale: run python -m tools.seed_data.build_seed")
        print("seed.jsonl is up to date")
    else:
        SEED.write_text(text, encoding="utf-8")
        print(f"wrote {len(rows)} rows to {SEED}")
    print(
        f"decided rows: {stats['decided']}, dropped as near-duplicates of holdout rows: "
        f"{stats['dropped_holdout_twins']}, train-only rows dropped as near-duplicates of dev/test rows: "
        f"{stats['dropped_eval_twins']}"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
