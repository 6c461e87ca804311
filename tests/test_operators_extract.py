"""Identifier extraction on real-style ad strings, including every obfuscated form the ads use to dodge filters."""

from __future__ import annotations

import json
import time

import pytest

from operators import extract
from tests.conftest import REPO_ROOT


def _found(text: str, field: str = "body") -> list[tuple[str, str, str]]:
    fields = {field: text}
    out = []
    for i in extract(fields):
        assert fields[i.field][i.start : i.end] == i.matched  # the exact characters, in the field's offsets
        out.append((i.kind, i.value, i.matched))
    return out


def _values(text: str, kind: str) -> list[str]:
    return [v for k, v, _ in _found(text) if k == kind]


@pytest.mark.parametrize(
    "text",
    [
        "电话13812345678",
        "电话：138 1234 5678 随时联系",
        "138-1234-5678（周经理）",
        "手机138.1234.5678",
        "全角１３８１２３４５６７８",
        "一三八一二三四五六七八",
        "幺三八 幺二三四 五六七八",
        "壹叁捌壹贰叁肆伍陆柒捌",
        "138一二三4五六七8（混写）",
        "1 3 8 1 2 3 4 5 6 7 8",
        "+86 138 1234 5678",
        "8613812345678",
        "1３8\u200b1234\u200b5678",
        "联系电话：壹三捌-壹贰叁肆-伍陆柒捌",
    ],
)
def test_obfuscated_mobile_numbers_are_one_canonical_phone(text: str) -> None:
    assert _values(text, "phone") == ["+8613812345678"]


def test_landlines_and_service_numbers() -> None:
    assert _values("座机0370-3286123，或(0370)3286123", "phone") == ["+863703286123"] * 2
    assert _values("全国热线400-600-1234 / 800 810 1234", "phone") == ["+864006001234", "+868008101234"]
    assert _values("客服：４００－６００－１２３４", "phone") == ["+864006001234"]


def test_two_numbers_in_one_run_are_two_phones() -> None:
    assert _values("138-1234-5678 139-1234-5678", "phone") == ["+8613812345678", "+8613912345678"]
    assert _values("13812345678/13912345678", "phone") == ["+8613812345678", "+8613912345678"]


@pytest.mark.parametrize(
    ("text", "masked"),
    [("138****1234", "138****1234"), ("138xxxx1234", "138****1234"), ("138XXXX1234", "138****1234"),
     ("１３８＊＊＊＊１２３４", "138****1234"), ("0370-3286***（周经理）", "03703286***")],
)  # fmt: skip
def test_masked_numbers_are_partial_identifiers(text: str, masked: str) -> None:
    found = _found(text)
    assert [(k, v) for k, v, _ in found] == [("phone_partial", masked)]


@pytest.mark.parametrize(
    "text",
    ["年化9.8% 5万起投 100000元", "价格20251008", "举报电话0370-12345", "两万元起投", "编号 xxxx1234567x",
     "2025-10-08 09:12", "身份证号 41140319900101123X", "12345678901234567890"],
)  # fmt: skip
def test_numbers_that_are_not_phones(text: str) -> None:
    assert _values(text, "phone") == [] and _values(text, "phone_partial") == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("微信 hxed2025（小刘）", "hxed2025"),
        ("微信号：Zj_Touzi88", "zj_touzi88"),
        ("薇信：zj_touzi88", "zj_touzi88"),
        ("威信 zj_touzi88", "zj_touzi88"),
        ("V信zj_touzi88", "zj_touzi88"),
        ("vx：zj_touzi88", "zj_touzi88"),
        ("加V：zj_touzi88", "zj_touzi88"),
        ("加v zj_touzi88 详聊", "zj_touzi88"),
        ("wx: zj-touzi88", "zj-touzi88"),
        ("V：zj_touzi88", "zj_touzi88"),
        ("薇❤：zj_touzi88", "zj_touzi88"),
        ("🛰 zj_touzi88", "zj_touzi88"),
        ("微信：ｚｊ＿ｔｏｕｚｉ８８", "zj_touzi88"),
        ("微信 z j _ t o u z i 8 8 备注来意", "zj_touzi88"),
        ("微信：zj_touzi八八", "zj_touzi88"),
        ("微信同号 138 1234 5678", "13812345678"),
        ("vx 一三八一二三四五六七八", "13812345678"),
    ],
)
def test_wechat_ids_behind_their_dodges(text: str, value: str) -> None:
    assert _values(text, "wechat") == [value]


