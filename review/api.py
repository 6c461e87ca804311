"""REST API under ``/api/v1``: a thin JSON adapter over ``review.services`` (the pages are the HTML one).

Clients log in with ``POST /api/v1/auth/login`` (JSON), keep the session cookie and send the returned
``csrf_token`` in the ``X-CSRF-Token`` header on every POST. Every route has a typed response model
(``review.schemas``), so the OpenAPI document says what is answered.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from review.deps import (
    ADMIN,
    ANY_ROLE,
    EDITOR,
    INSPECTOR,
    PROPOSER,
    client_ip,
    csrf_protect,
    csrf_token,
    current_user,
    db,
)
from review.http import package_response
from review.schemas import (
    MAX_ID,
    ApprovalOut,
    AuditEventOut,
    CaseOut,
    DashboardOut,
    DecisionIn,
    DecisionOut,
    ErrorOut,
    ExportIn,
    FlagRow,
    LexiconOut,
    LoginIn,
    Me,
    Ok,
    ProposalIn,
    ProposalOut,
    QueueOut,
    ReferralRecord,
    SafeStr,
    Status,
    SuggestionOut,
)
from review.services import audit as audit_service
from review.services import auth, cases, dashboard, filters, lexicon, referral
from review.services.errors import NotFound
from review.timefmt import age_text
from store import queue
from store.models import Flag, TermProposal, User

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in {
        400: "无效请求（如未知类别）",
        401: "未登录",
        403: "无权限或 CSRF 校验失败",
        404: "不存在",
        409: "当前状态不允许此操作",
    }.items()
}
router = APIRouter(prefix="/api/v1", dependencies=[Depends(csrf_protect)], responses=ERRORS)
FlagId = Annotated[int, Path(ge=1, le=MAX_ID, description="案件（线索）编号")]
ProposalId = Annotated[int, Path(ge=1, le=MAX_ID, description="提议编号")]


def _me(user: User, request: Request) -> Me:
    return Me(username=user.username, role=user.role, csrf_token=csrf_token(request))


def flag_row(flag: Flag) -> FlagRow:
    doc = flag.document
    return FlagRow(
        flag_id=flag.id,
        status=flag.status,
        priority=flag.priority,
        level=flag.level,
        category=flag.category,
        assignee=flag.assignee,
        claim_expires_at=flag.claim_expires_at,
        created_at=flag.created_at,
        age=age_text(flag.created_at),
        title=cases.case_text_fields(flag)["title"] or None,
        url=doc.url,
        region=doc.region,
        source=doc.source.name if doc.source else None,
        group_id=doc.group_id,
    )


def case_out(view: cases.CaseView) -> CaseOut:
    """The case as the API returns it (text is data here, never HTML)."""
    f, d, v = view.flag, view.document, view.verdict
    fields = cases.case_text_fields(f)
    snap = cases.case_snapshot(f)
    ver, change = cases.case_version(f), cases.case_page_change(f)
    return CaseOut.model_validate(
        {
            "flag_id": f.id,
            "status": f.status,
            "priority": f.priority,
            "level": f.level,
            "category": f.category,
            "assignee": f.assignee,
            "claim_expires_at": f.claim_expires_at,
            "created_at": f.created_at,
            "document": {
                "id": d.id,
                "url": ver.url,
                "title": fields["title"] or None,
                "text": fields["body"],
                "publisher": ver.publisher,
                "contact": ver.contact,
                "region": ver.region,
                "platform": ver.platform,
                "source": d.source.name if d.source else None,
                "posted_at": ver.posted_at,
                "fetched_at": snap.captured_at,
                "raw_sha256": snap.sha256,
                "group_id": d.group_id,
                "version": ver.number,
                "current_version": change.current,
                "page_changed": change.changed,
                "removed_at": change.removed_at,
                "removed_status": change.removed_status,
            },
            "verdict": {
                "score": v.score,
                "keyword_score": v.keyword_score,
                "classifier_prob": v.classifier_prob,
                "explanation": v.explanation,
                "hits": v.hits or [],
                "detector_versions": v.detector_versions,
            },
            "duplicates": [{"flag_id": o.id, "status": o.status} for o in view.duplicates],
            "decisions": [
                {"reviewer": x.reviewer, "action": x.action, "reason": x.reason, "note": x.note, "at": x.created_at}
                for x in view.decisions
            ],
            "history": [
                {"at": e.at, "actor": e.actor, "action": e.action, "before": e.before, "after": e.after}
                for e in view.history
            ],
        }
    )


def proposal_out(p: TermProposal) -> dict[str, Any]:
    return {
        "id": p.id,
        "term": p.term,
        "category": p.category,
        "weight": p.weight,
        "note": p.note,
        "flag_id": p.flag_id,
        "proposed_by": p.proposed_by,
        "status": p.status,
        "decided_by": p.decided_by,
        "lexicon_version": p.lexicon_version,
        "created_at": p.created_at,
    }


# --- auth ---------------------------------------------------------------------------------------------------


@router.post(
    "/auth/login",
    summary="登录，返回 CSRF token（会话保存在 Cookie 中）",
    response_model=Me,
    responses={429: {"model": ErrorOut, "description": "失败次数过多"}},
)
def api_login(body: LoginIn, request: Request, session: Session = Depends(db)) -> Response:
    result = auth.login(session, body.username, body.password, client_ip(request))
    if result.outcome == "blocked":
        return JSONResponse({"detail": "登录失败次数过多，请稍后再试"}, status_code=429)
    if result.user is None:
        return JSONResponse({"detail": "用户名或密码错误"}, status_code=401)
    auth.start_session(request.session, result.user, request.app.state.secret)
    return JSONResponse(_me(result.user, request).model_dump())


@router.post("/auth/logout", summary="退出登录（服务器端使该用户的所有会话失效）", response_model=Ok)
def api_logout(request: Request, user: User = Depends(current_user), session: Session = Depends(db)) -> Ok:
    auth.logout(session, user, request.session)
    return Ok(ok=True)


@router.get("/auth/me", summary="当前用户", response_model=Me)
def api_me(request: Request, user: User = Depends(current_user)) -> Me:
    return _me(user, request)


@router.get("/openapi.json", summary="OpenAPI 描述", response_model=dict[str, Any])
def api_openapi(request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
    return request.app.openapi()


# --- queue --------------------------------------------------------------------------------------------------


@router.get("/queue", summary="按优先级列出线索", response_model=QueueOut)
def api_queue(
    request: Request,
    status: Status | Literal["all"] = Query("open", description="状态；all 为全部"),
    level: Literal["high", "medium", "low"] | None = None,
    category: Annotated[SafeStr | None, Query(max_length=60)] = None,
    source_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    region: Annotated[SafeStr | None, Query(max_length=60)] = None,
    since: date | None = Query(None, description="入队日期起（北京时间，含）"),
    until: date | None = Query(None, description="入队日期止（北京时间，不含）"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000),
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> QueueOut:
    f, clean = filters.parse_queue_filter(dict(request.query_params))
    flags = queue.list_flags(session, f, limit=limit, offset=offset)
    return QueueOut(filters=clean, items=[flag_row(x) for x in flags])


@router.get("/queue/counts", summary="各状态线索数", response_model=dict[str, int])
def api_counts(user: User = Depends(INSPECTOR), session: Session = Depends(db)) -> dict[str, int]:
    return queue.counts_by_status(session)


@router.post(
    "/queue/next",
    summary="领取下一条最高优先级线索（筛选同 GET queue）",
    response_model=FlagRow,
    responses={204: {"description": "队列已清空"}},
)
def api_next(request: Request, user: User = Depends(INSPECTOR), session: Session = Depends(db)) -> Response:
    f, _ = filters.parse_queue_filter(dict(request.query_params))
    flag = cases.claim_next(session, user, request.app.state.ttl, f)
    if flag is None:
        return Response(status_code=204)
    return JSONResponse(flag_row(flag).model_dump(mode="json"))


# --- cases --------------------------------------------------------------------------------------------------


@router.get("/cases/{flag_id}", summary="案件详情：文本、命中、评分、近似重复、历史", response_model=CaseOut)
def api_case(flag_id: FlagId, user: User = Depends(ANY_ROLE), session: Session = Depends(db)) -> CaseOut:
    return case_out(cases.load_case(session, flag_id))


@router.post("/cases/{flag_id}/claim", summary="领取案件", response_model=FlagRow)
def api_claim(
    request: Request, flag_id: FlagId, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> FlagRow:
    return flag_row(cases.claim(session, user, flag_id, request.app.state.ttl))


@router.post("/cases/{flag_id}/release", summary="释放案件", response_model=FlagRow)
def api_release(flag_id: FlagId, user: User = Depends(INSPECTOR), session: Session = Depends(db)) -> FlagRow:
    return flag_row(cases.release(session, user, flag_id))


@router.post(
    "/cases/{flag_id}/decision",
    summary="决定：confirm / dismiss(reason) / escalate，可含近似重复组",
    response_model=DecisionOut,
)
def api_decide(
    request: Request,
    flag_id: FlagId,
    body: DecisionIn,
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> DecisionOut:
    result = cases.decide(
        session,
        user,
        flag_id,
        body.action,
        body.reason,
        body.note,
        request.app.state.ttl,
        body.whole_group,
    )
    return DecisionOut(decided=result.decided, status=result.flag.status)


# --- referrals ----------------------------------------------------------------------------------------------


@router.get("/referrals", summary="待移送（已确认）或已移送案件，§4.2 字段", response_model=list[ReferralRecord])
def api_referrals(
    status: Literal["confirmed", "referred"] = "confirmed",
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> list[dict[str, Any]]:
    if status == "confirmed":
        flags = referral.confirmed_flags(session)
    else:
        flags = referral.referred_flags(session, limit=1000)
    return [referral.referral_record(session, f) for f in flags]


@router.get("/referrals/{flag_id}", summary="单个移送案件记录", response_model=ReferralRecord)
def api_referral(
    flag_id: FlagId, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> dict[str, Any]:
    flag = referral.referral_case(session, flag_id)
    if flag is None:
        raise NotFound("无此已确认/已移送案件")
    return referral.referral_record(session, flag)


@router.post(
    "/referrals/export",
    summary="导出移送包（zip：CSV、XLSX、证据页、快照、清单），案件变为已移送",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "移送包"}},
)
def api_export(body: ExportIn, user: User = Depends(INSPECTOR), session: Session = Depends(db)) -> Response:
    return package_response(referral.export(session, user, body.flag_ids))


# --- lexicon ------------------------------------------------------------------------------------------------


@router.get("/lexicon", summary="词库版本、词条与历史", response_model=LexiconOut)
def api_lexicon(request: Request, user: User = Depends(ANY_ROLE)) -> dict[str, Any]:
    return {"categories": lexicon.categories(), **lexicon.overview(request.app.state.lexicon_dir)}


@router.get("/lexicon/proposals", summary="词条提议（status=pending 只列待审批）", response_model=list[ProposalOut])
def api_proposals(
    status: Literal["pending"] | None = None,
    user: User = Depends(ANY_ROLE),
    session: Session = Depends(db),
) -> list[dict[str, Any]]:
    items = lexicon.pending(session) if status == "pending" else lexicon.recent(session, 200)
    return [proposal_out(p) for p in items]


@router.post("/lexicon/proposals", summary="提议新词条", status_code=201, response_model=ProposalOut)
def api_propose(
    body: ProposalIn, user: User = Depends(PROPOSER), session: Session = Depends(db)
) -> dict[str, Any]:
    p = lexicon.propose(session, user, body.term, body.category, body.weight, body.note, body.flag_id)
    return proposal_out(p)


@router.post(
    "/lexicon/proposals/{proposal_id}/approve",
    summary="批准提议：新词库版本，待处理线索重新评分",
    response_model=ApprovalOut,
)
def api_approve(
    request: Request, proposal_id: ProposalId, user: User = Depends(EDITOR), session: Session = Depends(db)
) -> dict[str, Any]:
    state = request.app.state
    result = lexicon.decide_proposal(session, user, proposal_id, True, state.lexicon_dir, state.rescore)
    return {**proposal_out(result.proposal), "rescore_requested": bool(result.rescore_requested)}


@router.post("/lexicon/proposals/{proposal_id}/reject", summary="驳回提议", response_model=ProposalOut)
def api_reject(
    request: Request, proposal_id: ProposalId, user: User = Depends(EDITOR), session: Session = Depends(db)
) -> dict[str, Any]:
    state = request.app.state
    result = lexicon.decide_proposal(session, user, proposal_id, False, state.lexicon_dir, state.rescore)
    return proposal_out(result.proposal)


@router.get(
    "/lexicon/suggestions",
    summary="从已确认与已排除案件中挖掘的候选词",
    response_model=list[SuggestionOut],
    response_model_exclude_unset=True,
)
def api_suggestions(
    request: Request,
    top_k: int = Query(20, ge=1, le=200),
    user: User = Depends(EDITOR),
    session: Session = Depends(db),
) -> list[dict[str, Any]]:
    return lexicon.suggestions(session, request.app.state.lexicon_dir, top_k)


# --- dashboard and audit ------------------------------------------------------------------------------------


@router.get("/dashboard", summary="看板数据（按北京时间日期）", response_model=DashboardOut)
def api_dashboard(
    days: int = Query(30, ge=1, le=365), user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> dict[str, Any]:
    return dashboard.stats(session, days)


@router.get(
    "/audit", summary="审计日志（仅管理员）：actor, entity, entity_id 筛选", response_model=list[AuditEventOut]
)
def api_audit(
    actor: Annotated[SafeStr | None, Query(max_length=100)] = None,
    entity: Annotated[SafeStr | None, Query(max_length=40)] = None,
    entity_id: Annotated[SafeStr | None, Query(max_length=64)] = None,
    limit: int = Query(200, ge=1, le=5000),
    user: User = Depends(ADMIN),
    session: Session = Depends(db),
) -> list[AuditEventOut]:
    return [
        AuditEventOut(
            id=e.id,
            at=e.at,
            actor=e.actor,
            action=e.action,
            entity=e.entity,
            entity_id=e.entity_id,
            before=e.before,
            after=e.after,
        )
        for e in audit_service.list_events(session, actor, entity, entity_id, limit)
    ]
