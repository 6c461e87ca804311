"""Seed lexicon sanity and term suggestions."""

from __future__ import annotations

from keywords import Lexicon, categories
from keywords.suggest import suggest_terms


def test_seed_has_300_plus_terms_across_all_categories():
    lex = Lexicon.bundled()
    assert len(lex) >= 300
    counts = lex.counts()
    for name, cat in categories.CATEGORIES.items():
        # rates come from the built-in parser (keywords/rates.py), unlicensed / ad_law from the sender rules
        if not cat.hidden and name not in ("rate", "unlicensed", "ad_law"):
            assert counts.get(name, 0) >= 1, name
    assert sum(counts.get(c, 0) for c in categories.COUNTER_CATEGORIES) >= 50
    assert all(t.provenance for t in lex), "every seed term says where it came from"


def test_categories_have_chinese_labels():
    assert categories.label("return_promise") == "收益承诺"
    assert categories.is_counter("warning_news") and not categories.is_counter("property")


def test_suggest_finds_planted_term_and_skips_known():
    confirmed = [f"金鹅宝计划第{i}期开始，每天返现，稳赚不赔" for i in range(8)]
    dismissed = [f"今天第{i}期新闻：天气晴，股市平稳" for i in range(12)]
    out = suggest_terms(confirmed, dismissed, Lexicon.bundled(), top_k=10)
    terms = [d["term"] for d in out]
    assert any("金鹅宝" in t for t in terms[:3]), terms
    assert "稳赚不赔" not in terms  # already in the lexicon
    assert all(d["confirmed"] >= 2 and d["score"] > 0 for d in out)


def test_suggest_folds_evasion_variants():
    confirmed = ["金鹅宝計劃，躺赚", "金☆鹅宝计划，躺赚", "金鹅宝计划 躺赚"]
    out = suggest_terms(confirmed, ["普通新闻"] * 5, None, top_k=5)
    assert max(d["confirmed"] for d in out if "金鹅宝" in d["term"]) == 3


def test_ceiling_operating_point_flags_at_most_the_allowed_share_of_hard_negatives():
    from tools.keywords_eval.ceiling import recall_at

    rows = [{"subtype": "fundraising"}] * 4 + [{"subtype": "warning_news"}] * 10 + [{"subtype": "normal"}] * 3
    # hard negatives score 0.0 … 0.9; 10 % of 10 allows exactly one of them (0.9) to be flagged
    scores = [0.95, 0.85, 0.5, 0.1] + [i / 10 for i in range(10)] + [0.99, 0.99, 0.99]
    recall, flagged = recall_at(scores, rows, 0.10)
    assert flagged == 0.1 and recall == 0.5  # 0.95 and 0.85 clear the 0.8 threshold; normal rows do not count
    recall, flagged = recall_at(scores, rows, 0.0)
    assert flagged == 0.0 and recall == 0.25
