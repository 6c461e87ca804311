"""CSRF tokens, login rate limiting and the security headers of every response.

Crawled pages are hostile: the app's own pages forbid inline scripts and outside loads (CSP), and the raw
snapshot is served under a CSP that forbids everything but inline styles and data: images, inside a sandbox.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from review.users import normalize_username
from store.models import LoginAttempt, utcnow

LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_IP = 20

APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# The raw snapshot: nothing runs, nothing loads from outside, a unique origin even when opened top-level.
SNAPSHOT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; frame-ancestors 'self'"
EVIDENCE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"

COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def password_stamp(password_hash: str, secret: str) -> str:
    """Kept in the session so that a password change ends every session, without putting hash bytes in a cookie."""
    return hmac.new(secret.encode(), password_hash.encode(), "sha256").hexdigest()[:24]


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def login_blocked(session: Session, username: str, ip: str) -> bool:
    """Too many recent failures for this account (by its normalised name, as authentication looks it up) or from
    this address."""
    since = utcnow() - LOGIN_WINDOW
    failures = select(func.count()).where(LoginAttempt.success.is_(False), LoginAttempt.at >= since)
    by_user = session.scalar(failures.where(LoginAttempt.username == normalize_username(username)[:100])) or 0
    by_ip = session.scalar(failures.where(LoginAttempt.ip == ip[:64])) or 0
    return by_user >= MAX_FAILURES_PER_USER or by_ip >= MAX_FAILURES_PER_IP


def record_login(session: Session, username: str, ip: str, success: bool) -> None:
    session.add(LoginAttempt(username=normalize_username(username)[:100], ip=ip[:64], success=success))
