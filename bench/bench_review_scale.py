"""Review app latency at province scale: median and p95 per page and API route with N documents on PostgreSQL.

Loads N synthetic ads through the store functions (``save_document``, then ``save_verdicts`` per batch, which
routes each flag to its unit), about a fifth of them flagged, half of the flags decided (confirmed, dismissed,
referred; decisions written in bulk), regions spread over Shangqiu's counties and the provinces, phones and
publishers varied. Then every route is requested ``--reps`` times through the ASGI app (in-process, the real
middleware, sessions and templates) and the median and p95 wall times are printed.

    .venv/bin/python bench/bench_review_scale.py --docs 10000 [--docs 50000 …] [--reps 30] [--keep]
    .venv/bin/python bench/bench_review_scale.py --docs 200000 --workers 4 --keep
    .venv/bin/python bench/bench_review_scale.py --url postgresql://…/adscreen_bench_… [--reps 30]

Each size gets a fresh database (dropped afterwards unless ``--keep``); loading prints its rate every 10k
documents. ``--workers`` saves batches from several processes
at once (several crawl workers; the rows are the same kind, the near-duplicate groups may differ slightly from a
sequential load); ``--url`` measures a database kept by an earlier run. Needs the test PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from store.db import engine_for, session_scope, upgrade  # noqa: E402
from store.documents import DocumentIn, save_document  # noqa: E402
from store.models import Decision, Flag, Source, User, utcnow  # noqa: E402
from store.verdicts import VerdictIn, save_verdicts  # noqa: E402

PG_ADMIN = os.environ.get("ADSCREEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REGIONS = ["河南省商丘市睢阳区", "商丘市梁园区", "永城市", "虞城县", "夏邑县", "民权县", "柘城县", "宁陵县", "睢县",
           "商丘", "郑州市金水区", "郑州", "北京", "上海", "广州", "成都", "武汉", "西安", "杭州", "南京"]
PITCHES = [("养老公寓火热认购，年化收益{r}%，保本保息", "pension"), ("合作社入股分红，每年固定分红{r}%", "coop"),
           ("产权式商铺售后包租，{r}年回购", "property"), ("区块链平台币内测，邀请好友返{r}%", "crypto"),
           ("新手专享年化{r}%，零风险，稳赚不赔", "return_promise"), ("原始股即将上市，认购{r}万起", "equity")]
PLAIN = ["二手电动车出售，九成新", "家政保洁上门服务", "招聘餐厅服务员，包吃住", "出租两室一厅，拎包入住",
         "驾校报名优惠", "本地搬家，价格实惠", "宠物美容洗护", "空调维修清洗"]
PASSWORD = "bench-password-1"
# filler of random common characters: real ads differ in wording, and SimHash bands shared by every synthetic ad
# would make the store's near-duplicate lookup (not what is measured here) the cost of loading
FILLER = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"



def _create_db() -> str:
    name = f"adscreen_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_ADMIN.rpartition("/")
    return f"{base}/{name}"


def _drop_db(url: str) -> None:
    engine_for(url).dispose()
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_batch(s, rng: random.Random, indices: range, source_ids: list[int]) -> int:
    """One batch of synthetic ads through ``save_document`` and one ``save_verdicts``; returns how many flagged."""
    flagged = 0
    items = []
    for i in indices:
        suspect = rng.random() < 0.2
        phone = f"1{rng.randint(30, 99)}{rng.randint(0, 99999999):08d}"
        words = "".join(rng.choice(FILLER) for _ in range(rng.randint(30, 80)))
        if suspect:
            pitch, cat = rng.choice(PITCHES)
            body = pitch.format(r=rng.randint(5, 30)) + f"，{words}，联系 {phone[:3]}-{phone[3:7]}-{phone[7:]}"
        else:
            cat = None
            body = rng.choice(PLAIN) + f"，{words}，电话 {phone}"
        doc, _ = save_document(
            s,
            DocumentIn(
                url=f"https://ads{i % 5}.example.cn/item/{i}",
                canonical_url=f"https://ads{i % 5}.example.cn/item/{i}",
                text=body + "。详情请来电咨询。",
                raw=f"<html><body><p>{body}</p></body></html>".encode(),
                title=body[:14],
                publisher=f"某某{rng.choice(['财富', '投资', '商贸', '家政'])}公司{i % 997}",
                contact=phone,
                region=rng.choice(REGIONS),
                source_id=rng.choice(source_ids),
                http_status=200,
            ),
        )
        score = rng.uniform(0.55, 0.99) if suspect else rng.uniform(0.0, 0.3)
        hits = []
        if suspect:
            hits = [{"field": "body", "start": 0, "end": 2, "matched": doc.text[:2], "term": doc.text[:2],
                     "category": cat, "weight": 0.6, "rule": "literal"}]
            flagged += 1
        items.append((doc.id, VerdictIn(score=round(score, 4), level="high" if score >= 0.8 else "medium",
                                        flagged=suspect, detector_versions="kw:bench", hits=hits,
                                        explanation="承诺保本保息并给出高额年化收益。", category=cat)))
    save_verdicts(s, items)
    return flagged


def _load_slice(url: str, start: int, stop: int, seed: int, source_ids: list[int]) -> int:
    """One batch in a worker process (its own engine and session; the batch's own random stream)."""
    with session_scope(url) as s:
        return load_batch(s, random.Random(seed * 1_000_003 + start), range(start, stop), source_ids)


def load(url: str, n: int, batch: int = 500, seed: int = 7, workers: int = 1) -> dict[str, int]:
    """N documents through the store functions; ~20 % flagged; half the flags decided.

    ``workers`` > 1: batches are saved by that many processes at once (like several crawl workers; each batch its
    own transaction, near-duplicate lookups see what the others committed), for a large N on a few cores.
    """
    rng = random.Random(seed)
    t0 = time.perf_counter()
    with session_scope(url) as s:
        sources = [Source(name=f"来源{i}", kind="html", profile={}) for i in range(5)]
        s.add_all(sources)
        s.flush()
        source_ids = [x.id for x in sources]
    flagged = 0
    mark, t_mark, done = 0, t0, 0

    def progress() -> None:
        nonlocal mark, t_mark
        if done - mark >= 10_000 or done == n:
            now = time.perf_counter()
            print(f"  loaded {done}/{n} ({now - t0:.0f} s; {(done - mark) / (now - t_mark):.0f} docs/s since "
                  f"{mark})", flush=True)
            mark, t_mark = done, now

    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_load_slice, url, start, min(start + batch, n), seed, source_ids):
                       min(start + batch, n) - start for start in range(0, n, batch)}
            for future in as_completed(futures):
                flagged += future.result()
                done += futures[future]
                progress()
    else:
        for start in range(0, n, batch):
            with session_scope(url) as s:
                flagged += load_batch(s, rng, range(start, min(start + batch, n)), source_ids)
            done = min(start + batch, n)
            progress()
    decided = decide_half(url, rng)
    print(f"  loaded {n} documents, {decided['flags']} flags, {decided['decided']} decided in "
          f"{time.perf_counter() - t0:.0f} s")
    return {"documents": n, **decided}


