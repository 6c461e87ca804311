"""Server-rendered pages of the review app (Chinese UI). Every page needs a session and a role."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from review import charts, dashboard, lexicon, referral
from review.cases import (
    ACTION_LABELS,
    DISMISS_REASONS,
    LEVEL_LABELS,
    age_text,
    decide_case,
    is_claimable_by,
    load_case,
)
from review.deps import ADMIN, ANY_ROLE, EDITOR, INSPECTOR, csrf_protect, csrf_token, db, require
from review.highlight import highlight
from review.security import (
    EVIDENCE_CSP,
    SNAPSHOT_CSP,
    login_blocked,
    new_csrf_token,
    password_stamp,
    record_login,
)
from review.users import authenticate
from store import audit, queue
from store.documents import snapshot
from store.models import AuditEvent, Flag, FlagStatus, User
from store.sources import list_sources

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
PROPOSER = require("inspector", "lexicon_editor")


def render(
    request: Request, name: str, user: User | None, status_code: int = 200, **ctx: Any
) -> HTMLResponse:
    flashes = request.session.pop("flash", [])
    return request.app.state.templates.TemplateResponse(
        request,
        name,
        {"user": user, "csrf": csrf_token(request), "flashes": flashes, **ctx},
        status_code=status_code,
    )


def flash(request: Request, message: str) -> None:
    request.session["flash"] = [*request.session.get("flash", []), message][-5:]


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# --- login -----------------------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request) -> Response:
    if isinstance(request.session.get("uid"), int):
        return redirect("/")
    return render(request, "login.html", None)


@router.post("/login")
def login(
    request: Request,
    username: str = Form(...),
    password: str = Form(...),
    session: Session = Depends(db),
) -> Response:
    ip = client_ip(request)
    if login_blocked(session, username, ip):
        return render(request, "login.html", None, 429, error="登录失败次数过多，请 15 分钟后再试")
    user = authenticate(session, username, password)
    record_login(session, username, ip, user is not None)
    if user is None:
        session.commit()
        return render(request, "login.html", None, 401, error="用户名或密码错误")
    audit.record(session, user.username, "user.login", "user", user.id)
    session.commit()
    start_session(request, user)
    return redirect("/lexicon" if user.role == "lexicon_editor" else "/queue")


def start_session(request: Request, user: User) -> None:
    """A fresh session (new CSRF token) at login: no fixation of a token handed out before."""
    request.session.clear()
    stamp = password_stamp(user.password_hash, request.app.state.secret)
    request.session.update(uid=user.id, pw=stamp, csrf=new_csrf_token())


@router.post("/logout")
def logout(request: Request) -> Response:
    request.session.clear()
    return redirect("/login")


@router.get("/")
def home(user: User = Depends(ANY_ROLE)) -> Response:
    return redirect("/lexicon" if user.role == "lexicon_editor" else "/queue")


# --- queue -----------------------------------------------------------------------------------------------


def parse_filter(params: dict[str, str]) -> tuple[queue.QueueFilter, dict[str, str]]:
    """Query parameters → QueueFilter; bad values are ignored (and not echoed back)."""
    clean: dict[str, str] = {}
    f = queue.QueueFilter(status="open")
    status = params.get("status", "open")
    if status == "all":
        f.status = None
        clean["status"] = "all"
    elif status in {s.value for s in FlagStatus}:
        f.status = status
        clean["status"] = status
    for name in ("level", "category", "region"):
        value = (params.get(name) or "").strip()[:60]
        if value and (name != "level" or value in LEVEL_LABELS):
            setattr(f, name, value)
            clean[name] = value
    if (params.get("source_id") or "").isdigit():
        f.source_id = int(params["source_id"])
        clean["source_id"] = params["source_id"]
    for name in ("since", "until"):
        try:
            setattr(f, name, datetime.strptime(params.get(name, ""), "%Y-%m-%d").replace(tzinfo=UTC))
            clean[name] = params[name]
        except ValueError:
            pass
    return f, clean


@router.get("/queue")
def queue_page(
    request: Request, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> HTMLResponse:
    f, clean = parse_filter(dict(request.query_params))
    page = max(
        int(request.query_params.get("page", "1")) if request.query_params.get("page", "").isdigit() else 1, 1
    )
    flags = queue.list_flags(session, f, limit=50, offset=(page - 1) * 50)
    mine = queue.list_flags(session, queue.QueueFilter(status="claimed"), limit=200)
    mine = [m for m in mine if m.assignee == user.username]
    counts = queue.counts_by_status(session)
    categories = lexicon.categories()
    existing = session.scalars(select(Flag.category).distinct()).all()
    for c in existing:
        if c and c not in categories:
            categories[c] = c
    return render(
        request,
        "queue.html",
        user,
        flags=flags,
        mine=mine,
        counts=counts,
        filters=clean,
        page=page,
        sources=list_sources(session),
        categories=categories,
        age=age_text,
    )


@router.post("/queue/next")
def queue_next(request: Request, user: User = Depends(INSPECTOR), session: Session = Depends(db)) -> Response:
    f, _ = parse_filter(dict(request.query_params))
    flag = queue.claim_next(session, user.username, request.app.state.ttl, f)
    session.commit()
    if flag is None:
        flash(request, "队列已清空：没有可领取的案件")
        return redirect("/queue")
    return redirect(f"/cases/{flag.id}")


# --- cases -----------------------------------------------------------------------------------------------


@router.get("/cases/{flag_id}")
def case_page(
    request: Request, flag_id: int, user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> HTMLResponse:
    view = load_case(session, flag_id)
    if view is None:
        return render(request, "error.html", user, 404, message="案件不存在", status=404)
    return render(
        request,
        "case.html",
        user,
        v=view,
        highlighted=highlight(view.document.text, view.verdict.hits),
        claimable=is_claimable_by(view.flag, user.username)
        or (view.flag.status == "escalated" and user.role == "admin"),
        mine=view.flag.status == "claimed" and view.flag.assignee == user.username,
        can_decide=user.role in ("inspector", "admin"),
        dismiss_reasons=DISMISS_REASONS,
        action_labels=ACTION_LABELS,
        categories=lexicon.categories(),
        case_id=referral.case_id(view.flag),
    )


@router.post("/cases/{flag_id}/claim")
def case_claim(
    request: Request, flag_id: int, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> Response:
    queue.claim(session, flag_id, user.username, request.app.state.ttl)
    session.commit()
    return redirect(f"/cases/{flag_id}")


@router.post("/cases/{flag_id}/release")
def case_release(
    request: Request, flag_id: int, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> Response:
    queue.release(session, flag_id, user.username)
    session.commit()
    flash(request, f"已释放案件 #{flag_id}")
    return redirect("/queue")


@router.post("/cases/{flag_id}/decide")
def case_decide(
    request: Request,
    flag_id: int,
    action: str = Form(...),
    reason: str = Form(""),
    note: str = Form(""),
    whole_group: str = Form(""),
    go_next: str = Form(""),
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> Response:
    ttl = request.app.state.ttl
    decided = decide_case(
        session,
        flag_id,
        user.username,
        user.role,
        action,
        reason or None,
        note[:2000],
        ttl,
        whole_group == "1",
    )
    session.commit()
    extra = f"（含 {len(decided) - 1} 条近似重复）" if len(decided) > 1 else ""
    flash(request, f"案件 #{flag_id}：{ACTION_LABELS.get(action, action)}{extra}")
    if go_next == "1":
        nxt = queue.claim_next(session, user.username, ttl)
        session.commit()
        if nxt is not None:
            return redirect(f"/cases/{nxt.id}")
        flash(request, "队列已清空")
        return redirect("/queue")
    return redirect(f"/cases/{flag_id}")


@router.post("/cases/{flag_id}/propose")
def case_propose(
    request: Request,
    flag_id: int,
    term: str = Form(...),
    category: str = Form(...),
    weight: float = Form(...),
    note: str = Form(""),
    user: User = Depends(PROPOSER),
    session: Session = Depends(db),
) -> Response:
    if session.get(Flag, flag_id) is None:
        return render(request, "error.html", user, 404, message="案件不存在", status=404)
    proposal = lexicon.propose(session, term, category, weight, note, user.username, flag_id)
    session.commit()
    flash(request, f"已提交词条提议 #{proposal.id}「{proposal.term}」，等待词库编辑审批")
    return redirect(f"/cases/{flag_id}")


@router.get("/cases/{flag_id}/snapshot")
def case_snapshot(
    request: Request, flag_id: int, user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> Response:
    """The raw page as fetched, under a CSP that lets nothing run or load (and shown in a sandboxed iframe)."""
    flag = session.get(Flag, flag_id)
    if flag is None:
        return Response("not found", status_code=404, media_type="text/plain")
    body = snapshot(flag.document)
    headers = {
        "Content-Security-Policy": SNAPSHOT_CSP,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "SAMEORIGIN",
        "Content-Disposition": "inline",
    }
    if request.query_params.get("as") == "text":
        text = body.decode(_charset(flag.document.encoding), errors="replace")
        return Response(text, media_type="text/plain; charset=utf-8", headers=headers)
    return Response(
        body, media_type=f"text/html; charset={_charset(flag.document.encoding)}", headers=headers
    )


def _charset(encoding: str | None) -> str:
    """Only a known codec name goes into the header; anything else is treated as UTF-8."""
    import codecs

    try:
        return codecs.lookup(encoding or "utf-8").name
    except LookupError:
        return "utf-8"


@router.get("/cases/{flag_id}/evidence")
def case_evidence(flag_id: int, user: User = Depends(INSPECTOR), session: Session = Depends(db)) -> Response:
    flag = session.get(Flag, flag_id)
    if flag is None:
        return Response("not found", status_code=404, media_type="text/plain")
    html = referral.evidence_sheet(session, flag)
    return HTMLResponse(html, headers={"Content-Security-Policy": EVIDENCE_CSP})


# --- referrals ---------------------------------------------------------------------------------------------


@router.get("/referrals")
def referrals_page(
    request: Request, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> HTMLResponse:
    confirmed = referral.confirmed_flags(session)
    referred = queue.list_flags(session, queue.QueueFilter(status="referred"), limit=100)
    return render(
        request, "referrals.html", user, confirmed=confirmed, referred=referred, case_id=referral.case_id
    )


@router.post("/referrals/export")
async def referrals_export(
    request: Request, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> Response:
    form = await request.form()
    ids = [int(v) for v in form.getlist("flag_id") if isinstance(v, str) and v.isdigit()]
    if not ids:
        flash(request, "请先选择要移送的案件")
        return redirect("/referrals")
    return export_response(session, user, ids)


def export_response(session: Session, user: User, ids: list[int] | None) -> Response:
    """Build the package, mark the cases referred and audit it, in one transaction."""
    flags = referral.confirmed_flags(session, ids)
    if not flags:
        return Response("没有可移送的已确认案件", status_code=409, media_type="text/plain; charset=utf-8")
    data = referral.build_package(session, flags)
    queue.mark_referred(session, [f.id for f in flags], user.username)
    digest = hashlib.sha256(data).hexdigest()
    audit.record(
        session,
        user.username,
        "referral.export",
        "referral",
        digest[:16],
        None,
        {"flags": [f.id for f in flags], "sha256": digest, "bytes": len(data)},
    )
    session.commit()
    name = f"referral-{datetime.now():%Y%m%d-%H%M%S}.zip"
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Package-SHA256": digest},
    )


# --- lexicon -----------------------------------------------------------------------------------------------


@router.get("/lexicon")
def lexicon_page(
    request: Request, user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> HTMLResponse:
    lex_dir = request.app.state.lexicon_dir
    try:
        suggested = lexicon.suggestions(session, lex_dir) if request.query_params.get("suggest") else None
    except Exception as exc:  # noqa: BLE001 - mining is optional; show why it failed
        suggested, error = None, str(exc)
    else:
        error = None
    return render(
        request,
        "lexicon.html",
        user,
        lex=lexicon.overview(lex_dir),
        pending=lexicon.pending(session),
        recent=lexicon.recent(session),
        suggested=suggested,
        suggest_error=error,
        categories=lexicon.categories(),
        can_approve=user.role in ("lexicon_editor", "admin"),
    )


@router.post("/lexicon/propose")
def lexicon_propose(
    request: Request,
    term: str = Form(...),
    category: str = Form(...),
    weight: float = Form(...),
    note: str = Form("候选词挖掘"),
    user: User = Depends(PROPOSER),
    session: Session = Depends(db),
) -> Response:
    proposal = lexicon.propose(session, term, category, weight, note, user.username, None)
    session.commit()
    flash(request, f"已提交词条提议 #{proposal.id}「{proposal.term}」")
    return redirect("/lexicon")


@router.post("/lexicon/proposals/{proposal_id}/{verb}")
def lexicon_decide(
    request: Request,
    proposal_id: int,
    verb: str,
    user: User = Depends(EDITOR),
    session: Session = Depends(db),
) -> Response:
    if verb not in {"approve", "reject"}:
        return render(request, "error.html", user, 404, message="无此操作", status=404)
    approve = verb == "approve"
    lex_dir = request.app.state.lexicon_dir
    proposal = lexicon.decide_proposal(session, proposal_id, user.username, approve, lex_dir)
    session.commit()
    if not approve:
        flash(request, f"提议 #{proposal.id}「{proposal.term}」已驳回")
        return redirect("/lexicon")
    version = proposal.lexicon_version
    rescored = lexicon.request_rescore(session, user.username, version, request.app.state.rescore)
    session.commit()
    tail = "待处理线索已提交重新评分" if rescored else "但重新评分请求失败（见审计日志），请稍后重试"
    flash(request, f"提议 #{proposal.id}「{proposal.term}」已批准，词库版本 {version}；{tail}")
    return redirect("/lexicon")


# --- dashboard ---------------------------------------------------------------------------------------------


@router.get("/dashboard")
def dashboard_page(
    request: Request, user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> HTMLResponse:
    s = dashboard.stats(session)
    cat_labels = lexicon.categories()
    by_cat = {cat_labels.get(k, k): v for k, v in s["flags_by_category"].items()}
    figures = {
        "by_category": charts.stacked_bars(s["days"], by_cat, "每日新增线索（按类别）"),
        "by_source": charts.stacked_bars(s["days"], s["flags_by_source"], "每日新增线索（按来源）"),
        "rate": charts.line(s["days"], s["confirmation_rate_by_day"], "每日确认率（确认 /（确认+排除））"),
        "backlog": charts.hbars(list(s["backlog_age"].items()), "积压案件账龄"),
        "throughput": charts.hbars(list(s["throughput"].items()), "审核人处理量（近30天）"),
    }
    return render(request, "dashboard.html", user, s=s, figures=figures)


@router.get("/api/docs")
def api_docs(request: Request, user: User = Depends(ANY_ROLE)) -> HTMLResponse:
    """A plain listing of the OpenAPI operations (Swagger UI would load scripts from a CDN)."""
    spec = request.app.openapi()
    ops = [
        (method.upper(), path, op.get("summary", ""), op.get("description", ""))
        for path, item in spec.get("paths", {}).items()
        for method, op in item.items()
    ]
    return render(request, "api_docs.html", user, ops=ops)


@router.get("/audit")
def audit_page(request: Request, user: User = Depends(ADMIN), session: Session = Depends(db)) -> HTMLResponse:
    """The append-only audit log, newest first (admins only)."""
    q = request.query_params
    events = audit_events(session, q.get("actor"), q.get("entity"), q.get("entity_id"), 300)
    return render(request, "audit.html", user, events=events, q=dict(q))


def audit_events(
    session: Session, actor: str | None, entity: str | None, entity_id: str | None, limit: int
) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if actor:
        stmt = stmt.where(AuditEvent.actor == actor)
    if entity:
        stmt = stmt.where(AuditEvent.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    return list(session.scalars(stmt))
