"""Server-rendered pages of the review app (Chinese UI): a thin HTML adapter over ``review.services``.

Every page needs a session and a role. Each route parses its form or query, calls one service operation and
renders or redirects; the rules themselves (login, claim, decide, approve, export) live in the services, which the
JSON API calls too.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
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
    db,
)
from review.http import package_response
from review.labels import ACTION_LABELS, DISMISS_REASONS
from review.security import EVIDENCE_CSP, SNAPSHOT_CSP
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
from review.services.errors import InvalidInput
from review.services.referral import NothingToExport
from review.timefmt import age_text
from store import queue, units
from store.models import User
from store.sources import list_sources

SAVED_FILTERS = "queue_filters"

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


def saved_filters(request: Request) -> dict[str, str]:
    """The queue filters last used in this session: ``n``, auto-next and the way back to the queue keep them."""
    saved = request.session.get(SAVED_FILTERS)
    return {k: str(v) for k, v in saved.items() if k in filters.FILTER_KEYS} if isinstance(saved, dict) else {}


def queue_url(request: Request) -> str:
    saved = saved_filters(request)
    return "/queue?" + urlencode(saved) if saved else "/queue"


def current_filter(request: Request) -> queue.QueueFilter:
    """The filter ``n`` uses: the query's when it has one, else the session's saved filters."""
    params = {k: v for k, v in request.query_params.items() if k in filters.FILTER_KEYS}
    return filters.parse_queue_filter(params or saved_filters(request))[0]


@router.get("/queue")
def queue_page(
    request: Request, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> HTMLResponse:
    params = {k: v for k, v in request.query_params.items() if k in filters.FILTER_KEYS}
    if not params and "reset" not in request.query_params:
        params = saved_filters(request)
    f, clean = filters.parse_queue_filter(params)
    request.session[SAVED_FILTERS] = clean
    after = request.query_params.get("after")
    result = listing.queue_page(session, user, f, after=after)
    categories = lexicon.categories()
    return render(
        request,
        "queue.html",
        user,
        op_warnings=operator_service.recent_warnings(session, user),  # 团伙案件 rows (issue 13)
        flags=result.flags,
        next_cursor=result.next_cursor,
        first_page=not after,
        mine=listing.my_claims(session, user),
        qa=listing.qa_waiting(session, user, 20),
        counts=listing.counts(session, user),
        filters=clean,
        sources=list_sources(session),
        categories=categories,
        units=listing.unit_choices(session, user),
        unit_names=units.unit_names(session),
        colleagues=workflow.colleagues(session, user),
        dismiss_reasons=DISMISS_REASONS,
        age=age_text,
    )


@router.post("/queue/next")
async def queue_next(request: Request, user: User = Depends(INSPECTOR), session: Session = Depends(db)) -> Response:
    """``n``: release the case being left (``leave``), resume one's own claim, else claim the next case; the
    queue's filters (of the query, else those saved in the session) apply."""
    form = await request.form()
    leave = filters.parse_id(str(form.get("leave") or request.query_params.get("leave") or ""))
    flag = workflow.next_case(session, user, request.app.state.ttl, current_filter(request), leave)
    if flag is None:
        flash(request, "队列已清空：没有符合筛选条件的可领取案件")
        return redirect(queue_url(request))
    return redirect(f"/cases/{flag.id}")


@router.post("/queue/bulk")
async def queue_bulk(request: Request, user: User = Depends(INSPECTOR), session: Session = Depends(db)) -> Response:
    """One action on the selected rows, by the single actions' rules; the outcome of each is reported."""
    form = await request.form()
    ids = [i for v in form.getlist("flag_id") if isinstance(v, str) and (i := filters.parse_id(v))]
    action = str(form.get("action") or "")
    if not ids:
        flash(request, "请先勾选案件")
        return redirect(queue_url(request))
    note = str(form.get("note") or "")[:2000]
    try:
        outcomes = workflow.bulk(
            session,
            user,
            ids,
            action,
            request.app.state.ttl,
            request.app.state.rules,
            reason=str(form.get("reason") or "") or None,
            note=note if filters.usable(note) else "",
            colleague=str(form.get("colleague") or "") or None,
        )
    except (queue.QueueError, InvalidInput) as exc:
        flash(request, f"批量操作未执行：{exc}")
        return redirect(queue_url(request))
    done = [o for o in outcomes if o.ok]
    label = workflow.BULK_LABELS.get(action, action)
    flash(request, f"批量{label}：成功 {len(done)} 件，未执行 {len(outcomes) - len(done)} 件")
    for o in outcomes:
        if not o.ok:
            flash(request, f"#{o.flag_id}：{o.error}")
    return redirect(queue_url(request))


