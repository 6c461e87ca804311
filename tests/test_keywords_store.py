"""Live lexicon store: versioned add/remove/reweight with who/when/why, CSV round trip, cross-process pickup."""

from __future__ import annotations

import csv
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from keywords import Lexicon, LexiconError, LexiconStore, LiveMatcher, TermNotFound

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(tmp_path) -> LexiconStore:
    return LexiconStore(tmp_path / "lex")


def test_seeded_from_bundled_lexicon(store):
    lex = store.load()
    assert lex.version == store.current_version() == "v1"
    assert len(lex) == len(Lexicon.bundled())
    assert store.history()[0]["action"] == "seed"


def test_add_remove_reweight_bump_version_and_log(store):
    v2 = store.add_term(
        "躺赚计划", "return_promise", 0.6, note="seen in reports", actor="alice", reason="new pitch"
    )
    assert v2 == "v2" == store.current_version()
    assert store.load().get("躺赚计划").weight == 0.6
    v3 = store.reweight("躺赚计划", 0.3, actor="bob", reason="too many FPs")
    v4 = store.remove_term("躺赚计划", actor="carol", reason="merged")
    assert (v3, v4) == ("v3", "v4")
    assert store.load().get("躺赚计划") is None
    log = store.history()
    assert [e["action"] for e in log] == ["seed", "add", "reweight", "remove"]
    assert [e["actor"] for e in log[1:]] == ["alice", "bob", "carol"]
    assert log[2]["old_weight"] == 0.6 and log[2]["new_weight"] == 0.3
    assert all(e["at"] and e["version"] for e in log)
    assert log[1]["reason"] == "new pitch"


def test_bad_changes_rejected_and_version_unchanged(store):
    with pytest.raises(LexiconError):
        store.add_term("x", "no_such_category", 0.5, actor="alice")
    with pytest.raises(LexiconError):
        store.add_term("保本", "return_promise", 1.5, actor="alice")
    with pytest.raises(TermNotFound):
        store.remove_term("不存在的词", actor="alice")
    with pytest.raises(LexiconError):
        store.add_term("保本", "return_promise", 0.5, actor="")
    assert store.current_version() == "v1"


def test_remove_by_variant_spelling(store):
    store.remove_term("穩賺不賠", actor="alice", reason="traditional spelling finds the simplified entry")
    assert store.load().get("稳赚不赔") is None


def test_csv_round_trip(store, tmp_path):
    out = tmp_path / "lex.csv"
    n = store.export_csv(out)
    assert n == len(store.load())
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {"term", "category", "weight", "kind", "note", "provenance", "pattern", "boundary"} <= set(rows[0])
    other = LexiconStore(tmp_path / "other", seed=Lexicon.from_terms([], version="empty"))
    assert len(other.load()) == 0
    other.import_csv(out, actor="alice", reason="copy", replace=True)
    a, b = store.load(), other.load()
    assert {t.term: t.to_dict() for t in a} == {t.term: t.to_dict() for t in b}
    assert other.history()[-1]["count"] == n


def test_csv_import_reports_bad_line(store, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("term,category,weight\n保本保息,return_promise,0.7\n坏词,nope,0.5\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="line 3"):
        store.import_csv(bad, actor="alice")
    assert store.current_version() == "v1"


def test_live_matcher_sees_change_made_by_another_process(store):
    live = LiveMatcher(store, check_interval=0.0)
    assert live.match("这是新黑话金蛋蛋计划").score == 0.0
    code = textwrap.dedent(
        f"""
        import sys; sys.path.insert(0, {str(REPO)!r})
        from keywords import LexiconStore
        s = LexiconStore({str(store.dir)!r})
        print(s.add_term("金蛋蛋计划", "fund_scheme", 0.8, actor="inspector-7", reason="new scheme name"))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "v2"
    r = live.match("这是新黑话金蛋蛋计划")
    assert r.lexicon_version == "v2" and r.score >= 0.8
    assert store.history()[-1]["actor"] == "inspector-7"


def test_live_matcher_checks_at_most_every_interval(store):
    live = LiveMatcher(store, check_interval=3600)
    store.add_term("金蛋蛋计划", "fund_scheme", 0.8, actor="alice")
    assert live.match("金蛋蛋计划").lexicon_version == "v1"  # not yet checked
    assert live.refresh(force=True) and live.version == "v2"


def test_live_matcher_keeps_old_lexicon_when_new_one_is_broken(store, tmp_path):
    live = LiveMatcher(store, check_interval=0.0)
    store.add_term("坏正则", "lure", 0.2, kind="pattern", pattern="(unclosed", actor="alice")
    assert live.match("保本保息").lexicon_version == "v1"


def test_concurrent_writers_do_not_lose_changes(store):
    code = textwrap.dedent(
        f"""
        import sys; sys.path.insert(0, {str(REPO)!r})
        from keywords import LexiconStore
        s = LexiconStore({str(store.dir)!r})
        for i in range(5):
            s.add_term(f"并发词{{sys.argv[1]}}{{i}}", "lure", 0.1, actor="w" + sys.argv[1])
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(k)]) for k in range(3)]
    deadline = time.time() + 120
    for p in procs:
        assert p.wait(timeout=max(1, deadline - time.time())) == 0
    lex = store.load()
    assert sum(1 for t in lex if t.term.startswith("并发词")) == 15
    assert store.current_version() == "v16"


# --- the allow-list: part of the lexicon, versioned like terms ---------------------------------------------------

ALLOWED = "保本保息理财风险提示"  # made-up harmless phrase around the blocked term 保本保息


