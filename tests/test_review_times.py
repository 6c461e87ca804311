"""Every time the review app shows carries its zone: ``YYYY-MM-DD HH:MM 北京时间``; JSON keeps ISO-8601 offsets."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta, timezone

import pytest

from review.app import create_app
from review.timefmt import bj_date, bjt, iso
from store.db import session_scope
from store.models import Flag
from tests.review_fixtures import add_case, login_api, seed

POSTED = datetime(2026, 11, 28, 21, 0, tzinfo=timezone(timedelta(hours=8)))  # 13:00 UTC


pytestmark = pytest.mark.usefixtures("cheap_argon2")


def test_bjt_formats_in_beijing_and_takes_naive_as_utc():
    assert bjt(POSTED) == "2026-11-28 21:00 北京时间"
    assert bjt(datetime(2026, 11, 28, 13, 0, tzinfo=UTC)) == "2026-11-28 21:00 北京时间"
    assert bjt(datetime(2026, 11, 28, 13, 0)) == "2026-11-28 21:00 北京时间"  # naive: UTC
    assert bjt(datetime(2026, 11, 28, 17, 30, tzinfo=UTC)) == "2026-11-29 01:30 北京时间"  # next day in Beijing
    assert bjt("2026-11-28T13:00:00+00:00") == "2026-11-28 21:00 北京时间" and bjt(None) == ""
    assert bj_date(datetime(2026, 11, 28, 17, 30, tzinfo=UTC)).isoformat() == "2026-11-29"
    assert iso(datetime(2026, 11, 28, 13, 0)) == "2026-11-28T13:00:00+00:00"


@pytest.fixture
def env(sqlite_url, tmp_path):
    with session_scope(sqlite_url) as s:
        seed(s)
        fid = add_case(s, 77, "年化收益12%，保本保息", posted_at=POSTED).id
    app = create_app(sqlite_url, lexicon_dir=tmp_path / "lexicon")
    app.state.rescore = lambda: None
    return {"app": app, "url": sqlite_url, "fid": fid}


def test_a_2100_beijing_post_shows_as_2100_beijing_time_on_sqlite(env):
    c = login_api(env["app"], "insp")
    fid = env["fid"]
    html = c.get(f"/cases/{fid}").text
    assert "<tr><th>发布时间</th><td>2026-11-28 21:00 北京时间</td></tr>" in html
    assert "05:00" not in html
    case = c.get(f"/api/v1/cases/{fid}").json()
    assert datetime.fromisoformat(case["document"]["posted_at"].replace("Z", "+00:00")) == POSTED
    assert case["created_at"].endswith(("Z", "+00:00"))  # JSON: ISO-8601 with its offset


def test_every_time_on_the_pages_carries_the_zone(env):
    c = login_api(env["app"], "admin")
    fid = env["fid"]
    c.post(f"/api/v1/cases/{fid}/claim")
    pages = {
        "/queue?status=all": 1,
        f"/cases/{fid}": 3,  # claim expiry, posted, captured (+ history)
        "/audit": 1,
    }
    for path, at_least in pages.items():
        html = c.get(path).text
        assert html.count("北京时间") >= at_least, path
    assert c.post(f"/api/v1/cases/{fid}/decision", json={"action": "confirm"}).status_code == 200
    sheet = c.get(f"/cases/{fid}/evidence").text
    assert "2026-11-28 21:00 北京时间" in sheet and sheet.count("北京时间") >= 5


def test_referral_csv_times_carry_the_zone(env):
    c = login_api(env["app"], "insp")
    fid = env["fid"]
    c.post(f"/api/v1/cases/{fid}/decision", json={"action": "confirm"})
    zf = zipfile.ZipFile(io.BytesIO(c.post("/api/v1/referrals/export", json={"flag_ids": [fid]}).content))
    row = next(csv.DictReader(io.StringIO(zf.read("referrals.csv").decode("utf-8-sig"))))
    assert row["发布时间（北京时间）"] == "2026-11-28 21:00 北京时间"
    for column in ("发现时间（北京时间）", "采集时间（北京时间）", "审核时间（北京时间）"):
        assert row[column].endswith(" 北京时间"), column
    with session_scope(env["url"]) as s:
        assert s.get(Flag, fid).status == "referred"
