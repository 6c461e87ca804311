"""Parsing what a user typed into filters: the queue's query parameters, page numbers, free-text filter values.

Bad values are ignored (and not echoed back), never passed to the database: a NUL character, a lone surrogate or
an id no column can hold would otherwise be a server error instead of an empty result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from review.labels import LEVEL_LABELS
from review.timefmt import BEIJING
from store.models import FlagStatus
from store.queue import QueueFilter

MAX_ID = 2**31 - 1  # INTEGER columns
EARLIEST, LATEST = datetime(1900, 1, 1), datetime(9998, 12, 31)
# what PostgreSQL text and UTF-8 cannot hold: NUL and lone surrogates (JSON "\ud800" decodes to one)
UNUSABLE = re.compile("[\x00\ud800-\udfff]")


def usable(value: str) -> bool:
    """Whether the text can be stored and encoded as it is."""
    return UNUSABLE.search(value) is None


def clean_text(value: str | None, max_len: int = 60) -> str | None:
    """A trimmed filter value, or None when empty or unusable (NUL, lone surrogate)."""
    value = (value or "").strip()[:max_len]
    if not value or not usable(value):
        return None
    return value


def parse_id(value: str | None) -> int | None:
    """A positive id that fits the database's integer columns, or None."""
    value = (value or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def parse_page(value: str | None) -> int:
    """Page number from ``?page=``: 1 for anything unusable."""
    number = parse_id(value)
    return min(number, 100_000) if number else 1


def parse_queue_filter(params: Mapping[str, str]) -> tuple[QueueFilter, dict[str, str]]:
    """Query parameters → QueueFilter plus the accepted values (to fill the form and the API's ``filters``).

    Dates are calendar days in Beijing and both ends are inclusive: ``until=2026-11-30`` takes in that whole day.
    """
    clean: dict[str, str] = {}
    f = QueueFilter(status="open")
    status = params.get("status", "open")
    if status == "all":
        f.status = None
        clean["status"] = "all"
    elif status in {s.value for s in FlagStatus}:
        f.status = status
        clean["status"] = status
    for name in ("level", "category", "region", "unit", "assignee"):
        value = clean_text(params.get(name))
        if value and (name != "level" or value in LEVEL_LABELS):
            setattr(f, name, value)
            clean[name] = value
    q = clean_text(params.get("q"), 100)
    if q:
        f.q = q
        clean["q"] = q
    if params.get("qa") == "pending":
        f.qa_pending = True
        f.status = None
        clean["qa"] = "pending"
    source_id = parse_id(params.get("source_id"))
    if source_id is not None:
        f.source_id = source_id
        clean["source_id"] = str(source_id)
    for name in ("since", "until"):  # calendar days in Beijing, as the queue shows its times
        try:
            day = datetime.strptime(params.get(name, ""), "%Y-%m-%d")
        except ValueError:
            continue
        # clamped: 0001-01-01 in Beijing is before the first instant a datetime can hold in UTC
        day = min(max(day, EARLIEST), LATEST)
        if name == "until":
            day += timedelta(days=1)  # inclusive: up to the end of that Beijing day
        setattr(f, name, day.replace(tzinfo=BEIJING))
        clean[name] = params[name]
    return f, clean


FILTER_KEYS = ("status", "level", "category", "region", "unit", "assignee", "q", "qa", "source_id", "since", "until")
