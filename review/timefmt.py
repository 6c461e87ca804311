"""The one way the review app shows a time: ``YYYY-MM-DD HH:MM 北京时间``.

Inspectors and the bureau read times in Beijing time, and a time without its zone is not evidence. Stored times
are UTC; a naive datetime (an old SQLite row) is taken as UTC. JSON keeps ISO-8601 with its offset (:func:`iso`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

# China has had no daylight-saving time since 1991: a fixed offset needs no tz database.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
ZONE_LABEL = "北京时间"


def aware(value: datetime | None) -> datetime | None:
    """The same instant with a zone; a naive value is UTC (how the store writes every time)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def beijing(value: datetime | None) -> datetime | None:
    """The instant in Beijing time (aware), for typed spreadsheet cells and date arithmetic."""
    value = aware(value)
    return value.astimezone(BEIJING) if value is not None else None


def bjt(value: datetime | str | None) -> str:
    """``2026-11-28 21:00 北京时间``; empty for no time. The Jinja filter ``bjt`` and every export use it.

    An ISO-8601 string (the lexicon changelog's times) is parsed first; one that does not parse is shown as is.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    local = beijing(value)
    return f"{local:%Y-%m-%d %H:%M} {ZONE_LABEL}" if local is not None else ""


def bj_date(value: datetime | None) -> date | None:
    """The calendar day in Beijing (a post at 01:00+08:00 belongs to that day, not to the UTC day before)."""
    local = beijing(value)
    return local.date() if local is not None else None


def iso(value: datetime | None) -> str | None:
    """ISO-8601 with its offset, for JSON (machines convert; people read :func:`bjt`)."""
    value = aware(value)
    return value.isoformat() if value is not None else None


def age_text(since: datetime | None, now: datetime | None = None) -> str:
    """'3天5小时' style ageing for the queue."""
    if since is None:
        return ""
    seconds = int(((now or datetime.now(UTC)) - aware(since)).total_seconds())
    days, rest = divmod(max(seconds, 0), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{rest // 60}分"
    return f"{rest // 60}分钟"
