"""Chinese labels of statuses, levels, actions, dismissal reasons and detector rules (pages, evidence sheet,
exports): inspectors read Chinese, never codes."""

from __future__ import annotations

from store import queue

STATUS_LABELS = queue.STATUS_LABELS
LEVEL_LABELS = {"high": "高", "medium": "中", "low": "低"}
ACTION_LABELS = {"confirm": "确认涉嫌非法集资", "dismiss": "排除", "escalate": "上报", "refer": "移送"}
DISMISS_REASONS = {
    "ad_law": "违反广告法但非集资",
    "finance_legit": "持牌金融机构合规广告",
    "loan_ad": "贷款/信贷广告",
    "warning_news": "新闻/风险提示",
    "other_ad": "其他商业广告",
    "normal": "非广告",
}
assert set(DISMISS_REASONS) == set(queue.DISMISS_REASONS)
# the rubric's labels (seed rows cited as precedents): the dismissal reasons plus the positive class
SUBTYPE_LABELS = {"fundraising": "涉嫌非法集资宣传", **DISMISS_REASONS}
QA_LABELS = {"pending": "待抽查复核", "agreed": "抽查复核：同意排除", "disagreed": "抽查复核：不同意，已重新打开"}
# how a hit was found (the ``rule`` of a hit): the matching method, in words
RULE_LABELS = {
    "pinyin": "拼音变体",
    "homophone": "谐音变体",
    "rate": "收益率表述",
    "min_amount": "起投金额",
    "term_buyback": "期限回购",
    "multiple": "翻倍承诺",
    "exact": "原词",
    "literal": "原词",
    "normalized": "变形写法",
    "pattern": "正则规则",
}


def rule_label(rule: str | None) -> str:
    """``lex:保本`` → 词库词条; ``combo:…`` → 组合规则; a method name → its Chinese name; unknown → 其他规则."""
    if not rule:
        return ""
    if rule.startswith("combo:"):
        return "组合规则"
    if rule.startswith("lex:"):
        return "词库词条"
    if rule.startswith(("clf", "classifier")):
        return "模型判定"
    return RULE_LABELS.get(rule, "其他规则")
