"""The word-boundary rule never drops a real hit; short-ad scheme phrasings (issue 11) are covered."""

from __future__ import annotations

import pytest

from keywords import Lexicon, Matcher


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(Lexicon.bundled())


def _terms(m: Matcher, text: str) -> set[str]:
    return {h.term for h in m.match(text).hits if not h.counter}


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("商铺返租金每年8%，签约即付", "返租"),  # jieba cuts 返|租金: the hit stays
        ("铺子包租期间租金每季度到账", "包租"),
        ("第四季度包租金已于今日打到业主卡上", "包租"),
        ("年底可退本金，签合同", "退本"),
        ("满两期后每季度返本金加利息", "返本"),
        ("轻松创业，稳赚钱", "稳赚"),
    ],
)
def test_head_only_boundary_keeps_real_hits_inside_longer_words(matcher, text, term):
    assert term in _terms(matcher, text)


@pytest.mark.parametrize(
    ("text", "term"),
    [("往返租车服务，随叫随到", "返租"), ("为确保本金安全，请核实", "保本")],
)
def test_a_word_glued_onto_the_start_still_drops_the_hit(matcher, text, term):
    assert term not in _terms(matcher, text)


def test_head_boundary_is_a_lexicon_setting_that_round_trips(tmp_path):
    from keywords import LexiconStore

    lex = Lexicon.bundled()
    assert lex.get("返租").boundary == "head" and lex.get("保本").boundary is True
    store = LexiconStore(tmp_path / "lex")
    store.export_csv(tmp_path / "l.csv")
    store.import_csv(tmp_path / "l.csv", actor="t", replace=True)
    assert store.load().get("返租").boundary == "head"


@pytest.mark.parametrize(
    "text",
    [
        "【金鼎商业街】开盘当天签约，铺位返租7年，每年按房款8.5%付租",
        "公寓即买即租，签约次月起租金按月到账，年化6%",
        "前期年收租金8%，买入即可收租金，现房精装交付",
        "购铺即签十年包租合同，租金抵房款，十年后原价回购",
        "带租约销售，开发商包租，年回报10%",
        "xx贷国资系平台，银行资金存管，安全运营2190天，零逾期零坏账，出借年化10.5%",
        "公司承诺三年后按原价120%回购，签合同",
        "存入10万元，每年返还养老补贴1.2万元，五年后本金全额退还",
    ],
)
def test_short_ad_scheme_phrasings_are_flagged(matcher, text):
    assert matcher.match(text).flagged, matcher.match(text).explanation


def test_p2p_safety_selling_needs_a_platform_investment_context(matcher):
    pitch = "本平台银行存管，国资背景，零逾期，安全运营5年，出借人年化收益9%"
    assert "平台安全+出借" in _terms(matcher, pitch)
    news = "某银行存管系统升级，国资背景企业增资扩股"  # no lending, no rate: the combo stays silent
    assert "平台安全+出借" not in _terms(matcher, news) and not matcher.match(news).flagged
    exposed = "警惕！某平台号称银行存管、零逾期，出借人年化12%，现已爆雷跑路"
    assert "平台安全+出借" not in _terms(matcher, exposed)


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("【商铺】45㎡，可自营可出租，开发商不提供包租或回报承诺。", {"包租", "回报"}),  # one negation, two items
        ("储值金额仅用于消费，不返现、不分红。", {"分红"}),
        ("信托产品不承诺保本，投资须谨慎。", {"承诺保本"}),
        ("金店足金首饰按克计价，不做回购承诺。", {"回购"}),
        ("本商品为实物黄金，不提供收益承诺。", {"收益"}),
    ],
)
def test_a_phrase_the_text_says_is_not_offered_is_no_hit(matcher, text, gone):
    # the same text with the negation left out is a hit: the rule, not the lexicon, removes them
    plain = Matcher(Lexicon.bundled(), negation=False)
    assert gone <= _terms(plain, text)
    assert not gone & _terms(matcher, text)
    assert not matcher.match(text).flagged and matcher.match(text).score < plain.match(text).score


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("无门槛高收益，名额有限", "高收益"),  # 无 governs 门槛, not the pitch
        ("不仅保本，还有年化12%", "保本"),
        ("不要错过高收益的机会", "高收益"),
        ("它不是资金盘，每天稳定分红", "分红"),  # denying the scheme is part of the pitch
        ("送币不锁仓，上线直接提现", "锁仓"),  # no lock-up is itself the selling point
    ],
)
def test_negation_is_only_the_word_right_before_the_phrase(matcher, text, term):
    assert term in _terms(matcher, text)
