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
    unit: SafeStr | None = Field(None, max_length=40, description="只导出该负责单位的案件（属地管理）")


BulkAction = Literal["confirm", "dismiss", "escalate", "release", "claim", "assign"]


class BulkIn(BaseModel):
    flag_ids: list[Id] = Field(min_length=1, max_length=200)
    action: BulkAction
    reason: SafeStr | None = Field(None, max_length=40, description="排除理由（dismiss 时必填）")
    note: SafeStr = Field("", max_length=2000)
    colleague: SafeStr | None = Field(None, max_length=100, description="指派给（assign 时必填）")


class AssignIn(BaseModel):
    colleague: SafeStr = Field(max_length=100, description="同事的用户名")


class CommentIn(BaseModel):
    body: SafeStr = Field(min_length=1, max_length=2000)


class NoteIn(BaseModel):
    note: SafeStr = Field("", max_length=2000)


class QaIn(BaseModel):
    agree: bool = Field(description="true：同意排除；false：不同意，案件重新打开")
    note: SafeStr = Field("", max_length=2000)


class ApprovalIn(BaseModel):
    category: SafeStr | None = Field(None, max_length=60, description="批准时修改类别")
    weight: float | None = Field(None, allow_inf_nan=False, description="批准时修改权重（0 到 1）")


class AllowIn(BaseModel):
    phrase: SafeStr = Field(max_length=60)
    note: SafeStr = Field("", max_length=500)


# --- responses --------------------------------------------------------------------------------------------------


class ErrorOut(BaseModel):
    detail: str


class Me(BaseModel):
    username: str
    role: str
    csrf_token: str


class Ok(BaseModel):
    ok: bool


class AllowOut(BaseModel):
    ok: bool
    phrase: str = Field(description="放行短语（按写法，空白已合并）")
    lexicon_version: str = Field(description="加入或移除后的词库版本")


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
    unit: str | None = Field(None, description="负责单位代码（属地管理）")
    county: str | None = Field(None, description="区县（由地区解析）")
    qa_status: str | None = None
    second_by: str | None = Field(None, description="双人复核的复核人")


class QueueOut(BaseModel):
    filters: dict[str, str]
    items: list[FlagRow]
    next_cursor: str | None = Field(None, description="下一页：作为 after 参数传回")


class BulkResult(BaseModel):
    flag_id: int
    ok: bool
    status: str | None = None
    error: str | None = None
    decided: list[int] = []


class BulkOut(BaseModel):
    results: list[BulkResult]


class CommentOut(BaseModel):
    id: int
    flag_id: int
    author: str
    body: str
    created_at: Time


class UnitOut(BaseModel):
    code: str
    name: str
    kind: str
    parent: str | None
    areas: list[str]
    fallback: bool


class PrecedentOut(BaseModel):
    """A judged seed row that a case explanation cites: what the readers decided, and on what text."""

    id: str
    text: str
    label: str
    subtype: str
    subtype_label: str
    source: str
    split: str
    label_method: str
    provenance: str
    rubric_version: int


class PreviewSample(BaseModel):
    flag_id: int
    status: str
    snippet: str


class PreviewOut(BaseModel):
    term: str
    open: int
    decided: int
    confirmed: int
    dismissed: int
    allowed: int = Field(description="只出现在放行短语中、不计入的案件数")
    truncated: bool
    precision: float | None
    samples: list[PreviewSample]


class JobOut(BaseModel):
    id: int
    proposal_id: int
    term: str | None
    status: str = Field(description="running / done / failed")
    lexicon_version: str | None
    total: int
    done: int
    error: str | None
    started_at: Time
    finished_at: Time | None


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
    text: str = Field(description="这一步的中文说明")
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
    duplicates: list[Duplicate] = Field(description="近似重复组中的前 50 条")
    duplicate_count: int = Field(0, description="近似重复组中其他线索的总数")
    decisions: list[DecisionRow]
    history: list[HistoryRow]
    unit: str | None = None
    qa_status: str | None = None
    second_by: str | None = None
    comments: list[CommentOut] = []


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
    unit: str | None = None
    second_by: str | None = None


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
    job_id: int | None = Field(None, description="后台重新评分任务：GET lexicon/jobs/{id} 查看进度")


class LexiconOut(BaseModel):
    categories: dict[str, str]
    version: str | None
    terms: list[dict[str, Any]]
    total: int = 0
    page: int = 1
    pages: int = 1
    history: list[dict[str, Any]]
    error: str | None


class SuggestionOut(BaseModel):
    term: str
    score: float | None = None
    precision: float | None = None
    confirmed: int | None = None
    dismissed: int | None = None
    example: str | None = None


class WeekChange(BaseModel):
    this_week: int
    last_week: int
    change: float | None = Field(description="周环比；上周为 0 时为 null")


class District(BaseModel):
    name: str
    region: str | None
    total: int
    open: int


class DashboardOut(BaseModel):
    days: list[str]
    flags_by_category: dict[str, list[int]]
    flags_by_unit: dict[str, list[int]]
    flags_by_source: dict[str, list[int]]
    week_change_by_category: dict[str, WeekChange]
    week_change_by_unit: dict[str, WeekChange]
    districts: list[District]
    confirmation_rate: float | None
    confirmation_rate_by_day: list[float | None]
    decisions: dict[str, int]
    backlog: int
    backlog_age: dict[str, int]
    backlog_oldest_days: float | None
    deadlines: dict[str, int]
    deadline_ranges: dict[str, dict[str, str]]
    backlog_ranges: dict[str, dict[str, str]]
    category_codes: dict[str, str]
    referrals_by_unit: dict[str, int]
    escalations_waiting: int
    escalations_by_unit: dict[str, int]
    median_hours_to_decision: float | None
    throughput: dict[str, int]
    unit_codes: dict[str, str]
    today: str


