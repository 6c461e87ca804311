"""Seed set v3: written rows stay out of test, splits are stable under additions, holdout exclusion holds, every
row carries provenance, adjudication pools are built correctly, and DATA.md's figures are the report's.

Why: the test split is what every F1 in the project is measured on. A written (synthetic) row in it, a row that
moves between splits when data is added, or a holdout twin would all make the reported figures wrong unnoticed.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score

from tools.seed_data import adjudicate, build_seed, pools
from tools.seed_data.build_seed import (
    ALL,
    BEGIN,
    DATA_MD,
    END,
    NO_TEST,
    SEED,
    assign_splits,
    hash_split,
    kappa,
    report,
    with_report,
)
from tools.seed_data.common import CORPUS_DIR, HOLDOUT, dup_key, holdout_ids, load_corpus

needs_shared = pytest.mark.skipif(not (CORPUS_DIR.exists() and HOLDOUT.exists()), reason="needs ../shared/data")


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return [json.loads(line) for line in SEED.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def built() -> build_seed.Build:
    if not (CORPUS_DIR.exists() and HOLDOUT.exists()):
        pytest.skip("needs ../shared/data")
    return build_seed.build()


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _write_reading(path: Path, codes: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# test\n" + "".join(f"{i}\t{c}\treason {c}\n" for i, c in codes.items()), encoding="utf-8")


def _texts_with_split(split: str, n: int, stem: str) -> list[str]:
    """n distinct texts whose dup_key hashes to `split`."""
    out, i = [], 0
    while len(out) < n:
        text = f"{stem}第{'甲乙丙丁戊己庚辛壬癸'[i % 10]}{'子丑寅卯辰巳午未申酉戌亥'[i // 10 % 12]}{i // 120}号"
        text = re.sub(r"\d", lambda m: "零一二三四五六七八九"[int(m.group())], text)
        if hash_split(dup_key(text)) == split and text not in out:
            out.append(text)
        i += 1
    return out


# ------------------------------------------------------------------------------------------------- the file


def test_written_rows_never_in_test_and_test_is_real(rows):
    assert not [r["id"] for r in rows if r["split"] == "test" and r["source"] == "written"]
    assert not [r["id"] for r in rows if r["split"] == "test" and not r["provenance"].startswith("corpus:")]
    test_sources = Counter(r["source"] for r in rows if r["split"] == "test")
    assert len(test_sources) == 6 and min(test_sources.values()) >= 30  # every corpus is in test


def test_every_row_has_provenance_and_rubric_version(rows):
    for r in rows:
        assert r["rubric_version"] == 2, r["id"]
        assert r["label_method"] in {"double_blind", "double_blind+adjudicated", "single"}, r["id"]
        if r["source"] == "written":
            assert re.fullmatch(r"written:w\d+[\w-]*", r["provenance"]), r["id"]
            assert r["style"] in {"listing", "sms", "social", "product_page", "app", "poster"}
        else:
            assert r["provenance"] == f"corpus:{r['id']}"
            assert r["style"] in {"sms", "app", "news_title", "social", "news"}


def test_no_holdout_id_or_twin_in_seed(rows):
    held = holdout_ids()
    if not held:
        pytest.skip("holdout list not present")
    assert not held & {r["id"] for r in rows}
    keys = {dup_key(r["text"]) for r in load_corpus(exclude=set()) if r["id"] in held}
    assert not [r["id"] for r in rows if dup_key(r["text"]) in keys]


def test_seed_v2_rows_kept_their_splits(rows):
    pins = pools.v2_splits()
    assert len(pins) == 5231
    assert not [r["id"] for r in rows if r["id"] in pins and r["split"] != pins[r["id"]]]


def test_seed_and_data_md_match_a_fresh_build(built):
    assert build_seed.render(built.rows) == SEED.read_text(encoding="utf-8")
    md = DATA_MD.read_text(encoding="utf-8")
    assert BEGIN in md and END in md
    assert with_report(md, report(built)) == md, "run python -m tools.seed_data.build_seed"


@needs_shared
def test_data_md_overall_agreement_matches_an_independent_count():
    """Recount the train2 + corpus2 agreement from the raw readings files with sklearn, and find it in DATA.md."""
    pairs = []
    for batch in sorted(pools.POOLS.glob("*-[0-9][0-9][0-9].jsonl")):
        files = [p for p in sorted(pools.READINGS.glob(f"*/{batch.stem}.tsv")) if not pools.check_reading(batch, p)[1]]
        if len(files) < 2:
            continue
        a, b = (adjudicate._read_tsv(p) for p in files[:2])
        pairs += [(a[i][0], b[i][0]) for i in a]
    first, second = zip(*pairs, strict=True)
    agree = sum(x == y for x, y in pairs) / len(pairs)
    kappa7 = cohen_kappa_score(first, second)
    bin_a, bin_b = [x == "F" for x in first], [y == "F" for y in second]
    agree2 = sum(x == y for x, y in zip(bin_a, bin_b, strict=True)) / len(pairs)
    line = f"| **all** | {len(pairs)} | {100 * agree:.1f} % | {kappa7:.3f} | {100 * agree2:.1f} % | "
    line += f"{cohen_kappa_score(bin_a, bin_b):.3f} |"
    assert line in DATA_MD.read_text(encoding="utf-8")


def test_kappa_matches_sklearn():
    rng = random.Random(7)
    a = [rng.choice("FFALWON") for _ in range(500)]
    b = [x if rng.random() < 0.8 else rng.choice("FALDWON") for x in a]
    assert kappa(list(zip(a, b, strict=True))) == pytest.approx(cohen_kappa_score(a, b))


# ------------------------------------------------------------------------------------------------- splits


def test_written_groups_whose_hash_says_test_go_to_train_and_written_twins_of_test_rows_are_dropped():
    test_keys = [k for k in (f"k{i}" for i in range(3000)) if hash_split(k) == "test"][:40]
    rows = [{"id": f"w{i}", "_key": k, "_allowed": NO_TEST} for i, k in enumerate(test_keys[:20])]
    mixed = [{"id": f"real{i}", "_key": k, "_allowed": ALL} for i, k in enumerate(test_keys[20:])]
    mixed += [{"id": f"wtwin{i}", "_key": k, "_allowed": NO_TEST} for i, k in enumerate(test_keys[20:])]
    kept, dropped = assign_splits(rows + mixed, pins={})
    assert {r["split"] for r in kept if r["id"].startswith("w")} == {"train"}
    assert {r["split"] for r in kept if r["id"].startswith("real")} == {"test"}
    assert sorted(r["id"] for r in dropped) == sorted(f"wtwin{i}" for i in range(20))
    # a pinned test row takes its written twin's place the same way
    kept, dropped = assign_splits([{"id": "p", "_key": "x", "_allowed": ALL}, {"id": "w", "_key": "x",
                                   "_allowed": NO_TEST}], pins={"p": "test"})
    assert [r["id"] for r in kept] == ["p"] and [r["id"] for r in dropped] == ["w"]


def test_adding_rows_never_moves_existing_rows(built):
    base = [dict(r) for r in built.rows]
    before = {r["id"]: r["split"] for r in built.rows}
    by_split = {s: next(r["_key"] for r in base if r["split"] == s) for s in ("train", "dev", "test")}
    fake = [{"id": f"fake-{i}", "_key": f"fake group {i}", "_allowed": ALL} for i in range(300)]
    fake += [{"id": f"w-fake-{i}", "_key": f"written group {i}", "_allowed": NO_TEST} for i in range(300)]
    fake += [{"id": f"fake-twin-{s}", "_key": k, "_allowed": ALL} for s, k in by_split.items()]
    fake += [{"id": f"w-fake-twin-{s}", "_key": k, "_allowed": NO_TEST} for s, k in by_split.items()]
    kept, dropped = assign_splits(base + fake, built.pins)
    after = {r["id"]: r["split"] for r in kept}
    assert {i: after.get(i) for i in before} == before
    assert all(after[f"fake-twin-{s}"] == s for s in by_split)  # a newcomer joins its twin's split
    assert [r["id"] for r in dropped] == ["w-fake-twin-test"]
    assert Counter(after[f"fake-{i}"] for i in range(300))["test"] > 20  # new real groups do reach test


@needs_shared
def test_a_fake_decided_written_batch_joins_train_dev_without_moving_anything(tmp_path, built):
    """End to end: copy the pools and readings, add a finished written batch (agreed, disputed, skipped, holdout
    twin), rebuild; the old rows keep their splits, the new ones obey the written rules."""
    pools_dir, readings, adj, written = tmp_path / "pools", tmp_path / "readings", tmp_path / "adj", tmp_path / "w"
    shutil.copytree(pools.POOLS, pools_dir, ignore=shutil.ignore_patterns("written-*"))
    shutil.copytree(pools.READINGS, readings, ignore=shutil.ignore_patterns("written-*"))
    shutil.copytree(adjudicate.ADJ, adj, ignore=shutil.ignore_patterns("written-*"))
    held = holdout_ids()
    twin = next(r["text"] for r in load_corpus(exclude=set()) if r["id"] in held)
    texts = _texts_with_split("test", 6, "商铺售后包租") + _texts_with_split("dev", 2, "商铺售后包租")
    rows = [{"id": f"w-w99-fake-{i:04d}", "text": t, "style": "listing", "provenance": "written:w99-fake"}
            for i, t in enumerate(texts)]
    rows.append({"id": "w-w99-fake-twin", "text": twin, "style": "sms", "provenance": "written:w99-fake"})
    _write_jsonl(written / "w99-fake.jsonl", rows)
    _write_jsonl(pools_dir / "written-099.jsonl", [{"id": r["id"], "text": r["text"]} for r in rows])
    codes = {r["id"]: "F" for r in rows}
    other = dict(codes, **{"w-w99-fake-0001": "O", "w-w99-fake-0002": "S"})
    _write_reading(readings / "r1" / "written-099.tsv", codes)
    _write_reading(readings / "r2" / "written-099.tsv", other)

    b = build_seed.build(pools_dir=pools_dir, readings=readings, adj=adj, written=written)
    got = {r["id"]: r for r in b.rows}
    for r in built.rows:
        if r["id"] in got:  # a row still waiting for adjudication in the copy may be absent; none moves
            assert got[r["id"]]["split"] == r["split"], r["id"]
    new = {i: r for i, r in got.items() if i.startswith("w-w99")}
    assert sorted(new) == [f"w-w99-fake-{i:04d}" for i in (0, 3, 4, 5, 6, 7)]  # disputed and twin wait / drop
    assert {new[f"w-w99-fake-{i:04d}"]["split"] for i in (0, 3, 4, 5)} == {"train"}  # hash said test
    assert {new[f"w-w99-fake-{i:04d}"]["split"] for i in (6, 7)} == {"dev"}
    r0 = new["w-w99-fake-0000"]
    assert (r0["source"], r0["provenance"], r0["style"], r0["label"], r0["label_method"]) == (
        "written", "written:w99-fake", "listing", "fundraising", "double_blind")

    manifest = adjudicate.build(pools_dir=pools_dir, readings=readings, adj=adj)
    batch = next(n for n, m in manifest["batches"].items() if "w-w99-fake-0001" in m["ids"])
    assert [i for i in manifest["batches"][batch]["ids"] if i.startswith("w-w99")] == [
        "w-w99-fake-0001", "w-w99-fake-0002"]
    _write_reading(adj / "decisions" / "a9" / f"{batch}.tsv", {"w-w99-fake-0001": "O", "w-w99-fake-0002": "F"})
    b = build_seed.build(pools_dir=pools_dir, readings=readings, adj=adj, written=written)
    got = {r["id"]: r for r in b.rows}
    assert got["w-w99-fake-0001"]["subtype"] == "other_ad"
    assert got["w-w99-fake-0002"]["label_method"] == "double_blind+adjudicated"
    assert "w-w99-fake-twin" not in got


@needs_shared
def test_active_learning_rows_go_to_train_only_whatever_their_hash_says(tmp_path, built):
    """corpus4 was drawn by the served model's doubt, so its rows would bias dev or test: a finished corpus4 batch
    of rows whose hash says dev or test lands in train, and nothing that was there moves."""
    pools_dir, readings, adj = tmp_path / "pools", tmp_path / "readings", tmp_path / "adj"
    shutil.copytree(pools.POOLS, pools_dir, ignore=shutil.ignore_patterns("corpus4-*"))
    shutil.copytree(pools.READINGS, readings, ignore=shutil.ignore_patterns("corpus4-*"))
    shutil.copytree(adjudicate.ADJ, adj, ignore=shutil.ignore_patterns("corpus4-*"))
    cands = pools.corpus4_candidates(out=pools_dir)
    picked = {"dev": [], "test": []}
    for c in cands:
        split = hash_split(dup_key(c["text"]))
        if split in picked and len(picked[split]) < 3:
            picked[split].append(c)
    rows = picked["dev"] + picked["test"]
    assert len(rows) == 6
    _write_jsonl(pools_dir / "corpus4-099.jsonl", rows)
    for reader in ("r1", "r2"):
        _write_reading(readings / reader / "corpus4-099.tsv", {r["id"]: "O" for r in rows})
    b = build_seed.build(pools_dir=pools_dir, readings=readings, adj=adj)
    got = {r["id"]: r for r in b.rows}
    assert {got[r["id"]]["split"] for r in rows} == {"train"}
    assert {got[r["id"]]["provenance"] for r in rows} == {f"corpus:{r['id']}" for r in rows}
    for r in built.rows:
        if r["id"] in got:
            assert got[r["id"]]["split"] == r["split"], r["id"]
    in_seed = {r["id"]: r["split"] for r in built.rows}
    committed = json.loads((pools.POOLS / "manifest.json").read_text(encoding="utf-8"))["pools"]["corpus4"]
    assert {in_seed[i] for i in committed["scores"] if i in in_seed} <= {"train"}  # the real draw, once read


@needs_shared
def test_build_refuses_a_reading_of_a_holdout_id(tmp_path):
    held = sorted(holdout_ids())[0]
    _write_jsonl(tmp_path / "pools" / "corpus2-001.jsonl", [{"id": held, "text": "t"}])
    for reader in ("r1", "r2"):
        _write_reading(tmp_path / "readings" / reader / "corpus2-001.tsv", {held: "F"})
    with pytest.raises(SystemExit, match="holdout"):
        build_seed.build(pools_dir=tmp_path / "pools", readings=tmp_path / "readings", adj=tmp_path / "adj")


# ------------------------------------------------------------------------------------------------- adjudication


def _pool(tmp_path: Path, name: str, n: int) -> list[str]:
    ids = [f"{name}-row{i}" for i in range(n)]
    _write_jsonl(tmp_path / "pools" / f"{name}.jsonl", [{"id": i, "text": f"text {i}"} for i in ids])
    return ids


def test_resolve_majority_and_splits():
    assert adjudicate.resolve(["F", "F"]) == "F"
    assert adjudicate.resolve(["F", "O"]) is None
    assert adjudicate.resolve(["S", "O"]) is None  # S against a code needs an adjudicator
    assert adjudicate.resolve(["S", "S"]) == "S"  # left out without asking anyone
    assert adjudicate.resolve(["F", "O", "F"]) == "F"
    assert adjudicate.resolve(["F", "O", "W"]) is None


def test_adjudication_build_status_and_outcomes(tmp_path, capsys):
    dirs = {"pools_dir": tmp_path / "pools", "readings": tmp_path / "readings", "adj": tmp_path / "adj"}
    a = _pool(tmp_path, "train2-001", 6)
    _write_reading(tmp_path / "readings" / "r1" / "train2-001.tsv", dict(zip(a, "FOSSWN", strict=True)))
    _write_reading(tmp_path / "readings" / "r2" / "train2-001.tsv", dict(zip(a, "FWOSWO", strict=True)))
    b = _pool(tmp_path, "train2-002", 3)
    for reader, codes in (("r1", "FFF"), ("r2", "OOW"), ("r3", "FWL")):
        _write_reading(tmp_path / "readings" / reader / "train2-002.tsv", dict(zip(b, codes, strict=True)))
    c = _pool(tmp_path, "train2-003", 2)  # only one reader so far
    _write_reading(tmp_path / "readings" / "r4" / "train2-003.tsv", dict(zip(c, "FF", strict=True)))

    manifest = adjudicate.build(**dirs)
    assert {n: (m["excluded"], m["ids"]) for n, m in manifest["batches"].items()} == {
        "train2-001": (["r1", "r2"], [a[1], a[2], a[5]]),
        "train2-002": (["r1", "r2", "r3"], [b[1], b[2]]),
    }
    first = (tmp_path / "adj" / "train2-001.jsonl").read_text("utf-8")
    row = json.loads(first.splitlines()[0])
    assert row == {"id": a[1], "text": f"text {a[1]}", "readings": [
        {"reader": "r1", "code": "O", "reason": "reason O"}, {"reader": "r2", "code": "W", "reason": "reason W"}]}
    assert set(manifest["covered"]) == {"train2-001", "train2-002"}
    adjudicate.build(**dirs)
    assert (tmp_path / "adj" / "train2-001.jsonl").read_text("utf-8") == first  # idempotent

    # a decision by a reader of the rows is refused; a fresh reader's decision settles them
    _write_reading(tmp_path / "adj" / "decisions" / "r2" / "train2-001.tsv", {a[1]: "W"})
    _write_reading(tmp_path / "adj" / "decisions" / "r5" / "train2-002.tsv", {b[2]: "L"})
    assert adjudicate.status(**dirs) == 1
    out = capsys.readouterr()
    assert "r2 read these rows" in out.err
    assert "train2-001\t3\tr1,r2\tr3,r4,r5\t0/3" in out.out  # readers and adjudicators who read none of it
    assert "train2-002\t2\tr1,r2,r3\tr4,r5\t1/2 by r5" in out.out
    got = adjudicate.outcomes(**dirs)
    assert got[b[2]].code == "L" and got[b[2]].adjudicated and got[b[2]].adjudicator == "r5"
    assert got[b[0]].code == "F" and not got[b[0]].adjudicated  # majority of three
    assert got[a[1]].code is None and got[a[3]].code == "S" and got[a[0]].code == "F"
    assert c[0] not in got

    # a claimed batch is never rewritten: new rows of the same readers go to a new batch
    _write_reading(tmp_path / "adj" / "decisions" / "r3" / "train2-001.tsv", {a[1]: "W"})
    d = _pool(tmp_path, "train2-004", 2)
    _write_reading(tmp_path / "readings" / "r1" / "train2-004.tsv", dict(zip(d, "FA", strict=True)))
    _write_reading(tmp_path / "readings" / "r2" / "train2-004.tsv", dict(zip(d, "FL", strict=True)))
    e = _pool(tmp_path, "train2-005", 1)
    _write_reading(tmp_path / "readings" / "r3" / "train2-005.tsv", {e[0]: "N"})
    _write_reading(tmp_path / "readings" / "r4" / "train2-005.tsv", {e[0]: "O"})
    manifest = adjudicate.build(**dirs)
    assert (tmp_path / "adj" / "train2-001.jsonl").read_text("utf-8") == first
    assert {n: (m["excluded"], m["ids"]) for n, m in manifest["batches"].items() if n > "train2-002"} == {
        "train2-003": (["r1", "r2"], [d[1]]),
        "train2-004": (["r3", "r4"], [e[0]]),
    }
    # an unclaimed, partial batch of the same readers is topped up instead
    f = _pool(tmp_path, "train2-006", 1)
    _write_reading(tmp_path / "readings" / "r3" / "train2-006.tsv", {f[0]: "D"})
    _write_reading(tmp_path / "readings" / "r4" / "train2-006.tsv", {f[0]: "L"})
    manifest = adjudicate.build(**dirs)
    assert manifest["batches"]["train2-004"]["ids"] == [e[0], f[0]]
    assert len((tmp_path / "adj" / "train2-004.jsonl").read_text("utf-8").splitlines()) == 2


def test_reader_ceiling_uses_the_first_reading_not_its_corrections(tmp_path):
    """The seed v2 pair is the first reading as read (its first line) and the blind second reading, never the
    appended correction, which was made after seeing both and would make the readers look closer than they were."""
    (tmp_path / "decisions.tsv").write_text("# c\nsms-1\tF\nsms-2\tO\n# corrections\nsms-1\tO\n", encoding="utf-8")
    (tmp_path / "second_pass.tsv").write_text(
        "id\tpass\tcode\treason\nsms-1\tblind\tO\tx\nsms-1\tadjudicated\tO\tx\nsms-2\tblind\tF\ty\n", encoding="utf-8"
    )
    first, blind = build_seed.first_and_blind_codes(tmp_path)
    assert first == {"sms-1": "F", "sms-2": "O"}
    assert blind == {"sms-1": "O", "sms-2": "F"}


def test_data_md_reader_ceiling_matches_an_independent_count():
    """The table's all-sources reader-vs-reader F1, recounted from the reading files by a second, plainer route."""
    md = (build_seed.DATA_MD).read_text(encoding="utf-8")
    m = re.search(r"\| \*\*all\*\* \| (\d+) \| (\d+) \| ([0-9.]+) \|", md.split("Readers against each other")[1])
    assert m, "reader ceiling table missing"
    rows = [json.loads(x) for x in build_seed.SEED.read_text(encoding="utf-8").splitlines()]
    test_ids = {r["id"] for r in rows if r["split"] == "test"}
    outs = adjudicate.outcomes()
    first, blind = build_seed.first_and_blind_codes()
    a = b = both = n = 0
    for rid in test_ids:
        o = outs.get(rid)
        pair = (o.code_of(o.pair[0]), o.code_of(o.pair[1])) if o else (first.get(rid), blind.get(rid))
        if None in pair:
            continue
        n += 1
        a += pair[0] == "F"
        b += pair[1] == "F"
        both += pair[0] == pair[1] == "F"
    assert int(m.group(1)) == n
    assert float(m.group(3)) == pytest.approx(2 * both / (a + b), abs=5e-4)
