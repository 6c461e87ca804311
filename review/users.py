"""Accounts: argon2 password hashes, the three roles of the review app, and the one username normalisation.

A username is compared in one form everywhere (creation, login, the login limiter): NFKC, then surrounding
whitespace stripped. NFKC folds full-width letters and ideographic spaces (``ｉｎｓｐ　`` is ``insp``); case is
kept (``Wang`` and ``wang`` are two names), so existing accounts keep their names.
"""

from __future__ import annotations

import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from store import audit
from store.models import User

ROLES = ("inspector", "lexicon_editor", "admin")
ROLE_LABELS = {"inspector": "检查员", "lexicon_editor": "词库编辑", "admin": "管理员"}
MIN_PASSWORD = 8

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the response time the same (no username probing).
_DUMMY_HASH = _hasher.hash("dummy-password-for-timing")


class UserError(ValueError):
    """An account that cannot be created as asked."""


def normalize_username(username: str) -> str:
    """The form in which a username is stored, looked up and rate-limited."""
    return unicodedata.normalize("NFKC", username).strip()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(session: Session, username: str, password: str, role: str, actor: str = "system") -> User:
    """Create an account; raises UserError on a bad role, a short password or a taken name."""
    username = normalize_username(username)
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; expected one of {list(ROLES)}")
    if not username or len(username) > 100:
        raise UserError("username must have 1 to 100 characters")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password must have at least {MIN_PASSWORD} characters")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise UserError(f"user {username!r} exists")
    user = User(username=username, password_hash=hash_password(password), role=role, active=True)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, None, {"username": username, "role": role})
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this password, or None; rehashes when argon2 parameters have changed."""
    user = session.scalar(select(User).where(User.username == normalize_username(username)))
    if user is None or not user.active:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def ensure_user(session: Session, username: str, password: str, role: str, actor: str = "system") -> User:
    """The account, created when missing (the demo's login; an existing account is left as it is)."""
    existing = session.scalar(select(User).where(User.username == normalize_username(username)))
    return existing or create_user(session, username, password, role, actor)


def end_sessions(user: User) -> None:
    """Every session signed for this user so far is refused from now on (logout, password change, deactivation)."""
    user.session_version = (user.session_version or 0) + 1


def set_password(session: Session, user: User, password: str, actor: str) -> None:
    """A new password; ends the user's sessions."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password must have at least {MIN_PASSWORD} characters")
    user.password_hash = hash_password(password)
    end_sessions(user)
    audit.record(session, actor, "user.password", "user", user.id, None, {"username": user.username})


def deactivate(session: Session, user: User, actor: str) -> None:
    """The account can no longer log in, and its open sessions end."""
    user.active = False
    end_sessions(user)
    audit.record(session, actor, "user.deactivate", "user", user.id, {"active": True}, {"active": False})


def has_role(user_role: str, allowed: tuple[str, ...]) -> bool:
    """Admins may do everything; the others only what their role allows."""
    return user_role == "admin" or user_role in allowed
