"""The referral package as a clerk opens it: typed XLSX cells, frozen header, autofilter, real snapshot extensions."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook

from review.app import create_app
from store.db import session_scope
from tests.review_fixtures import add_case, login_api, seed

POSTED = datetime(2026, 11, 28, 21, 5, tzinfo=timezone(timedelta(hours=8)))


pytestmark = pytest.mark.usefixtures("cheap_argon2")


@pytest.fixture
def package(sqlite_url, tmp_path):
    with session_scope(sqlite_url) as s:
        seed(s)
        html = add_case(s, 50, "年化收益12%，保本保息", posted_at=POSTED, headers={"content-type": "text/html"}).id
        api = add_case(
            s,
            51,
            "区块链平台币，邀请好友得奖励",
            raw=b'{"items": [{"title": "\xe5\xb9\xb3\xe5\x8f\xb0\xe5\xb8\x81"}]}',
            headers={"content-type": "application/json; charset=utf-8"},
        ).id
        sniffed = add_case(s, 52, "养老公寓，稳赚不赔", raw=b'  [{"a": 1}]').id  # no Content-Type stored
    app = create_app(sqlite_url, lexicon_dir=tmp_path / "lexicon")
    c = login_api(app, "insp")
    for fid in (html, api, sniffed):
        assert c.post(f"/api/v1/cases/{fid}/decision", json={"action": "confirm"}).status_code == 200
    r = c.post("/api/v1/referrals/export", json={"flag_ids": [html, api, sniffed]})
    assert r.status_code == 200
    return zipfile.ZipFile(io.BytesIO(r.content)), {"html": html, "api": api, "sniffed": sniffed}


def _header(ws) -> list[str]:
    return [cell.value for cell in ws[1]]


def test_xlsx_has_typed_cells_a_frozen_header_and_an_autofilter(package):
    zf, ids = package
    ws = load_workbook(io.BytesIO(zf.read("referrals.xlsx"))).active
    header = _header(ws)
    assert "发布时间（北京时间）" in header and "检测器版本" in header
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, len(header)).column_letter}{ws.max_row}"
    col = {name: i + 1 for i, name in enumerate(header)}
    rows = {ws.cell(r, col["案件编号"]).value: r for r in range(2, ws.max_row + 1)}
    assert len(rows) == 3
    r = min(rows.values())  # the first case exported: ids["html"], posted 21:05 Beijing time
    score = ws.cell(r, col["综合评分"])
    assert score.data_type == "n" and isinstance(score.value, float) and 0 < score.value <= 1
    assert isinstance(ws.cell(r, col["模型概率"]).value, float)
    posted = ws.cell(r, col["发布时间（北京时间）"])
    assert posted.is_date and posted.value == datetime(2026, 11, 28, 21, 5)  # Beijing wall time
    assert posted.number_format == "yyyy-mm-dd hh:mm"
    found = ws.cell(r, col["发现时间（北京时间）"])
    assert found.is_date and isinstance(found.value, datetime)
    deadline = ws.cell(r, col["核查期限(15个工作日，已扣除法定节假日)"])
    assert deadline.is_date and deadline.number_format == "yyyy-mm-dd"
    assert deadline.value.date() > found.value.date()
    assert ws.cell(r, col["检测器版本"]).value == "lex:v1+clf:v1"


def test_csv_carries_posting_time_and_detector_versions(package):
    zf, _ = package
    rows = list(csv.DictReader(io.StringIO(zf.read("referrals.csv").decode("utf-8-sig"))))
    assert rows[0]["发布时间（北京时间）"] == "2026-11-28 21:05 北京时间"
    assert {r["检测器版本"] for r in rows} == {"lex:v1+clf:v1"}
    assert date.fromisoformat(rows[0]["核查期限(15个工作日，已扣除法定节假日)"])


def test_snapshots_get_the_extension_of_what_was_captured(package):
    zf, ids = package
    records = {r["flag_id"]: r for r in json.loads(zf.read("referrals.json"))}
    assert records[ids["html"]]["snapshot_file"].endswith(".html")
    assert records[ids["api"]]["snapshot_file"].endswith(".json")
    assert records[ids["sniffed"]]["snapshot_file"].endswith(".json")  # no header: the bytes say JSON
    names = set(zf.namelist())
    manifest = json.loads(zf.read("manifest.json"))
    for rec in records.values():
        assert rec["snapshot_file"] in names and rec["snapshot_file"] in manifest["files"]
        sheet = zf.read(f"cases/{rec['case_id']}.html").decode()
        assert rec["snapshot_file"] in sheet  # the evidence sheet names the file it vouches for
    assert not any(n.endswith(".raw") for n in names)
    assert json.loads(zf.read(records[ids["api"]]["snapshot_file"]))["items"][0]["title"] == "平台币"
