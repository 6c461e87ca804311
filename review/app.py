"""The FastAPI application: pages, ``/api/v1``, sessions, security headers and error handling."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from keywords import LexiconError
from review import api, pages
from review.deps import CsrfError, Forbidden, NotAuthenticated
from review.highlight import css_class, safe_href
from review.labels import LEVEL_LABELS, QA_LABELS, STATUS_LABELS, rule_label
from review.schemas import UNUSABLE_MESSAGE
from review.security import APP_CSP, COMMON_HEADERS
from review.services.cases import case_text_fields, case_title
from review.services.errors import InvalidInput, NotFound
from review.services.lexicon import default_rescore, thread_runner
from review.services.precedents import segments as precedent_segments
from review.services.referral import NothingToExport
from review.services.workflow import Rules
from review.timefmt import bjt
from review.users import ROLE_LABELS
from store import units
from store.db import sessionmaker_for
from store.queue import QueueError

HERE = Path(__file__).parent
DEFAULT_SECRET = "change-me-in-production"
log = logging.getLogger(__name__)
SESSION_COOKIE = "adscreen_session"
SESSION_MAX_AGE = 8 * 3600
_SURROGATE = re.compile("[\ud800-\udfff]")


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.autoescape = True
    env.filters["bjt"] = bjt  # every time shown: "YYYY-MM-DD HH:MM 北京时间"
    env.filters["safe_href"] = safe_href
    env.filters["css_class"] = css_class
    env.filters["rule_label"] = rule_label
    env.filters["precedent_segments"] = precedent_segments  # explanation text with its cited rows linked
    env.globals.update(
        STATUS_LABELS=STATUS_LABELS,
        LEVEL_LABELS=LEVEL_LABELS,
        QA_LABELS=QA_LABELS,
        ROLE_LABELS=ROLE_LABELS,
        case_title=case_title,
        case_text_fields=case_text_fields,
    )
    return templates


def create_app(
    database_url: str | None = None,
    lexicon_dir: str | Path | None = None,
    trusted_proxies: str | None = None,
    units_file: str | Path | None = None,
    rules: Rules | None = None,
) -> FastAPI:
    """The review app on ``database_url`` (default: settings); ``app.state.rescore`` can be swapped in tests.

    On start the responsible units are loaded from ``units_file`` (default: ``ADSCREEN_UNITS_FILE``, else the
    bundled Shangqiu units) into the database, and flags not yet routed to a unit are routed.
    """
    from adscreen.settings import get_settings

    settings = get_settings()
    if trusted_proxies is None:
        trusted_proxies = settings.trusted_proxies
    url = database_url or settings.database_url
    if settings.secret_key == DEFAULT_SECRET and not url.startswith("sqlite"):
        log.warning("ADSCREEN_SECRET_KEY is the default: session cookies can be forged; set a random secret")
    app = FastAPI(
        title="adscreen 审核台 API",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served behind login at /api/v1/openapi.json
    )
    app.state.sessionmaker = sessionmaker_for(url)
    app.state.secret = settings.secret_key
    app.state.templates = make_templates()
    app.state.ttl = settings.claim_ttl_seconds
    app.state.lexicon_dir = Path(lexicon_dir or settings.lexicon_dir)
    app.state.rescore = default_rescore
    app.state.rules = rules or Rules(settings.referral_two_person, settings.qa_dismiss_share)
    app.state.embedded = settings.embedded
    # how an approval's rescore runs: in a thread (embedded mode scores in-process; with workers it only sends the
    # Celery task, by name); tests swap it for a direct call
    app.state.run_job = thread_runner
    prepare_units(app.state.sessionmaker, units_file or settings.units_file)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # noqa: ANN001, ANN202 - Starlette hook
        response: Response = await call_next(request)
        for name, value in COMMON_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Content-Security-Policy", APP_CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="strict",
        https_only=settings.cookie_secure,
    )
    if trusted_proxies.strip():
        # outermost, so that everything inside (login limits, audit) sees the client behind the proxy; uvicorn's
        # middleware takes the right-most address in X-Forwarded-For that is not itself a trusted proxy
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted_proxies)

    @app.exception_handler(NotAuthenticated)
    async def _unauthenticated(request: Request, _exc: NotAuthenticated) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "未登录"}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, _exc: Forbidden) -> Response:
        return _error(request, 403, "无权限：您的角色不能执行此操作")

    @app.exception_handler(CsrfError)
    async def _csrf(request: Request, _exc: CsrfError) -> Response:
        return _error(request, 403, "CSRF 校验失败，请刷新页面后重试")

    @app.exception_handler(QueueError)
    async def _queue(request: Request, exc: QueueError) -> Response:
        return _error(request, 409, f"队列操作失败：{exc}")

    @app.exception_handler(LexiconError)
    async def _lexicon(request: Request, exc: LexiconError) -> Response:
        return _error(request, 400, f"词库操作失败：{exc}")

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return _error(request, 404, str(exc) or "不存在")

    @app.exception_handler(InvalidInput)
    async def _invalid(request: Request, exc: InvalidInput) -> Response:
        return _error(request, 400, f"无效输入：{exc}")

    @app.exception_handler(NothingToExport)
    async def _nothing(request: Request, exc: NothingToExport) -> Response:
        return _error(request, 409, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        """FastAPI's 422 body, without echoing the input: a lone surrogate in it could not even be encoded."""
        errors = [
            {
                "loc": [_printable(x) for x in e.get("loc", ())],
                # pydantic refuses a lone surrogate itself ("string_unicode"): say what is wrong, in Chinese
                "msg": UNUSABLE_MESSAGE if e.get("type") == "string_unicode" else _printable(e.get("msg", "")),
                "type": e.get("type", ""),
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    return app


def prepare_units(sessionmaker: Any, units_file: str | Path | None) -> None:
    """Units file → ``units`` table, then the unit, area, categories and search text of every flag not yet routed
    (flags raised before migration 0008, or while the table was empty)."""
    specs = units.load_units_file(units_file)
    with sessionmaker() as session:
        units.sync_units(session, specs)
        units.route_flags(session)
        session.commit()


def _printable(value: Any) -> Any:
    """Lone surrogates replaced (U+FFFD), so that the message can be sent as UTF-8."""
    return _SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/v1/")


def _error(request: Request, status: int, message: str) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=status)
    return request.app.state.templates.TemplateResponse(
        request,
        "error.html",
        {"message": message, "status": status, "user": getattr(request.state, "user", None), "csrf": ""},
        status_code=status,
    )
