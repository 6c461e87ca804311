"""Blind reading pools for the double reading of issue 11: id + text only, seeded order, batches of 250.

Why blind: a reader who sees the corpus's own label, an earlier decision or a model score anchors on it, and the
agreement the second reading is meant to measure becomes agreement with the hint. The pools therefore carry only
`{"id", "text"}`; which draw a row came from is kept in `pools/manifest.json`, which readers never open.

Pools:
  train2   every seed v2 train row (splits_v2.tsv) read only once so far (not in second_pass.tsv), so train is read
           twice too;
  corpus2  unread corpus rows: (i) finance-ish SMS spam, (ii) finance iflytek apps, (iii) bdci rows outside the
           top-hit ranking (a seeded random sample plus low-hit rows), (iv) trigger-word news titles; one row per
           near-duplicate group, none a near-duplicate of a holdout row or of an already-read row;
  written  the written set (classifier/data/written/*.jsonl), built by `build-written` once it exists;
  audit2   seed v2 train rows whose only second reading was the 2026-11-27 audit (code shown, not blind): read
           twice blind now, so that no row of the seed set rests on one blind reading (`build-audit`);
  corpus3  1,000 more unread bdci_entity rows, a seeded random sample (one per near-duplicate group, none a twin of a
           holdout, read or pooled row): the internet-finance posts where most test misses are (`build-corpus3`).
  corpus4  active learning (stop 24): the unread corpus rows (bdci, iflytek, SMS spam) that the served combination
           scores nearest its decision line, per source; **train only** in the seed set, because a draw chosen by a
           model's doubt would bias a dev or test split (`candidates-corpus4`, `adscreen score`, `build-corpus4`).

Usage (from the repository root):
  python -m tools.seed_data.pools build           # train2 + corpus2 (keeps the written batches and manifest entry)
  python -m tools.seed_data.pools build-written   # written batches from classifier/data/written/*.jsonl
  python -m tools.seed_data.pools build-audit     # audit2 batches (the audited train rows)
  python -m tools.seed_data.pools build-corpus3   # corpus3 batches (more unread bdci_entity rows)
  python -m tools.seed_data.pools candidates-corpus4 var/corpus4/candidates.jsonl
  adscreen score --in var/corpus4/candidates.jsonl --out var/corpus4/scores.jsonl
  python -m tools.seed_data.pools build-corpus4 var/corpus4/scores.jsonl
  python -m tools.seed_data.pools status          # per batch: which readers have finished, bad lines
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from tools.seed_data.common import CODES, HOLDOUT, dup_key, holdout_ids, load_corpus
from tools.seed_data.review import has, score

DATA = Path(__file__).resolve().parents[2] / "classifier" / "data"
READING = DATA / "reading"
POOLS = READING / "pools"
READINGS = READING / "readings"
WRITTEN = DATA / "written"
V2_SPLITS = "splits_v2.tsv"
READ_FILES = ("decisions.tsv", "decisions_train_only.tsv", "second_pass.tsv")
SECOND_PASSES = {"blind", "adjudicated", "audit"}
BATCH_SIZE = 250
SEED = "adscreen-issue11-reading"
CORPUS2_CAP = 3000
NEWS_N = 300
READING_CODES = set(CODES) | {"S"}

# (i) SMS spam that talks money: the finance words of the brief, bank/insurer/broker senders, and credit offers
# (licensed senders and loans are the hard negatives next to the pitches).
SMS_FINANCE = (
    "理财 投资 收益 保本 保息 年化 返租 包租 回购 分红 返利 利息 基金 债 票据 私募 认购 原始股 养老 月息 日息 "
    "回报 年回报 高息 股权 上市 众筹 入股 本金 静态 动态 增值 升值 稳赚 财富 金融 存款 利率 信托 "
    "银行 我行 证券 保险 贷款 借款 放款 信用卡 贷"
).split()
# (ii) iflytek topics that sell money products (or sit next to them: payments, bookkeeping, property, lottery)
# and the rebate/task apps (薅羊毛, 兼职) whose 返利 and 赚钱 wording is where 消费返利 pitches hide
IFLY_TOPICS = {"理财", "借贷", "股票", "银行", "保险", "支付", "记账", "买房", "彩票", "薅羊毛", "兼职"}
# apps of any other topic that speak of returns (not review.STRONG: its 币 matches every game's 金币)
IFLY_MONEY = "年化 出借 理财 收益率 预期收益 返利 分红 投资 保本 加息 利息 本金 回报".split()
TOP_HIT = 3  # review.POOLS read bdci rows with >= 3 lexicon hits, top first; low-hit rows have 1..2


def v2_splits(data: Path = DATA) -> dict[str, str]:
    """id -> split of seed set v2 (5,231 rows, 2026-11-27), the set train2 was drawn from and seed v3 keeps."""
    out = {}
    for line in (data / V2_SPLITS).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rid, split = line.split("\t")[:2]
            out[rid] = split
    return out


def _read_ids(data: Path) -> tuple[set[str], set[str]]:
    """(every id ever read, train ids read a second time) from the decision files."""
    read: set[str] = set()
    second: set[str] = set()
    for name in READ_FILES:
        path = data / name
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if fields[0] == "id":
                continue
            read.add(fields[0])
            if name == "second_pass.tsv" and len(fields) > 1 and fields[1] in SECOND_PASSES:
                second.add(fields[0])
    return read, second


def _shuffled(rows: list[dict], pool: str) -> list[dict]:
    out = list(rows)
    random.Random(f"{SEED}:{pool}:order").shuffle(out)
    return out


def _write_batches(rows: list[dict], pool: str, out: Path) -> list[str]:
    """Write `pool-NNN.jsonl` files of BATCH_SIZE rows, id + text only; remove stale batches of this pool."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(f"{pool}-*.jsonl"):
        old.unlink()
    names = []
    for n, start in enumerate(range(0, len(rows), BATCH_SIZE), 1):
        name = f"{pool}-{n:03d}.jsonl"
        chunk = rows[start : start + BATCH_SIZE]
        text = "".join(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n" for r in chunk)
        (out / name).write_text(text, encoding="utf-8")
        names.append(name)
    return names


def _draws(candidates: list[dict], cap: int) -> dict[str, list[dict]]:
    """Pick corpus2's rows per draw, deterministically; candidates are unread, deduplicated, in file order."""
    sms = [
        r
        for r in candidates
        if r["corpus"] == "sms" and r["source_label"] == "spam" and has(r["text"], SMS_FINANCE)
    ]
    ifly = [
        r
        for r in candidates
        if r["corpus"] == "iflytek"
        and (
            r["source_label"] in IFLY_TOPICS
            or (not r["source_label"] and score(r["text"]) >= 2)
            or has(r["text"], IFLY_MONEY)
        )
    ]
    news = [r for r in candidates if r["corpus"] in ("thucnews", "tnews") and score(r["text"]) >= 1]
    news = random.Random(f"{SEED}:news").sample(news, min(NEWS_N, len(news)))
    bdci = [r for r in candidates if r["corpus"] in ("bdci_entity", "bdci_negative")]
    room = max(0, cap - len(sms) - len(ifly) - len(news))
    # half of what is left is a random sample of all unread bdci rows (what the service meets, hits or not),
    # the other half low-hit rows (1..2 hits: the hard negatives and quiet pitches the top-hit ranking skipped)
    rand = random.Random(f"{SEED}:bdci_random").sample(bdci, min(room // 2, len(bdci)))
    taken = {r["id"] for r in rand}
    low = [r for r in bdci if r["id"] not in taken and 1 <= score(r["text"]) < TOP_HIT]
    low = random.Random(f"{SEED}:bdci_lowhit").sample(low, min(room - len(rand), len(low)))
    return {
        "i_sms_finance": sms,
        "ii_iflytek_finance": ifly,
        "iii_bdci_random": rand,
        "iii_bdci_lowhit": low,
        "iv_news_trigger": news,
    }


def build(data: Path = DATA, out: Path = POOLS, cap: int = CORPUS2_CAP) -> dict:
    """Write the train2 and corpus2 batches and the manifest; returns the manifest."""
    held = required_holdout()
    read, second = _read_ids(data)
    # holdout texts are needed only for their dup keys; the rows themselves never leave this function
    held_keys = {dup_key(r["text"]) for r in load_corpus(exclude=set()) if r["id"] in held}
    corpus = list(load_corpus())
    read_keys = {dup_key(r["text"]) for r in corpus if r["id"] in read}

    # train2 is drawn from seed set v2 (pinned in splits_v2.tsv), not from the live seed.jsonl: seed v3 adds the
    # very rows these pools hold, and the pools must stay reproducible after it
    pins = v2_splits(data)
    leaked = set(pins) & held
    if leaked:
        raise SystemExit(f"{V2_SPLITS} names {len(leaked)} holdout IDs")
    texts = {r["id"]: r["text"] for r in corpus if r["id"] in pins}
    train2 = [
        {"id": rid, "text": texts[rid]}
        for rid in sorted(pins)
        if pins[rid] == "train" and rid not in second and dup_key(texts[rid]) not in held_keys
    ]

    candidates, seen = [], set(held_keys) | read_keys
    for row in corpus:
        key = dup_key(row["text"])
        if row["id"] in read or key in seen or not key:
            continue
        seen.add(key)
        candidates.append(row)
    draws = _draws(candidates, cap)
    corpus2 = [r for rows in draws.values() for r in rows]

    manifest = _load_manifest(out)
    manifest["note"] = "Not for readers: which draw each pool row came from. Pools are id + text only."
    manifest["seed"] = SEED
    manifest["batch_size"] = BATCH_SIZE
    pools = manifest.setdefault("pools", {})
    pools["train2"] = {
        "what": "seed.jsonl train rows read once (not in second_pass.tsv blind/adjudicated/audit)",
        "rows": len(train2),
        "batches": _write_batches(_shuffled(train2, "train2"), "train2", out),
    }
    pools["corpus2"] = {
        "what": "unread corpus rows, one per dup_key group, none a near-duplicate of a holdout or read row",
        "rows": len(corpus2),
        "batches": _write_batches(_shuffled(corpus2, "corpus2"), "corpus2", out),
        "draws": {name: sorted(r["id"] for r in rows) for name, rows in draws.items()},
    }
    _save_manifest(out, manifest)
    return manifest


def required_holdout() -> set[str]:
    """The holdout IDs; a pool built without them could leak one, so building stops."""
    held = holdout_ids()
    if not held:
        raise SystemExit(f"{HOLDOUT} not found: the holdout exclusion cannot be enforced, refusing to build")
    return held


# corpus pools in the order they were drawn: a rebuild excludes the rows of earlier pools only, so a pool drawn
# later (corpus4 took rows corpus3 had left) never changes what an earlier one rebuilds to
DRAW_ORDER = ("corpus3", "corpus4")


def _later(pool: str) -> set[str]:
    """``pool`` and the pools drawn after it."""
    return set(DRAW_ORDER[DRAW_ORDER.index(pool):]) if pool in DRAW_ORDER else {pool}


def _pooled_ids(manifest: dict, out: Path, skip: str | set[str]) -> set[str]:
    """Ids in the batches of every pool but ``skip`` (the one being rebuilt, or a set of pools)."""
    skip = {skip} if isinstance(skip, str) else skip
    return {r["id"] for name, p in manifest.get("pools", {}).items() if name not in skip
            for b in p.get("batches", []) if (out / b).exists() for r in _read_jsonl(out / b)}


def _audit_only(data: Path) -> set[str]:
    """Ids whose only second pass in second_pass.tsv is the (not blind) audit."""
    passes: dict[str, set[str]] = defaultdict(set)
    for line in (data / "second_pass.tsv").read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if line.strip() and not line.startswith("#") and fields[0] != "id" and len(fields) > 1:
            passes[fields[0]].add(fields[1])
    return {rid for rid, p in passes.items() if p == {"audit"}}


def build_audit(data: Path = DATA, out: Path = POOLS) -> dict:
    """Blind batches of the audited train rows (id + text only), in a seeded order; deterministic."""
    held = required_holdout()
    pins = v2_splits(data)
    wanted = {rid for rid in _audit_only(data) if pins.get(rid) == "train"} - held
    corpus = list(load_corpus(exclude=set()))
    held_keys = {dup_key(r["text"]) for r in corpus if r["id"] in held}
    rows = sorted(({"id": r["id"], "text": r["text"]} for r in corpus
                   if r["id"] in wanted and dup_key(r["text"]) not in held_keys), key=lambda r: r["id"])
    manifest = _load_manifest(out)
    pooled = _pooled_ids(manifest, out, skip="audit2")
    clash = sorted(pooled & {r["id"] for r in rows})
    if clash:
        raise SystemExit(f"{len(clash)} audited ids are already in other pools, e.g. {clash[:3]}")
    manifest.setdefault("pools", {})["audit2"] = {
        "what": "seed v2 train rows re-read only in the 2026-11-27 audit (code shown), now read twice blind",
        "rows": len(rows),
        "batches": _write_batches(_shuffled(rows, "audit2"), "audit2", out),
    }
    _save_manifest(out, manifest)
    return manifest


CORPUS3_N = 1000


def build_corpus3(data: Path = DATA, out: Path = POOLS, n: int = CORPUS3_N) -> dict:
    """A seeded random sample of unread bdci_entity rows, id + text only; deterministic for the same inputs."""
    candidates = _unread("corpus3", lambda r: r["corpus"] == "bdci_entity", data, out)
    rows = random.Random(f"{SEED}:corpus3").sample(candidates, min(n, len(candidates)))
    manifest = _load_manifest(out)
    manifest.setdefault("pools", {})["corpus3"] = {
        "what": "unread bdci_entity rows, seeded random sample, one per dup_key group, no holdout/read/pooled twin",
        "rows": len(rows),
        "candidates": len(candidates),
        "batches": _write_batches(_shuffled(rows, "corpus3"), "corpus3", out),
    }
    _save_manifest(out, manifest)
    return manifest


# corpus4: how many rows of each source the active-learning draw takes (bdci is where most test misses are)
CORPUS4_TAKE = {"bdci": 800, "iflytek": 80, "sms": 120}
CORPUS4_GROUP = {"bdci_entity": "bdci", "bdci_negative": "bdci", "iflytek": "iflytek", "sms": "sms"}


def _unread(skip: str, keep: Callable[[dict], bool], data: Path = DATA, out: Path = POOLS) -> list[dict]:
    """Unread corpus rows that ``keep`` accepts, one per near-duplicate group, none a twin of a holdout, read or
    pooled row (pools drawn before ``skip``, the one being rebuilt), in file order: id, text and corpus name (the
    batches are written as id + text only)."""
    held = required_holdout()
    read, _ = _read_ids(data)
    excluded = held | read | _pooled_ids(_load_manifest(out), out, skip=_later(skip))
    corpus = list(load_corpus(exclude=set()))
    seen = {dup_key(r["text"]) for r in corpus if r["id"] in excluded}
    rows = []
    for row in corpus:
        key = dup_key(row["text"])
        if not keep(row) or row["id"] in excluded or not key or key in seen:
            continue
        seen.add(key)
        rows.append({"id": row["id"], "text": row["text"], "corpus": row["corpus"]})
    return rows


def corpus4_candidates(data: Path = DATA, out: Path = POOLS) -> list[dict]:
    """The rows corpus4 may draw from: unread bdci and iflytek rows and unread SMS spam."""
    def keep(r: dict) -> bool:
        return r["corpus"] in CORPUS4_GROUP and (r["corpus"] != "sms" or r.get("source_label") == "spam")

    return _unread("corpus4", keep, data, out)


def _margin(score: float, line: float = 0.5) -> float:
    """Distance from the flag line in log-odds: the model's doubt about a row (smaller = more doubtful)."""
    p = min(max(score, 1e-6), 1 - 1e-6)
    return abs(math.log(p / (1 - p)) - math.log(line / (1 - line)))


def build_corpus4(scores: Path, data: Path = DATA, out: Path = POOLS, take: dict[str, int] | None = None) -> dict:
    """Active-learning batches: per source, the candidates the served combination is least sure of.

    ``scores`` is `adscreen score` output over `corpus4_candidates` (id, score, ...). Only candidates still unread
    are used, so a stale scores file cannot pull in a read or holdout row. The manifest records each drawn row's
    score, since the draw cannot be rebuilt once the model that scored it is replaced (DATA.md names that model).
    """
    take = dict(CORPUS4_TAKE if take is None else take)
    allowed = {r["id"]: r for r in corpus4_candidates(data, out)}
    scored: dict[str, float] = {}
    for line in Path(scores).read_text(encoding="utf-8").splitlines():
        rec = json.loads(line) if line.strip() else {}
        if rec.get("id") in allowed and isinstance(rec.get("score"), int | float):
            scored[rec["id"]] = float(rec["score"])
    by_group: dict[str, list[str]] = defaultdict(list)
    for rid in scored:
        by_group[CORPUS4_GROUP[allowed[rid]["corpus"]]].append(rid)
    picked: list[str] = []
    for group, n in sorted(take.items()):
        ranked = sorted(by_group.get(group, []), key=lambda r: (_margin(scored[r]), r))
        picked += ranked[:n]
    rows = [{"id": rid, "text": allowed[rid]["text"]} for rid in sorted(picked)]
    manifest = _load_manifest(out)
    manifest.setdefault("pools", {})["corpus4"] = {
        "what": "active learning: unread bdci / iflytek / SMS-spam rows nearest the served combination's flag line "
        "(0.5), per source; train only in the seed set",
        "rows": len(rows),
        "take": take,
        "candidates": {g: len(v) for g, v in sorted(by_group.items())},
        "scores": {rid: round(scored[rid], 4) for rid in sorted(picked)},
        "batches": _write_batches(_shuffled(rows, "corpus4"), "corpus4", out),
    }
    _save_manifest(out, manifest)
    return manifest


def build_written(written: Path = WRITTEN, out: Path = POOLS, readings: Path = READINGS) -> dict:
    """Blind batches of the written set: id + text only; holdout twins dropped, duplicate or clashing ids refused.

    Append-only once built: batches that exist stay as they are and rows new to the written set go into new
    batches (after topping up an unread, partial last batch), so a rerun never reshuffles what readers have read.
    A row whose text changed, or that disappeared, is updated in a batch nobody has read yet and refused otherwise.
    """
    files = sorted(written.glob("*.jsonl"))
    if not files:
        raise SystemExit(f"no {written}/*.jsonl to build from")
    held = required_holdout()
    held_keys = {dup_key(r["text"]) for r in load_corpus(exclude=set()) if r["id"] in held}
    rows, origin, dropped = [], {}, []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            rid, text = row.get("id"), row.get("text")
            if not isinstance(rid, str) or not rid or not isinstance(text, str) or not text.strip():
                raise SystemExit(f"{path.name}:{n}: a written row needs a non-empty string id and text")
            if rid in origin or rid in held:
                raise SystemExit(f"{path.name}:{n}: id {rid!r} is not unique (or is a holdout id)")
            origin[rid] = path.name
            if dup_key(text) in held_keys:
                dropped.append(rid)
                continue
            rows.append({"id": rid, "text": text})
    manifest = _load_manifest(out)
    other = {
        r["id"] for p in ("train2", "corpus2") for b in manifest.get("pools", {}).get(p, {}).get("batches", [])
        for r in _read_jsonl(out / b)
    }
    clash = sorted(other & set(origin))
    if clash:
        raise SystemExit(f"{len(clash)} written ids are already in other pools, e.g. {clash[:3]}")
    old = [b for b in manifest.get("pools", {}).get("written", {}).get("batches", []) if (out / b).exists()]
    names = _append_written(rows, old, out, readings) if old else _write_batches(_shuffled(rows, "written"), "written", out)
    manifest.setdefault("pools", {})["written"] = {
        "what": "written set (classifier/data/written), id + text only; train/dev only, never test",
        "rows": sum(len(_read_jsonl(out / b)) for b in names),
        "batches": names,
        "files": {name: sorted(i for i, f in origin.items() if f == name) for name in sorted(set(origin.values()))},
        "dropped_holdout_twins": sorted(dropped),
    }
    _save_manifest(out, manifest)
    return manifest


def _append_written(rows: list[dict], old: list[str], out: Path, readings: Path) -> list[str]:
    """Keep the existing written batches, fix unread ones, put new rows in new batches; refuse to change read ones."""
    current = {r["id"]: r["text"] for r in rows}
    names, placed = [], set()
    for name in old:
        batch = _read_jsonl(out / name)
        kept = [{"id": r["id"], "text": current[r["id"]]} for r in batch if r["id"] in current]
        placed |= {r["id"] for r in batch}
        if kept != batch:
            if any(readings.glob(f"*/{Path(name).stem}.tsv")):
                changed = sorted(r["id"] for r in batch if current.get(r["id"]) != r["text"])
                raise SystemExit(
                    f"{name} has readings but {len(changed)} of its rows changed or disappeared in the written set "
                    f"(e.g. {changed[:3]}): give a changed row a new id instead"
                )
            _write_rows(out / name, kept)
        if kept:
            names.append(name)
        else:
            (out / name).unlink()
    new = _shuffled([r for r in rows if r["id"] not in placed], "written")
    if names and new:
        last = names[-1]
        batch = _read_jsonl(out / last)
        if len(batch) < BATCH_SIZE and not any(readings.glob(f"*/{Path(last).stem}.tsv")):
            room = BATCH_SIZE - len(batch)
            _write_rows(out / last, batch + new[:room])
            new = new[room:]
    n = max((int(Path(b).stem.rsplit("-", 1)[1]) for b in old), default=0)
    for start in range(0, len(new), BATCH_SIZE):
        n += 1
        name = f"written-{n:03d}.jsonl"
        _write_rows(out / name, new[start : start + BATCH_SIZE])
        names.append(name)
    return names


def _write_rows(path: Path, rows: list[dict]) -> None:
    text = "".join(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n" for r in rows)
    path.write_text(text, encoding="utf-8")


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _load_manifest(out: Path) -> dict:
    path = out / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _save_manifest(out: Path, manifest: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")


def check_reading(batch: Path, reading: Path) -> tuple[int, list[str]]:
    """(ids of the batch coded, problems) for one reader's `<batch>.tsv`: codes, unknown or missing ids."""
    ids = [r["id"] for r in _read_jsonl(batch)]
    wanted, done, problems = set(ids), set(), []
    for n, line in enumerate(reading.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 2 or fields[1] not in READING_CODES:
            codes = "".join(sorted(READING_CODES))
            problems.append(f"{reading}:{n}: want id<TAB>code<TAB>reason, code one of {codes}")
        elif fields[0] not in wanted:
            problems.append(f"{reading}:{n}: {fields[0]} is not in {batch.name}")
        else:
            done.add(fields[0])
    missing = len(wanted - done)
    if missing:
        problems.append(f"{reading}: {missing} of {len(wanted)} rows not coded yet")
    return len(done), problems


def status(out: Path = POOLS, readings: Path = READINGS) -> int:
    """Print, per batch, the readers who have finished it; return the number of problems found."""
    by_batch: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(readings.glob("*/*.tsv")) if readings.exists() else []:
        by_batch[path.stem].append(path)
    problems = 0
    for batch in sorted(out.glob("*-[0-9][0-9][0-9].jsonl")):
        finished = []
        for reading in by_batch.get(batch.stem, []):
            _, found = check_reading(batch, reading)
            for p in found:
                print(p, file=sys.stderr)
            problems += len(found)
            if not found:
                finished.append(reading.parent.name)
        need = "done" if len(finished) >= 2 else f"needs {2 - len(finished)} more reader(s)"
        print(f"{batch.stem}\t{','.join(finished) or '-'}\t{need}")
    return problems


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build", help="train2 + corpus2 batches and the manifest")
    sub.add_parser("build-written", help="written batches from classifier/data/written/*.jsonl")
    sub.add_parser("build-audit", help="audit2 batches: the audited train rows, read twice blind")
    sub.add_parser("build-corpus3", help="corpus3 batches: more unread bdci_entity rows")
    cand = sub.add_parser("candidates-corpus4", help="unread rows corpus4 may draw from, as JSONL for adscreen score")
    cand.add_argument("out", type=Path)
    c4 = sub.add_parser("build-corpus4", help="corpus4 batches from adscreen score output over the candidates")
    c4.add_argument("scores", type=Path)
    sub.add_parser("status", help="which readers have finished which batch")
    args = ap.parse_args(argv)
    if args.cmd == "candidates-corpus4":
        rows = corpus4_candidates()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        _write_rows(args.out, rows)
        print(f"{len(rows)} candidates -> {args.out}")
        return
    if args.cmd == "build":
        manifest = build()
    elif args.cmd == "build-written":
        manifest = build_written()
    elif args.cmd == "build-audit":
        manifest = build_audit()
    elif args.cmd == "build-corpus3":
        manifest = build_corpus3()
    elif args.cmd == "build-corpus4":
        manifest = build_corpus4(args.scores)
    else:
        raise SystemExit(1 if status() else 0)
    for name, pool in sorted(manifest["pools"].items()):
        span = f" ({pool['batches'][0]} .. {pool['batches'][-1]})" if pool["batches"] else ""
        print(f"{name}: {pool['rows']} rows in {len(pool['batches'])} batches{span}")
        for draw, ids in sorted(pool.get("draws", {}).items()):
            print(f"  {draw}: {len(ids)}")


if __name__ == "__main__":
    main()
