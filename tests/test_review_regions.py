"""Pieces of the daily work that need no database: region parsing into 省/市/区县, the units file, routing by
area, search folding, queue cursors, stop words and history sentences."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from review.services import history, lexicon, listing
from store.models import AuditEvent
from store.search import normalize_query, phone_digits, search_text
from store.units import Area, Router, UnitsError, load_units_file, parse_region


@pytest.mark.parametrize(
    ("text", "area"),
    [
        ("睢阳", ("河南省", "商丘市", "睢阳区")),
        ("河南商丘睢阳区", ("河南省", "商丘市", "睢阳区")),
        ("商丘市 梁园区 平原路 18 号", ("河南省", "商丘市", "梁园区")),
        ("永城", ("河南省", "商丘市", "永城市")),
        ("睢县", ("河南省", "商丘市", "睢县")),
        ("城乡一体化示范区", ("河南省", "商丘市", "商丘市城乡一体化示范区")),
        ("商丘", ("河南省", "商丘市", None)),
        ("河南", ("河南省", None, None)),
        ("郑州金水", ("河南省", "郑州市", "金水区")),
        ("北京", ("北京市", "北京市", None)),
        ("广西南宁", ("广西壮族自治区", "南宁市", None)),
        ("ＳＨＡＮＧＱＩＵ 商丘", ("河南省", "商丘市", None)),  # full-width noise around a name
        ("不知道", (None, None, None)),
        ("", (None, None, None)),
    ],
)
def test_parse_region(text, area):
    assert parse_region(text) == Area(*area)


def test_areas_nest():
    assert parse_region("商丘市睢阳区").within(Area("河南省", "商丘市"))
    assert not parse_region("郑州").within(Area("河南省", "商丘市"))


def test_bundled_units_cover_the_seed_notice_and_route_with_a_fallback():
    specs = load_units_file()
    names = {s.name for s in specs}
    assert "商丘市市场监督管理局" in names and "商丘市睢阳区市场监督管理局" in names
    assert "商丘市梁园区市场监督管理局" in names and "商丘市城乡一体化示范区市场监督管理局" in names
    assert len(specs) == 11 and [s.code for s in specs if s.fallback] == ["sq-city"]
    pairs = [(a, s.code) for s in specs for a in s.areas]
    router = Router(sorted(pairs, key=lambda p: -["province", "city", "county"].index(p[0].level)), "sq-city")
    assert router.unit_for(parse_region("睢阳区")) == "sq-suiyang"
    assert router.unit_for(parse_region("商丘")) == "sq-city"  # the city, no county: the 市局
    assert router.unit_for(parse_region("郑州")) == "sq-city"  # outside every unit: the fallback
    assert router.unit_for(Area()) == "sq-city"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("units: []\n", "没有 units"),
        ("fallback: x\nunits:\n  - {code: a, name: A, areas: [河南省/商丘市]}\n", "fallback"),
        ("fallback: a\nunits:\n  - {code: a, name: A, areas: [河南省/火星市]}\n", "不在行政区划表中"),
        ("fallback: a\nunits:\n  - {code: a, name: A}\n  - {code: a, name: B}\n", "无效或重复"),
        ("fallback: a\nunits:\n  - {code: A B, name: A}\n", "无效或重复"),
        ("fallback: a\nunits:\n  - {code: a, name: A, parent: zz}\n", "上级"),
        ("units: [", "无法读取"),
    ],
)
def test_units_file_errors_say_what_is_wrong(tmp_path: Path, body: str, message: str):
    path = tmp_path / "units.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(UnitsError, match=message):
        load_units_file(path)


def test_search_folding_and_phone_digits():
    assert phone_digits("电话：139-8765 4321，微信 abc") == ["13987654321"]
    assert phone_digits("年化12%，3万起投") == []  # short numbers are not phones
    blob = search_text("标题", "正文 ＡＢＣ", "某公司", "(0370) 123-4567", "https://x.example/Item")
    assert "abc" in blob and "https://x.example/item" in blob and "03701234567" in blob
    assert normalize_query(" 138-1234 ") == "1381234"
    assert normalize_query("１３８") == "138"
    assert normalize_query("保本") == "保本" and normalize_query("   ") is None
    assert normalize_query("12") == "12"  # two digits: not a phone fragment, searched as typed


def test_queue_cursor_round_trip_and_garbage():
    when = datetime(2026, 12, 1, 3, 4, 5, 678901, tzinfo=UTC)
    cur = listing.encode_cursor((0.9312, when, 42))
    assert listing.decode_cursor(cur) == (0.9312, when, 42)
    for bad in (None, "", "!!!", "a" * 200, listing.encode_cursor((0.5, when, 0))[:-3] + "xyz"):
        assert listing.decode_cursor(bad) is None


def test_stop_words_and_noise():
    for word in ("年后", "一年", "三年", "朋友", "十万", "每月", "哈哈"):
        assert lexicon.is_noise(word), word
    for word in ("保本", "金鹅宝", "养老公寓"):
        assert not lexicon.is_noise(word), word


def test_coverage_after_normalisation():
    cov = lexicon.Coverage(["保本保息", "養老公寓"])  # traditional characters fold to simplified
    assert cov.covers("保本") and cov.covers("保本保息高") and cov.covers("养老公寓")
    assert not cov.covers("金鹅宝")


def test_history_sentences_are_chinese():
    e = AuditEvent(actor="wang", action="flag.dismiss", entity="flag", entity_id="3", after={"reason": "loan_ad", "note": "贷款中介"})
    assert history.sentence(e) == "wang 排除了此案（理由：贷款/信贷广告），备注：贷款中介"
    e = AuditEvent(actor="system", action="flag.raise", entity="flag", entity_id="3", after={"score": 0.9417, "level": "high"})
    assert history.sentence(e) == "系统将此案列入队列（评分 0.94，风险等级高）"
    e = AuditEvent(actor="cli", action="something.new", entity="flag", entity_id="3")
    assert history.sentence(e) == "命令行 操作（案件 #3）"
    e = AuditEvent(actor="li", action="user.units", entity="user", entity_id="2", after={"units": ["sq-suiyang"]})
    assert history.sentence(e, {"sq-suiyang": "睢阳区局"}) == "li 设置账号负责单位：睢阳区局"


def test_dashboard_json_block_keeps_order_and_cannot_close_the_script():
    from review.pages import json_block

    out = str(json_block({"<1天": 1, "1-3天": 2, "x": "</script><script>alert(1)</script>&"}))
    assert "</script>" not in out and "<" not in out and "&" not in out
    assert out.index("1天") < out.index("1-3天")  # not sorted
    import json

    assert json.loads(out)["x"] == "</script><script>alert(1)</script>&"
