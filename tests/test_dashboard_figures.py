"""The dashboard's SQL figures against the same figures counted in Python from the flags themselves.

PostgreSQL computes the window's series in one ``GROUPING SETS`` pass and SQLite in three ``GROUP BY``s; both must
give what counting the rows one by one gives, including a flag raised at 00:30 北京时间 (still the day before in
UTC) and flags outside the 30-day window.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select, update

from review.services import dashboard
from review.services.lexicon import categories
from review.timefmt import BEIJING, bj_date
from store import units
from store.db import session_scope
from store.models import Flag, Source, utcnow
from tests.review_fixtures import add_case

CASES = [  # region, category, source, status, age in days (or a datetime)
    ("河南省商丘市睢阳区", "pension", "甲", "open", 0),
    ("商丘市梁园区", "pension", "甲", "confirmed", 1),
    ("商丘市梁园区", "crypto", "乙", "dismissed", 1),
    ("永城市", "property", "乙", "escalated", 3),
    ("北京", "coop", None, "referred", 8),
    ("北京", "pension", "甲", "claimed", 9),
    ("商丘市睢阳区", "crypto", "甲", "open", "bj-00:30"),
    ("商丘市睢阳区", "equity", "乙", "open", 40),  # outside the window: not in the series
]


def _load(url: str) -> None:
    with session_scope(url) as s:
        units.sync_units(s, units.load_units_file())
        sources = {name: Source(name=f"站点{name}", kind="html", profile={}) for name in ("甲", "乙")}
        s.add_all(sources.values())
        s.flush()
        now = utcnow()
        today = bj_date(now)
        for i, (region, cat, src, status, age) in enumerate(CASES):
            flag = add_case(s, 900 + i, f"测试广告第{i}条，年化收益{10 + i}%", category=cat, region=region,
                            source=sources[src] if src else None)
            if age == "bj-00:30":
                when = datetime(today.year, today.month, today.day, 0, 30, tzinfo=BEIJING)
            else:
                when = now - timedelta(days=age)
            s.execute(update(Flag).where(Flag.id == flag.id).values(status=status, created_at=when))
        units.reroute_units(s)


def _expected(url: str) -> dict:
    """Count the flags row by row, as the bureau head would by hand."""
    with session_scope(url) as s:
        names = units.unit_names(s)
        src_names = dict(s.execute(select(Source.id, Source.name)).all())
        flags = s.scalars(select(Flag)).all()
        today = bj_date(utcnow())
        start = today - timedelta(days=29)
        by_cat, by_unit, by_src, district_total = Counter(), Counter(), Counter(), Counter()
        for f in flags:
            day = f.created_at.astimezone(BEIJING).date()
            if day < start:
                continue
            key = day.isoformat()
            by_cat[(categories().get(f.category, f.category), key)] += 1
            by_unit[(names.get(f.unit, f.unit) if f.unit else "未分派", key)] += 1
            by_src[(src_names.get(f.source_id) or "未知来源", key)] += 1
            district_total[f.county or f"{f.city}（未细分）" if f.city or f.county else "地区不明"] += 1
        return {"cat": by_cat, "unit": by_unit, "src": by_src, "districts": district_total,
                "units": {f.unit for f in flags}}


def _shown(series: dict[str, list[int]], days: list[str]) -> Counter:
    return Counter({(k, d): n for k, counts in series.items() for d, n in zip(days, counts, strict=True) if n})


def test_dashboard_series_equal_a_count_of_the_rows(db_url):
    _load(db_url)
    want = _expected(db_url)
    with session_scope(db_url) as s:
        got = dashboard.stats(s)
    days = got["days"]
    assert _shown(got["flags_by_category"], days) == want["cat"]
    assert _shown(got["flags_by_unit"], days) == want["unit"]
    assert _shown(got["flags_by_source"], days) == want["src"]
    assert {d["name"]: d["total"] for d in got["districts"]} == dict(want["districts"])
    assert sum(sum(c) for c in got["flags_by_category"].values()) == len(CASES) - 1  # the 40-day-old one is out
    # the 00:30 北京时间 flag is counted today, not yesterday (UTC)
    assert got["flags_by_category"][categories()["crypto"]][-1] == 1
    assert got["escalations_waiting"] == 1 and sum(got["referrals_by_unit"].values()) == 1
    open_ = {d["name"]: d["open"] for d in got["districts"]}
    assert sum(open_.values()) == 4  # open, escalated, claimed, open (00:30) in the window
    assert got["backlog"] == 5  # the backlog is not windowed: the 40-day-old open flag counts


def test_dashboard_scoped_to_a_unit_counts_only_its_flags(db_url):
    _load(db_url)
    with session_scope(db_url) as s:
        got = dashboard.stats(s, units=["sq-suiyang"])
        name = units.unit_names(s)["sq-suiyang"]
    assert list(got["flags_by_unit"]) == [name]
    assert sum(got["flags_by_unit"][name]) == 2  # the window's two 睢阳 flags (the third is 40 days old)
    assert [d["name"] for d in got["districts"]] == ["睢阳区"]
