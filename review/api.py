"""REST API under ``/api/v1``: the same sessions, roles and CSRF rules as the pages.

Clients log in with ``POST /api/v1/auth/login`` (JSON), keep the session cookie and send the returned
``csrf_token`` in the ``X-CSRF-Token`` header on every POST.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from review import dashboard, lexicon, referral
from review.cases import age_text, case_json, decide_case, load_case
from review.deps import (
    ADMIN,
    ANY_ROLE,
    EDITOR,
    INSPECTOR,
    csrf_protect,
    csrf_token,
    current_user,
    db,
    require,
)
from review.pages import audit_events, client_ip, export_response, parse_filter, start_session
from review.security import login_blocked, record_login
from review.users import authenticate
from store import audit, queue
from store.models import Flag, FlagStatus, User

router = APIRouter(prefix="/api/v1", dependencies=[Depends(csrf_protect)])
PROPOSER = require("inspector", "lexicon_editor")


class LoginIn(BaseModel):
    username: str = Field(max_length=100)
    password: str = Field(max_length=1000)


class DecisionIn(BaseModel):
    action: Literal["confirm", "dismiss", "escalate"]
    reason: str | None = None
    note: str = Field("", max_length=2000)
    whole_group: bool = False


class ProposalIn(BaseModel):
    term: str = Field(max_length=200)
    category: str
    weight: float
    note: str = Field("", max_length=1000)
    flag_id: int | None = None


class ExportIn(BaseModel):
    flag_ids: list[int] | None = None


def _me(user: User, request: Request) -> dict[str, Any]:
    return {"username": user.username, "role": user.role, "csrf_token": csrf_token(request)}


def flag_row(flag: Flag) -> dict[str, Any]:
    doc = flag.document
    return {
        "flag_id": flag.id,
        "status": flag.status,
        "priority": flag.priority,
        "level": flag.level,
        "category": flag.category,
        "assignee": flag.assignee,
        "claim_expires_at": flag.claim_expires_at.isoformat() if flag.claim_expires_at else None,
        "created_at": flag.created_at.isoformat(),
        "age": age_text(flag.created_at),
        "title": doc.title,
        "url": doc.url,
        "region": doc.region,
        "source": doc.source.name if doc.source else None,
        "group_id": doc.group_id,
    }


# --- auth ---------------------------------------------------------------------------------------------------


@router.post("/auth/login", summary="登录，返回 CSRF token（会话保存在 Cookie 中）")
def api_login(body: LoginIn, request: Request, session: Session = Depends(db)) -> JSONResponse:
    ip = client_ip(request)
    if login_blocked(session, body.username, ip):
        return JSONResponse({"detail": "登录失败次数过多，请稍后再试"}, status_code=429)
    user = authenticate(session, body.username, body.password)
    record_login(session, body.username, ip, user is not None)
    if user is None:
        session.commit()
        return JSONResponse({"detail": "用户名或密码错误"}, status_code=401)
    audit.record(session, user.username, "user.login", "user", user.id)
    session.commit()
    start_session(request, user)
    return JSONResponse(_me(user, request))


@router.post("/auth/logout", summary="退出登录")
def api_logout(request: Request, user: User = Depends(current_user)) -> dict[str, bool]:
    request.session.clear()
    return {"ok": True}


@router.get("/auth/me", summary="当前用户")
def api_me(request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
    return _me(user, request)


@router.get("/openapi.json", summary="OpenAPI 描述")
def api_openapi(request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
    return request.app.openapi()


# --- queue --------------------------------------------------------------------------------------------------


@router.get(
    "/queue", summary="按优先级列出线索（筛选：status, level, category, source_id, region, since, until）"
)
def api_queue(
    request: Request,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> dict[str, Any]:
    f, clean = parse_filter(dict(request.query_params))
    flags = queue.list_flags(session, f, limit=limit, offset=offset)
    return {"filters": clean, "items": [flag_row(x) for x in flags]}


@router.get("/queue/counts", summary="各状态线索数")
def api_counts(user: User = Depends(INSPECTOR), session: Session = Depends(db)) -> dict[str, int]:
    return queue.counts_by_status(session)


@router.post("/queue/next", summary="领取下一条最高优先级线索")
def api_next(request: Request, user: User = Depends(INSPECTOR), session: Session = Depends(db)) -> Response:
    f, _ = parse_filter(dict(request.query_params))
    flag = queue.claim_next(session, user.username, request.app.state.ttl, f)
    session.commit()
    if flag is None:
        return Response(status_code=204)
    return JSONResponse(flag_row(flag))


# --- cases --------------------------------------------------------------------------------------------------


@router.get("/cases/{flag_id}", summary="案件详情：文本、命中、评分、近似重复、历史")
def api_case(flag_id: int, user: User = Depends(ANY_ROLE), session: Session = Depends(db)) -> dict[str, Any]:
    view = load_case(session, flag_id)
    if view is None:
        raise HTTPException(404, "案件不存在")
    return case_json(view)


@router.post("/cases/{flag_id}/claim", summary="领取案件")
def api_claim(
    request: Request, flag_id: int, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> dict[str, Any]:
    flag = queue.claim(session, flag_id, user.username, request.app.state.ttl)
    session.commit()
    return flag_row(flag)


@router.post("/cases/{flag_id}/release", summary="释放案件")
def api_release(
    flag_id: int, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> dict[str, Any]:
    flag = queue.release(session, flag_id, user.username)
    session.commit()
    return flag_row(flag)


@router.post(
    "/cases/{flag_id}/decision", summary="决定：confirm / dismiss(reason) / escalate，可含近似重复组"
)
def api_decide(
    request: Request,
    flag_id: int,
    body: DecisionIn,
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> dict[str, Any]:
    ttl = request.app.state.ttl
    decided = decide_case(
        session, flag_id, user.username, user.role, body.action, body.reason, body.note, ttl, body.whole_group
    )
    session.commit()
    return {"decided": decided, "status": session.get(Flag, flag_id).status}


# --- referrals ----------------------------------------------------------------------------------------------


@router.get("/referrals", summary="待移送（已确认）案件，§4.2 字段")
def api_referrals(
    status: Literal["confirmed", "referred"] = "confirmed",
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> list[dict[str, Any]]:
    if status == "confirmed":
        flags = referral.confirmed_flags(session)
    else:
        flags = queue.list_flags(session, queue.QueueFilter(status=FlagStatus.REFERRED.value), limit=1000)
    return [referral.referral_record(session, f) for f in flags]


@router.get("/referrals/{flag_id}", summary="单个移送案件记录")
def api_referral(
    flag_id: int, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> dict[str, Any]:
    flag = session.get(Flag, flag_id)
    if flag is None or flag.status not in (FlagStatus.CONFIRMED.value, FlagStatus.REFERRED.value):
        raise HTTPException(404, "无此已确认/已移送案件")
    return referral.referral_record(session, flag)


@router.post("/referrals/export", summary="导出移送包（zip：CSV、XLSX、证据页、快照、清单），案件变为已移送")
def api_export(body: ExportIn, user: User = Depends(INSPECTOR), session: Session = Depends(db)) -> Response:
    return export_response(session, user, body.flag_ids)


# --- lexicon ------------------------------------------------------------------------------------------------


@router.get("/lexicon", summary="词库版本、词条与历史")
def api_lexicon(request: Request, user: User = Depends(ANY_ROLE)) -> dict[str, Any]:
    return {"categories": lexicon.categories(), **lexicon.overview(request.app.state.lexicon_dir)}


@router.get("/lexicon/proposals", summary="词条提议")
def api_proposals(
    status: str | None = None, user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> list[dict[str, Any]]:
    items = lexicon.pending(session) if status == "pending" else lexicon.recent(session, 200)
    return [_proposal(p) for p in items]


@router.post("/lexicon/proposals", summary="提议新词条", status_code=201)
def api_propose(
    body: ProposalIn, user: User = Depends(PROPOSER), session: Session = Depends(db)
) -> dict[str, Any]:
    if body.flag_id is not None and session.get(Flag, body.flag_id) is None:
        raise HTTPException(404, "案件不存在")
    p = lexicon.propose(
        session, body.term, body.category, body.weight, body.note, user.username, body.flag_id
    )
    session.commit()
    return _proposal(p)


@router.post("/lexicon/proposals/{proposal_id}/approve", summary="批准提议：新词库版本，待处理线索重新评分")
def api_approve(
    request: Request, proposal_id: int, user: User = Depends(EDITOR), session: Session = Depends(db)
) -> dict[str, Any]:
    p = lexicon.decide_proposal(session, proposal_id, user.username, True, request.app.state.lexicon_dir)
    session.commit()
    rescored = lexicon.request_rescore(session, user.username, p.lexicon_version, request.app.state.rescore)
    session.commit()
    return {**_proposal(p), "rescore_requested": rescored}


@router.post("/lexicon/proposals/{proposal_id}/reject", summary="驳回提议")
def api_reject(
    request: Request, proposal_id: int, user: User = Depends(EDITOR), session: Session = Depends(db)
) -> dict[str, Any]:
    p = lexicon.decide_proposal(session, proposal_id, user.username, False, request.app.state.lexicon_dir)
    session.commit()
    return _proposal(p)


@router.get("/lexicon/suggestions", summary="从已确认与已排除案件中挖掘的候选词")
def api_suggestions(
    request: Request,
    top_k: int = Query(20, ge=1, le=200),
    user: User = Depends(EDITOR),
    session: Session = Depends(db),
) -> list[dict[str, Any]]:
    return lexicon.suggestions(session, request.app.state.lexicon_dir, top_k)


def _proposal(p: Any) -> dict[str, Any]:
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
        "created_at": p.created_at.isoformat() if p.created_at else None,
    }


# --- dashboard ----------------------------------------------------------------------------------------------


@router.get("/dashboard", summary="看板数据")
def api_dashboard(
    days: int = Query(30, ge=1, le=365), user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> dict[str, Any]:
    return dashboard.stats(session, days)


@router.get("/audit", summary="审计日志（仅管理员）：actor, entity, entity_id 筛选")
def api_audit(
    actor: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    limit: int = Query(200, ge=1, le=5000),
    user: User = Depends(ADMIN),
    session: Session = Depends(db),
) -> list[dict[str, Any]]:
    return [
        {
            "id": e.id,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "entity": e.entity,
            "entity_id": e.entity_id,
            "before": e.before,
            "after": e.after,
        }
        for e in audit_events(session, actor, entity, entity_id, limit)
    ]
