"""Dashboard figures: flags per day by category and source, confirmation rate, backlog age, throughput.

Days are calendar days in Beijing (a flag raised at 01:00 北京时间 counts for that day).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from review.timefmt import aware, bj_date
from store.models import Decision, Document, Flag, FlagStatus, Source, utcnow

AGE_BUCKETS = [(1, "<1天"), (3, "1-3天"), (7, "3-7天"), (14, "7-14天"), (10**6, "≥14天")]
BACKLOG = (FlagStatus.OPEN.value, FlagStatus.CLAIMED.value, FlagStatus.ESCALATED.value)


def stats(session: Session, days: int = 30) -> dict[str, Any]:
    """Plain numbers (the API returns them; the page draws them)."""
    now = utcnow()
    today = bj_date(now)
    start = today - timedelta(days=days - 1)
    day_list = [(start + timedelta(days=i)).isoformat() for i in range(days)]
    since = now - timedelta(days=days)

    by_cat: dict[str, Counter[str]] = defaultdict(Counter)
    by_src: dict[str, Counter[str]] = defaultdict(Counter)
    rows = session.execute(
        select(Flag.created_at, Flag.category, Source.name)
        .join(Document, Document.id == Flag.document_id)
        .outerjoin(Source, Source.id == Document.source_id)
        .where(Flag.created_at >= since)
    )
    for created, category, source in rows:
        day = bj_date(created).isoformat()
        by_cat[category or "未分类"][day] += 1
        by_src[source or "未知来源"][day] += 1

    decided: dict[str, Counter[str]] = defaultdict(Counter)
    throughput: Counter[str] = Counter()
    for created, action, reviewer in session.execute(
        select(Decision.created_at, Decision.action, Decision.reviewer).where(Decision.created_at >= since)
    ):
        decided[bj_date(created).isoformat()][action] += 1
        throughput[reviewer] += 1
    confirms = sum(c["confirm"] for c in decided.values())
    dismisses = sum(c["dismiss"] for c in decided.values())

    ages = Counter()
    oldest = None
    for (created,) in session.execute(select(Flag.created_at).where(Flag.status.in_(BACKLOG))):
        age_days = (now - aware(created)).total_seconds() / 86400
        oldest = max(oldest or 0.0, age_days)
        ages[next(label for limit, label in AGE_BUCKETS if age_days < limit)] += 1

    return {
        "days": day_list,
        "flags_by_category": {k: [v[d] for d in day_list] for k, v in sorted(by_cat.items())},
        "flags_by_source": {k: [v[d] for d in day_list] for k, v in sorted(by_src.items())},
        "confirmation_rate": confirms / (confirms + dismisses) if confirms + dismisses else None,
        "confirmation_rate_by_day": [_rate(decided.get(d)) for d in day_list],
        "decisions": {"confirm": confirms, "dismiss": dismisses},
        "backlog": sum(ages.values()),
        "backlog_age": {label: ages[label] for _, label in AGE_BUCKETS},
        "backlog_oldest_days": round(oldest, 1) if oldest is not None else None,
        "throughput": dict(throughput.most_common()),
        "today": today.isoformat(),
    }


def _rate(c: Counter[str] | None) -> float | None:
    if not c or not (c["confirm"] + c["dismiss"]):
        return None
    return c["confirm"] / (c["confirm"] + c["dismiss"])
