"""Audit events as sentences an inspector reads (the case history, the audit page): who did what, in Chinese.

The log itself keeps its codes and JSON (evidence for machines); these sentences are only how it is shown. An
action no sentence knows yet is still shown, by a generic sentence naming its Chinese label when there is one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from review.labels import DISMISS_REASONS, LEVEL_LABELS, STATUS_LABELS
from store.models import AuditEvent

ACTION_NAMES = {
    "flag.raise": "入队",
    "flag.rescore": "重新评分",
    "flag.claim": "领取",
    "flag.release": "释放",
    "flag.confirm": "确认",
    "flag.dismiss": "排除",
    "flag.escalate": "上报",
    "flag.refer": "移送",
    "flag.assign": "指派",
    "flag.reopen": "重新打开",
    "flag.comment": "评论",
    "flag.second_confirm": "双人复核",
    "flag.qa_sample": "抽查",
    "flag.qa_agree": "抽查同意",
    "flag.qa_disagree": "抽查不同意",
    "lexicon.propose": "提议词条",
    "lexicon.approve": "批准词条",
    "lexicon.reject": "驳回词条",
    "lexicon.rescore_requested": "请求重新评分",
    "lexicon.rescore_failed": "重新评分失败",
    "lexicon.allow": "加入放行短语",
    "lexicon.allow_remove": "移除放行短语",
    "lexicon.job_done": "批准任务完成",
    "lexicon.job_failed": "批准任务失败",
    "referral.export": "导出移送包",
    "user.create": "创建账号",
    "user.password": "修改密码",
    "user.deactivate": "停用账号",
    "user.login": "登录",
    "user.logout": "退出",
    "user.units": "设置负责单位",
    "document.version": "网页内容变更",
    "document.removed": "网页已删除",
    "document.restored": "网页恢复",
    "source.upsert": "保存来源",
    "source.enable": "启用来源",
    "source.disable": "停用来源",
    "source.remove": "删除来源",
    "identifier.stop": "停用标识",
    "operator.merge": "合并经营主体",
    "operator.split": "拆分经营主体",
    "operator.dissolve": "解散经营主体",
    "operator.rebuild": "重建经营主体",
    "operator.manual_merge": "人工合并经营主体",
    "operator.manual_split": "人工拆分经营主体",
    "operator.warning": "预警",
    "operator.warning_delivery": "推送预警",
}
ENTITY_NAMES = {
    "flag": "案件",
    "term_proposal": "词条提议",
    "lexicon": "词库",
    "referral": "移送包",
    "user": "账号",
    "document": "网页",
    "source": "来源",
    "identifier": "标识",
    "allow_phrase": "放行短语",
    "operator": "经营主体",
}
SYSTEM_ACTORS = {"system": "系统", "crawler": "采集程序", "cli": "命令行"}


def actor_name(actor: str) -> str:
    return SYSTEM_ACTORS.get(actor, actor)


def _score(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "—"


def _status(value: Any) -> str:
    return STATUS_LABELS.get(str(value), str(value)) if value else "—"


def _note(after: Mapping[str, Any]) -> str:
    note = str(after.get("note") or "").strip()
    return f"，备注：{note[:120]}" if note else ""


def sentence(event: AuditEvent, units: Mapping[str, str] | None = None) -> str:
    """One readable sentence for the event, e.g. ``王五 排除了此案（理由：贷款/信贷广告），备注：…``."""
    who = actor_name(event.actor)
    a: Mapping[str, Any] = event.after or {}
    b: Mapping[str, Any] = event.before or {}
    act = event.action
    if act == "flag.raise":
        return f"系统将此案列入队列（评分 {_score(a.get('score'))}，风险等级{LEVEL_LABELS.get(a.get('level'), '—')}）"
    if act == "flag.rescore":
        change = f"，状态由「{_status(b.get('status'))}」变为「{_status(a.get('status'))}」" if a.get("status") != b.get("status") else ""
        return f"系统重新评分：{_score(b.get('score'))} → {_score(a.get('score'))}{change}"
    if act == "flag.claim":
        return f"{who} 领取了此案"
    if act == "flag.release":
        return f"{who} 释放了此案，退回队列"
    if act == "flag.confirm":
        return f"{who} 确认此案涉嫌非法集资宣传{_note(a)}"
    if act == "flag.dismiss":
        reason = DISMISS_REASONS.get(str(a.get("reason")), "未注明")
        return f"{who} 排除了此案（理由：{reason}）{_note(a)}"
    if act == "flag.escalate":
        return f"{who} 将此案上报，请管理员决定{_note(a)}"
    if act == "flag.refer":
        return f"{who} 将此案移送"
    if act == "flag.assign":
        return f"{who} 将此案指派给 {a.get('assignee')}"
    if act == "flag.reopen":
        return f"{who} 重新打开了此案（原状态：{_status(b.get('status'))}）{_note(a)}"
    if act == "flag.comment":
        return f"{who} 评论：{str(a.get('text', ''))[:200]}"
    if act == "flag.second_confirm":
        return f"{who} 复核同意移送（双人复核）"
    if act == "flag.qa_sample":
        return "系统抽中此排除案件，交由另一名检查员复核"
    if act == "flag.qa_agree":
        return f"{who} 抽查复核：同意排除{_note(a)}"
    if act == "flag.qa_disagree":
        return f"{who} 抽查复核：不同意排除，案件重新打开{_note(a)}"
    if act == "lexicon.propose":
        return f"{who} 提议新词条「{a.get('term')}」"
    if act == "lexicon.approve":
        return f"{who} 批准词条「{a.get('term')}」，词库版本 {a.get('lexicon_version')}"
    if act == "lexicon.reject":
        return f"{who} 驳回词条「{a.get('term')}」"
    if act == "lexicon.allow":
        version = f"，词库版本 {a.get('lexicon_version')}" if a.get("lexicon_version") else ""
        return f"{who} 加入放行短语「{a.get('phrase')}」{version}"
    if act == "lexicon.allow_remove":
        return f"{who} 移除放行短语「{(b or {}).get('phrase')}」，词库版本 {a.get('lexicon_version')}"
    if act == "lexicon.rescore_requested":
        return f"{who} 请求按新词库重新评分待处理案件"
    if act == "lexicon.rescore_failed":
        return f"重新评分请求失败：{str(a.get('error', ''))[:200]}"
    if act == "referral.export":
        n = len(a.get("flags") or [])
        unit = (units or {}).get(str(a.get("unit")), a.get("unit"))
        return f"{who} 导出移送包（{n} 件{('，' + str(unit)) if unit else ''}），SHA-256 {str(a.get('sha256', ''))[:16]}…"
    if act == "user.create":
        return f"{who} 创建账号 {a.get('username')}"
    if act == "user.units":
        names = "、".join((units or {}).get(c, c) for c in a.get("units") or []) or "全部单位"
        return f"{who} 设置账号负责单位：{names}"
    if act == "document.version":
        return "采集程序发现网页内容已变更，保存了新版本"
    if act == "document.removed":
        return f"复查时网页已删除（HTTP {a.get('http_status')}）"
    name = ACTION_NAMES.get(act)
    target = ENTITY_NAMES.get(event.entity, event.entity)
    ident = f" #{event.entity_id}" if event.entity_id else ""
    return f"{who} {name or '操作'}（{target}{ident}）"


def action_name(action: str) -> str:
    return ACTION_NAMES.get(action, action)
