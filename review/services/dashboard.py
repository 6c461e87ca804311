"""Dashboard figures for a bureau head, aggregated in SQL on the flags' own columns (unit, county, source, times).

Days are calendar days in Beijing (a flag raised at 01:00 北京时间 counts for that day). Every figure is a
``GROUP BY`` over columns of ``flags`` or ``decisions`` (no document is read), so the cost follows the flags raised
in the window (about 120 ms at 40k flags in 30 days, review/README.md), not the documents. An account scoped to
units sees its units' figures.

Figures: new flags per day by category and by unit with the week-on-week change, flags by district (区县), the
confirmation rate per day, open cases near or past their 核查期限, referrals per unit, the median time to decision,
escalations waiting, backlog age and reviewer throughput.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import Date, cast, func, literal_column, select, tuple_
from sqlalchemy.orm import Session

from review.services.lexicon import categories as category_labels
from review.timefmt import BEIJING, aware, bj_date
from review.workdays import REVIEW_WORKING_DAYS, add_working_days, is_workday
from store import units as units_store
from store.models import Decision, Flag, FlagStatus, Source, utcnow

AGE_BUCKETS = [(1, "<1天"), (3, "1-3天"), (7, "3-7天"), (14, "7-14天"), (10**6, "≥14天")]
BACKLOG = (FlagStatus.OPEN.value, FlagStatus.CLAIMED.value, FlagStatus.ESCALATED.value)
DEADLINE_BUCKETS = ("已超期", "3个工作日内到期", "未到期")
NEAR_WORKING_DAYS = 3
TOP_SERIES = 8  # categories / units drawn as their own series; the rest are summed as 其他


def _on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _bj_day(session: Session, column):  # noqa: ANN001, ANN202 - SQL expression
    """The Beijing calendar day of a UTC time column, in SQL (both dialects)."""
    if _on_postgresql(session):
        return cast(func.timezone(literal_column("'Asia/Shanghai'"), column), Date)
    return func.date(column, "+8 hours")


def _day_key(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _scoped(stmt, units: list[str] | None):  # noqa: ANN001, ANN202
    return stmt.where(Flag.unit.in_(units)) if units is not None else stmt


def _series(rows: list[tuple[str, str, int]], day_list: list[str]) -> dict[str, list[int]]:
    """(day, key, n) rows → key → counts per day, the largest TOP_SERIES keys and 其他."""
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for day, key, n in rows:
        per[key][day] += n
    order = sorted(per, key=lambda k: -sum(per[k].values()))
    out = {k: [per[k][d] for d in day_list] for k in order[:TOP_SERIES]}
    rest = order[TOP_SERIES:]
    if rest:
        out["其他"] = [sum(per[k][d] for k in rest) for d in day_list]
    return out


def _week_change(series: dict[str, list[int]]) -> dict[str, dict[str, Any]]:
    """Last 7 days against the 7 before, per series: {this, last, change (fraction, None when last is 0)}."""
    out = {}
    for key, counts in series.items():
        this, last = sum(counts[-7:]), sum(counts[-14:-7])
        out[key] = {"this_week": this, "last_week": last, "change": (this - last) / last if last else None}
    return out


def _deadline_status(found: date, today: date) -> str:
    due = add_working_days(found, REVIEW_WORKING_DAYS).day
    if due < today:
        return DEADLINE_BUCKETS[0]
    left, day = 0, today
    while day < due and left <= NEAR_WORKING_DAYS:
        day += timedelta(days=1)
        if is_workday(day)[0]:
            left += 1
    return DEADLINE_BUCKETS[1] if left <= NEAR_WORKING_DAYS else DEADLINE_BUCKETS[2]


def _deadline_ranges(today: date) -> dict[str, dict[str, str]]:
    """The queue's date filter (入队日期) that holds each deadline bucket: found on or before the day whose
    deadline has passed, and so on (a case's deadline depends only on the day it was found)."""
    day = today
    first: dict[str, date] = {}
    for _ in range(60):  # 15 working days are never more than ~5 weeks, even across 国庆 or 春节
        first.setdefault(_deadline_status(day, today), day)
        day -= timedelta(days=1)
    past, near = first.get(DEADLINE_BUCKETS[0]), first.get(DEADLINE_BUCKETS[1])
    out = {}
    if past:
        out[DEADLINE_BUCKETS[0]] = {"until": past.isoformat()}
    if near:
        out[DEADLINE_BUCKETS[1]] = {"since": (past + timedelta(days=1)).isoformat() if past else "", "until": near.isoformat()}
    out[DEADLINE_BUCKETS[2]] = {"since": ((near or past or today - timedelta(days=60)) + timedelta(days=1)).isoformat()}
    return {k: {a: b for a, b in v.items() if b} for k, v in out.items()}


def _age_ranges(today: date) -> dict[str, dict[str, str]]:
    """The queue's date filter of each backlog age bucket (whole Beijing days)."""
    out, lower = {}, 0
    for limit, label in AGE_BUCKETS:
        rng = {"until": (today - timedelta(days=lower)).isoformat()}
        if limit < 10**5:
            rng["since"] = (today - timedelta(days=limit - 1)).isoformat() if limit > 1 else today.isoformat()
        out[label] = rng
        lower = limit
    return out


WindowCounts = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def _window_counts(session: Session, since: datetime, units: list[str] | None) -> WindowCounts:
    """The window's flags counted three ways: (day, category, unit), (day, source_id), (county, city, status).

    On PostgreSQL one scan with ``GROUPING SETS`` (at 40k flags in the window it halves the dashboard's SQL: each
    separate pass re-reads the window and re-converts every time to Beijing); SQLite has no grouping sets and
    runs the three ``GROUP BY``s.
    """
    day = _bj_day(session, Flag.created_at)
    sets = ((day, Flag.category, Flag.unit), (day, Flag.source_id), (Flag.county, Flag.city, Flag.status))
    if not _on_postgresql(session):
        return tuple(  # type: ignore[return-value]
            [tuple(r) for r in session.execute(
                _scoped(select(*cols, func.count()).where(Flag.created_at >= since), units).group_by(*cols))]
            for cols in sets
        )
    cols = (day, Flag.category, Flag.unit, Flag.source_id, Flag.county, Flag.city, Flag.status)
    which = func.grouping(Flag.source_id, Flag.county)  # bit 1: source_id aggregated away, bit 0: county
    stmt = _scoped(select(*cols, which, func.count()).where(Flag.created_at >= since), units).group_by(
        func.grouping_sets(*(tuple_(*s) for s in sets))
    )
    out: WindowCounts = ([], [], [])
    for d, cat, unit, src, county, city, status, g, n in session.execute(stmt):
        if g == 3:  # (day, category, unit)
            out[0].append((d, cat, unit, n))
        elif g == 1:  # (day, source_id)
            out[1].append((d, src, n))
        else:  # g == 2: (county, city, status)
            out[2].append((county, city, status, n))
    return out


def stats(session: Session, days: int = 30, units: list[str] | None = None) -> dict[str, Any]:
    """Plain numbers (the API returns them; the page draws them with ECharts)."""
    now = utcnow()
    today = bj_date(now)
    start = today - timedelta(days=days - 1)
    day_list = [(start + timedelta(days=i)).isoformat() for i in range(days)]
    since = datetime(start.year, start.month, start.day, tzinfo=BEIJING)
    names = units_store.unit_names(session)
    cat_names = category_labels()

    sources = dict(session.execute(select(Source.id, Source.name)).all())
    per_day, per_source, district_rows = _window_counts(session, since, units)
    by_cat = _series([(_day_key(d), cat_names.get(c, c) if c else "未分类", n) for d, c, _, n in per_day], day_list)
    by_unit = _series([(_day_key(d), names.get(u, u) if u else "未分派", n) for d, _, u, n in per_day], day_list)
    by_src = _series([(_day_key(d), sources.get(s) or "未知来源", n) for d, s, n in per_source], day_list)

    districts: dict[str, dict[str, Any]] = defaultdict(lambda: {"total": 0, "open": 0, "region": None})
    for county, city, status, n in district_rows:
        name = county or (f"{city}（未细分）" if city else "地区不明")
        districts[name]["region"] = county or city  # the queue's region filter for this bar
        districts[name]["total"] += n
        if status in BACKLOG:
            districts[name]["open"] += n
    district_list = sorted(districts.items(), key=lambda kv: -kv[1]["total"])

    dday = _bj_day(session, Decision.created_at)
    dec = select(dday, Decision.action, Decision.reviewer, func.count()).where(Decision.created_at >= since)
    if units is not None:
        dec = dec.join(Flag, Flag.id == Decision.flag_id).where(Flag.unit.in_(units))
    decided: dict[str, Counter[str]] = defaultdict(Counter)
    throughput: Counter[str] = Counter()
    for d, action, reviewer, n in session.execute(dec.group_by(dday, Decision.action, Decision.reviewer)):
        decided[_day_key(d)][action] += n
        throughput[reviewer] += n
    confirms = sum(c["confirm"] for c in decided.values())
    dismisses = sum(c["dismiss"] for c in decided.values())

    ages: Counter[str] = Counter()
    deadlines: Counter[str] = Counter()
    oldest = None
    bday = _bj_day(session, Flag.created_at)
    for d, n in session.execute(
        _scoped(select(bday, func.count()).where(Flag.status.in_(BACKLOG)), units).group_by(bday)
    ):
        found = d if isinstance(d, date) else date.fromisoformat(str(d))
        age_days = (today - found).days + 0.5
        oldest = max(oldest or 0.0, age_days)
        ages[next(label for limit, label in AGE_BUCKETS if age_days < limit)] += n
        deadlines[_deadline_status(found, today)] += n

    referred = session.execute(
        _scoped(
            select(Flag.unit, func.count()).where(Flag.status == FlagStatus.REFERRED.value), units
        ).group_by(Flag.unit)
    ).all()
    escalated = session.execute(
        _scoped(
            select(Flag.unit, func.count(), func.min(Flag.updated_at)).where(
                Flag.status == FlagStatus.ESCALATED.value
            ),
            units,
        ).group_by(Flag.unit)
    ).all()

    return {
        "days": day_list,
        "flags_by_category": by_cat,
        "flags_by_unit": by_unit,
        "flags_by_source": by_src,
        "week_change_by_category": _week_change(by_cat),
        "week_change_by_unit": _week_change(by_unit),
        "districts": [{"name": k, **v} for k, v in district_list],
        "confirmation_rate": confirms / (confirms + dismisses) if confirms + dismisses else None,
        "confirmation_rate_by_day": [_rate(decided.get(d)) for d in day_list],
        "decisions": {"confirm": confirms, "dismiss": dismisses},
        "backlog": sum(ages.values()),
        "backlog_age": {label: ages[label] for _, label in AGE_BUCKETS},
        "backlog_oldest_days": round(oldest, 1) if oldest is not None else None,
        "deadlines": {label: deadlines[label] for label in DEADLINE_BUCKETS},
        "deadline_ranges": _deadline_ranges(today),
        "backlog_ranges": _age_ranges(today),
        "category_codes": {label: code for code, label in cat_names.items()},
        "referrals_by_unit": {names.get(u, u) if u else "未分派": n for u, n in referred},
        "escalations_waiting": sum(n for _, n, _ in escalated),
        "escalations_by_unit": {names.get(u, u) if u else "未分派": n for u, n, _ in escalated},
        "median_hours_to_decision": _median_hours(session, since, units),
        "throughput": dict(throughput.most_common()),
        "unit_codes": {v: k for k, v in names.items()},
        "today": today.isoformat(),
    }


def _median_hours(session: Session, since: datetime, units: list[str] | None) -> float | None:
    """Median hours from entering the queue to a decision (confirm, dismiss, escalate) made in the window."""
    cond = [Decision.created_at >= since, Decision.action.in_(("confirm", "dismiss", "escalate"))]
    base = select().select_from(Decision).join(Flag, Flag.id == Decision.flag_id).where(*cond)
    base = _scoped(base, units)
    if _on_postgresql(session):
        seconds = func.extract("epoch", Decision.created_at - Flag.created_at)
        value = session.scalar(base.add_columns(func.percentile_cont(0.5).within_group(seconds)))
        return round(float(value) / 3600, 1) if value is not None else None
    pairs = session.execute(base.add_columns(Flag.created_at, Decision.created_at)).all()
    hours = [(aware(d) - aware(c)).total_seconds() / 3600 for c, d in pairs]
    return round(median(hours), 1) if hours else None


def _rate(c: Counter[str] | None) -> float | None:
    if not c or not (c["confirm"] + c["dismiss"]):
        return None
    return c["confirm"] / (c["confirm"] + c["dismiss"])
