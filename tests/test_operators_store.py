"""Operators in the database, on SQLite and PostgreSQL: migration 0006, identifiers with exact spans, incremental
linking with stable ids, hubs kept out, inspectors' splits and merges that survive rebuilds, the scoring hook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, inspect, select

from keywords import Lexicon, Matcher
from operators.link import LinkConfig
from scoring.documents import score_document_ids
from scoring.engine import Scorer
from store.db import engine_for, session_scope, upgrade
from store.documents import DocumentIn, save_document
from store.identifiers import identifier_fields
from store.models import (
    AuditEvent,
    DocumentIdentifier,
    DocumentVersion,
    Operator,
    OperatorEvent,
    OperatorMember,
    Source,
)
from store.operators import (
    link_documents,
    merge_operators,
    operator_detail,
    operator_of,
    rebuild,
    resolve,
    split_operator,
)

TABLES = {"identifiers", "identifier_keys", "identifier_stops", "operators", "operator_members", "operator_events",
          "operator_constraints", "operator_constraint_members", "operator_warnings"}  # fmt: skip


class Corpus:
    """Documents saved through the crawler's own path (store.documents.save_document)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.n = 0

    def add(self, body: str, *, title: str = "广告", publisher: str = "个人", contact: str = "", region: str = "梁园区",
            source_id: int | None = None, key: str | None = None) -> int:  # fmt: skip
        self.n += 1
        key = key or f"http://ads.example/{self.n}"
        with session_scope(self.url) as s:
            doc, _ = save_document(
                s,
                DocumentIn(url=key, canonical_url=key, text=body, raw=body.encode(), title=title,
                           publisher=publisher, contact=contact, region=region, source_id=source_id),
            )  # fmt: skip
            return doc.id

    def link(self, ids: list[int], **kw) -> object:
        with session_scope(self.url) as s:
            return link_documents(s, ids, **kw)

    def op(self, doc_id: int) -> int | None:
        with session_scope(self.url) as s:
            return operator_of(s, doc_id)


@pytest.fixture
def corpus(db_url) -> Corpus:
    return Corpus(db_url)


def test_migration_0006_adds_the_tables_to_a_populated_0005_database(bare_url):
    upgrade(bare_url, "0005")
    corpus = Corpus(bare_url)
    doc = corpus.add("详询 138 1234 5678")
    assert not TABLES & set(inspect(engine_for(bare_url)).get_table_names())
    engine_for(bare_url).dispose()
    upgrade(bare_url)
    assert TABLES <= set(inspect(engine_for(bare_url)).get_table_names())
    corpus.link([doc])
    assert corpus.op(doc) is not None


def test_identifiers_are_stored_per_version_with_exact_spans(corpus):
    doc = corpus.add("本公司鑫瑞财富管理（商丘）有限公司，详询一三八一二三四五六七八", title="保本 加V：xr_cf88",
                     contact="0370-3286***（周经理）")  # fmt: skip
    corpus.link([doc])
    with session_scope(corpus.url) as s:
        version = s.scalar(select(DocumentVersion).where(DocumentVersion.document_id == doc))
        fields = identifier_fields(version)
        rows = list(s.scalars(select(DocumentIdentifier).where(DocumentIdentifier.version_id == version.id)))
        assert {(r.kind, r.value) for r in rows} >= {
            ("company", "鑫瑞财富管理"), ("phone", "+8613812345678"), ("wechat", "xr_cf88"),
            ("phone_partial", "03703286***"), ("region", "梁园区")}  # fmt: skip
        for r in rows:
            assert fields[r.field][r.start : r.end] == r.matched
            assert r.document_id == doc


def test_shared_identifiers_join_one_operator_with_a_stable_id(corpus):
    a = corpus.add("保本高息，电话138 1234 5678")
    corpus.link([a])
    first = corpus.op(a)
    b = corpus.add("养老公寓返本，联系：一三八-一二三四-五六七八")  # the same phone in Chinese digits
    c = corpus.add("原始股认购，加薇信：xr_cf88", contact="13812345678")
    d = corpus.add("二手自行车，电话139 0000 1111")
    corpus.link([b, c, d])
    assert corpus.op(b) == corpus.op(c) == first
    assert corpus.op(d) != first
    e = corpus.add("数字藏品，V：xr_cf88")  # only the WeChat ID, written with a lone V cue
    corpus.link([e])
    assert corpus.op(e) == first
    with session_scope(corpus.url) as s:
        assert s.get(Operator, first).document_count == 4


