"""Accounts: argon2 password hashes and the three roles of the review app."""

from __future__ import annotations

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


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(session: Session, username: str, password: str, role: str, actor: str = "system") -> User:
    """Create an account; raises UserError on a bad role, a short password or a taken name."""
    username = username.strip()
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
    user = session.scalar(select(User).where(User.username == username.strip()))
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


def has_role(user_role: str, allowed: tuple[str, ...]) -> bool:
    """Admins may do everything; the others only what their role allows."""
    return user_role == "admin" or user_role in allowed
