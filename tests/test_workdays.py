"""核查期限 in Chinese working days: holidays skipped, make-up workdays counted, Beijing dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

from review.workdays import add_working_days, is_workday, review_deadline


def test_national_day_holiday_and_make_up_workday():
    # 2025: 10-01..10-08 are holidays, Sunday 09-28 and Saturday 10-11 are make-up workdays
    assert is_workday(date(2025, 10, 3)) == (False, True)
    assert is_workday(date(2025, 9, 28)) == (True, True)
    assert is_workday(date(2025, 10, 11)) == (True, True)
    d = add_working_days(date(2025, 9, 26), 3)  # Fri → Sun 09-28 (1), Mon 09-29 (2), Tue 09-30 (3)
    assert d.day == date(2025, 9, 30) and d.complete
    d = add_working_days(date(2025, 9, 30), 15)  # the Golden Week does not count, Saturday 10-11 does
    assert d.day == date(2025, 10, 28) and d.complete  # 10-09, 10-10, 10-11, then three weeks


def test_weekends_only_where_the_table_ends_and_it_says_so():
    d = add_working_days(date(2099, 1, 2), 5)  # Friday
    assert d.day == date(2099, 1, 9) and not d.complete and "仅扣除周末" in d.note


def test_counted_from_the_beijing_date():
    # 2025-09-30 17:00 UTC is already 10-01 in Beijing
    late = review_deadline(datetime(2025, 9, 30, 17, 0, tzinfo=UTC), 1)
    early = review_deadline(datetime(2025, 9, 30, 15, 0, tzinfo=UTC), 1)
    assert early.day == date(2025, 10, 9) and late.day == date(2025, 10, 9)
    assert review_deadline(datetime(2025, 9, 25, 17, 0, tzinfo=UTC), 1).day == date(2025, 9, 28)
