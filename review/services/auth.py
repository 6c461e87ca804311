"""Logging in and out, and what a signed session must hold to be accepted.

The session cookie is signed (itsdangerous) and carries ``uid``, a stamp of the password hash and the user's
``session_version``. Logout, a password change and deactivation bump that version in the database, so a copied
cookie replayed afterwards is refused on the server, not only forgotten by the browser. Bumping it ends every
session of that user, on every device.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from review.security import csrf_matches, login_blocked, new_csrf_token, password_stamp, record_login
from review.services.filters import usable
from review.users import authenticate, end_sessions, normalize_username
from store import audit
from store.models import User

MAX_PASSWORD = 1000


@dataclass
class LoginResult:
    outcome: Literal["ok", "bad_credentials", "blocked"]
    user: User | None = None


def login(session: Session, username: str, password: str, ip: str) -> LoginResult:
    """The one login sequence: limiter, authentication and the attempt's record, all on the normalised name;
    commits."""
    name = normalize_username(username)
    if not usable(name):
        return LoginResult("bad_credentials")  # no account can have this name
    if login_blocked(session, name, ip):
        return LoginResult("blocked")
    bad_password = not usable(password) or len(password) > MAX_PASSWORD  # cannot be any account's
    user = None if bad_password else authenticate(session, name, password)
    record_login(session, name, ip, user is not None)
    if user is not None:
        audit.record(session, user.username, "user.login", "user", user.id)
    session.commit()
    return LoginResult("ok", user) if user is not None else LoginResult("bad_credentials")


def start_session(cookie: MutableMapping[str, Any], user: User, secret: str) -> str:
    """Fill a fresh session for ``user`` (a new CSRF token: no fixation of one handed out before); returns it."""
    cookie.clear()
    token = new_csrf_token()
    cookie.update(
        uid=user.id,
        pw=password_stamp(user.password_hash, secret),
        sv=user.session_version or 0,
        csrf=token,
    )
    return token


def session_user(session: Session, cookie: MutableMapping[str, Any], secret: str) -> User | None:
    """The user a signed session belongs to, or None when it is no longer valid (logged out, password changed,
    deactivated, deleted)."""
    uid = cookie.get("uid")
    if not isinstance(uid, int) or not 0 < uid < 2**31:
        return None
    user = session.get(User, uid)
    if user is None or not user.active:
        return None
    if not csrf_matches(cookie.get("pw"), password_stamp(user.password_hash, secret)):
        return None
    if cookie.get("sv") != (user.session_version or 0):
        return None
    return user


def logout(session: Session, user: User, cookie: MutableMapping[str, Any]) -> None:
    """End this user's sessions on the server (a replayed cookie is refused) and clear this one; commits."""
    end_sessions(user)
    audit.record(session, user.username, "user.logout", "user", user.id)
    session.commit()
    cookie.clear()
