"""Who sells decides (labeling.md): licensed + no guarantee, licensed + guarantee, unlicensed + offer, impostors."""

from __future__ import annotations

import pytest

from keywords import Lexicon, Matcher
from keywords.normalize import normalize
from keywords.senders import (
    IMPOSTOR,
    LICENSED_GUARANTEE,
    LICENSED_NO_GUARANTEE,
    UNLICENSED_OFFER,
    InstitutionList,
    analyse,
)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(Lexicon.bundled())


def _rule(text: str) -> str | None:
    return analyse(normalize(text).text, rate_present="%" in text).rule


def _sender_hit(matcher: Matcher, text: str) -> dict | None:
    hits = [h for h in matcher.match(text).hits if h.rule == "sender"]
    return hits[0].to_dict() if hits else None


DISCLOSURE = "【招商银行】尊敬的客户，我行发行个人理财产品，业绩比较基准3.8%，理财非存款，产品有风险，投资须谨慎。退订回T"
GUARANTEE = "【工行】我行推出保本保收益理财产品，一年期保证收益4.5%，五万起购，欲购从速。"
UNLICENSED = "【鑫盛财富】保本保息，年化收益18%，一万起投，稳赚不赔，详询王经理。"


def test_licensed_sender_without_guarantee_is_finance_legit_counter_evidence(matcher):
    assert _rule(DISCLOSURE) == LICENSED_NO_GUARANTEE
    hit = _sender_hit(matcher, DISCLOSURE)
    assert hit["counter"] and hit["category"] == "licensed"
    assert hit["value"]["institution"] == "招商银行" and hit["value"]["rubric_label"] == "finance_legit"
    assert "国家金融监督管理总局" in hit["value"]["registry"]
    assert DISCLOSURE[hit["start"] : hit["end"]] == "招商银行"
    assert matcher.match(DISCLOSURE).score < 0.2


def test_licensed_sender_that_guarantees_is_ad_law_not_fundraising(matcher):
    assert _rule(GUARANTEE) == LICENSED_GUARANTEE
    hit = _sender_hit(matcher, GUARANTEE)
    assert hit["counter"] and hit["category"] == "ad_law" and hit["value"]["rubric_label"] == "ad_law"
    assert hit["value"]["institution"] == "中国工商银行"  # short name 工行 resolved to the registry's name
    assert set(hit["value"]["guarantees"]) >= {"保本保收益", "保证收益"}
    # the guarantee words still match, but the sender's rule keeps it well below an unlicensed pitch
    assert matcher.match(GUARANTEE).score < matcher.match(UNLICENSED).score - 0.3


def test_unlicensed_wealth_firm_offering_a_yield_is_fundraising_evidence(matcher):
    assert _rule(UNLICENSED) == UNLICENSED_OFFER
    hit = _sender_hit(matcher, UNLICENSED)
    assert not hit["counter"] and hit["category"] == "unlicensed"
    assert hit["value"]["rubric_label"] == "fundraising" and hit["value"]["sender"] == "鑫盛财富"
    assert matcher.match(UNLICENSED).score >= 0.9
    # the same firm with nothing offered is only a name
    assert _rule("【鑫盛财富】祝您新年快乐，万事如意。") is None


def test_a_credit_offer_that_also_sells_investments_is_still_an_offer():
    text = "众赢投资公司：车辆抵押贷款，短期资金拆借；另有投资理财，年收益18%！联系电话"
    assert _rule(text) == UNLICENSED_OFFER


def test_impostor_borrowing_a_bank_name_with_a_private_channel(matcher):
    text = "【工商银行理财中心】内部高收益产品，年化12%，名额有限，加微信gh12345了解。"
    assert _rule(text) == IMPOSTOR
    r = matcher.match(text)
    assert not any(h.category == "licensed" for h in r.hits)  # the borrowed name gives no counter-evidence
    assert any(h.rule == "sender" and h.category == "legitimacy" for h in r.hits) and r.score >= 0.9