def decide_half(url: str, rng: random.Random) -> dict[str, int]:
    """Decisions on half of the flags, written in bulk (the queue's own functions are measured), then ANALYZE."""
    with session_scope(url) as s:
        ids = list(s.scalars(select(Flag.id).order_by(Flag.id)))
        now = utcnow()
        rows, statuses = [], {}
        for fid in ids:
            if rng.random() < 0.5:
                continue
            action = rng.choice(["confirm", "confirm", "dismiss"])
            when = now - timedelta(days=rng.randint(0, 29), hours=rng.randint(0, 23))
            rows.append({"flag_id": fid, "reviewer": rng.choice(["insp", "insp2", "admin"]), "action": action,
                         "reason": None if action == "confirm" else "other_ad", "note": "", "created_at": when})
            statuses[fid] = ("confirmed" if action == "confirm" else "dismissed", when)
        if rows:
            s.execute(Decision.__table__.insert(), rows)
        updates = []
        for fid, (status, when) in statuses.items():
            if status == "confirmed" and rng.random() < 0.3:
                status = "referred"
            updates.append({"s": status, "w": when, "c": when - timedelta(hours=rng.randint(1, 72)), "i": fid})
        if updates:
            s.execute(text("UPDATE flags SET status = :s, decided_at = :w, assignee = 'insp', "
                           "created_at = :c WHERE id = :i"), updates)
        s.execute(text("ANALYZE"))
    return {"flags": len(ids), "decided": len(rows)}


