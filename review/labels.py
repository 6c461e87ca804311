"""Chinese labels of statuses, levels, actions and dismissal reasons (pages, evidence sheet and exports)."""

from __future__ import annotations

from store import queue

STATUS_LABELS = {
    "open": "待处理",
    "claimed": "处理中",
    "confirmed": "已确认",
    "dismissed": "已排除",
    "referred": "已移送",
    "escalated": "已上报",
    "withdrawn": "已撤回",
}
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