def test_merging_two_operators_keeps_the_larger_and_records_the_merge(corpus):
    big = [corpus.add(f"理财项目{i}，微信 big_op2025") for i in range(3)]
    small = [corpus.add("返租商铺，QQ：278551022")]
    corpus.link(big + small)
    kept, gone = corpus.op(big[0]), corpus.op(small[0])
    assert kept != gone
    bridge = corpus.add("新项目：微信 big_op2025 或 QQ 278551022")
    corpus.link([bridge])
    assert {corpus.op(x) for x in big + small + [bridge]} == {kept}
    with session_scope(corpus.url) as s:
        merged = s.get(Operator, gone)
        assert merged.status == "merged" and merged.merged_into_id == kept
        assert resolve(s, gone).id == kept
        ev = s.scalar(select(OperatorEvent).where(OperatorEvent.kind == "merge"))
        assert (ev.operator_id, ev.other_id) == (kept, gone)
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "operator.merge"))


def test_weights_a_city_or_a_masked_number_alone_links_nothing(corpus):
    a = corpus.add("保本理财", contact="138****2001", region="商丘")
    b = corpus.add("高息借款", contact="138****2001", region="商丘")
    corpus.link([a, b])
    assert corpus.op(a) != corpus.op(b)
    # masked number + the same brand: weak evidence that adds up
    c = corpus.add("季度理财计划", publisher="鼎盛财富", contact="138****3002")
    d = corpus.add("月月分红", publisher="鼎盛财富管理（商丘）有限公司", contact="138****3002")
    corpus.link([c, d])
    assert corpus.op(c) == corpus.op(d)


def test_a_stop_listed_hotline_of_the_source_welds_nothing(corpus):
    with session_scope(corpus.url) as s:
        src = Source(name="site", kind="html", profile={"name": "site", "kind": "html",
                     "identifier_stoplist": ["本站客服 400-600-1234", "domain:tongcheng-demo.cn"]})  # fmt: skip
        s.add(src)
        s.flush()
        sid = src.id
    ids = [corpus.add(f"广告{i}，本站客服400-600-1234，见 www.tongcheng-demo.cn", publisher=f"用户{i % 2}",
                      source_id=sid) for i in range(4)]  # fmt: skip
    other_source = corpus.add("客服400-600-1234")
    corpus.link(ids + [other_source])
    assert len({corpus.op(x) for x in ids}) == 4
    assert corpus.op(other_source) not in {corpus.op(x) for x in ids}


def test_a_hub_is_cut_out_once_it_shows_too_many_publishers(corpus):
    config = LinkConfig(hub_publishers=3)
    first = [corpus.add(f"代发广告{i}：联系 400-800-1234", publisher=f"商户{i}") for i in range(3)]
    corpus.link(first, config=config)
    assert len({corpus.op(x) for x in first}) == 1  # three publishers: not a hub yet
    more = [corpus.add(f"代发广告{i}：联系 400-800-1234", publisher=f"商户{i}") for i in range(3, 6)]
    corpus.link(more, config=config)
    assert len({corpus.op(x) for x in first + more}) == 6  # a hub now: the earlier links are undone
    with session_scope(corpus.url) as s:
        assert s.scalar(select(func.count()).select_from(OperatorEvent).where(OperatorEvent.kind == "split"))


def test_inspectors_split_and_merge_survive_a_rebuild(corpus):
    ops_a = [corpus.add(f"理财{i}，电话 138 1234 5678") for i in range(3)]
    wrong = corpus.add("家政服务，电话 138 1234 5678")  # a shared number, but not the same operator
    lone = corpus.add("养老床位认购，微信 yl_bed2025")
    corpus.link(ops_a + [wrong, lone])
    op = corpus.op(wrong)
    with session_scope(corpus.url) as s:
        remaining, new = split_operator(s, op, [wrong], actor="inspector1", note="家政公司，号码被冒用")
        assert remaining.id == op and new.id != op
    with session_scope(corpus.url) as s:
        merged = merge_operators(s, [corpus.op(ops_a[0]), corpus.op(lone)], actor="inspector1", note="同一团伙")
        kept = merged.id
    assert kept == op  # the larger operator's id is kept
    for _ in range(2):
        with session_scope(corpus.url) as s:
            rebuild(s)
        assert {corpus.op(x) for x in ops_a + [lone]} == {kept}
        assert corpus.op(wrong) != kept
    newcomer = corpus.add("又一条：电话 138 1234 5678")
    corpus.link([newcomer])
    assert corpus.op(newcomer) == kept
    with session_scope(corpus.url) as s:
        actions = set(s.scalars(select(AuditEvent.action).where(AuditEvent.actor == "inspector1")))
        assert {"operator.manual_split", "operator.manual_merge"} <= actions
    with session_scope(corpus.url) as s:
        with pytest.raises(ValueError):
            split_operator(s, kept, [wrong], actor="x")  # not its document
        with pytest.raises(ValueError):
            merge_operators(s, [kept], actor="x")