def test_allow_add_remove_bump_version_and_log(store, tmp_path):
    assert store.load().allow == {}
    assert "allow:" not in store.lex_path.read_text(encoding="utf-8")  # nothing written while there is none
    v2 = store.add_allow(ALLOWED, actor="alice", reason="bank disclosure wording", note="银行的风险提示")
    assert v2 == "v2" == store.current_version()
    entry = store.load().allow[ALLOWED]
    assert (entry.note, entry.provenance) == ("银行的风险提示", "added by alice")
    assert "allow:" in store.lex_path.read_text(encoding="utf-8")
    assert store.add_allow("  保本   基金说明 ", actor="bob") == "v3"  # whitespace collapsed as written
    assert "保本 基金说明" in store.load().allow
    # removed by another spelling of the same phrase (traditional, full-width spaces)
    assert store.remove_allow("保本保息理財風險提示", actor="carol", reason="no longer needed") == "v4"
    assert list(store.load().allow) == ["保本 基金说明"]
    log = store.history()
    assert [e["action"] for e in log] == ["seed", "allow_add", "allow_add", "allow_remove"]
    assert log[1]["allow"] == {"phrase": ALLOWED, "note": "银行的风险提示", "provenance": "added by alice"}
    assert log[1]["actor"] == "alice" and log[1]["reason"] == "bank disclosure wording"
    assert log[3]["allow"]["phrase"] == ALLOWED and log[3]["actor"] == "carol"
    # the flat YAML reads back with its allow-list, and a store seeded from a lexicon keeps it
    copy = LexiconStore(tmp_path / "copy", seed=store.load())
    assert list(copy.load().allow) == ["保本 基金说明"] and copy.current_version() == "v1"


@pytest.mark.parametrize(
    ("phrase", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("保" * 61, "longer than 60"),
        ("保本\x07保息理财", "control characters"),
        ("保本\ud800保息理财", "control characters"),
        ("保\u200b\u200d", "fewer than 2 characters"),
        ("保本保息", "is the lexicon term"),  # would silence the term everywhere
        ("穩賺不賠", "is the lexicon term"),  # … in any spelling
    ],
    ids=["empty", "blank", "long", "bell", "surrogate", "one-char", "term", "term-traditional"],
)
def test_allow_add_rejects_bad_phrases(store, phrase, message):
    with pytest.raises(LexiconError, match=message):
        store.add_allow(phrase, actor="alice")
    assert store.current_version() == "v1" and store.load().allow == {}


def test_allow_duplicates_after_normalisation_and_missing_phrases(store):
    from keywords import AllowNotFound

    store.add_allow(ALLOWED, actor="alice")
    for same in (ALLOWED, "保本保息理財風險提示", "保 本 保 息 理 财 风 险 提 示", "保☆本保息理财风险提示"):
        with pytest.raises(LexiconError, match="already listed"):
            store.add_allow(same, actor="bob")
    with pytest.raises(AllowNotFound):
        store.remove_allow("没有这个短语", actor="bob")
    with pytest.raises(LexiconError, match="actor"):
        store.add_allow("另一个放行短语", actor="")
    with pytest.raises(LexiconError, match="note"):
        store.add_allow("另一个放行短语", actor="bob", note="x\x00")
    assert store.current_version() == "v2"


def test_live_matcher_follows_allow_list_changes(store):
    live = LiveMatcher(store, check_interval=0.0)
    text = f"本行{ALLOWED}：理财非存款"
    before = live.match(text)
    assert "保本保息" in {h.term for h in before.hits if not h.counter}
    store.add_allow(ALLOWED, actor="alice")
    after = live.match(text)
    assert after.lexicon_version == "v2" and "保本保息" not in {h.term for h in after.hits if not h.counter}
    assert after.score < before.score
    store.remove_allow(ALLOWED, actor="alice")
    again = live.match(text)
    assert again.lexicon_version == "v3" and again.score == before.score


def test_a_seeded_store_gains_later_bundled_terms_but_not_ones_an_analyst_removed(store):
    """The bundled file only seeds a new store; ``add_bundled`` brings later additions in as one version, leaves
    an analyst's reweighting alone and never brings back a term the analyst removed."""
    import dataclasses

    from keywords.lexicon import Term

    assert store.bundled_missing(Lexicon.bundled()) == []
    store.reweight("保本保息", 0.2, actor="analyst")
    store.remove_term("稳赚不赔", actor="analyst", reason="too many news hits here")
    newer = Lexicon.from_terms(
        [
            *(dataclasses.replace(t, weight=0.9) if t.term == "保本保息" else t for t in Lexicon.bundled()),
            Term("包租回购保收益", "property", 0.7, provenance="bundled later"),
        ],
        version="seed-2",
    )
    missing = store.bundled_missing(newer)
    assert [t.term for t in missing] == ["包租回购保收益"]  # not 稳赚不赔 (removed here), not 保本保息 (present)
    before = store.current_version()
    version, added = store.add_bundled(newer, actor="ops", reason="upgrade")
    assert version != before and [t.term for t in added] == ["包租回购保收益"]
    lex = store.load()
    assert lex.get("包租回购保收益").weight == 0.7 and lex.get("保本保息").weight == 0.2 and lex.get("稳赚不赔") is None
    entry = store.history()[-1]
    assert entry["action"] == "add_bundled" and entry["actor"] == "ops" and entry["terms"] == ["包租回购保收益"]
    assert store.add_bundled(newer, actor="ops") == (None, [])  # nothing left: no empty version
    assert store.current_version() == version
