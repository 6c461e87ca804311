"""REST API under ``/api/v1``: a thin JSON adapter over ``review.services`` (the pages are the HTML one).

Clients log in with ``POST /api/v1/auth/login`` (JSON), keep the session cookie and send the returned
``csrf_token`` in the ``X-CSRF-Token`` header on every POST. Every route has a typed response model
(``review.schemas``), so the OpenAPI document says what is answered.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from review import schemas
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
    AllowIn,
    AllowOut,
    ApprovalIn,
    ApprovalOut,
    AssignIn,
    AuditEventOut,
    BulkIn,
    BulkOut,
    CaseOut,
    CommentIn,
    CommentOut,
    DashboardOut,
    DecisionIn,
    DecisionOut,
    ErrorOut,
    ExportIn,
    FlagRow,
    JobOut,
    LexiconOut,
    LoginIn,
    Me,
    NoteIn,
    Ok,
    PrecedentOut,
    PreviewOut,
    ProposalIn,
    ProposalOut,
    QaIn,
    QueueOut,
    ReferralRecord,
    SafeStr,
    Status,
    SuggestionOut,
    UnitOut,
)
from review.services import audit as audit_service
from review.services import (
    auth,
    cases,
    dashboard,
    filters,
    history,
    lexicon,
    listing,
    precedents,
    referral,
    scope,
    workflow,
)
from review.services import operators as operator_service
from review.services.errors import NotFound
from review.timefmt import age_text
from store import queue, units
from store.models import CaseComment, Flag, TermProposal, User

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
PrecedentId = Annotated[str, Path(max_length=24, pattern=r"^[a-z]{2,6}-[0-9]{1,7}$", description="已判定样本编号（如 bdcie-00000）")]


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
        region=flag.region,
        source=doc.source.name if doc.source else None,
        group_id=doc.group_id,
        unit=flag.unit,
        county=flag.county,
        qa_status=flag.qa_status,
        second_by=flag.second_by,
    )


def comment_out(c: CaseComment) -> CommentOut:
    return CommentOut(id=c.id, flag_id=c.flag_id, author=c.author, body=c.body, created_at=c.created_at)


def case_out(view: cases.CaseView, unit_names: dict[str, str] | None = None) -> CaseOut:
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
            "duplicate_count": view.duplicate_count,
            "decisions": [
                {"reviewer": x.reviewer, "action": x.action, "reason": x.reason, "note": x.note, "at": x.created_at}
                for x in view.decisions
            ],
            "history": [
                {
                    "at": e.at,
                    "actor": e.actor,
                    "action": e.action,
                    "text": history.sentence(e, unit_names),
                    "before": e.before,
                    "after": e.after,
                }
                for e in view.history
            ],
            "unit": f.unit,
            "qa_status": f.qa_status,
            "second_by": f.second_by,
            "comments": [comment_out(c).model_dump() for c in view.comments],
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


@router.get("/queue", summary="按优先级列出线索（键集分页：next_cursor 作为 after 传回）", response_model=QueueOut)
def api_queue(
    request: Request,
    status: Status | Literal["all"] = Query("open", description="状态；all 为全部"),
    level: Literal["high", "medium", "low"] | None = None,
    category: Annotated[SafeStr | None, Query(max_length=60, description="任一命中类别")] = None,
    source_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    region: Annotated[SafeStr | None, Query(max_length=60, description="地区，含下级（睢阳 → 睢阳区）")] = None,
    unit: Annotated[SafeStr | None, Query(max_length=40, description="负责单位代码")] = None,
    assignee: Annotated[SafeStr | None, Query(max_length=100)] = None,
    q: Annotated[
        SafeStr | None, Query(max_length=100, description="搜索正文、标题、发布者、联系方式、网址、电话号码片段")
    ] = None,
    since: date | None = Query(None, description="入队日期起（北京时间，含）"),
    until: date | None = Query(None, description="入队日期止（北京时间，含）"),
    after: Annotated[str | None, Query(max_length=100, description="上一页的 next_cursor")] = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000),
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> QueueOut:
    f, clean = filters.parse_queue_filter(dict(request.query_params))
    page = listing.queue_page(session, user, f, limit=limit, after=after, offset=offset)
    return QueueOut(filters=clean, items=[flag_row(x) for x in page.flags], next_cursor=page.next_cursor)


@router.get("/queue/counts", summary="各状态线索数", response_model=dict[str, int])
def api_counts(user: User = Depends(INSPECTOR), session: Session = Depends(db)) -> dict[str, int]:
    return listing.counts(session, user)


@router.post(
    "/queue/next",
    summary="下一条：先释放 leave 指定的案件，先回到自己处理中的案件，再领取新案件（筛选同 GET queue）",
    response_model=FlagRow,
    responses={204: {"description": "队列已清空"}},
)
def api_next(
    request: Request,
    leave: Annotated[int | None, Query(ge=1, le=MAX_ID, description="离开的案件：若由您处理中则释放")] = None,
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> Response:
    f, _ = filters.parse_queue_filter(dict(request.query_params))
    flag = workflow.next_case(session, user, request.app.state.ttl, f, leave)
    if flag is None:
        return Response(status_code=204)
    return JSONResponse(flag_row(flag).model_dump(mode="json"))


@router.get("/units", summary="负责单位（属地管理）及其辖区", response_model=list[UnitOut])
def api_units(user: User = Depends(ANY_ROLE), session: Session = Depends(db)) -> list[UnitOut]:
    return [
        UnitOut(code=u.code, name=u.name, kind=u.kind, parent=u.parent_code, areas=u.areas or [], fallback=u.is_fallback)
        for u in listing.unit_choices(session, user)
    ]


@router.get("/precedents/{row_id}", summary="案件说明引用的已判定样本：原文、标签与来源", response_model=PrecedentOut)
def api_precedent(row_id: PrecedentId, user: User = Depends(ANY_ROLE)) -> PrecedentOut:
    return precedent_out(precedents.get(row_id))


def precedent_out(p: precedents.Precedent) -> PrecedentOut:
    return PrecedentOut(**asdict(p), subtype_label=p.subtype_label)


# --- cases --------------------------------------------------------------------------------------------------


@router.get("/cases/{flag_id}", summary="案件详情：文本、命中、评分、近似重复、历史、讨论", response_model=CaseOut)
def api_case(flag_id: FlagId, user: User = Depends(ANY_ROLE), session: Session = Depends(db)) -> CaseOut:
    scope.visible_flag(session, user, flag_id)
    return case_out(cases.load_case(session, flag_id), units.unit_names(session))


@router.post("/cases/{flag_id}/claim", summary="领取案件", response_model=FlagRow)
def api_claim(
    request: Request, flag_id: FlagId, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> FlagRow:
    scope.visible_flag(session, user, flag_id)
    return flag_row(cases.claim(session, user, flag_id, request.app.state.ttl))


@router.post("/cases/{flag_id}/release", summary="释放案件", response_model=FlagRow)
def api_release(flag_id: FlagId, user: User = Depends(INSPECTOR), session: Session = Depends(db)) -> FlagRow:
    scope.visible_flag(session, user, flag_id)
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
    result = workflow.decide(
        session,
        user,
        flag_id,
        body.action,
        body.reason,
        body.note,
        request.app.state.ttl,
        body.whole_group,
        request.app.state.rules,
    )
    return DecisionOut(decided=result.decided, status=result.flag.status)


@router.post("/cases/bulk", summary="批量操作：每个案件按单个操作的规则处理，逐条返回结果", response_model=BulkOut)
def api_bulk(
    request: Request, body: BulkIn, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> BulkOut:
    outcomes = workflow.bulk(
        session,
        user,
        body.flag_ids,
        body.action,
        request.app.state.ttl,
        request.app.state.rules,
        reason=body.reason,
        note=body.note,
        colleague=body.colleague,
    )
    return BulkOut(results=[o.__dict__ for o in outcomes])


@router.post("/cases/{flag_id}/assign", summary="指派给同事（成为其处理中的案件）", response_model=FlagRow)
def api_assign(
    request: Request,
    flag_id: FlagId,
    body: AssignIn,
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> FlagRow:
    return flag_row(workflow.assign(session, user, flag_id, body.colleague, request.app.state.ttl))


@router.get("/cases/{flag_id}/comments", summary="案件讨论", response_model=list[CommentOut])
def api_comments(flag_id: FlagId, user: User = Depends(ANY_ROLE), session: Session = Depends(db)) -> list[CommentOut]:
    scope.visible_flag(session, user, flag_id)
    return [comment_out(c) for c in queue.comments(session, flag_id)]


@router.post("/cases/{flag_id}/comments", summary="发表评论", status_code=201, response_model=CommentOut)
def api_comment(
    flag_id: FlagId, body: CommentIn, user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> CommentOut:
    return comment_out(workflow.comment(session, user, flag_id, body.body))


@router.post(
    "/cases/{flag_id}/reopen",
    summary="重新打开已决定、尚未移送的案件（决定人或管理员）",
    response_model=FlagRow,
)
def api_reopen(
    flag_id: FlagId, body: NoteIn | None = None, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> FlagRow:
    return flag_row(workflow.reopen(session, user, flag_id, body.note if body else ""))


@router.post(
    "/cases/{flag_id}/second-confirm",
    summary="双人复核：第二名检查员同意移送已确认案件",
    response_model=FlagRow,
)
def api_second(flag_id: FlagId, user: User = Depends(INSPECTOR), session: Session = Depends(db)) -> FlagRow:
    return flag_row(workflow.second_confirm(session, user, flag_id))


@router.post("/cases/{flag_id}/qa", summary="抽查复核被抽中的排除：同意，或不同意（重新打开）", response_model=FlagRow)
def api_qa(
    flag_id: FlagId, body: QaIn, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> FlagRow:
    return flag_row(workflow.qa_review(session, user, flag_id, body.agree, body.note))


# --- referrals ----------------------------------------------------------------------------------------------


@router.get("/referrals", summary="待移送（已确认）或已移送案件，§4.2 字段；按 id 键集分页", response_model=list[ReferralRecord])
def api_referrals(
    status: Literal["confirmed", "referred"] = "confirmed",
    unit: Annotated[SafeStr | None, Query(max_length=40)] = None,
    after_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="上一页最后一条的 flag_id")] = None,
    limit: int = Query(100, ge=1, le=500),
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> list[dict[str, Any]]:
    allowed = scope.units_of(session, user)
    if status == "confirmed":
        flags = referral.confirmed_flags(session, units=allowed, unit=unit, limit=limit, after_id=after_id)
    else:
        flags = referral.referred_flags(session, limit=limit, units=allowed, after_id=after_id)
        if unit:
            flags = [f for f in flags if f.unit == unit]
    return referral.referral_records(session, flags)


@router.get("/referrals/{flag_id}", summary="单个移送案件记录", response_model=ReferralRecord)
def api_referral(
    flag_id: FlagId, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> dict[str, Any]:
    flag = referral.referral_case(session, flag_id)
    if flag is None or not scope.in_scope(session, user, flag):
        raise NotFound("无此已确认/已移送案件")
    return referral.referral_record(session, flag)


@router.post(
    "/referrals/export",
    summary="导出移送包（zip：CSV、XLSX、证据页、快照、清单），案件变为已移送；unit 为单个负责单位的移送包",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "移送包"}},
)
def api_export(
    request: Request, body: ExportIn, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> Response:
    return package_response(
        referral.export(
            session,
            user,
            body.flag_ids,
            units=scope.units_of(session, user),
            unit=body.unit,
            two_person=request.app.state.rules.two_person,
        )
    )


# --- lexicon ------------------------------------------------------------------------------------------------


@router.get("/lexicon", summary="词库版本、词条（可查找、分页）与历史", response_model=LexiconOut)
def api_lexicon(
    request: Request,
    q: Annotated[SafeStr | None, Query(max_length=60, description="查找词条")] = None,
    page: int = Query(1, ge=1, le=100_000),
    user: User = Depends(ANY_ROLE),
) -> dict[str, Any]:
    return {"categories": lexicon.categories(), **lexicon.overview(request.app.state.lexicon_dir, q, page)}


@router.get("/lexicon/preview", summary="批准前预览：词条会命中多少待处理与已决定案件，附样例", response_model=PreviewOut)
def api_preview(
    request: Request,
    term: Annotated[SafeStr, Query(min_length=1, max_length=60)],
    user: User = Depends(ANY_ROLE),
    session: Session = Depends(db),
) -> dict[str, Any]:
    return lexicon.preview(session, term, request.app.state.lexicon_dir)


@router.get("/lexicon/jobs/{job_id}", summary="批准后的后台重新评分进度", response_model=JobOut)
def api_job(
    job_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> dict[str, Any]:
    return lexicon.job_status(session, job_id)


@router.get("/lexicon/allow", summary="放行短语（词库的一部分）", response_model=list[str])
def api_allow_list(request: Request, user: User = Depends(ANY_ROLE)) -> list[str]:
    return lexicon.allow_phrases(request.app.state.lexicon_dir)


@router.post(
    "/lexicon/allow",
    summary="加入放行短语（其中包含的词条在此处不计为命中；新词库版本，待处理案件在后台重新评分）",
    status_code=201,
    response_model=AllowOut,
)
def api_allow(
    request: Request, body: AllowIn, user: User = Depends(EDITOR), session: Session = Depends(db)
) -> AllowOut:
    state = request.app.state
    done = lexicon.add_allow(
        session, user, state.lexicon_dir, body.phrase, body.note, state.rescore, state.run_job, state.sessionmaker
    )
    return AllowOut(ok=True, phrase=done.phrase, lexicon_version=done.lexicon_version)


@router.delete(
    "/lexicon/allow",
    summary="移除放行短语（新词库版本，待处理案件在后台重新评分）",
    response_model=AllowOut,
)
def api_allow_remove(
    request: Request,
    phrase: Annotated[SafeStr, Query(min_length=1, max_length=60, description="要移除的放行短语")],
    user: User = Depends(EDITOR),
    session: Session = Depends(db),
) -> AllowOut:
    state = request.app.state
    done = lexicon.remove_allow(
        session, user, state.lexicon_dir, phrase, state.rescore, state.run_job, state.sessionmaker
    )
    return AllowOut(ok=True, phrase=done.phrase, lexicon_version=done.lexicon_version)


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
    summary="批准提议（可修改类别与权重）：新词库版本，待处理线索在后台重新评分",
    response_model=ApprovalOut,
)
def api_approve(
    request: Request,
    proposal_id: ProposalId,
    body: ApprovalIn | None = None,
    user: User = Depends(EDITOR),
    session: Session = Depends(db),
) -> dict[str, Any]:
    state = request.app.state
    job = lexicon.start_approval(
        session,
        user,
        proposal_id,
        state.lexicon_dir,
        state.rescore,
        state.run_job,
        state.sessionmaker,
        body.category if body else None,
        body.weight if body else None,
    )
    proposal = session.get(TermProposal, proposal_id)
    session.refresh(job)
    return {**proposal_out(proposal), "rescore_requested": job.status != "failed", "job_id": job.id}


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
    return dashboard.stats(session, days, scope.units_of(session, user))


@router.get(
    "/audit", summary="审计日志（仅管理员）：actor, entity, entity_id 筛选", response_model=list[AuditEventOut]
)
def api_audit(
    actor: Annotated[SafeStr | None, Query(max_length=100)] = None,
    entity: Annotated[SafeStr | None, Query(max_length=40)] = None,
    entity_id: Annotated[SafeStr | None, Query(max_length=64)] = None,
    limit: int = Query(200, ge=1, le=5000),
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="只列出早于该编号的事件（下一页）")] = None,
    user: User = Depends(ADMIN),
    session: Session = Depends(db),
) -> list[AuditEventOut]:
    names = units.unit_names(session)
    return [
        AuditEventOut(
            id=e.id,
            at=e.at,
            actor=e.actor,
            action=e.action,
            text=history.sentence(e, names),
            entity=e.entity,
            entity_id=e.entity_id,
            before=e.before,
            after=e.after,
        )
        for e in audit_service.list_events(session, actor, entity, entity_id, limit, before)
    ]


# --- operators (issue 13) -----------------------------------------------------------------------------------

OperatorId = Annotated[int, Path(ge=1, le=MAX_ID, description="团伙编号（已并入其他团伙时跟随到现存团伙）")]


@router.get(
    "/operators",
    summary="团伙列表：按风险指数排序；筛选等级、负责单位、地区（含下级）、类别、来源；分页",
    response_model=schemas.OperatorsOut,
)
def api_operators(
    level: schemas.OperatorLevel | None = None,
    unit: Annotated[SafeStr | None, Query(max_length=40, description="负责单位代码")] = None,
    region: Annotated[SafeStr | None, Query(max_length=60, description="地区，如 睢阳 或 商丘")] = None,
    category: Annotated[SafeStr | None, Query(max_length=60, description="集资类别代码")] = None,
    source_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    min_documents: int = Query(2, ge=1, le=1000, description="至少有这么多条广告"),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
    user: User = Depends(ANY_ROLE),
    session: Session = Depends(db),
) -> schemas.OperatorsOut:
    given = {"level": level, "unit": unit, "region": region, "category": category, "source_id": source_id,
             "min_documents": min_documents}  # fmt: skip
    f, clean = operator_service.parse_filter({k: str(v) for k, v in given.items() if v is not None})
    items, more = operator_service.list_operators(session, user, f, limit, offset)
    return schemas.OperatorsOut(filters=clean, items=items, limit=limit, offset=offset, has_more=more)


@router.get(
    "/operators/warnings",
    summary="团伙预警：近 days 天内有预警的团伙（每个团伙最新一条），按风险指数排序",
    response_model=list[schemas.OperatorWarningRow],
)
def api_operator_warnings(
    days: int = Query(7, ge=1, le=90),
    limit: int = Query(20, ge=1, le=100),
    user: User = Depends(ANY_ROLE),
    session: Session = Depends(db),
) -> list[dict[str, Any]]:
    return operator_service.recent_warnings(session, user, days, limit)


@router.get(
    "/operators/{op_id}",
    summary="团伙详情：指数分项、全部广告、标识及其原文位置、关联图、合并拆分记录、预警",
    response_model=schemas.OperatorOut,
)
def api_operator(op_id: OperatorId, user: User = Depends(ANY_ROLE), session: Session = Depends(db)) -> Any:
    return operator_service.operator_data(session, user, op_id)


@router.post(
    "/operators/{op_id}/confirm-open",
    summary="确认该团伙全部待处理案件（逐件按领取规则；他人处理中的案件跳过并列出）",
    response_model=schemas.ConfirmOpenOut,
)
def api_operator_confirm_open(
    request: Request,
    op_id: OperatorId,
    body: schemas.ConfirmOpenIn | None = None,
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> schemas.ConfirmOpenOut:
    state = request.app.state
    note = body.note if body is not None else ""
    result = operator_service.confirm_open(
        session, user, op_id, note, state.ttl, operator_service.risk_config_of(state)
    )
    return schemas.ConfirmOpenOut(
        operator_id=result.operator_id,
        confirmed=result.confirmed,
        skipped=[schemas.SkippedCase(flag_id=f, reason=r) for f, r in result.skipped],
    )


@router.post(
    "/operators/{op_id}/export",
    summary="团伙移送包（zip：每案证据页与快照、团伙汇总页、清单），已确认案件变为已移送",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "移送包"}},
)
def api_operator_export(
    request: Request, op_id: OperatorId, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> Response:
    rules = getattr(request.app.state, "rules", None)
    package = operator_service.export_package(
        session, user, op_id, two_person=bool(getattr(rules, "two_person", False))
    )
    return package_response(package)


@router.post(
    "/operators/{op_id}/split",
    summary="拆分：所选广告成为另一团伙（此后重新关联与重建都保持）",
    response_model=schemas.SplitOut,
)
def api_operator_split(
    request: Request,
    op_id: OperatorId,
    body: schemas.SplitIn,
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> schemas.SplitOut:
    risk = operator_service.risk_config_of(request.app.state)
    result = operator_service.split(session, user, op_id, body.document_ids, body.note, risk)
    return schemas.SplitOut(remaining_id=result.remaining_id, new_id=result.new_id, moved=result.moved)


@router.post(
    "/operators/{op_id}/merge",
    summary="合并：其他团伙并入本团伙（此后重新关联与重建都保持）",
    response_model=schemas.MergeOut,
)
def api_operator_merge(
    request: Request,
    op_id: OperatorId,
    body: schemas.MergeIn,
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> schemas.MergeOut:
    risk = operator_service.risk_config_of(request.app.state)
    kept = operator_service.merge(session, user, op_id, body.operator_ids, body.note, risk)
    return schemas.MergeOut(kept_id=kept)
