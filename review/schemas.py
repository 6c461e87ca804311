"""Typed request and response models of ``/api/v1``: the OpenAPI document states exactly what is answered.

Input strings are ``SafeStr``: a lone surrogate or a NUL character cannot be stored in PostgreSQL or encoded as
UTF-8, so it is refused with a 422 that says so, before it reaches the database. Ids are bounded by what an
INTEGER column holds: a larger one is a 422, never a database error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from review.services.filters import usable
from review.timefmt import aware

MAX_ID = 2**31 - 1
UNUSABLE_MESSAGE = "含有无效字符（孤立的 UTF-16 代理项或 NUL），无法保存"


def _usable(value: str) -> str:
    if not usable(value):
        raise ValueError(UNUSABLE_MESSAGE)
    return value


SafeStr = Annotated[str, AfterValidator(_usable)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Time = Annotated[datetime, AfterValidator(aware)]  # ISO-8601 with offset in JSON (stored times are UTC)
Action = Literal["confirm", "dismiss", "escalate"]
Status = Literal["open", "claimed", "confirmed", "dismissed", "referred", "escalated", "withdrawn"]


# --- requests ---------------------------------------------------------------------------------------------------


class LoginIn(BaseModel):
    username: SafeStr = Field(max_length=100)
    password: SafeStr = Field(max_length=1000)


class DecisionIn(BaseModel):
    action: Action
    reason: SafeStr | None = Field(None, max_length=40, description="排除理由（dismiss 时必填）")
    note: SafeStr = Field("", max_length=2000)
    whole_group: bool = False


class ProposalIn(BaseModel):
    term: SafeStr = Field(max_length=200)
    category: SafeStr = Field(max_length=60)
    weight: float = Field(allow_inf_nan=False, description="0 到 1；范围外返回 400")
    note: SafeStr = Field("", max_length=1000)
    flag_id: Id | None = None


class ExportIn(BaseModel):
    flag_ids: list[Id] | None = Field(None, max_length=1000)


# --- responses --------------------------------------------------------------------------------------------------


class ErrorOut(BaseModel):
    detail: str


class Me(BaseModel):
    username: str
    role: str
    csrf_token: str


class Ok(BaseModel):
    ok: bool


class FlagRow(BaseModel):
    flag_id: int
    status: str
    priority: float
    level: str
    category: str | None
    assignee: str | None
    claim_expires_at: Time | None
    created_at: Time
    age: str = Field(description="账龄，如 3天5小时")
    title: str | None
    url: str
    region: str | None
    source: str | None
    group_id: int | None


class QueueOut(BaseModel):
    filters: dict[str, str]
    items: list[FlagRow]


class HitOut(BaseModel):
    """A detector hit as stored (further keys the scorer adds are passed through)."""

    model_config = ConfigDict(extra="allow")
    term: str | None = None
    category: str | None = None
    weight: float | None = None
    start: int | None = None
    end: int | None = None
    rule: str | None = None
    field: str | None = Field(None, description="命中所在字段：title / body / ocr；start、end 为该字段内的字符位置")
    matched: str | None = Field(None, description="命中的原文字符，等于该字段[start:end]")


class CaseDocument(BaseModel):
    id: int
    url: str
    title: str | None
    text: str
    publisher: str | None
    contact: str | None
    region: str | None
    platform: str | None
    source: str | None
    posted_at: Time | None
    fetched_at: Time | None
    raw_sha256: str
    group_id: int | None
    version: int = Field(description="快照版本号：本案判定所依据的版本")
    current_version: int = Field(description="该网页最新采集的版本号")
    page_changed: bool = Field(description="判定后网页内容是否已变更")
    removed_at: Time | None = Field(None, description="复查时网页已删除（404/410）的时间")
    removed_status: int | None = None


class CaseVerdict(BaseModel):
    score: float
    keyword_score: float | None
    classifier_prob: float | None
    explanation: str
    hits: list[HitOut]
    detector_versions: str


class Duplicate(BaseModel):
    flag_id: int
    status: str


class DecisionRow(BaseModel):
    reviewer: str
    action: str
    reason: str | None
    note: str
    at: Time | None


class HistoryRow(BaseModel):
    at: Time | None
    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class CaseOut(BaseModel):
    flag_id: int
    status: str
    priority: float
    level: str
    category: str | None
    assignee: str | None
    claim_expires_at: Time | None
    created_at: Time
    document: CaseDocument
    verdict: CaseVerdict
    duplicates: list[Duplicate]
    decisions: list[DecisionRow]
    history: list[HistoryRow]


class DecisionOut(BaseModel):
    decided: list[int]
    status: str


class Indicator(BaseModel):
    category: str | None
    term: str | None
    span: str
    start: int
    end: int
    rule: str | None
    weight: float | None


class ReferralRecord(BaseModel):
    """One case in the §4.2 terms of a referral (the rows of referrals.csv / .xlsx / .json)."""

    case_id: str
    flag_id: int
    status: str
    source_type: str
    found_at: Time
    decide_by: str = Field(description="核查期限（日期）")
    url: str
    platform: str | None
    channel: str
    publisher: str | None
    contact: str | None
    region: str | None
    posted_at: Time | None
    captured_at: Time | None
    sha256: str
    snapshot_size: int
    snapshot_file: str
    capture_tool: str
    title: str | None
    verbatim_text: str
    normalized_text: str | None
    matched_indicators: list[Indicator]
    score: float
    classifier_prob: float | None
    keyword_score: float | None
    detector_versions: str
    risk_level: str
    explanation: str
    reviewer: str | None
    decision: str | None
    decided_at: Time | None
    note: str
    referred_at: Time | None


class ProposalOut(BaseModel):
    id: int
    term: str
    category: str
    weight: float
    note: str
    flag_id: int | None
    proposed_by: str
    status: str
    decided_by: str | None
    lexicon_version: str | None
    created_at: Time | None


class ApprovalOut(ProposalOut):
    rescore_requested: bool


class LexiconOut(BaseModel):
    categories: dict[str, str]
    version: str | None
    terms: list[dict[str, Any]]
    history: list[dict[str, Any]]
    error: str | None


class SuggestionOut(BaseModel):
    term: str
    score: float | None = None
    confirmed: int | None = None
    dismissed: int | None = None
    example: str | None = None


class DashboardOut(BaseModel):
    days: list[str]
    flags_by_category: dict[str, list[int]]
    flags_by_source: dict[str, list[int]]
    confirmation_rate: float | None
    confirmation_rate_by_day: list[float | None]
    decisions: dict[str, int]
    backlog: int
    backlog_age: dict[str, int]
    backlog_oldest_days: float | None
    throughput: dict[str, int]
    today: str


class AuditEventOut(BaseModel):
    id: int
    at: Time
    actor: str
    action: str
    entity: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
