"""Server-rendered pages of the review app (Chinese UI): a thin HTML adapter over ``review.services``.

Every page needs a session and a role. Each route parses its form or query, calls one service operation and
renders or redirects; the rules themselves (login, claim, decide, approve, export) live in the services, which the
JSON API calls too.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from review import charts
from review.deps import (
    ADMIN,
    ANY_ROLE,
    EDITOR,
    INSPECTOR,
    PROPOSER,
    client_ip,
    csrf_protect,
    csrf_token,
    db,
)
from review.http import package_response
from review.labels import ACTION_LABELS, DISMISS_REASONS
from review.security import EVIDENCE_CSP, SNAPSHOT_CSP
from review.services import audit as audit_service
from review.services import auth, cases, dashboard, filters, lexicon, referral
from review.services.referral import NothingToExport
from review.timefmt import age_text
from store import queue
from store.models import Flag, User
from store.sources import list_sources

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


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


def home_of(user: User) -> str:
    return "/lexicon" if user.role == "lexicon_editor" else "/queue"


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
    result = auth.login(session, username, password, client_ip(request))
    if result.outcome == "blocked":
        return render(request, "login.html", None, 429, error="登录失败次数过多，请 15 分钟后再试")
    if result.user is None:
        return render(request, "login.html", None, 401, error="用户名或密码错误")
    auth.start_session(request.session, result.user, request.app.state.secret)
    return redirect(home_of(result.user))


@router.post("/logout")
def logout(request: Request, session: Session = Depends(db)) -> Response:
    """Ends the session on the server too: a copy of the cookie is refused afterwards."""
    user = auth.session_user(session, request.session, request.app.state.secret)
    if user is not None:
        auth.logout(session, user, request.session)
    request.session.clear()
    return redirect("/login")


@router.get("/")
def home(user: User = Depends(ANY_ROLE)) -> Response:
    return redirect(home_of(user))


# --- queue -----------------------------------------------------------------------------------------------


@router.get("/queue")
def queue_page(
    request: Request, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> HTMLResponse:
    f, clean = filters.parse_queue_filter(dict(request.query_params))
    page = filters.parse_page(request.query_params.get("page"))
    flags = queue.list_flags(session, f, limit=50, offset=(page - 1) * 50)
    mine = queue.list_flags(session, queue.QueueFilter(status="claimed"), limit=200)
    mine = [m for m in mine if m.assignee == user.username]
    categories = lexicon.categories()
    for c in session.scalars(select(Flag.category).distinct()).all():
        if c and c not in categories:
            categories[c] = c
    return render(
        request,
        "queue.html",
        user,
        flags=flags,
        mine=mine,
        counts=queue.counts_by_status(session),
        filters=clean,
        page=page,
        sources=list_sources(session),
        categories=categories,
        age=age_text,
    )


@router.post("/queue/next")
def queue_next(request: Request, user: User = Depends(INSPECTOR), session: Session = Depends(db)) -> Response:
    f, _ = filters.parse_queue_filter(dict(request.query_params))
    flag = cases.claim_next(session, user, request.app.state.ttl, f)
    if flag is None:
        flash(request, "队列已清空：没有可领取的案件")
        return redirect("/queue")
    return redirect(f"/cases/{flag.id}")


# --- cases -----------------------------------------------------------------------------------------------


@router.get("/cases/{flag_id}")
def case_page(
    request: Request, flag_id: int, user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> HTMLResponse:
    view = cases.load_case(session, flag_id)
    flag = view.flag
    return render(
        request,
        "case.html",
        user,
        v=view,
        fields=cases.case_text_fields(flag),
        highlights=cases.case_highlights(flag),
        change=cases.case_page_change(flag),
        hits=cases.case_hits(flag),
        snap=cases.case_snapshot(flag),
        claimable=cases.may_take(session, flag, user),
        mine=flag.status == "claimed" and flag.assignee == user.username,
        can_decide=user.role in ("inspector", "admin"),
        dismiss_reasons=DISMISS_REASONS,
        action_labels=ACTION_LABELS,
        categories=lexicon.categories(),
        case_id=referral.case_id(flag),
    )


@router.post("/cases/{flag_id}/claim")
def case_claim(
    request: Request, flag_id: int, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> Response:
    cases.claim(session, user, flag_id, request.app.state.ttl)
    return redirect(f"/cases/{flag_id}")


@router.post("/cases/{flag_id}/release")
def case_release(
    request: Request, flag_id: int, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> Response:
    cases.release(session, user, flag_id)
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
    result = cases.decide(
        session, user, flag_id, action, reason or None, note[:2000], ttl, whole_group == "1"
    )
    extra = f"（含 {len(result.decided) - 1} 条近似重复）" if len(result.decided) > 1 else ""
    flash(request, f"案件 #{flag_id}：{ACTION_LABELS.get(action, action)}{extra}")
    if go_next == "1":
        nxt = cases.claim_next(session, user, ttl)
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
    proposal = lexicon.propose(session, user, term, category, weight, note, flag_id)
    flash(request, f"已提交词条提议 #{proposal.id}「{proposal.term}」，等待词库编辑审批")
    return redirect(f"/cases/{flag_id}")


@router.get("/cases/{flag_id}/snapshot")
def case_snapshot(
    request: Request, flag_id: int, user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> Response:
    """The raw page as fetched, under a CSP that lets nothing run or load (and shown in a sandboxed iframe)."""
    snap = cases.case_snapshot(cases.get_flag(session, flag_id))
    headers = {
        "Content-Security-Policy": SNAPSHOT_CSP,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "SAMEORIGIN",
        "Content-Disposition": "inline",
    }
    if request.query_params.get("as") == "text":
        return Response(snap.text(), media_type="text/plain; charset=utf-8", headers=headers)
    return Response(snap.body, media_type=f"text/html; charset={snap.charset}", headers=headers)


@router.get("/cases/{flag_id}/diff")
def case_diff(
    request: Request, flag_id: int, user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> HTMLResponse:
    """The judged version against the page as it is now, field by field (deleted and inserted characters)."""
    flag = cases.get_flag(session, flag_id)
    return render(
        request,
        "diff.html",
        user,
        flag=flag,
        change=cases.case_page_change(flag),
        diff=cases.case_diff(flag),
        case_id=referral.case_id(flag),
    )


@router.get("/cases/{flag_id}/evidence")
def case_evidence(flag_id: int, user: User = Depends(INSPECTOR), session: Session = Depends(db)) -> Response:
    html = referral.evidence_sheet(session, cases.get_flag(session, flag_id))
    return HTMLResponse(html, headers={"Content-Security-Policy": EVIDENCE_CSP})


# --- referrals ---------------------------------------------------------------------------------------------


@router.get("/referrals")
def referrals_page(
    request: Request, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> HTMLResponse:
    return render(
        request,
        "referrals.html",
        user,
        confirmed=referral.confirmed_flags(session),
        referred=referral.referred_flags(session),
        case_id=referral.case_id,
    )


@router.post("/referrals/export")
async def referrals_export(
    request: Request, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> Response:
    """Two steps: the chosen cases are shown for confirmation first; only the confirmed form exports them and
    marks them 已移送 (no JavaScript needed)."""
    form = await request.form()
    ids = [i for v in form.getlist("flag_id") if isinstance(v, str) and (i := filters.parse_id(v))]
    if not ids:
        flash(request, "请先选择要移送的案件")
        return redirect("/referrals")
    if form.get("confirm") != "1":
        chosen = referral.confirmed_flags(session, ids)
        if not chosen:
            raise NothingToExport("没有可移送的已确认案件")
        return render(request, "referrals_confirm.html", user, chosen=chosen, case_id=referral.case_id)
    return package_response(referral.export(session, user, ids))


# --- lexicon -----------------------------------------------------------------------------------------------


@router.get("/lexicon")
def lexicon_page(
    request: Request, user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> HTMLResponse:
    lex_dir = request.app.state.lexicon_dir
    suggested, error = None, None
    if request.query_params.get("suggest"):
        try:
            suggested = lexicon.suggestions(session, lex_dir)
        except Exception as exc:  # noqa: BLE001 - mining is optional; the page shows why it failed
            error = str(exc)
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
    proposal = lexicon.propose(session, user, term, category, weight, note)
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
    state = request.app.state
    result = lexicon.decide_proposal(
        session, user, proposal_id, verb == "approve", state.lexicon_dir, state.rescore
    )
    p = result.proposal
    if result.rescore_requested is None:
        flash(request, f"提议 #{p.id}「{p.term}」已驳回")
    else:
        tail = "待处理线索已提交重新评分" if result.rescore_requested else "但重新评分请求失败（见审计日志），请稍后重试"
        flash(request, f"提议 #{p.id}「{p.term}」已批准，词库版本 {p.lexicon_version}；{tail}")
    return redirect("/lexicon")


# --- dashboard, API listing, audit ---------------------------------------------------------------------------


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
    events = audit_service.list_events(session, q.get("actor"), q.get("entity"), q.get("entity_id"), 300)
    return render(request, "audit.html", user, events=events, q=dict(q))