# --- cases -----------------------------------------------------------------------------------------------


def render_case(
    request: Request,
    session: Session,
    user: User,
    flag_id: int,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    """The case page; after a refused form, again with the message in place and what was typed kept (unless it
    cannot be shown: a NUL or a lone surrogate is dropped rather than echoed)."""
    scope.visible_flag(session, user, flag_id)
    form = {k: v for k, v in (form or {}).items() if filters.usable(v)}
    view = cases.load_case(session, flag_id)
    flag = view.flag
    rules = request.app.state.rules
    names = units.unit_names(session)
    return render(
        request,
        "case.html",
        user,
        status_code,
        v=view,
        fields=cases.case_text_fields(flag),
        highlights=cases.case_highlights(flag),
        change=cases.case_page_change(flag),
        hits=cases.case_hits(flag),
        snap=cases.case_snapshot(flag),
        images=cases.case_images(session, flag),
        claimable=cases.may_take(session, flag, user),
        mine=flag.status == "claimed" and flag.assignee == user.username,
        can_decide=user.role in ("inspector", "admin"),
        can_reopen=flag.status in queue.DECIDED and (flag.assignee == user.username or user.role == "admin"),
        dismiss_reasons=DISMISS_REASONS,
        action_labels=ACTION_LABELS,
        categories=lexicon.categories(),
        case_id=referral.case_id(flag),
        history=[(e, history.sentence(e, names)) for e in view.history],
        unit_name=names.get(flag.unit or "", flag.unit),
        colleagues=[c for c in workflow.colleagues(session, user, flag) if c.username != user.username],
        two_person=rules.two_person,
        queue_link=queue_url(request),
        error=error,
        form=form or {},
    )


@router.get("/cases/{flag_id}")
def case_page(
    request: Request, flag_id: int, user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> HTMLResponse:
    return render_case(request, session, user, flag_id)


@router.get("/precedents/{row_id}")
def precedent_page(request: Request, row_id: str, user: User = Depends(ANY_ROLE)) -> HTMLResponse:
    """A judged row a case explanation cites, so the inspector can read what it was judged on."""
    return render(request, "precedent.html", user, p=precedents.get(row_id))


@router.post("/cases/{flag_id}/claim")
def case_claim(
    request: Request, flag_id: int, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> Response:
    scope.visible_flag(session, user, flag_id)

    def act() -> str:
        cases.claim(session, user, flag_id, request.app.state.ttl)
        return f"已领取案件 #{flag_id}"

    return _case_action(request, session, user, flag_id, {}, act)


@router.post("/cases/{flag_id}/release")
def case_release(
    request: Request, flag_id: int, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> Response:
    scope.visible_flag(session, user, flag_id)
    cases.release(session, user, flag_id)
    flash(request, f"已释放案件 #{flag_id}")
    return redirect(queue_url(request))


@router.post("/cases/{flag_id}/decide")
def case_decide(
    request: Request,
    flag_id: int,
    action: str = Form(""),
    reason: str = Form(""),
    note: str = Form(""),
    whole_group: str = Form(""),
    go_next: str = Form(""),
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> Response:
    """A decision; a refused one (no reason for a dismissal, a case taken meanwhile) shows the case again with
    the message in place, in Chinese, and the note as typed."""
    ttl, rules = request.app.state.ttl, request.app.state.rules
    typed = {"note": note[:2000], "reason": reason, "action": action}
    try:
        result = workflow.decide(
            session, user, flag_id, action, reason or None, note[:2000], ttl, whole_group == "1", rules
        )
    except (queue.QueueError, InvalidInput) as exc:
        session.rollback()
        return render_case(request, session, user, flag_id, refusal_status(exc), error=str(exc), form=typed)
    extra = f"（含 {len(result.decided) - 1} 条近似重复）" if len(result.decided) > 1 else ""
    flash(request, f"案件 #{flag_id}：{ACTION_LABELS.get(action, action)}{extra}")
    if go_next == "1":
        nxt = workflow.next_case(session, user, ttl, current_filter(request))
        if nxt is not None:
            return redirect(f"/cases/{nxt.id}")
        flash(request, "队列已清空：没有符合筛选条件的可领取案件")
        return redirect(queue_url(request))
    return redirect(f"/cases/{flag_id}")


def refusal_status(exc: Exception) -> int:
    """400 for input that cannot be stored, 422 for a missing choice, 409 for a case in another state."""
    if isinstance(exc, InvalidInput):
        return 400
    return 422 if isinstance(exc, queue.ReasonRequired) else 409


def _case_action(
    request: Request, session: Session, user: User, flag_id: int, form: dict[str, str], act: Any
) -> Response:
    """Run one case action; a refusal re-renders the case with the message in place and the input kept."""
    try:
        message = act()
    except (queue.QueueError, InvalidInput) as exc:
        session.rollback()
        return render_case(request, session, user, flag_id, refusal_status(exc), error=str(exc), form=form)
    flash(request, message)
    return redirect(f"/cases/{flag_id}")


@router.post("/cases/{flag_id}/assign")
def case_assign(
    request: Request,
    flag_id: int,
    colleague: str = Form(""),
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> Response:
    def act() -> str:
        workflow.assign(session, user, flag_id, colleague, request.app.state.ttl)
        return f"案件 #{flag_id} 已指派给 {colleague}"

    return _case_action(request, session, user, flag_id, {"colleague": colleague}, act)


@router.post("/cases/{flag_id}/comment")
def case_comment(
    request: Request,
    flag_id: int,
    body: str = Form(""),
    user: User = Depends(ANY_ROLE),
    session: Session = Depends(db),
) -> Response:
    def act() -> str:
        workflow.comment(session, user, flag_id, body)
        return "评论已发表"

    return _case_action(request, session, user, flag_id, {"comment": body[:2000]}, act)


@router.post("/cases/{flag_id}/reopen")
def case_reopen(
    request: Request,
    flag_id: int,
    note: str = Form(""),
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> Response:
    def act() -> str:
        workflow.reopen(session, user, flag_id, note)
        return f"案件 #{flag_id} 已重新打开，回到待处理队列"

    return _case_action(request, session, user, flag_id, {"reopen_note": note[:2000]}, act)


@router.post("/cases/{flag_id}/second")
def case_second(
    request: Request, flag_id: int, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> Response:
    def act() -> str:
        workflow.second_confirm(session, user, flag_id)
        return f"案件 #{flag_id} 已复核，可以移送"

    return _case_action(request, session, user, flag_id, {}, act)


@router.post("/cases/{flag_id}/qa")
def case_qa(
    request: Request,
    flag_id: int,
    verdict: str = Form(""),
    note: str = Form(""),
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> Response:
    def act() -> str:
        if verdict not in ("agree", "disagree"):
            raise InvalidInput("请选择同意或不同意排除")
        workflow.qa_review(session, user, flag_id, verdict == "agree", note)
        return "抽查复核已记录" + ("，案件已重新打开" if verdict == "disagree" else "")

    return _case_action(request, session, user, flag_id, {"qa_note": note[:2000]}, act)


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
    scope.visible_flag(session, user, flag_id)
    proposal = lexicon.propose(session, user, term, category, weight, note, flag_id)
    flash(request, f"已提交词条提议 #{proposal.id}「{proposal.term}」，等待词库编辑审批")
    return redirect(f"/cases/{flag_id}")


@router.get("/cases/{flag_id}/images/{image_id}")
def case_image(
    flag_id: int, image_id: int, user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> Response:
    """A stored image of the case, as fetched, under headers that let nothing in it run or be sniffed as HTML."""
    flag = scope.visible_flag(session, user, flag_id)
    content_type, data = cases.case_image_bytes(session, flag, image_id)
    headers = {"Content-Security-Policy": "default-src 'none'; sandbox", "X-Content-Type-Options": "nosniff",
               "Content-Disposition": "inline", "Cache-Control": "private, max-age=3600"}  # fmt: skip
    return Response(data, media_type=content_type, headers=headers)


@router.get("/cases/{flag_id}/snapshot")
def case_snapshot(
    request: Request, flag_id: int, user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> Response:
    """The raw page as fetched, under a CSP that lets nothing run or load (and shown in a sandboxed iframe)."""
    snap = cases.case_snapshot(scope.visible_flag(session, user, flag_id))
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
    flag = scope.visible_flag(session, user, flag_id)
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
    html = referral.evidence_sheet(session, scope.visible_flag(session, user, flag_id))
    return HTMLResponse(html, headers={"Content-Security-Policy": EVIDENCE_CSP})


# --- referrals ---------------------------------------------------------------------------------------------


@router.get("/referrals")
def referrals_page(
    request: Request, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> HTMLResponse:
    """Confirmed cases by responsible unit (one package per unit), the newest referrals; keyset pages."""
    allowed = scope.units_of(session, user)
    unit = filters.clean_text(request.query_params.get("unit"), 40)
    after = filters.parse_id(request.query_params.get("after"))
    confirmed = referral.confirmed_flags(session, units=allowed, unit=unit, limit=200, after_id=after, light=True)
    return render(
        request,
        "referrals.html",
        user,
        confirmed=confirmed,
        more=len(confirmed) == 200,
        referred=referral.referred_flags(session, 50, units=allowed),
        case_id=referral.case_id,
        unit=unit,
        units=listing.unit_choices(session, user),
        unit_names=units.unit_names(session),
        two_person=request.app.state.rules.two_person,
    )


@router.post("/referrals/export")
async def referrals_export(
    request: Request, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> Response:
    """Two steps: the chosen cases are shown for confirmation first; only the confirmed form exports them and
    marks them 已移送 (no JavaScript needed). With ``unit``, the package holds that unit's cases only."""
    form = await request.form()
    ids = [i for v in form.getlist("flag_id") if isinstance(v, str) and (i := filters.parse_id(v))]
    unit = filters.clean_text(str(form.get("unit") or ""), 40)
    allowed = scope.units_of(session, user)
    two_person = request.app.state.rules.two_person
    if not ids:
        flash(request, "请先选择要移送的案件")
        return redirect("/referrals")
    if form.get("confirm") != "1":
        chosen = referral.confirmed_flags(session, ids, units=allowed, unit=unit)
        if not chosen:
            raise NothingToExport("没有可移送的已确认案件")
        return render(
            request,
            "referrals_confirm.html",
            user,
            chosen=chosen,
            case_id=referral.case_id,
            unit=unit,
            unit_names=units.unit_names(session),
            two_person=two_person,
        )
    return package_response(
        referral.export(session, user, ids, units=allowed, unit=unit, two_person=two_person)
    )


# --- lexicon -----------------------------------------------------------------------------------------------


@router.get("/lexicon")
def lexicon_page(
    request: Request, user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> HTMLResponse:
    lex_dir = request.app.state.lexicon_dir
    q = filters.clean_text(request.query_params.get("q"), 60)
    page = filters.parse_page(request.query_params.get("page"))
    suggested, error = None, None
    if request.query_params.get("suggest"):
        try:
            suggested = lexicon.suggestions(session, lex_dir)
        except Exception as exc:  # noqa: BLE001 - mining is optional; the page shows why it failed
            error = str(exc)
    preview, preview_error = None, None
    term = filters.clean_text(request.query_params.get("preview"), 60)
    if term:
        try:
            preview = lexicon.preview(session, term, lex_dir)
        except lexicon.LexiconError as exc:
            preview_error = str(exc)
    return render(
        request,
        "lexicon.html",
        user,
        lex=lexicon.overview(lex_dir, q, page),
        q=q or "",
        precision=lexicon.term_precision(session),
        pending=lexicon.pending(session),
        recent=lexicon.recent(session),
        suggested=suggested,
        suggest_error=error,
        preview=preview,
        preview_error=preview_error,
        allow=lexicon.allow_entries(lex_dir),
        job=_job(session, request.query_params.get("job")),
        categories=lexicon.categories(),
        can_approve=user.role in ("lexicon_editor", "admin"),
    )


def _job(session: Session, value: str | None) -> dict[str, Any] | None:
    job_id = filters.parse_id(value)
    if job_id is None:
        return None
    try:
        return lexicon.job_status(session, job_id)
    except lexicon.NotFound:
        return None


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


@router.post("/lexicon/allow")
def lexicon_allow(
    request: Request,
    phrase: str = Form(""),
    note: str = Form(""),
    user: User = Depends(EDITOR),
    session: Session = Depends(db),
) -> Response:
    state = request.app.state
    done = lexicon.add_allow(
        session, user, state.lexicon_dir, phrase, note, state.rescore, state.run_job, state.sessionmaker
    )
    flash(
        request,
        f"已加入放行短语「{done.phrase}」：其中包含的词条在此处不再计为命中（词库版本 {done.lexicon_version}，"
        "待处理案件正在后台重新评分）",
    )
    return redirect("/lexicon")


@router.post("/lexicon/allow/remove")
def lexicon_allow_remove(
    request: Request,
    phrase: str = Form(""),
    user: User = Depends(EDITOR),
    session: Session = Depends(db),
) -> Response:
    state = request.app.state
    done = lexicon.remove_allow(
        session, user, state.lexicon_dir, phrase, state.rescore, state.run_job, state.sessionmaker
    )
    flash(request, f"已移除放行短语「{done.phrase}」（词库版本 {done.lexicon_version}，待处理案件正在后台重新评分）")
    return redirect("/lexicon")


@router.post("/lexicon/proposals/{proposal_id}/{verb}")
async def lexicon_decide(
    request: Request,
    proposal_id: int,
    verb: str,
    user: User = Depends(EDITOR),
    session: Session = Depends(db),
) -> Response:
    """Reject, or approve with the category and weight as edited: the term enters the lexicon now and the open
    cases are rescored in the background (the page shows the progress)."""
    if verb not in {"approve", "reject"}:
        return render(request, "error.html", user, 404, message="无此操作", status=404)
    state = request.app.state
    if verb == "reject":
        result = lexicon.decide_proposal(session, user, proposal_id, False, state.lexicon_dir, state.rescore)
        flash(request, f"提议 #{result.proposal.id}「{result.proposal.term}」已驳回")
        return redirect("/lexicon")
    form = await request.form()
    category = filters.clean_text(str(form.get("category") or ""), 60)
    try:
        weight = float(str(form.get("weight"))) if form.get("weight") not in (None, "") else None
    except ValueError as exc:
        raise lexicon.LexiconError("权重须为 0 到 1 之间的数") from exc
    job = lexicon.start_approval(
        session, user, proposal_id, state.lexicon_dir, state.rescore, state.run_job, state.sessionmaker,
        category, weight,
    )
    flash(request, f"提议 #{proposal_id} 已批准，词库版本 {job.lexicon_version}；正在后台重新评分 {job.total} 份待处理文档")
    return redirect(f"/lexicon?job={job.id}")


# --- dashboard, API listing, audit ---------------------------------------------------------------------------


@router.get("/dashboard")
def dashboard_page(
    request: Request, user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> HTMLResponse:
    """Figures computed once by ``services.dashboard``; ECharts (vendored, same origin) draws them from a JSON
    block the page carries (``application/json``: data, never run)."""
    s = dashboard.stats(session, units=scope.units_of(session, user))
    return render(
        request,
        "dashboard.html",
        user,
        op_warnings=operator_service.dashboard_warnings(session, user),
        s=s,
        data=json_block(s),
    )


def json_block(value: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` block, keys in their order (Jinja's ``tojson`` sorts
    them, which scrambles ordered buckets), with ``<``, ``>`` and ``&`` escaped so nothing can close the block."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


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
    """The append-only audit log, newest first (admins only), each event as a sentence; keyset pages."""
    q = request.query_params
    before = filters.parse_id(q.get("before"))
    events = audit_service.list_events(session, q.get("actor"), q.get("entity"), q.get("entity_id"), 200, before)
    names = units.unit_names(session)
    rows = [(e, history.sentence(e, names), history.action_name(e.action)) for e in events]
    return render(
        request,
        "audit.html",
        user,
        rows=rows,
        q={k: v for k, v in q.items() if k in ("actor", "entity", "entity_id")},
        next_before=events[-1].id if len(events) == 200 else None,
    )


# --- operators (issue 13): the list by risk index, the operator page and its actions -------------------------


@router.get("/operators")
def operators_page(
    request: Request, user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> HTMLResponse:
    f, clean = operator_service.parse_filter(dict(request.query_params))
    page = filters.parse_page(request.query_params.get("page"))
    items, more = operator_service.list_operators(session, user, f, limit=50, offset=(page - 1) * 50)
    return render(
        request,
        "operators.html",
        user,
        items=items,
        more=more,
        page=page,
        filters=clean,
        levels=operator_service.LEVELS,
        units=operator_service.unit_choices(session, user),
        categories=lexicon.categories(),
        sources=list_sources(session),
        thresholds=operator_service.risk_config_of(request.app.state),
        formula=operator_service.FORMULA,
        code=operator_service.operator_code,
        level_class=operator_service.level_class,
    )


@router.get("/operators/{op_id}")
def operator_page(
    request: Request, op_id: int, user: User = Depends(ANY_ROLE), session: Session = Depends(db)
) -> HTMLResponse:
    view = operator_service.operator_view(session, user, op_id)
    return render(
        request,
        "operator.html",
        user,
        v=view,
        code=operator_service.operator_code(view.detail["id"]),
        can_act=user.role in ("inspector", "admin"),
        timeline_chart=operator_service.timeline_chart(view),
        graph_chart=operator_service.graph_chart(view),
        echarts=operator_service.ECHARTS.exists(),
        level_class=operator_service.level_class,
        points_width=operator_service.points_width,
        warning_labels=operator_service.WARNING_LABELS,
        webhook_labels=operator_service.WEBHOOK_LABELS,
        event_labels=operator_service.EVENT_LABELS,
    )


@router.post("/operators/{op_id}/confirm-open")
def operator_confirm_open(
    request: Request,
    op_id: int,
    note: str = Form(""),
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> Response:
    state = request.app.state
    result = operator_service.confirm_open(
        session, user, op_id, note, state.ttl, operator_service.risk_config_of(state)
    )
    flash(request, f"团伙 {operator_service.operator_code(result.operator_id)}：已确认 {len(result.confirmed)} 件")
    for flag_id, why in result.skipped[:10]:
        flash(request, f"跳过案件 #{flag_id}：{why}")
    return redirect(f"/operators/{result.operator_id}")


@router.post("/operators/{op_id}/export")
def operator_export(
    request: Request,
    op_id: int,
    confirm: str = Form(""),
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> Response:
    """The operator's package; only with the confirmation box ticked (the cases become 已移送, for good)."""
    if confirm != "1":
        flash(request, "请先勾选确认：导出后案件将标记为“已移送”")
        return redirect(f"/operators/{op_id}")
    rules = getattr(request.app.state, "rules", None)
    package = operator_service.export_package(
        session, user, op_id, two_person=bool(getattr(rules, "two_person", False))
    )
    return package_response(package)


@router.post("/operators/{op_id}/split")
async def operator_split(
    request: Request, op_id: int, user: User = Depends(INSPECTOR), session: Session = Depends(db)
) -> Response:
    form = await request.form()
    ids = [i for v in form.getlist("document_id") if isinstance(v, str) and (i := filters.parse_id(v))]
    result = operator_service.split(
        session, user, op_id, ids, str(form.get("note") or ""), operator_service.risk_config_of(request.app.state)
    )
    new = operator_service.operator_code(result.new_id)
    flash(request, f"已将 {len(result.moved)} 条广告拆为团伙 {new}（此后重新关联也保持拆分）")
    return redirect(f"/operators/{result.remaining_id}")


@router.post("/operators/{op_id}/merge")
def operator_merge(
    request: Request,
    op_id: int,
    operator_ids: str = Form(""),
    note: str = Form(""),
    user: User = Depends(INSPECTOR),
    session: Session = Depends(db),
) -> Response:
    others = operator_service.parse_ids(operator_ids[:500])
    kept = operator_service.merge(
        session, user, op_id, others, note, operator_service.risk_config_of(request.app.state)
    )
    flash(request, f"已合并为团伙 {operator_service.operator_code(kept)}（此后重新关联也保持合并）")
    return redirect(f"/operators/{kept}")
