"""Keyword matcher: every normalisation/evasion family, span mapping, rates, combinations, counter-evidence."""

from __future__ import annotations

import pytest

from keywords import FLAG_THRESHOLD, AllowPhrase, Lexicon, Matcher, Term
from keywords.normalize import normalize
from keywords.rates import cn_to_number, extract


@pytest.fixture(scope="module")
def m() -> Matcher:
    return Matcher(Lexicon.bundled())


def terms(r) -> set[str]:
    return {h.term for h in r.hits if not h.counter}


def test_plain_hit_and_span(m):
    text = "本公司推出保本保息产品"
    r = m.match(text)
    hit = next(h for h in r.hits if h.term == "保本保息")
    assert text[hit.start : hit.end] == "保本保息"
    assert hit.rule == "literal" and hit.category == "return_promise"
    assert 0.0 < r.score <= 1.0


@pytest.mark.parametrize(
    ("text", "term", "original"),
    [
        ("ＢＡＯ本保息", "保本保息", "ＢＡＯ本保息"),  # full width + case + pinyin
        ("穩賺不賠的好項目", "稳赚不赔", "穩賺不賠"),  # traditional → simplified
        ("保☆本保息", "保本保息", "保☆本保息"),  # symbol inserted
        ("保 本 保 息", "保本保息", "保 本 保 息"),  # spaces
        ("保\u200b本\u200d保息", "保本保息", "保\u200b本\u200d保息"),  # zero-width characters
        ("零🈚风险投资", "无风险", "🈚风险"),  # enclosed ideograph emoji (🈚 = 無)
        ("稳稳稳赚不赔", "稳赚不赔", "稳稳稳赚不赔"),  # repeated characters
        ("稳zhuan不赔", "稳赚不赔", "稳zhuan不赔"),  # pinyin for one character
        ("bb保息理财", "保本保息", "bb保息"),  # initials for characters
        ("稳赚不陪", "稳赚不赔", "稳赚不陪"),  # homophone
        ("保夲保息", "保本保息", "保夲保息"),  # look-alike character
    ],
)
def test_evasion_families_map_back_to_original(m, text, term, original):
    r = m.match(text)
    hit = next((h for h in r.hits if h.term == term), None)
    assert hit is not None, (text, r.explanation)
    assert text[hit.start : hit.end] == original


def test_pinyin_variant_needs_latin_boundary(m):
    # "bao本" inside a longer Latin word is not the evasion form
    r = m.match("xyzbao本")
    assert "保本" not in terms(r)


def test_normalize_index_map_is_monotonic_and_in_range():
    text = "穩賺\x07不賠☆☆，保\ud800本 ！ＡＢＣ"
    n = normalize(text)
    assert n.idx is not None
    assert n.idx == sorted(n.idx) and all(0 <= i < len(text) for i in n.idx)
    assert "\x07" not in n.text and "\ud800" not in n.text
    assert n.text.startswith("稳赚不赔")


def test_word_boundary_check_discards_cross_word_hit(m):
    assert "保本" not in terms(m.match("确保本金安全到账"))
    assert "保本" in terms(m.match("这个产品保本，还有分红"))


@pytest.mark.parametrize(
    ("text", "period", "annual"),
    [
        ("年化收益12%", "year", 12.0),
        ("年化一十二个点", "year", 12.0),
        ("月息三分", "month", 36.0),
        ("月息3-5%", "month", 60.0),
        ("日结1%", "day", 365.0),
        ("年化百分之二十", "year", 20.0),
        ("二十个点收益", "unknown", 20.0),
        ("年化１５％", "year", 15.0),
    ],
)
def test_rate_values(text, period, annual):
    x = next(e for e in extract(normalize(text).text) if e.kind == "rate")
    assert x.value["period"] == period
    assert x.value["annual_pct"] == pytest.approx(annual)


def test_masked_rates_keep_magnitude():
    high = next(e for e in extract("年化收益xx%") if e.kind == "rate")
    low = next(e for e in extract("年化收益x.x%") if e.kind == "rate")
    assert high.value["masked"] and high.value["annual_pct"] >= 10
    assert high.weight > low.weight


def test_higher_rate_weighs_more(m):
    low = m.match("存款年化3%").score
    high = m.match("年化收益18%").score
    assert high > low


def test_amount_and_buyback_patterns():
    kinds = {e.kind: e for e in extract("5万起投，5年回购")}
    assert kinds["min_amount"].value["amount_yuan"] == 50000
    assert kinds["term_buyback"].value["years"] == 5


def test_cn_numbers():
    assert cn_to_number("一十二") == 12
    assert cn_to_number("二十") == 20
    assert cn_to_number("三点五") == 3.5
    assert cn_to_number("xx") is None


def test_combination_and_not_rules():
    lex = Lexicon.from_terms(
        [
            Term("保本", "return_promise", 0.3, boundary=False),
            Term("收益", "helper", 0.0),
            Term("理财非存款", "risk_disclosure", 0.7),
            Term(
                "保本+收益", "combo", 0.5, kind="combo", pattern="all=保本;收益 window=6 not=@risk_disclosure"
            ),
        ]
    )
    m = Matcher(lex, homophones=False)
    near = m.match("保本，收益高")
    assert any(h.rule == "combo:保本+收益" for h in near.hits)
    far = m.match("保本" + "。" * 20 + "收益")
    assert not any(h.rule.startswith("combo:") for h in far.hits)
    blocked = m.match("保本，收益高。理财非存款")
    assert not any(h.rule.startswith("combo:") for h in blocked.hits)
    assert near.score > far.score


