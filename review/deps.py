"""Request dependencies: database session, the signed-in user, role checks and CSRF checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from review.security import csrf_matches, new_csrf_token
from review.services.auth import session_user
from review.users import has_role
from store.models import User

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
LOGIN_API = "/api/v1/auth/login"


class NotAuthenticated(Exception):
    """No valid session: pages redirect to the login form, the API answers 401."""


class Forbidden(Exception):
    """Signed in, but the role does not allow this."""


class CsrfError(Exception):
    """A state-changing request without the session's CSRF token (or from another origin)."""


def db(request: Request) -> Iterator[Session]:
    """A session per request; handlers commit what they change, anything else is rolled back."""
    session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = new_csrf_token()
    return token


def current_user(request: Request, session: Session = Depends(db)) -> User:
    """The signed-in user; a session that is no longer valid (logged out, password changed …) is cleared."""
    user = session_user(session, request.session, request.app.state.secret)
    if user is None:
        if "uid" in request.session:  # a session that was valid once; an anonymous one keeps its CSRF token
            request.session.clear()
        raise NotAuthenticated()
    # A plain copy for error pages, which render after the request's session has been rolled back.
    request.state.user = SimpleNamespace(username=user.username, role=user.role)
    return user


def require(*roles: str) -> Callable[..., User]:
    """Dependency factory: the signed-in user when their role is among ``roles`` (admins always pass)."""

    def dependency(user: User = Depends(current_user)) -> User:
        if not has_role(user.role, roles):
            raise Forbidden()
        return user

    return dependency


async def csrf_protect(request: Request) -> None:
    """Every POST/PUT/PATCH/DELETE carries the session's token, in a form field or the X-CSRF-Token header."""
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    if request.url.path == LOGIN_API:
        # No session yet: a JSON body cannot be sent cross-site without a CORS preflight, which is refused.
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise CsrfError()
        return
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if urlsplit(origin).netloc != host:
            raise CsrfError()
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not csrf_matches(request.session.get("csrf"), given):
        raise CsrfError()


def client_ip(request: Request) -> str:
    """The client's address (behind configured proxies: the one they forwarded), for the login limiter."""
    return request.client.host if request.client else "unknown"


ANY_ROLE = require("inspector", "lexicon_editor")
PROPOSER = require("inspector", "lexicon_editor")
INSPECTOR = require("inspector")
EDITOR = require("lexicon_editor")
ADMIN = require()
