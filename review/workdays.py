"""The 核查期限: working days in China, with statutory holidays and make-up workdays (调休).

The holiday table comes from the ``chinesecalendar`` package, which ships the State Council's yearly notice
(国务院办公厅关于部分节假日安排的通知, published each November/December for the next year). Update it with
``pip install -U chinesecalendar`` once the notice is out. For a year the installed table does not know yet, only
weekends are skipped, and the deadline says so (``Deadline.complete`` is False), so nobody trusts a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

BEIJING = ZoneInfo("Asia/Shanghai")
REVIEW_WORKING_DAYS = 15


@dataclass(frozen=True)
class Deadline:
    day: date
    complete: bool  # False: some day in the range lies in a year the holiday table does not cover

    @property
    def note(self) -> str:
        if self.complete:
            return "按工作日计算，已扣除法定节假日并计入调休上班日"
        return "部分日期所在年份的法定节假日安排尚未收录，该部分仅扣除周末"


@lru_cache(maxsize=8192)
def is_workday(day: date) -> tuple[bool, bool]:
    """(is a working day, known from the holiday table); cached because ``chinese_calendar`` validates every
    call against its whole table (the dashboard asks ~10k times per view; the answers change only on upgrade)."""
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5, False


@lru_cache(maxsize=4096)
def add_working_days(start: date, days: int) -> Deadline:
    """The day on which ``days`` working days after ``start`` have passed (``start`` itself not counted)."""
    day, left, complete = start, days, True
    while left > 0:
        day += timedelta(days=1)
        working, known = is_workday(day)
        complete = complete and known
        if working:
            left -= 1
    return Deadline(day, complete)


def review_deadline(found_at: datetime, days: int = REVIEW_WORKING_DAYS) -> Deadline:
    """核查期限 of a case found at ``found_at``: counted from its date in Beijing, not in UTC."""
    return add_working_days(found_at.astimezone(BEIJING).date(), days)
