"""Operators benchmark: identifier extraction + linking in documents/s, and incremental linking vs table size.

    .venv/bin/python bench/bench_operators.py --n 200000 --workers 2          # throughput (no database)
    .venv/bin/python bench/bench_operators.py --incremental 1000,10000,50000  # link_documents at growing tables

Synthetic ads: real-style pitch and benign texts from the seed corpus, each given contacts the way ads write them
(phones in digits, spaces, Chinese digits or full width; WeChat behind 薇信/V信/加V; QQ; company names; masked
numbers), grouped into operators of 1–10 ads, plus a platform hotline on 5% of all ads (a hub).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DIGITS_CN = "零一二三四五六七八九"
WECHAT_CUES = ["微信", "薇信：", "V信 ", "加V ", "vx:", "威信", "🛰 "]
HUB = "400-600-1234"


def _texts() -> list[str]:
    """Seed-corpus texts with their own identifiers blanked: shared by chance, they would link unrelated
    synthetic operators (the operators' identifiers are the ones ``synthetic`` adds)."""
    from operators.extract import extract

    rows = [json.loads(line) for line in (ROOT / "classifier/data/seed.jsonl").open(encoding="utf-8")]
    out = []
    for r in rows:
        text = list(r["text"][:400])
        for i in extract({"body": r["text"][:400]}):
            text[i.start : i.end] = "某" * (i.end - i.start)
        out.append("".join(text))
    return out


def _phone_forms(rnd: random.Random, number: str) -> str:
    form = rnd.randrange(5)
    if form == 0:
        return number
    if form == 1:
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    if form == 2:
        return "".join(DIGITS_CN[int(c)] for c in number)
    if form == 3:
        return "".join(chr(ord(c) + 0xFEE0) for c in number)
    return f"{number[:3]}-{number[3:7]}-{number[7:]}"


def synthetic(n: int, seed: int = 13) -> list[dict[str, str]]:
    """n documents as identifier fields; operators of 1–10 ads share a phone, a WeChat ID or a company."""
    rnd = random.Random(seed)
    texts = _texts()
    docs: list[dict[str, str]] = []
    op = 0
    while len(docs) < n:
        op += 1
        size = min(n - len(docs), rnd.choice([1, 1, 1, 2, 3, 4, 5, 7, 10]))
        phone = f"1{rnd.choice('3578')}{rnd.randrange(10**9):09d}"
        wechat = f"op{op}_{rnd.randrange(10**6)}x"
        company = f"{rnd.choice('鑫汇聚恒盛金瑞华')}{rnd.choice('瑞通源昌达鼎丰泰')}{op}号投资管理有限公司"
        for _ in range(size):
            body = rnd.choice(texts)
            contact = []
            r = rnd.random()
            if r < 0.5:
                contact.append("电话" + _phone_forms(rnd, phone))
            if r > 0.3:
                contact.append(rnd.choice(WECHAT_CUES) + wechat)
            if rnd.random() < 0.3:
                body += f"。{company}"
            if rnd.random() < 0.05:
                body += f"。平台客服{HUB}"
            docs.append({
                "title": body[:20], "body": body + "，" + "，".join(contact), "publisher": f"用户{op}",
                "contact": f"{phone[:3]}****{phone[-4:]}", "region": rnd.choice(["梁园区", "睢阳区", "永城市"]),
            })  # fmt: skip
    return docs


def _extract_keys(fields: dict[str, str]) -> list[tuple[str, str]]:
    from operators.extract import extract

    return [i.key() for i in extract(fields)]


def throughput(n: int, workers: int) -> dict[str, float]:
    from collections import defaultdict

    from operators.link import LinkConfig, components

    docs = synthetic(n)
    started = time.perf_counter()
    with Pool(workers) as pool:
        keys = pool.map(_extract_keys, docs, chunksize=500)
    extracted = time.perf_counter()
    config = LinkConfig()
    publishers: dict[tuple[str, str], set[str]] = defaultdict(set)
    for d, ks in zip(docs, keys, strict=True):
        for k in ks:
            if len(publishers[k]) <= config.hub_publishers:
                publishers[k].add(d["publisher"])
    hubs = {k for k, p in publishers.items() if len(p) > config.hub_publishers}
    groups = components({i: [k for k in ks if k not in hubs] for i, ks in enumerate(keys)}, config)
    linked = time.perf_counter()
    total = linked - started
    return {
        "documents": n, "workers": workers, "extract_s": round(extracted - started, 2),
        "link_s": round(linked - extracted, 2), "docs_per_s": round(n / total), "operators": len(groups),
        "hubs": len(hubs), "identifiers": sum(len(k) for k in keys),
    }  # fmt: skip


def incremental(sizes: list[int], batch: int = 32, repeats: int = 5) -> list[dict[str, float]]:
    """Time ``link_documents`` for a batch of new ads at growing table sizes (SQLite file, bulk-filled)."""
    import zlib

    from sqlalchemy import delete, insert, select, update

    from operators.link import LinkConfig, components
    from store.db import session_scope, upgrade
    from store.identifiers import extract_fields
    from store.models import (
        Document,
        DocumentIdentifier,
        DocumentVersion,
        IdentifierKey,
        Operator,
        OperatorEvent,
        OperatorMember,
        OperatorWarning,
        utcnow,
    )
    from store.operators import link_documents

    tmp = Path(tempfile.mkdtemp(prefix="bench_ops_"))
    url = f"sqlite:///{tmp / 'ops.db'}"
    upgrade(url)
    docs = synthetic(max(sizes) + batch * repeats * len(sizes), seed=29)
    raw = zlib.compress(b"x")
    now = utcnow()
    loaded = 0
    out = []
    stats: dict = {}
    all_keys: dict = {}

    def fill(upto: int) -> None:
        nonlocal loaded
        chunk = docs[loaded:upto]
        with session_scope(url) as s:
            first = (s.scalar(select(Document.id).order_by(Document.id.desc()).limit(1)) or 0) + 1
            ids = list(range(first, first + len(chunk)))
            s.execute(insert(Document), [dict(
                id=i, url=f"http://b/{i}", canonical_url=f"http://b/{i}", source_key=0, current_version_id=None,
                version_count=1, title=d["title"], text=d["body"], publisher=d["publisher"], contact=d["contact"],
                region=d["region"], content_hash="h", raw_sha256="s", raw_size=1, http_headers={}, fetched_at=now,
                created_at=now, updated_at=now) for i, d in zip(ids, chunk, strict=True)])  # fmt: skip
            s.execute(insert(DocumentVersion), [dict(
                id=i, document_id=i, number=1, url=f"http://b/{i}", title=d["title"], text=d["body"],
                publisher=d["publisher"], contact=d["contact"], region=d["region"], content_hash="h",
                raw_snapshot=raw, raw_sha256="s", raw_size=1, http_headers={}, captured_at=now)
                for i, d in zip(ids, chunk, strict=True)])  # fmt: skip
            s.execute(update(Document).where(Document.id >= first).values(current_version_id=Document.id))
            rows, keys = [], {}
            for i, d in zip(ids, chunk, strict=True):
                idents = extract_fields(type("V", (), {**d, "text": d["body"]})())
                keys[i] = [x.key() for x in idents]
                rows += [dict(version_id=i, document_id=i, kind=x.kind, value=x.value, field=x.field,
                              start=x.start, end=x.end, matched=x.matched) for x in idents]  # fmt: skip
            s.execute(insert(DocumentIdentifier), rows)
            config = LinkConfig()
            all_keys.update(keys)
            for i, d in zip(ids, chunk, strict=True):
                for k in set(keys[i]):
                    row = stats.setdefault(k, [0, set()])
                    row[0] += 1
                    if len(row[1]) <= config.hub_publishers:
                        row[1].add(d["publisher"])
            hubs = {k for k, (c, p) in stats.items() if c > config.hub_documents or len(p) > config.hub_publishers}
            s.execute(delete(IdentifierKey))
            s.execute(insert(IdentifierKey), [dict(
                kind=k[0], value=k[1], doc_count=c, publishers=sorted(p), updated_at=now, hub=k in hubs)
                for k, (c, p) in stats.items()])  # fmt: skip
            # operators as the linker leaves them: hubs out (a bulk fill stands for the linker's steady state)
            for table in (OperatorWarning, OperatorEvent, OperatorMember, Operator):
                s.execute(delete(table))
            groups = components({i: [k for k in ks if k not in hubs] for i, ks in all_keys.items()}, config)
            s.execute(insert(Operator), [dict(
                id=n + 1, status="active", name="", document_count=len(g), risk_index=0.0, risk_level="正常监测",
                risk_components={}, formula_version="", created_at=now, updated_at=now)
                for n, g in enumerate(groups)])  # fmt: skip
            s.execute(insert(OperatorMember), [dict(document_id=i, operator_id=n + 1, version_id=i, joined_at=now)
                                               for n, g in enumerate(groups) for i in g])  # fmt: skip
        loaded = upto

    for size in sizes:
        fill(size)
        times = []
        for _ in range(repeats):
            start_id = loaded + 1
            # the new batch arrives unlinked, as after a crawl: documents and versions only
            new = docs[loaded : loaded + batch]
            with session_scope(url) as s:
                s.execute(insert(Document), [dict(
                    id=start_id + j, url=f"http://b/{start_id + j}", canonical_url=f"http://b/{start_id + j}",
                    source_key=0, current_version_id=None, version_count=1, title=d["title"], text=d["body"],
                    publisher=d["publisher"], contact=d["contact"], region=d["region"], content_hash="h",
                    raw_sha256="s", raw_size=1, http_headers={}, fetched_at=now, created_at=now, updated_at=now)
                    for j, d in enumerate(new)])  # fmt: skip
                s.execute(insert(DocumentVersion), [dict(
                    id=start_id + j, document_id=start_id + j, number=1, url="u", title=d["title"], text=d["body"],
                    publisher=d["publisher"], contact=d["contact"], region=d["region"], content_hash="h",
                    raw_snapshot=raw, raw_sha256="s", raw_size=1, http_headers={}, captured_at=now)
                    for j, d in enumerate(new)])  # fmt: skip
                s.execute(update(Document).where(Document.id >= start_id).values(current_version_id=Document.id))
            loaded += batch
            t = time.perf_counter()
            with session_scope(url) as s:
                link_documents(s, list(range(start_id, start_id + batch)))
            times.append(time.perf_counter() - t)
        times.sort()
        out.append({"table_documents": size, "batch": batch, "median_ms": round(1000 * times[len(times) // 2], 1),
                    "docs_per_s": round(batch / times[len(times) // 2])})  # fmt: skip
        print(json.dumps(out[-1]), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="documents for the throughput run (0: skip)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--incremental", default="", help="comma-separated table sizes, e.g. 1000,10000,50000")
    args = parser.parse_args()
    if args.n:
        print(json.dumps(throughput(args.n, args.workers), ensure_ascii=False), flush=True)
    if args.incremental:
        incremental([int(x) for x in args.incremental.split(",")])


if __name__ == "__main__":
    main()