class AuditEventOut(BaseModel):
    id: int
    at: Time
    actor: str
    action: str
    text: str = Field(description="这一事件的中文说明")
    entity: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


# --- operators (issue 13) ---------------------------------------------------------------------------------------

OperatorLevel = Literal["高风险", "重点关注", "正常监测"]


class OperatorComponents(BaseModel):
    """What the index was built from (formula ``op-risk-1``; a later formula may add keys, passed through)."""

    model_config = ConfigDict(extra="allow")
    documents: int = 0
    sites: int = 0
    regions: list[str] = Field(default_factory=list)
    max_score: float = 0.0
    mean_score: float = 0.0
    categories: list[str] = Field(default_factory=list)
    confirmed: int = 0
    dismissed: int = 0
    first_seen: Time | None = None
    last_seen: Time | None = None
    new_last_7_days: int = 0
    new_previous_7_days: int = 0
    new_last_day: int = 0
    points: dict[str, float] = Field(default_factory=dict, description="每个分项的得分")
    dismissed_factor: float = 1.0
    thresholds: dict[str, float] = Field(default_factory=dict)


class OperatorRow(BaseModel):
    id: int
    name: str
    status: str
    documents: int
    risk_index: float = Field(description="风险指数 0–100")
    level: str = Field(description="高风险 / 重点关注 / 正常监测")
    formula_version: str
    components: OperatorComponents
    risk_updated_at: Time | None
    created_at: Time | None


class OperatorsOut(BaseModel):
    filters: dict[str, str]
    items: list[OperatorRow]
    limit: int
    offset: int
    has_more: bool


class OperatorAd(BaseModel):
    document_id: int
    version_id: int | None
    title: str | None
    url: str
    source_id: int | None
    region: str | None
    publisher: str | None
    seen_at: Time | None
    score: float | None
    level: str | None
    flag_id: int | None
    flag_status: str | None
    case_id: str | None
    unit: str | None = Field(None, description="负责单位")
    assignee: str | None


class IdentifierSpan(BaseModel):
    document_id: int
    version_id: int
    field: str = Field(description="title / body / publisher / contact / region")
    start: int
    end: int
    matched: str = Field(description="原文字符，等于该字段[start:end]")


class OperatorIdentifier(BaseModel):
    kind: str
    value: str = Field(description="规范化后的值（如 E.164 电话号码）")
    documents: int
    hub: bool = Field(description="常用号码/平台标识：不参与关联")
    weight: float
    spans: list[IdentifierSpan]


class GraphNode(BaseModel):
    id: str
    type: str = Field(description="document，或标识类型")
    label: str
    score: float | None = None
    hub: bool | None = None
    weight: float | None = None


class GraphEdge(BaseModel):
    source: str
    target: str


class OperatorGraph(BaseModel):
    operator_id: int
    nodes: list[GraphNode]
    edges: list[GraphEdge]


class OperatorEventOut(BaseModel):
    kind: str
    operator_id: int
    other_id: int | None
    actor: str
    at: Time
    detail: dict[str, Any]


class OperatorWarningOut(BaseModel):
    id: int
    kind: str = Field(description="high_risk（进入高风险）/ spike（单日新增激增）")
    at: Time
    risk_index: float
    level: str
    webhook_status: str = Field(description="pending（待推送）/ sent（已推送）/ retrying（推送失败，稍后重试）/ failed（推送失败）")
    next_attempt_at: Time | None = Field(None, description="retrying 时下次推送的时间")


class OperatorOut(OperatorRow):
    requested_id: int = Field(description="请求的编号（已并入其他团伙时跟随到现存团伙）")
    hidden_documents: int = Field(description="案件属于其他单位、未列出的广告数")
    documents_list: list[OperatorAd]
    identifiers: list[OperatorIdentifier]
    graph: OperatorGraph
    events: list[OperatorEventOut]
    warnings: list[OperatorWarningOut]


class OperatorWarningRow(BaseModel):
    """An early warning as the queue shows it: the operator's newest warning, with its open cases."""

    operator_id: int
    code: str
    name: str
    risk_index: float
    level: str
    documents: int
    open_cases: int
    kinds: list[str]
    warning_id: int
    kind: str
    at: Time
    detail: dict[str, Any]


class ConfirmOpenIn(BaseModel):
    note: SafeStr = Field("", max_length=1000)


class SkippedCase(BaseModel):
    flag_id: int
    reason: str


class ConfirmOpenOut(BaseModel):
    operator_id: int
    confirmed: list[int]
    skipped: list[SkippedCase]


class SplitIn(BaseModel):
    document_ids: list[Id] = Field(min_length=1, max_length=1000, description="拆出为另一团伙的广告")
    note: SafeStr = Field("", max_length=1000)


class SplitOut(BaseModel):
    remaining_id: int
    new_id: int
    moved: list[int]


class MergeIn(BaseModel):
    operator_ids: list[Id] = Field(min_length=1, max_length=50, description="并入本团伙的其他团伙")
    note: SafeStr = Field("", max_length=1000)


class MergeOut(BaseModel):
    kept_id: int
