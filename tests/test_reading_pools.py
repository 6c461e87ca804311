"""Reading pools for the blind double reading: blind, holdout-free, disjoint, and reproducible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.seed_data import pools
from tools.seed_data.common import CORPUS_DIR, HOLDOUT, dup_key, load_corpus

POOLS = pools.POOLS
needs_shared = pytest.mark.skipif(not (CORPUS_DIR.exists() and HOLDOUT.exists()), reason="needs ../shared/data")


def _batches(out: Path = POOLS) -> dict[str, list[dict]]:
    return {
        p.name: [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines()]
        for p in sorted(out.glob("*-[0-9][0-9][0-9].jsonl"))
    }


@pytest.fixture(scope="module")
def committed() -> dict[str, list[dict]]:
    found = _batches()
    assert any(name.startswith("train2-") for name in found) and any(name.startswith("corpus2-") for name in found)
    return found


@pytest.fixture(scope="module")
def holdout_keys() -> tuple[set[str], set[str]]:
    ids = {line.strip() for line in HOLDOUT.read_text(encoding="utf-8").splitlines() if line.strip()}
    return ids, {dup_key(r["text"]) for r in load_corpus(exclude=set()) if r["id"] in ids}


def test_rows_carry_only_id_and_text_in_batches_of_250(committed):
    for name, rows in committed.items():
        assert rows and len(rows) <= pools.BATCH_SIZE, name
        assert all(sorted(r) == ["id", "text"] and r["id"] and r["text"].strip() for r in rows), name
    manifest = json.loads((POOLS / "manifest.json").read_text(encoding="utf-8"))
    for name, pool in manifest["pools"].items():
        if name != "written":  # the written pool is append-only, so a later batch may follow a partial one
            assert [len(committed[b]) for b in pool["batches"][:-1]] == [pools.BATCH_SIZE] * (len(pool["batches"]) - 1)
        assert sum(len(committed[b]) for b in pool["batches"]) == pool["rows"]


def test_no_id_in_two_pools_or_twice(committed):
    ids = [r["id"] for rows in committed.values() for r in rows]
    assert len(ids) == len(set(ids))


@needs_shared
def test_no_holdout_id_or_near_duplicate_of_one(committed, holdout_keys):
    held, keys = holdout_keys
    rows = [r for batch in committed.values() for r in batch]
    assert not {r["id"] for r in rows} & held
    assert not [r["id"] for r in rows if dup_key(r["text"]) in keys]


@needs_shared
def test_corpus2_is_unread_and_one_row_per_near_duplicate_group(committed):
    read, _ = pools._read_ids(pools.DATA)
    v2 = pools.v2_splits()
    seed_keys = {dup_key(r["text"]) for r in load_corpus() if r["id"] in v2}  # seed v2, the set corpus2 was drawn against
    rows = [r for name, batch in committed.items() if name.startswith("corpus2-") for r in batch]
    assert 2500 <= len(rows) <= pools.CORPUS2_CAP
    assert not {r["id"] for r in rows} & read
    keys = [dup_key(r["text"]) for r in rows]
    assert len(keys) == len(set(keys)) and not set(keys) & seed_keys


def test_train2_is_every_train_row_read_once(committed):
    _, second = pools._read_ids(pools.DATA)
    want = {i for i, split in pools.v2_splits().items() if split == "train" and i not in second}
    got = {r["id"] for name, batch in committed.items() if name.startswith("train2-") for r in batch}
    assert got == want and second  # dev/test (blind) and audited train rows are not read again here


@needs_shared
def test_building_twice_gives_the_committed_files(tmp_path, committed):
    for out in (tmp_path / "a", tmp_path / "b"):
        pools.build(out=out)
    # written (append-only), audit2 (build-audit), corpus3 and corpus4 are tested below
    for name in [n for n in committed if not n.startswith(("written-", "audit2-", "corpus3-", "corpus4-"))]:
        first = (tmp_path / "a" / name).read_bytes()
        assert first == (tmp_path / "b" / name).read_bytes() == (POOLS / name).read_bytes(), name
    dirs = (tmp_path / "a", tmp_path / "b", POOLS)
    manifests = [json.loads((d / "manifest.json").read_text(encoding="utf-8"))["pools"] for d in dirs]
    for pool in ("train2", "corpus2"):
        assert manifests[0][pool] == manifests[1][pool] == manifests[2][pool]


@needs_shared
def test_audit2_is_every_audited_train_row_rebuilt_the_same(tmp_path, committed):
    """The rows whose second reading was the (not blind) audit are read twice blind in audit2, nothing else."""
    pins = pools.v2_splits()
    want = {i for i in pools._audit_only(pools.DATA) if pins.get(i) == "train"}
    got = {r["id"] for name, batch in committed.items() if name.startswith("audit2-") for r in batch}
    assert got == want and len(got) > 500
    others = {r["id"] for name, batch in committed.items() if not name.startswith("audit2-") for r in batch}
    assert not got & others
    pools.build_audit(out=tmp_path)
    for name in [n for n in committed if n.startswith("audit2-")]:
        assert (tmp_path / name).read_bytes() == (POOLS / name).read_bytes(), name


def _pool_rows_are_fresh(committed: dict[str, list[dict]], prefix: str) -> list[dict]:
    """The pool's rows, after checking none was read or is in another pool, and one per near-duplicate group."""
    rows = [r for name, batch in committed.items() if name.startswith(prefix) for r in batch]
    read, _ = pools._read_ids(pools.DATA)
    others = [r for name, batch in committed.items() if not name.startswith(prefix) for r in batch]
    assert not {r["id"] for r in rows} & (read | {r["id"] for r in others})
    keys = [dup_key(r["text"]) for r in rows]
    assert len(keys) == len(set(keys)) and not set(keys) & {dup_key(r["text"]) for r in others}
    return rows


