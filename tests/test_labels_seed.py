"""The labelled seed set: holdout exclusion, schema, size, coverage and leak-free splits.

These tests guard the evaluation: a holdout ID or a near-duplicate straddling two splits would make every
reported F1 optimistic without anyone noticing.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tools.seed_data.build_seed import SEED, assign_splits, hash_split, read_decisions, render
from tools.seed_data.common import SUBTYPES, dup_key

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
HOLDOUT = SHARED / "data" / "holdout_ids.txt"
CORPUS = SHARED / "data" / "corpus"
FIELDS = {"id", "source", "text", "label", "subtype", "rubric_version", "split", "label_method", "provenance", "style"}
METHODS = {"double_blind", "double_blind+adjudicated", "single"}
SPLITS = {"train", "dev", "test"}


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    with SEED.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _simple_key(text: str) -> str:
    """The README's definition of a near-duplicate: same text once digits are masked and whitespace removed."""
    return re.sub(r"\s+", "", re.sub(r"[0-9]", "x", text))


def test_no_holdout_id_in_seed(rows: list[dict]) -> None:
    if not HOLDOUT.exists():
        pytest.skip("shared holdout list not present")
    held = {line.strip() for line in HOLDOUT.read_text(encoding="utf-8").splitlines() if line.strip()}
    assert held, "holdout list is empty"
    assert not held & {r["id"] for r in rows}


def test_no_holdout_id_in_decisions() -> None:
    if not HOLDOUT.exists():
        pytest.skip("shared holdout list not present")
    held = set(HOLDOUT.read_text(encoding="utf-8").split())
    data = Path(SEED).parent
    files = [*data.glob("decisions*.tsv"), data / "second_pass.tsv", data / "splits_v2.tsv",
             *data.glob("reading/readings/*/*.tsv"), *data.glob("reading/adjudication/**/*.tsv")]
    assert len(files) > 5
    decisions = "".join(p.read_text(encoding="utf-8") for p in files)
    assert not held & {line.split("\t")[0] for line in decisions.splitlines() if line}


def test_no_seed_row_is_a_twin_of_a_holdout_row(rows: list[dict]) -> None:
    if not (HOLDOUT.exists() and CORPUS.exists()):
        pytest.skip("shared corpora not present")
    held = set(HOLDOUT.read_text(encoding="utf-8").split())
    held_keys = set()
    for path in CORPUS.glob("*.jsonl"):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                if row["id"] in held:
                    held_keys.add(dup_key(row["text"]))
    assert not [r["id"] for r in rows if dup_key(r["text"]) in held_keys]


def test_schema(rows: list[dict]) -> None:
    ids = Counter(r["id"] for r in rows)
    assert not [i for i, n in ids.items() if n > 1], "duplicate IDs"
    for r in rows:
        assert set(r) == FIELDS, r["id"]
        assert r["subtype"] in SUBTYPES
        assert r["label"] == ("fundraising" if r["subtype"] == "fundraising" else "negative")
        assert r["rubric_version"] == 2
        assert r["label_method"] in METHODS
        assert r["split"] in SPLITS
        assert isinstance(r["text"], str) and r["text"].strip()
        if r["source"] == "written":
            assert re.fullmatch(r"w-[\w-]+", r["id"]) and r["provenance"].startswith("written:"), r["id"]
        else:
            assert re.fullmatch(r"(sms|ifly|thuc|tnews|bdcie|bdcin)-\d+", r["id"]), r["id"]
            assert r["provenance"] == f"corpus:{r['id']}"


def test_size_and_coverage(rows: list[dict]) -> None:
    assert len(rows) >= 3000
    counts = Counter(r["subtype"] for r in rows)
    assert counts["fundraising"] >= 900
    per_split = Counter((r["subtype"], r["split"]) for r in rows)
    for subtype in SUBTYPES:
        for split in SPLITS:
            assert per_split[(subtype, split)] > 0, (subtype, split)


