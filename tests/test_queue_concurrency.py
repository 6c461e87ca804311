"""Concurrent claims on the real PostgreSQL never hand one flag to two inspectors."""

from __future__ import annotations

import threading
from collections import Counter

from store.db import session_scope
from store.documents import DocumentIn, save_document
from store.queue import claim_next
from store.verdicts import VerdictIn, save_verdict

FLAGS = 40
INSPECTORS = 8


def test_concurrent_claims_never_collide(pg_url):
    with session_scope(pg_url) as s:
        for i in range(FLAGS):
            doc, _ = save_document(
                s,
                DocumentIn(
                    url=f"http://x.test/{i}",
                    canonical_url=f"http://x.test/{i}",
                    text=f"保本保息 第{i}号 " * (i + 1),
                    raw=b"r",
                ),
            )
            save_verdict(
                s,
                doc.id,
                VerdictIn(score=0.5 + (i % 5) / 10, level="medium", flagged=True, detector_versions="kw:1"),
            )

    claims: list[tuple[str, int]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(INSPECTORS)

    def inspector(name: str) -> None:
        barrier.wait()
        while True:
            with session_scope(pg_url) as s:
                flag = claim_next(s, name, ttl_seconds=600)
                if flag is None:
                    return
                with lock:
                    claims.append((name, flag.id))

    threads = [threading.Thread(target=inspector, args=(f"insp{i}",)) for i in range(INSPECTORS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    per_flag = Counter(fid for _, fid in claims)
    assert len(per_flag) == FLAGS, "every flag is claimed"
    assert max(per_flag.values()) == 1, "no flag is handed to two inspectors"
    assert len({name for name, _ in claims}) > 1, "the work was actually shared"
