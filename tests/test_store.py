"""Storage layer on both databases: de-duplication, idempotent verdicts, flags, append-only audit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from store.db import session_scope
from store.documents import DocumentIn, record_rejection, save_document, snapshot, versions_of
from store.models import AuditEvent, Document, Flag, Rejection, Verdict
from store.queue import QueueError, claim, claim_next, decide, mark_referred, release
from store.verdicts import VerdictIn, save_verdict

PITCH = "本公司理财产品保本保息，年化收益18%，一万起投，推荐好友另有返利。联系电话13800000000"


def _doc(url: str, body: str = PITCH) -> DocumentIn:
    return DocumentIn(
        url=url, canonical_url=url, text=body, raw=f"<html>{body}</html>".encode(), title="理财"
    )


def _verdict(score: float, versions: str = "kw:1", flagged: bool | None = None) -> VerdictIn:
    return VerdictIn(
        score=score,
        level="high" if score >= 0.8 else "medium" if score >= 0.5 else "low",
        flagged=score >= 0.5 if flagged is None else flagged,
        detector_versions=versions,
        keyword_score=score,
        hits=[{"term": "保本保息", "category": "return_promise", "weight": 1.0, "start": 6, "end": 10}],
        detectors=["keywords"],
        category="return_promise",
    )


def test_save_document_dedupes_by_canonical_url_and_content(db_url):
    with session_scope(db_url) as s:
        doc, status = save_document(s, _doc("http://a.test/1"))
        assert status == "new"
        assert snapshot(doc).decode().startswith("<html>")
        assert len(doc.raw_sha256) == 64
    with session_scope(db_url) as s:
        again, status = save_document(s, _doc("http://a.test/1"))
        assert status == "unchanged" and again.id == doc.id
        # only digits changed (a new phone number): a new version, since the contact is evidence
        _, status = save_document(s, _doc("http://a.test/1", PITCH.replace("138", "139")))
        assert status == "updated"
        changed, status = save_document(s, _doc("http://a.test/1", PITCH + "另送黄金。"))
        assert status == "updated" and changed.id == doc.id and changed.scored_at is None
        assert changed.version_count == 3
    with session_scope(db_url) as s:
        versions = versions_of(s, doc.id)
        assert [v.number for v in versions] == [1, 2, 3]
        assert versions[0].text == PITCH and "13900000000" in versions[1].text
        assert snapshot(versions[0]) == f"<html>{PITCH}</html>".encode()
        assert s.get(Document, doc.id).current_version_id == versions[2].id


def test_near_duplicates_share_a_group(db_url):
    with session_scope(db_url) as s:
        a, _ = save_document(s, _doc("http://a.test/1"))
        b, _ = save_document(s, _doc("http://b.test/9", PITCH + "！"))
        c, _ = save_document(s, _doc("http://c.test/2", "二手自行车转让，九成新，价格面议，限本地自提。"))
        assert b.group_id == a.group_id == a.id
        assert c.group_id == c.id


def test_band_candidates_are_the_earliest_sharing_any_band(db_url, monkeypatch):
    """Four per-band ranges, merged: the same set as one OR query in id order (the earliest N, any band)."""
    from sqlalchemy import or_

    from store import documents

    monkeypatch.setattr(documents, "NEAR_DUPLICATE_CANDIDATES", 3)
    with session_scope(db_url) as s:
        docs = [save_document(s, _doc(f"http://n.test/{i}", f"独立文本{i}号，内容各不相同。"))[0] for i in range(9)]
        target = docs[-1]
        # docs 0, 3, 6 share band 0 with the target, 1, 4 band 2, 2 band 3 and band 1; the rest none
        shared = {0: [0], 3: [0], 6: [0], 1: [2], 4: [2], 2: [3, 1]}
        for i, doc in enumerate(docs[:-1]):
            for b in range(4):
                mine = getattr(target, f"sh_b{b}") if b in shared.get(i, []) else 70_000 + 10 * i + b
                setattr(doc, f"sh_b{b}", mine)
        s.flush()
        got = [row.id for row in documents._band_candidates(s, target)]
        band_match = or_(*(getattr(Document, f"sh_b{b}") == getattr(target, f"sh_b{b}") for b in range(4)))
        expected = list(s.scalars(
            select(Document.id).where(Document.id != target.id, band_match).order_by(Document.id).limit(3)
        ))
        assert got == expected == [docs[0].id, docs[1].id, docs[2].id]


def test_rejections_are_recorded_with_reason(db_url):
    with session_scope(db_url) as s:
        record_rejection(s, "http://a.test/big", "too_large", "body 20971520 bytes", raw=b"x" * 100_000)
    with session_scope(db_url) as s:
        r = s.scalar(select(Rejection))
        assert r.reason == "too_large" and r.raw_size == 100_000 and len(r.raw_sha256) == 64


def test_a_repeated_rejection_is_counted_not_duplicated(db_url):
    with session_scope(db_url) as s:
        first = record_rejection(s, "http://a.test/bin", "binary", "PNG", http_status=200, raw=b"\x89PNG1")
        first_id = first.id
    with session_scope(db_url) as s:  # the next scheduled crawl refuses the same page again
        again = record_rejection(
            s, "http://a.test/bin", "binary", "PNG again", http_status=200, raw=b"\x89PNG1"
        )
        assert again.id == first_id
    with session_scope(db_url) as s:  # the body changed: a refusal of its own
        record_rejection(s, "http://a.test/bin", "binary", "PNG", http_status=200, raw=b"\x89PNG2")
        record_rejection(s, "http://a.test/gone", "http_error", "404", http_status=404)
        record_rejection(s, "http://a.test/gone", "http_error", "404", http_status=404)
    with session_scope(db_url) as s:
        rows = {
            (r.url, r.raw_sha256 is not None and r.raw_sha256[:6]): r for r in s.scalars(select(Rejection))
        }
        assert len(rows) == 3
        counts = sorted(r.seen_count for r in rows.values())
        assert counts == [1, 2, 2]
        repeated = s.get(Rejection, first_id)
        assert repeated.seen_count == 2 and repeated.detail == "PNG again"
        assert repeated.last_seen_at >= repeated.created_at


def test_verdicts_are_idempotent_and_raise_one_flag(db_url):
    with session_scope(db_url) as s:
        doc, _ = save_document(s, _doc("http://a.test/1"))
        v1, created1 = save_verdict(s, doc.id, _verdict(0.9))
        v2, created2 = save_verdict(s, doc.id, _verdict(0.9))
        assert created1 and not created2 and v1.id == v2.id
    with session_scope(db_url) as s:
        assert s.scalar(select(func.count(Verdict.id))) == 1
        flag = s.scalar(select(Flag))
        assert flag.status == "open" and flag.level == "high" and flag.category == "return_promise"


def test_rescore_withdraws_and_reopens_undecided_flags_only(db_url):
    with session_scope(db_url) as s:
        doc, _ = save_document(s, _doc("http://a.test/1"))
        save_verdict(s, doc.id, _verdict(0.9, "kw:1"))
        save_verdict(s, doc.id, _verdict(0.2, "kw:2"))
        assert s.scalar(select(Flag)).status == "withdrawn"
        save_verdict(s, doc.id, _verdict(0.7, "kw:3"))
        flag = s.scalar(select(Flag))
        assert flag.status == "open" and flag.level == "medium"
        claim(s, flag.id, "alice", 600)
        decide(s, flag.id, "alice", "confirm", note="典型保本保息")
        save_verdict(s, doc.id, _verdict(0.1, "kw:4"))
        assert s.scalar(select(Flag)).status == "confirmed"  # a person's decision is never overridden


def test_claim_release_decide_and_refer(db_url):
    with session_scope(db_url) as s:
        for i in range(3):
            doc, _ = save_document(s, _doc(f"http://a.test/{i}", PITCH + "第" + "一二三"[i] + "期"))
            save_verdict(s, doc.id, _verdict(0.6 + i / 10))
    with session_scope(db_url) as s:
        first = claim_next(s, "alice", 600)
        assert first.priority == pytest.approx(0.8)
        second = claim_next(s, "bob", 600)
        assert second.id != first.id
        with pytest.raises(QueueError):
            claim(s, first.id, "bob", 600)
        with pytest.raises(QueueError):
            decide(s, first.id, "bob", "confirm")
        with pytest.raises(QueueError):
            decide(s, first.id, "alice", "dismiss", reason="not-a-subtype")
        decide(s, first.id, "alice", "confirm")
        release(s, second.id, "bob")
        assert mark_referred(s, [first.id, second.id], "alice") == 1
    with session_scope(db_url) as s:
        statuses = dict(s.execute(select(Flag.id, Flag.status)).all())
        assert statuses[first.id] == "referred" and statuses[second.id] == "open"
        actions = [a for (a,) in s.execute(select(AuditEvent.action).order_by(AuditEvent.id))]
        assert {"flag.raise", "flag.claim", "flag.confirm", "flag.release", "flag.refer"} <= set(actions)


def test_expired_claims_return_to_the_queue(db_url):
    with session_scope(db_url) as s:
        doc, _ = save_document(s, _doc("http://a.test/1"))
        save_verdict(s, doc.id, _verdict(0.9))
    with session_scope(db_url) as s:
        assert claim_next(s, "alice", ttl_seconds=-1) is not None  # already expired
    with session_scope(db_url) as s:
        flag = claim_next(s, "bob", ttl_seconds=600)
        assert flag is not None and flag.assignee == "bob"


def test_audit_log_is_append_only(db_url):
    with session_scope(db_url) as s:
        doc, _ = save_document(s, _doc("http://a.test/1"))
        save_verdict(s, doc.id, _verdict(0.9))
    for statement in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            with session_scope(db_url) as s:
                s.execute(text(statement))
    with session_scope(db_url) as s:
        assert s.scalar(select(func.count(AuditEvent.id))) >= 1
        assert s.scalar(select(func.count(Document.id))) == 1


def test_decisions_become_labelled_rows(db_url):
    from store.training import decision_rows

    with session_scope(db_url) as s:
        ids = []
        for i, body in enumerate([PITCH, "【某银行】理财非存款，产品有风险，业绩比较基准3%"]):
            doc, _ = save_document(s, _doc(f"http://a.test/{i}", body))
            save_verdict(s, doc.id, _verdict(0.9))
            ids.append(s.scalar(select(Flag.id).where(Flag.document_id == doc.id)))
        for fid, action, reason in [(ids[0], "confirm", None), (ids[1], "dismiss", "finance_legit")]:
            claim(s, fid, "alice", 600)
            decide(s, fid, "alice", action, reason=reason)
    with session_scope(db_url) as s:
        rows = decision_rows(s)
    assert [(r["label"], r["subtype"]) for r in rows] == [
        ("fundraising", "fundraising"),
        ("negative", "finance_legit"),
    ]
    assert rows[0]["text"] == PITCH  # the title "理财" already stands in the text