def _train_only_ids() -> set[str]:
    """Active-learning rows: the old decisions_train_only.tsv and the reading pools drawn by a model's doubt."""
    import json

    from tools.seed_data.build_seed import TRAIN_ONLY_POOLS
    from tools.seed_data.pools import POOLS

    path = Path(SEED).with_name("decisions_train_only.tsv")
    ids = set(read_decisions(path)) if path.exists() else set()
    manifest = json.loads((POOLS / "manifest.json").read_text(encoding="utf-8"))["pools"]
    for pool in TRAIN_ONLY_POOLS & set(manifest):
        ids |= {r["id"] for b in manifest[pool]["batches"]
                for r in map(json.loads, (POOLS / b).read_text(encoding="utf-8").splitlines())}
    return ids


def _v2_splits() -> dict[str, str]:
    from tools.seed_data.pools import v2_splits

    return v2_splits()


def test_split_proportions(rows: list[dict]) -> None:
    """Seed v2 rows keep their splits; new real rows fall about 70/15/15 by hash; active-learning rows are train-only."""
    pins, extra = _v2_splits(), _train_only_ids()
    assert all(r["split"] == pins[r["id"]] for r in rows if r["id"] in pins)
    fixed = [r for r in rows if r["id"] in pins and r["id"] not in extra]
    new = [r for r in rows if r["id"] not in pins and r["source"] != "written" and r["id"] not in extra]
    for group, tol in ((fixed, 0.05), (new, 0.04)):
        share = Counter(r["split"] for r in group)
        assert abs(share["train"] / len(group) - 0.70) < tol
        assert abs(share["dev"] / len(group) - 0.15) < tol
        assert abs(share["test"] / len(group) - 0.15) < tol
    assert len(new) > 1000
    assert {r["split"] for r in rows if r["id"] in extra} <= {"train"}


@pytest.mark.parametrize("key", [dup_key, _simple_key], ids=["aggressive", "digits+whitespace"])
def test_near_duplicates_share_a_split(rows: list[dict], key) -> None:
    splits: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        splits[key(r["text"])].add(r["split"])
    assert not {k: s for k, s in splits.items() if len(s) > 1}


def test_assign_splits_keeps_groups_together_and_follows_the_hash() -> None:
    rows = []
    for i in range(600):
        for copy in range(1 + i % 3):  # groups of 1..3 near-duplicates
            rows.append({"id": f"r{i}-{copy}", "_key": f"k{i}", "_allowed": frozenset({"train", "dev", "test"})})
    kept, dropped = assign_splits(rows, pins={"r0-0": "test"})
    assert not dropped and len(kept) == len(rows)
    by_key = defaultdict(set)
    for r in rows:
        by_key[r["_key"]].add(r["split"])
    assert all(len(s) == 1 for s in by_key.values())
    assert by_key["k0"] == {"test"}  # a pinned member fixes its group
    assert all(by_key[f"k{i}"] == {hash_split(f"k{i}")} for i in range(1, 600))
    share = Counter(r["split"] for r in rows)
    assert abs(share["train"] / len(rows) - 0.70) < 0.06 and share["dev"] and share["test"]


def test_read_decisions_overrides_and_skips(tmp_path: Path) -> None:
    path = tmp_path / "d.tsv"
    path.write_text("a\tF\nb\tW\na\tO\nc\tN\nc\tS\n# comment\n", encoding="utf-8")
    assert read_decisions(path) == {"a": "other_ad", "b": "warning_news"}
    path.write_text("a\tZ\n", encoding="utf-8")
    with pytest.raises(ValueError):
        read_decisions(path)


def test_seed_file_matches_a_fresh_build(rows: list[dict]) -> None:
    if not (HOLDOUT.exists() and CORPUS.exists()):
        pytest.skip("shared corpora not present")
    from tools.seed_data.build_seed import build

    assert render(build().rows) == SEED.read_text(encoding="utf-8")