def measure(url: str, reps: int) -> list[tuple[str, float, float]]:
    from fastapi.testclient import TestClient

    from review.app import create_app
    from review.users import create_user

    with session_scope(url) as s:
        existing = set(s.scalars(select(User.username)))
        for name, role in (("insp", "inspector"), ("insp2", "inspector"), ("admin", "admin"), ("sy", "inspector")):
            if name not in existing:  # a database measured before (--url)
                create_user(s, name, PASSWORD, role)
    t0 = time.perf_counter()
    app = create_app(url, lexicon_dir=ROOT / "var" / "bench-lexicon")
    print(f"  app start (units, routing check) {time.perf_counter() - t0:.2f} s")
    app.state.rescore = lambda: None
    from store import units

    with session_scope(url) as s:
        units.set_user_units(s, s.scalar(select(User.id).where(User.username == "sy")), ["sq-suiyang"])
        open_id = s.scalar(select(Flag.id).where(Flag.status == "open").order_by(Flag.id.desc()).limit(1))
        decided_id = s.scalar(select(Flag.id).where(Flag.status == "confirmed").limit(1))
    clients = {}
    for name in ("admin", "insp", "sy"):
        c = TestClient(app)
        r = c.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        clients[name] = c
    deep = clients["insp"].get("/api/v1/queue?limit=50").json()["next_cursor"]
    for _ in range(10):  # ten pages in: a keyset page deep in the queue
        deep = clients["insp"].get(f"/api/v1/queue?limit=50&after={deep}").json()["next_cursor"] or deep
    routes = [
        ("GET /queue", "insp", "GET", "/queue"),
        ("GET /queue?region=商丘", "insp", "GET", "/queue?region=商丘"),
        ("GET /queue?q=8765 (search)", "insp", "GET", "/queue?q=8765"),
        ("GET /queue (scoped inspector)", "sy", "GET", "/queue"),
        ("GET /cases/{open}", "insp", "GET", f"/cases/{open_id}"),
        ("GET /cases/{decided}", "insp", "GET", f"/cases/{decided_id}"),
        ("GET /referrals", "insp", "GET", "/referrals"),
        ("GET /dashboard", "admin", "GET", "/dashboard"),
        ("GET /lexicon", "admin", "GET", "/lexicon"),
        ("GET /audit", "admin", "GET", "/audit"),
        ("GET /api/v1/queue", "insp", "GET", "/api/v1/queue"),
        ("GET /api/v1/queue (10 pages in)", "insp", "GET", f"/api/v1/queue?after={deep}"),
        ("GET /api/v1/queue?q=item/12", "insp", "GET", "/api/v1/queue?q=item/12&status=all"),
        ("GET /api/v1/queue?category=pension", "insp", "GET", "/api/v1/queue?category=pension"),
        ("GET /api/v1/queue?unit=sq-suiyang", "insp", "GET", "/api/v1/queue?unit=sq-suiyang"),
        ("GET /api/v1/queue/counts", "insp", "GET", "/api/v1/queue/counts"),
        ("GET /api/v1/cases/{id}", "insp", "GET", f"/api/v1/cases/{open_id}"),
        ("GET /api/v1/referrals", "insp", "GET", "/api/v1/referrals"),
        ("GET /api/v1/referrals?status=referred", "insp", "GET", "/api/v1/referrals?status=referred"),
        ("GET /api/v1/dashboard", "admin", "GET", "/api/v1/dashboard"),
        ("GET /api/v1/audit", "admin", "GET", "/api/v1/audit"),
        ("GET /api/v1/units", "insp", "GET", "/api/v1/units"),
        ("POST /api/v1/queue/next (claim, leave)", "insp2", "NEXT", ""),
    ]
    out = []
    for label, who, method, path in routes:
        c = clients.get(who) or clients.setdefault(who, _login(app, who))
        times = []
        held = None
        for i in range(reps + 2):
            t = time.perf_counter()
            if method == "NEXT":
                r = c.post("/api/v1/queue/next" + (f"?leave={held}" if held else ""))
                held = r.json()["flag_id"] if r.status_code == 200 else None
            else:
                r = c.get(path)
            elapsed = time.perf_counter() - t
            assert r.status_code in (200, 204), (label, r.status_code, r.text[:200])
            if i >= 2:  # two warm-up requests
                times.append(elapsed * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        out.append((label, statistics.median(times), p95))
    return out


def _login(app, name: str):
    from fastapi.testclient import TestClient

    c = TestClient(app)
    r = c.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, action="append", help="documents to load (repeatable)")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--keep", action="store_true", help="keep the databases")
    ap.add_argument("--url", help="measure a database kept by an earlier run (no load)")
    ap.add_argument("--workers", type=int, default=1, help="processes saving batches at once while loading")
    args = ap.parse_args()
    from argon2 import PasswordHasher

    from review import users

    users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # logins are not measured
    results = {}
    if args.url:  # a database kept by an earlier run (--keep): measure only
        with session_scope(args.url) as s:
            from sqlalchemy import func

            from store.models import Document

            info = {"documents": s.scalar(select(func.count()).select_from(Document)),
                    "flags": s.scalar(select(func.count()).select_from(Flag))}
            undecided = not s.scalar(select(func.count()).select_from(Decision))
        if undecided:  # a load stopped before its decisions (the batches it committed are complete)
            info |= decide_half(args.url, random.Random(7))
        results[info["documents"]] = (info, measure(args.url, args.reps))
    for n in [] if args.url else args.docs or [10_000]:
        url = _create_db()
        try:
            upgrade(url)
            print(f"N = {n}: loading …", flush=True)
            info = load(url, n, workers=args.workers)
            results[n] = (info, measure(url, args.reps))
        finally:
            if not args.keep:
                _drop_db(url)
            else:
                print(f"  kept {url}")
    sizes = sorted(results)
    print()
    print("| route | " + " | ".join(f"{n // 1000}k docs ({results[n][0]['flags'] // 1000}k flags) median / p95 ms"
                                   for n in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for i, (label, _, _) in enumerate(results[sizes[0]][1]):
        cells = [f"{results[n][1][i][1]:.0f} / {results[n][1][i][2]:.0f}" for n in sizes]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
