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