def test_a_changed_version_that_drops_the_shared_phone_leaves_the_operator(corpus):
    a = corpus.add("保本理财 138 1234 5678", key="http://ads.example/a")
    b = corpus.add("高息 138 1234 5678", key="http://ads.example/b")
    corpus.link([a, b])
    assert corpus.op(a) == corpus.op(b)
    corpus.add("已改为：二手家具转让，139 0000 2222", key="http://ads.example/b")  # a new version of b
    corpus.link([b])
    assert corpus.op(a) != corpus.op(b)


def _statements(url: str, fn) -> int:
    engine = engine_for(url)
    count = 0

    def on_exec(*_args, **_kw) -> None:
        nonlocal count
        count += 1

    event.listen(engine, "before_cursor_execute", on_exec)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", on_exec)
    return count


def test_incremental_linking_does_not_read_more_as_the_tables_grow(corpus):
    """Same batch shape at 50 and at 400 stored documents: the same number of statements (index lookups only)."""
    def batch(tag: str) -> list[int]:
        return [corpus.add(f"{tag}{i} 微信 op_{tag}_{i // 3}x", publisher=f"p{i}") for i in range(6)]

    corpus.link(batch("warm") + [corpus.add(f"填充{i} 电话 1390000{i:04d}") for i in range(44)])
    small = batch("aa")
    n_small = _statements(corpus.url, lambda: corpus.link(small))
    with session_scope(corpus.url) as s:
        for i in range(350):
            doc, _ = save_document(s, DocumentIn(url=f"http://f/{i}", canonical_url=f"http://f/{i}",
                                                 text=f"填充 微信 fill_{i // 2}xx", raw=b"x"))  # fmt: skip
    corpus.link(list(range(1, corpus.n + 400)))
    large = batch("bb")
    n_large = _statements(corpus.url, lambda: corpus.link(large))
    assert n_large == n_small


def test_scoring_a_batch_links_it_in_the_same_transaction(corpus):
    scorer = Scorer(matcher=Matcher(Lexicon.bundled()), classifier=None)
    ids = [corpus.add("本公司理财产品保本保息，年化收益18%，详询 138 1234 5678"),
           corpus.add("稳赚不赔，月息3分，加V：bb_licai88，电话 13812345678")]  # fmt: skip
    score_document_ids(corpus.url, ids, scorer)
    assert corpus.op(ids[0]) == corpus.op(ids[1]) is not None
    with session_scope(corpus.url) as s:
        detail = operator_detail(s, corpus.op(ids[0]))
        comps = detail["components"]
        assert comps["documents"] == 2 and comps["max_score"] > 0.5 and comps["categories"]
        assert detail["risk_index"] > 0 and detail["formula_version"] == "op-risk-1"
        assert {d["document_id"] for d in detail["documents_list"]} == set(ids)
        assert all(d["score"] is not None for d in detail["documents_list"])
        shared = {(i["kind"], i["value"]) for i in detail["identifiers"] if i["documents"] == 2}
        assert ("phone", "+8613812345678") in shared
        assert detail["graph"]["edges"]
        assert s.scalar(select(func.count()).select_from(OperatorMember)) == 2


def test_risk_index_levels_and_warnings(corpus):
    from operators.risk import RiskConfig
    from store.models import OperatorWarning

    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    ids = []
    for i in range(6):
        ids.append(corpus.add(f"第{i}条：微信 spike_op01"))
    with session_scope(corpus.url) as s:
        from store.models import Document

        for n, d in enumerate(ids):
            s.get(Document, d).posted_at = now - timedelta(hours=n + 1)
    risk = RiskConfig(high_threshold=15, watch_threshold=5, spike_per_day=5)  # no scores: reach + growth
    corpus.link(ids, risk=risk, now=now)
    with session_scope(corpus.url) as s:
        op = s.get(Operator, corpus.op(ids[0]))
        assert op.risk_level == "高风险" and op.risk_components["new_last_day"] == 6
        kinds = sorted(w.kind for w in s.scalars(select(OperatorWarning)))
        assert kinds == ["high_risk", "spike"]
    corpus.link(ids[:1], risk=risk, now=now + timedelta(hours=1))  # same Beijing day, still high: nothing new
    with session_scope(corpus.url) as s:
        assert s.scalar(select(func.count()).select_from(OperatorWarning)) == 2
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "operator.warning")) == 2