@needs_shared
def test_corpus3_is_unread_bdci_one_per_group_and_rebuilt_the_same(tmp_path, committed):
    import shutil

    rows = _pool_rows_are_fresh(committed, "corpus3-")
    assert len(rows) == pools.CORPUS3_N and all(r["id"].startswith("bdcie-") for r in rows)
    shutil.copytree(POOLS, tmp_path / "pools")
    for old in (tmp_path / "pools").glob("corpus3-*.jsonl"):
        old.unlink()
    pools.build_corpus3(out=tmp_path / "pools")
    for name in [n for n in committed if n.startswith("corpus3-")]:
        assert (tmp_path / "pools" / name).read_bytes() == (POOLS / name).read_bytes(), name


@needs_shared
def test_build_written_is_blind_and_drops_holdout_twins(tmp_path, holdout_keys):
    held, _ = holdout_keys
    twin = next(r["text"] for r in load_corpus(exclude=set()) if r["id"] in held)
    written, out = tmp_path / "written", tmp_path / "pools"
    written.mkdir()
    rows = [{"id": f"written:b1:{i}", "text": f"年化{i}%保本保息，x万起投", "style": "sms", "intent": "F"} for i in range(300)]
    rows.append({"id": "written:b1:twin", "text": twin + "！", "style": "sms", "intent": "W"})
    (written / "b1.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    manifest = pools.build_written(written=written, out=out)
    batches = _batches(out)
    assert sorted(batches) == ["written-001.jsonl", "written-002.jsonl"]
    got = [r for b in batches.values() for r in b]
    assert all(sorted(r) == ["id", "text"] for r in got)
    assert {r["id"] for r in got} == {r["id"] for r in rows[:-1]}
    assert [r["id"] for r in got] != [r["id"] for r in rows[:-1]]  # shuffled: intent order does not show
    assert manifest["pools"]["written"]["dropped_holdout_twins"] == ["written:b1:twin"]
    again = tmp_path / "again"
    pools.build_written(written=written, out=again)
    assert _batches(again) == batches
    (written / "b2.jsonl").write_text(json.dumps({"id": "written:b1:0", "text": "重复"}) + "\n", "utf-8")
    with pytest.raises(SystemExit, match="not unique"):
        pools.build_written(written=written, out=tmp_path / "dup")


def test_status_reports_unfinished_and_bad_lines(tmp_path, capsys):
    out, readings = tmp_path / "pools", tmp_path / "readings"
    out.mkdir()
    (out / "x-001.jsonl").write_text('{"id": "a", "text": "t"}\n{"id": "b", "text": "u"}\n', "utf-8")
    (readings / "r1").mkdir(parents=True)
    (readings / "r2").mkdir()
    (readings / "r1" / "x-001.tsv").write_text("# r1\na\tF\t年化\nb\tW\t新闻\n", "utf-8")
    (readings / "r2" / "x-001.tsv").write_text("a\tQ\t?\nzz\tN\t\n", "utf-8")
    assert pools.status(out, readings) == 3
    captured = capsys.readouterr()
    assert "x-001\tr1\tneeds 1 more reader(s)" in captured.out
    assert "not in x-001" in captured.err and "not coded yet" in captured.err


@needs_shared
def test_build_written_is_append_only(tmp_path):
    written, out, readings = tmp_path / "written", tmp_path / "pools", tmp_path / "readings"
    written.mkdir()

    def put(name: str, rows: list[dict]) -> None:
        (written / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")

    first = [{"id": f"w-a-{i}", "text": f"商铺售后返租，年回报{i}%"} for i in range(300)]
    put("a.jsonl", first)
    pools.build_written(written=written, out=out, readings=readings)
    before = _batches(out)
    (readings / "r8").mkdir(parents=True)
    (readings / "r8" / "written-002.tsv").write_text("# r8\n", "utf-8")  # someone has started written-002
    put("b.jsonl", [{"id": f"w-b-{i}", "text": f"银行理财，业绩比较基准{i}%，理财非存款"} for i in range(30)])
    manifest = pools.build_written(written=written, out=out, readings=readings)
    after = _batches(out)
    assert {k: after[k] for k in before} == before  # nothing read or unread is reshuffled
    assert sorted(after) == ["written-001.jsonl", "written-002.jsonl", "written-003.jsonl"]
    assert {r["id"] for r in after["written-003.jsonl"]} == {f"w-b-{i}" for i in range(30)}
    assert manifest["pools"]["written"]["rows"] == 330
    pools.build_written(written=written, out=out, readings=readings)
    assert _batches(out) == after  # idempotent
    read_id = after["written-002.jsonl"][0]["id"]
    put("a.jsonl", [dict(r, text=r["text"] + "，改") if r["id"] == read_id else r for r in first])
    with pytest.raises(SystemExit, match="has readings"):
        pools.build_written(written=written, out=out, readings=readings)


@needs_shared
def test_corpus4_takes_per_source_the_rows_nearest_the_flag_line_and_only_unread_ones(tmp_path, committed):
    """The active-learning draw: its batches hold exactly the recorded rows, none read or pooled elsewhere, and a
    rebuild from a scores file picks, per source, the candidates whose score is nearest 0.5."""
    import shutil

    manifest = json.loads((POOLS / "manifest.json").read_text(encoding="utf-8"))["pools"]["corpus4"]
    rows = _pool_rows_are_fresh(committed, "corpus4-")
    assert {r["id"] for r in rows} == set(manifest["scores"]) and len(rows) == manifest["rows"]

    shutil.copytree(POOLS, tmp_path / "pools")
    cands = pools.corpus4_candidates(out=tmp_path / "pools")
    assert {r["id"] for r in rows} <= {c["id"] for c in cands}
    by_prefix = {p: [c for c in cands if c["id"].startswith(p)] for p in ("bdcie-", "ifly-", "sms-")}
    scores = tmp_path / "scores.jsonl"
    lines = []
    for group in by_prefix.values():
        for i, c in enumerate(group[:40]):
            lines.append({"id": c["id"], "score": 0.5 + (i - 20) / 50})  # distance from 0.5 grows with |i - 20|
    lines.append({"id": "sms-not-a-candidate", "score": 0.5})
    lines.append({"id": by_prefix["sms-"][0]["id"], "error": "bad input"})
    scores.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    got = pools.build_corpus4(scores, out=tmp_path / "pools", take={"bdci": 3, "iflytek": 1, "sms": 5})
    picked = set(got["pools"]["corpus4"]["scores"])
    want = {g[i]["id"] for g, n in ((by_prefix["bdcie-"], 3), (by_prefix["ifly-"], 1)) for i in (20, 19, 21)[:n]}
    want |= {by_prefix["sms-"][i]["id"] for i in (20, 19, 21, 18, 22)}
    assert picked == want
    batch = [json.loads(x) for x in (tmp_path / "pools" / "corpus4-001.jsonl").read_text("utf-8").splitlines()]
    assert {r["id"] for r in batch} == want and all(sorted(r) == ["id", "text"] for r in batch)