def test_counter_evidence_discounts_nearby_hits(m):
    pitch = m.match("保本保息，年化15%，欢迎咨询")
    warning = m.match("警惕保本保息、年化15%的骗局")
    bank = m.match("我行理财产品预期年化收益率4.2%，理财非存款，产品有风险，投资须谨慎")
    assert pitch.score >= FLAG_THRESHOLD
    assert warning.score < FLAG_THRESHOLD
    assert bank.score < FLAG_THRESHOLD
    assert any(h.counter and h.category == "warning_news" for h in warning.hits)
    assert "折减" in warning.explanation


def test_explanation_is_one_chinese_line(m):
    r = m.match("保本保息，年化15%，x万起投")
    assert "\n" not in r.explanation and "保本保息" in r.explanation and "得分" in r.explanation
    d = r.hits[0].to_dict()
    assert {"term", "category", "weight", "start", "end", "normalized", "rule"} <= set(d)
    assert r.lexicon_version == "seed-1"


def test_explanation_names_a_repeated_term_once_and_counts_distinct_terms(m):
    """A pitch repeats its words (title and body): the hits keep every occurrence, the one-line summary each term once."""
    r = m.match("保本保息 年化12% 季度付息\n实体项目，保本保息，年化12%，季度付息，5万起投，签正式合同。")
    assert sum(h.term == "保本保息" for h in r.hits) == 2
    named = r.explanation.split("：命中")[1].split("；")[0]
    assert named.count("保本保息〔") == 1 and named.count("年化12%〔") == 1, named
    distinct = {(h.term, h.category) for h in r.hits if not h.counter}
    if len(distinct) > 5:
        assert named.endswith(f"等{len(distinct)}项"), named


def test_nested_terms_counted_once(m):
    r = m.match("保本保息")
    assert [h.term for h in r.hits if not h.counter] == ["保本保息"]


# --- allow-list: a longer phrase wins over a blocked term inside it ----------------------------------------------

ALLOWED = "保本保息理财风险提示"  # made-up harmless phrase around the blocked term 保本保息


def allow_matchers(*phrases: str) -> tuple[Matcher, Matcher]:
    """(matcher with ``phrases`` allowed, the same lexicon without an allow-list)."""
    terms = [
        Term("保本保息", "return_promise", 0.8),
        Term("风险提示", "risk_disclosure", 0.5),
        Term("收益", "helper", 0.0),
        Term("保本+收益", "combo", 0.5, kind="combo", pattern="all=保本保息;收益 window=15"),
    ]
    with_allow = Lexicon.from_terms(terms, version="a1", allow=[AllowPhrase(p) for p in phrases])
    return Matcher(with_allow, homophones=False), Matcher(Lexicon.from_terms(terms, version="a0"), homophones=False)


def positives(r) -> list[tuple[str, int]]:
    return [(h.term, h.start) for h in r.hits if not h.counter]


def test_allow_phrase_drops_the_term_inside_it_and_keeps_it_elsewhere():
    allowed, plain = allow_matchers(ALLOWED)
    text = f"{ALLOWED}：另有保本保息产品"
    r = allowed.match(text)
    assert positives(r) == [("保本保息", text.rindex("保本保息"))]
    assert positives(plain.match(text)) == [("保本保息", 0), ("保本保息", text.rindex("保本保息"))]
    # counter-evidence inside the phrase is unaffected
    assert [(h.term, h.start) for h in r.hits if h.counter] == [("风险提示", text.index("风险提示"))]
    only = allowed.match(ALLOWED)
    assert positives(only) == [] and only.score == 0.0 and plain.match(ALLOWED).score > 0


def test_allow_phrase_partial_overlap_keeps_the_hit():
    allowed, _ = allow_matchers("保息理财风险提示")  # covers only the tail of 保本保息
    assert positives(allowed.match(ALLOWED)) == [("保本保息", 0)]


def test_allowed_hit_feeds_no_combination_rule():
    allowed, plain = allow_matchers(ALLOWED)
    inside = f"{ALLOWED}，收益"
    assert any(h.rule.startswith("combo:") for h in plain.match(inside).hits)
    assert not any(h.rule.startswith("combo:") for h in allowed.match(inside).hits)
    assert any(h.rule.startswith("combo:") for h in allowed.match("保本保息，收益").hits)


@pytest.mark.parametrize(
    "text",
    [
        "保本保息理財風險提示",  # traditional
        "保 本 保 息 理 财 风 险 提 示",  # spaced
        "保☆本保息理财★风险提示",  # symbols inserted
        "保\u200b本保息理财\u200d风险提示",  # zero-width characters
        "ＥＴＦ保本保息说明",  # full width + upper case, against the phrase written "ETF保本保息说明"
    ],
    ids=["traditional", "spaced", "symbols", "zero-width", "full-width"],
)
def test_allow_phrase_survives_the_same_evasions_as_terms(text):
    allowed, plain = allow_matchers(ALLOWED, "ETF保本保息说明")
    assert "保本保息" in {t for t, _ in positives(plain.match(text))}, "the blocked term is there"
    assert positives(allowed.match(text)) == []


def test_no_allow_list_costs_nothing(m):
    assert m._allow is None  # the bundled lexicon has none: no second automaton, no extra scan
