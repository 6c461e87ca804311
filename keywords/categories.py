"""Category names, their Chinese labels, and which of them are counter-evidence.

Positive categories follow domain.md §2 (A return promises … D scheme types, E disguise); counter-evidence categories
follow §3 (hard negatives): they do not score on their own, they discount nearby positive hits.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    name: str
    label: str  # Chinese label for the UI and explanations
    counter: bool = False  # True: lowers the score of nearby hits instead of raising it
    hidden: bool = False  # helper terms used only by combination rules


_ALL = [
    Category("return_promise", "收益承诺"),
    Category("rate", "利率回报"),
    Category("solicit", "募资用语"),
    Category("legitimacy", "借用背书"),
    Category("recruitment", "拉人头返利"),
    Category("property", "房产返租回购"),
    Category("equity", "原始股股权"),
    Category("pension", "养老投资"),
    Category("rebate", "消费返利"),
    Category("p2p", "网贷理财"),
    Category("crypto", "虚拟货币"),
    Category("coop", "合作社互助"),
    Category("agri", "种养殖林权"),
    Category("collectibles", "收藏品艺术品"),
    Category("spot_forex", "现货外汇贵金属"),
    Category("membership", "会员卡分红"),
    Category("fund_scheme", "资金盘"),
    Category("wealth", "理财投资"),
    Category("lure", "诱导手段"),
    Category("unlicensed", "非持牌机构理财"),
    Category("combo", "组合规则"),
    Category("risk_disclosure", "风险提示", counter=True),
    Category("warning_news", "警示新闻语境", counter=True),
    Category("loan_offer", "贷款广告", counter=True),
    Category("licensed", "持牌机构", counter=True),
    Category("ad_law", "持牌机构违规承诺（广告法）", counter=True),
    Category("helper", "组合辅助词", hidden=True),
]

CATEGORIES: dict[str, Category] = {c.name: c for c in _ALL}
COUNTER_CATEGORIES: frozenset[str] = frozenset(c.name for c in _ALL if c.counter)
LABELS: dict[str, str] = {c.name: c.label for c in _ALL}


def is_counter(category: str) -> bool:
    return category in COUNTER_CATEGORIES


def label(category: str) -> str:
    return LABELS.get(category, category)