@pytest.mark.parametrize(
    "text",
    ["微信支付即可", "VIP会员专享", "V型反转", "微信 abc", "微信 12345", "vx_abc", "TV 123456"],
)
def test_not_wechat_ids(text: str) -> None:
    assert _values(text, "wechat") == []


def test_qq_numbers_emails_and_domains() -> None:
    assert _values("QQ：278551022", "qq") == ["278551022"]
    assert _values("扣扣 12345678 企鹅号：9876543", "qq") == ["12345678", "9876543"]
    assert _values("QQ群 68****231", "qq") == []
    text = "邮箱 Boss@XinRui.com.cn 或 123456@qq.com"
    assert _values(text, "email") == ["boss@xinrui.com.cn", "123456@qq.com"]
    assert _values(text, "qq") == ["123456"]
    assert _values(text, "domain") == []  # a mail domain is the mail provider, not the operator's site
    text = "官网 https://www.Xinrui-CF.com.cn/app?id=1 备用 m.xinrui-cf.com.cn 或 xinrui.top，年化9.8"
    assert _values(text, "domain") == ["xinrui-cf.com.cn", "xinrui-cf.com.cn", "xinrui.top"]
    assert _values(text, "url") == ["www.xinrui-cf.com.cn/app?id=1"]
    assert _values("见 setup.py 和 index.html", "domain") == []
    assert _values("官网：ｗｗｗ．ｘｉｎｒｕｉ．ｃｏｍ", "domain") == ["xinrui.com"]


def test_company_names_one_canonical_form() -> None:
    assert _values("鑫瑞财富管理（商丘）有限公司推出季季盈", "company") == ["鑫瑞财富管理"]
    assert _values("本公司即鑫瑞財富管理有限公司", "company") == ["鑫瑞财富管理"]  # traditional, no branch
    assert _values("欢迎加入聚鑫源投资管理有限公司。", "company") == ["聚鑫源投资管理"]
    assert _values("兴农专业合作社服务点", "company") == ["兴农专业合作社"]
    assert _values("商丘华诚商贸有限公司", "company") == ["华诚商贸"]
    assert _values("某贷款服务公司 业务员", "company") == []
    assert _values("本公司专注供应链金融", "company") == []
    assert _values("聚鑫源投资", "brand") == ["聚鑫源"]
    assert _values("聚鑫源投资管理有限公司", "brand") == ["聚鑫源"]


def test_app_names() -> None:
    assert _values("下载《鑫瑞宝》APP 注册送888", "app") == ["鑫瑞宝"]
    assert _values("鑫瑞宝App 也行", "app") == ["鑫瑞宝"]
    assert _values("扫码下载APP，前1000名送话费", "app") == []
    assert _values("依据《广告法》第二十五条", "app") == []


def test_region_field_is_a_zero_weight_identifier() -> None:
    (ident,) = extract({"region": " 梁园区 "})
    assert (ident.kind, ident.value, ident.matched) == ("region", "梁园区", "梁园区")


def test_every_span_is_exact_on_the_seed_corpus_and_fast() -> None:
    rows = [json.loads(line) for line in (REPO_ROOT / "classifier/data/seed.jsonl").open(encoding="utf-8")]
    extract({"body": "warm up"})
    started = time.perf_counter()
    kinds = set()
    for r in rows:
        fields = {"title": r["text"][:30], "body": r["text"]}
        for i in extract(fields):
            assert fields[i.field][i.start : i.end] == i.matched
            kinds.add(i.kind)
    rate = len(rows) / (time.perf_counter() - started)
    assert {"phone", "wechat", "qq", "email", "domain", "company", "app"} <= kinds
    assert rate > 1500, f"{rate:.0f} documents/s"