@pytest.mark.parametrize(
    ("text", "landmark"),
    [
        ("众赢投资助您本金保值增值，年化收益12%。地址:庆春路xx号近大学路北口兴业银行大厦x楼 电话xxxxxxxxxxx", "兴业银行"),
        ("鑫盛理财，保本保息年化15%，本店位于工商银行旁，欢迎咨询。", "银行"),
        ("高息理财年化18%，店址：人民路建设银行对面二楼。", "银行"),
    ],
)
def test_a_bank_named_as_a_landmark_is_no_counter_evidence(matcher, text, landmark):
    """地址…兴业银行大厦 says where the seller is, not who sells: the name must not discount the pitch."""
    r = matcher.match(text)
    assert landmark in text
    assert not any(h.category == "licensed" for h in r.hits)
    assert r.score >= 0.9


def test_a_bank_giving_its_own_branch_address_keeps_its_counter_evidence(matcher):
    text = "本行理财产品业绩比较基准4%，理财非存款，产品有风险。地址：人民路建设银行营业部"
    r = matcher.match(text)
    licensed = [text[h.start : h.end] for h in r.hits if h.category == "licensed"]
    assert "银行" in licensed and "本行" in licensed  # the branch itself is the sender, not a landmark


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("兴业银行产品快讯：银保产品正在我行火热销售中，保本保收益！", LICENSED_GUARANTEE),
        ("本产品为非保本浮动收益型理财产品，不保证本金和收益。【建设银行】", LICENSED_NO_GUARANTEE),
        ("【邮储银行】大额存单，保本保息，三年期利率3.1%，存款保险保障。", LICENSED_NO_GUARANTEE),  # a deposit
        ("您好，我是宝釜投资的小潘，我们公司专做年化收益为18%的保本保收益的理财产品", UNLICENSED_OFFER),
        ("最新理财：某某基金，100万起，预期收益12%以上。宜信财富罗慧颖祝大家元宵节快乐！", UNLICENSED_OFFER),
        ("一季度理财双倍积分，存定期x倍积分，欢迎来电咨询回复TD拒收【湖北银行沌口支行】", LICENSED_NO_GUARANTEE),
        ("感谢您致电江山建信村镇银行，我行实行汇款免手续费、存款高利息", LICENSED_NO_GUARANTEE),
        ("利息比银行高，年化15%，保本保息", None),  # a bank in running text is no sender
        ("支持使用银行卡进行移动便民支付", None),
        ("平安夜快乐，全场八折", None),  # ambiguous short name outside 【】
        # the sender after a greeting, and an investment product with a gift instead of a rate
        ("您好！财商财富推出女人节开单礼：活动期间凡是购买五万及以上理财产品，即赠香水一瓶", UNLICENSED_OFFER),
        ("【信和财富开门红活动方案】尊敬的客户您好！凡投资一年期产品满五万送500元购物卡", UNLICENSED_OFFER),
        # a credit broker's interest rate is a price, not a yield (loan_ad)
        ("融信财富汽车抵押，当天即可放款，不看征信，等本等息1.2%，质询热线", None),
        ("您好，我是国诚金融的余经理，根据您的条件用最低的利息解决您的用款需求，月息0.8%", None),
        # a regulator is no firm
        ("【柘城县金融办】提醒：未取得金融牌照，不得向社会公众发行理财产品。", None),
    ],
)
def test_sender_positions_and_guarantee_wording(text, rule):
    assert _rule(text) == rule


def test_registry_list_has_provenance_and_short_names():
    lst = InstitutionList.bundled()
    assert len(lst) > 300
    for short, canon in [("工行", "中国工商银行"), ("招行", "招商银行"), ("国寿", "中国人寿"), ("中信证券", "中信证券")]:
        assert lst.by_key[short].name == canon
    assert lst.by_key["华夏基金"].kind == "fund" and "基金业协会" in lst.by_key["华夏基金"].registry
    assert lst.by_key["中信证券"].kind == "securities" and "证券业协会" in lst.by_key["中信证券"].registry
    assert lst.by_key["中国人寿"].kind == "insurer" and lst.by_key["平安银行"].kind == "bank"
    assert "包商银行" not in lst.by_key  # licence revoked: not a licensed sender


def test_sender_after_a_greeting_is_marked_on_its_own_characters(matcher):
    text = "您好！財商財富推出女人節開單禮：凡是購買五萬及以上理財產品，即贈香水一瓶"  # traditional, full-width mark
    hit = _sender_hit(matcher, text)
    assert hit["value"]["rule"] == UNLICENSED_OFFER and hit["value"]["position"] == "opening"
    assert text[hit["start"] : hit["end"]] == "財商財富"  # the original characters, not the folded ones
