"""``adscreen operators list|show|rebuild|split|merge|stop|warnings`` on a small linked database."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from adscreen.cli import app
from adscreen.settings import get_settings
from store.db import session_scope
from store.documents import DocumentIn, save_document
from store.operators import link_documents

runner = CliRunner()


@pytest.fixture
def linked(sqlite_url, monkeypatch, tmp_path):
    monkeypatch.setenv("ADSCREEN_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("ADSCREEN_LEXICON_DIR", str(tmp_path / "lex"))
    monkeypatch.setenv("ADSCREEN_ACTOR", "cli-inspector")
    get_settings.cache_clear()
    texts = ["保本理财 电话 138 1234 5678", "高息 一三八一二三四五六七八", "养老返本 薇信：lao_wang88 电话13812345678",
             "二手冰箱 139 0000 1111"]  # fmt: skip
    with session_scope(sqlite_url) as s:
        ids = []
        for i, t in enumerate(texts):
            doc, _ = save_document(s, DocumentIn(url=f"http://a/{i}", canonical_url=f"http://a/{i}", text=t, raw=b"x",
                                                 title=t[:6], publisher="王经理"))  # fmt: skip
            ids.append(doc.id)
        link_documents(s, ids)
    yield ids
    get_settings.cache_clear()


def test_list_show_and_rebuild(linked):
    out = runner.invoke(app, ["operators", "list", "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert len(rows) == 1 and rows[0]["documents"] == 3
    assert {"max_score", "sites", "regions", "categories", "confirmed", "first_seen", "points"} <= set(rows[0]["components"])
    op = rows[0]["id"]
    shown = runner.invoke(app, ["operators", "show", str(op)])
    assert shown.exit_code == 0 and "+8613812345678" in shown.stdout and "北京时间" in shown.stdout
    detail = json.loads(runner.invoke(app, ["operators", "show", str(op), "--format", "json"]).stdout)
    assert len(detail["documents_list"]) == 3 and detail["graph"]["edges"]
    assert runner.invoke(app, ["operators", "show", "999"]).exit_code == 1
    rebuilt = runner.invoke(app, ["operators", "rebuild"])
    assert rebuilt.exit_code == 0 and "4 documents" in rebuilt.stdout
    assert json.loads(runner.invoke(app, ["operators", "list", "--format", "json"]).stdout)[0]["id"] == op
    assert runner.invoke(app, ["operators", "list", "--format", "xml"]).exit_code == 2


def test_split_merge_and_stop_with_clear_errors(linked):
    op = json.loads(runner.invoke(app, ["operators", "list", "--format", "json"]).stdout)[0]["id"]
    split = runner.invoke(app, ["operators", "split", str(op), str(linked[2]), "--note", "不同经营者"])
    assert split.exit_code == 0, split.output
    bad = runner.invoke(app, ["operators", "split", str(op), "99999"])
    assert bad.exit_code == 2 and "some, not all" in bad.stdout
    ops = json.loads(runner.invoke(app, ["operators", "list", "--format", "json", "--min-documents", "1"]).stdout)
    other = next(o["id"] for o in ops if o["id"] != op and o["documents"] == 1 and "lao" not in o["name"])
    merged = runner.invoke(app, ["operators", "merge", str(op), str(other)])
    assert merged.exit_code == 0 and "merged into" in merged.stdout
    stop = runner.invoke(app, ["operators", "stop", "客服 138 1234 5678", "--reason", "平台热线"])
    assert stop.exit_code == 0 and "phone:+8613812345678" in stop.stdout
    assert runner.invoke(app, ["operators", "stop", "nothing here"]).exit_code == 2
    assert runner.invoke(app, ["operators", "stop", "x", "--source", "nope"]).exit_code == 2
    warned = runner.invoke(app, ["operators", "warnings", "--deliver"])
    assert warned.exit_code == 2 and "ADSCREEN_WARNING_WEBHOOK_URL" in warned.stdout
