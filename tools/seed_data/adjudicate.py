"""Adjudication of the blind double reading (issue 11): pools of the rows two readers coded differently.

Why a separate step: two blind readings that agree are a label; two that differ are a question. A third reader, who
read neither of the rows before, settles it with both codes and reasons in view. Batches read three times settle by
majority, so only true splits reach an adjudicator. A row one reader could not decide (`S`) and the other coded is a
question too; a row every reader skipped is left out of the seed set without asking anyone.

Files (under classifier/data/reading/adjudication/):
  <pool>-NNN.jsonl                   rows to adjudicate, `{"id","text","readings":[{"reader","code","reason"}]}`
  manifest.json                      per reading batch: the readers used; per adjudication batch: rows, excluded readers
  decisions/<adjudicator>/<batch>.tsv  `id<TAB>code<TAB>reason`, written by the adjudicator
  extra_readings/<reader>/<batch>.tsv  complete blind readings kept outside readings/ (a withdrawn third claim)

Usage (from the repository root):
  python -m tools.seed_data.adjudicate build    # add rows of newly finished reading batches (idempotent)
  python -m tools.seed_data.adjudicate status   # per adjudication batch: excluded readers, who may take it, progress
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tools.seed_data import pools

ADJ = pools.READING / "adjudication"
EXTRA = ADJ / "extra_readings"
ADJ_BATCH = 150
CODES = pools.READING_CODES


@dataclass
class BatchReadings:
    """The complete, valid readings of one pool batch."""

    batch: str
    ids: list[str]  # in the pool file's order
    texts: dict[str, str]
    codes: dict[str, dict[str, tuple[str, str]]]  # reader -> id -> (code, reason)
    primary: tuple[str, ...]  # readers with a file in readings/ (sorted); the others come from extra_readings/

    @property
    def readers(self) -> list[str]:
        return sorted(self.codes)

    @property
    def pair(self) -> tuple[str, str]:
        """The two readings agreement is measured on: the first two primary readers by name."""
        names = list(self.primary) + [r for r in self.readers if r not in self.primary]
        return names[0], names[1]


@dataclass
class Outcome:
    """What the readings (and an adjudication, if any) say about one row."""

    id: str
    batch: str
    pool: str
    readings: list[tuple[str, str, str]]  # (reader, code, reason), sorted by reader
    pair: tuple[str, str]
    code: str | None = None  # final code (may be S); None while an adjudication is pending
    adjudicated: bool = False
    adjudicator: str | None = None
    extra: dict = field(default_factory=dict)

    def code_of(self, reader: str) -> str:
        return next(c for r, c, _ in self.readings if r == reader)


def pool_of(batch: str) -> str:
    return batch.rsplit("-", 1)[0]


def _read_tsv(path: Path) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) >= 2:
            out[fields[0]] = (fields[1], fields[2] if len(fields) > 2 else "")
    return out


def load_readings(
    pools_dir: Path = pools.POOLS, readings: Path = pools.READINGS, extra: Path = EXTRA
) -> dict[str, BatchReadings]:
    """Per pool batch, the reading files that are complete and clean (pools.check_reading finds nothing)."""
    out: dict[str, BatchReadings] = {}
    for batch in sorted(pools_dir.glob("*-[0-9][0-9][0-9].jsonl")):
        rows = pools._read_jsonl(batch)
        codes: dict[str, dict[str, tuple[str, str]]] = {}
        primary = []
        for root in (readings, extra):
            for path in sorted(root.glob(f"*/{batch.stem}.tsv")) if root.exists() else []:
                reader = path.parent.name
                if reader in codes or pools.check_reading(batch, path)[1]:
                    continue
                codes[reader] = _read_tsv(path)
                if root == readings:
                    primary.append(reader)
        out[batch.stem] = BatchReadings(
            batch.stem, [r["id"] for r in rows], {r["id"]: r["text"] for r in rows}, codes, tuple(sorted(primary))
        )
    return out


def resolve(codes: list[str]) -> str | None:
    """Unanimous code; with three or more readings the strict majority; None when it takes an adjudicator."""
    top, n = Counter(codes).most_common(1)[0]
    if n == len(codes) or (len(codes) >= 3 and n * 2 > len(codes)):
        return top
    return None


def _load_manifest(adj: Path) -> dict:
    path = adj / "manifest.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"note": "which readers read which batch; adjudicators must be none of them", "covered": {}, "batches": {}}


def _save_manifest(adj: Path, manifest: dict) -> None:
    adj.mkdir(parents=True, exist_ok=True)
    text = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    (adj / "manifest.json").write_text(text, encoding="utf-8")


def _claimed(adj: Path, batch: str) -> bool:
    return any((adj / "decisions").glob(f"*/{batch}.tsv"))


def _row(br: BatchReadings, rid: str) -> dict:
    readings = [{"reader": r, "code": br.codes[r][rid][0], "reason": br.codes[r][rid][1]} for r in br.readers]
    return {"id": rid, "text": br.texts[rid], "readings": readings}


def build(pools_dir: Path = pools.POOLS, readings: Path = pools.READINGS, adj: Path = ADJ) -> dict:
    """Add the disputed rows of every newly finished reading batch; never touch a claimed adjudication batch.

    A reading batch is finished when two readers have complete files. Its disputed rows are grouped by the readers
    who read them (so an adjudication batch excludes as few readers as possible), appended to the last unclaimed,
    not yet full batch of the same pool and readers, or else to new batches of at most ADJ_BATCH rows.
    """
    adj.mkdir(parents=True, exist_ok=True)
    manifest = _load_manifest(adj)
    covered, batches = manifest["covered"], manifest["batches"]
    found = load_readings(pools_dir, readings, adj / "extra_readings")
    new: dict[tuple[str, tuple[str, ...]], list[tuple[BatchReadings, str]]] = defaultdict(list)
    for name, br in sorted(found.items()):
        if name in covered or len(br.codes) < 2:
            continue
        covered[name] = {"readers": br.readers, "primary": list(br.primary)}
        for rid in br.ids:
            if resolve([br.codes[r][rid][0] for r in br.readers]) is None:
                new[(pool_of(name), tuple(br.readers))].append((br, rid))
    for (pool, readers), items in sorted(new.items()):
        open_batch = next(
            (
                b
                for b, meta in sorted(batches.items())
                if meta["pool"] == pool
                and tuple(meta["excluded"]) == readers
                and len(meta["ids"]) < ADJ_BATCH
                and not _claimed(adj, b)
            ),
            None,
        )
        while items:
            if open_batch is None:
                taken = [int(b.rsplit("-", 1)[1]) for b, m in batches.items() if m["pool"] == pool]
                open_batch = f"{pool}-{max(taken, default=0) + 1:03d}"
                batches[open_batch] = {"pool": pool, "excluded": list(readers), "sources": [], "ids": []}
            meta = batches[open_batch]
            room = ADJ_BATCH - len(meta["ids"])
            chunk, items = items[:room], items[room:]
            path = adj / f"{open_batch}.jsonl"
            with path.open("a", encoding="utf-8") as fh:
                for br, rid in chunk:
                    fh.write(json.dumps(_row(br, rid), ensure_ascii=False) + "\n")
            meta["ids"] += [rid for _, rid in chunk]
            meta["sources"] = sorted(set(meta["sources"]) | {br.batch for br, _ in chunk})
            open_batch = None
    _save_manifest(adj, manifest)
    return manifest


def load_decisions(
    adj: Path = ADJ, readers_of: dict[str, set[str]] | None = None
) -> tuple[dict[str, tuple[str, str, str]], list[str]]:
    """(id -> (adjudicator, code, reason), problems). A reader of a row can never settle it.

    `readers_of` (id -> readers) catches a reader who read a batch after its adjudication batch was made.
    """
    manifest = _load_manifest(adj)
    out: dict[str, tuple[str, str, str]] = {}
    problems: list[str] = []
    for path in sorted((adj / "decisions").glob("*/*.tsv")) if (adj / "decisions").exists() else []:
        who, batch = path.parent.name, path.stem
        meta = manifest["batches"].get(batch)
        if meta is None:
            problems.append(f"{path}: no adjudication batch {batch}")
            continue
        if who in meta["excluded"]:
            problems.append(f"{path}: {who} read these rows and may not adjudicate {batch}")
            continue
        wanted = set(meta["ids"])
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) < 2 or fields[1] not in CODES:
                problems.append(f"{path}:{n}: want id<TAB>code<TAB>reason, code one of {''.join(sorted(CODES))}")
            elif fields[0] not in wanted:
                problems.append(f"{path}:{n}: {fields[0]} is not in {batch}")
            elif readers_of is not None and who in readers_of.get(fields[0], set()):
                problems.append(f"{path}:{n}: {who} read {fields[0]} and may not adjudicate it; ignored")
            elif fields[0] in out and out[fields[0]][0] != who:
                problems.append(f"{path}:{n}: {fields[0]} already adjudicated by {out[fields[0]][0]}; ignored")
            else:
                out[fields[0]] = (who, fields[1], fields[2] if len(fields) > 2 else "")
    return out, problems


def outcomes(pools_dir: Path = pools.POOLS, readings: Path = pools.READINGS, adj: Path = ADJ) -> dict[str, Outcome]:
    """Every row of a finished reading batch with its final code, or code None while its adjudication is pending."""
    found = {n: br for n, br in load_readings(pools_dir, readings, adj / "extra_readings").items() if len(br.codes) >= 2}
    readers_of = {rid: set(br.codes) for br in found.values() for rid in br.ids}
    decided, _ = load_decisions(adj, readers_of)
    out: dict[str, Outcome] = {}
    for name, br in found.items():
        for rid in br.ids:
            reads = [(r, *br.codes[r][rid]) for r in br.readers]
            o = Outcome(rid, name, pool_of(name), reads, br.pair)
            o.code = resolve([c for _, c, _ in reads])
            if rid in decided:
                o.adjudicator, o.code, _ = decided[rid]
                o.adjudicated = True
            out[rid] = o
    return out


def status(pools_dir: Path = pools.POOLS, readings: Path = pools.READINGS, adj: Path = ADJ) -> int:
    """Print per adjudication batch the excluded readers, who may take it and the progress; return problem count."""
    manifest = _load_manifest(adj)
    found = load_readings(pools_dir, readings, adj / "extra_readings")
    readers_of = {rid: set(br.codes) for br in found.values() for rid in br.ids}
    decided, problems = load_decisions(adj, readers_of)
    for p in problems:
        print(p, file=sys.stderr)
    # readers and adjudicators seen so far; anyone who read none of a batch's rows may take it
    known = {p.name for p in readings.iterdir() if p.is_dir()} if readings.exists() else set()
    known |= {p.name for p in (adj / "decisions").iterdir() if p.is_dir()} if (adj / "decisions").exists() else set()
    print("batch\trows\texcluded (read these rows)\tmay adjudicate\tadjudicated")
    for name, meta in sorted(manifest["batches"].items()):
        done = sum(i in decided for i in meta["ids"])
        who = sorted({decided[i][0] for i in meta["ids"] if i in decided})
        free = ",".join(sorted(known - set(meta["excluded"]))) or "-"
        progress = f"{done}/{len(meta['ids'])}" + (f" by {','.join(who)}" if who else "")
        print(f"{name}\t{len(meta['ids'])}\t{','.join(meta['excluded'])}\t{free}\t{progress}")
    stale = [b for b, br in found.items() if len(br.codes) >= 2 and b not in manifest["covered"]]
    if stale:
        print(f"finished but not yet in adjudication (run build): {', '.join(stale)}")
    waiting = [b for b, br in found.items() if len(br.codes) < 2]
    print(f"reading batches still being read: {len(waiting)}" + (f" ({', '.join(waiting)})" if waiting else ""))
    return len(problems)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build", help="add the disputed rows of newly finished reading batches")
    sub.add_parser("status", help="per adjudication batch: excluded readers, who may take it, progress")
    args = ap.parse_args(argv)
    if args.cmd == "status":
        raise SystemExit(1 if status() else 0)
    manifest = build()
    for name, meta in sorted(manifest["batches"].items()):
        print(f"{name}: {len(meta['ids'])} rows, excluded {','.join(meta['excluded'])}, from {','.join(meta['sources'])}")


if __name__ == "__main__":
    main()
