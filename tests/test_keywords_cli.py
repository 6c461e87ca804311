"""CLI sub-commands (mounted by the lead as `adscreen keywords …`)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from keywords.cli import app

runner = CliRunner()


def run(tmp_path, *args):
    res = runner.invoke(app, ["--lexicon-dir", str(tmp_path / "lex"), *args])
    assert res.exit_code == 0, res.output
    return res


def test_match_jsonl(tmp_path):
    inp = tmp_path / "in.jsonl"
    out = tmp_path / "out.jsonl"
    inp.write_text(
        json.dumps({"id": "a", "text": "保本保息，年化15%"}, ensure_ascii=False)
        + "\n"
        + json.dumps({"id": "b", "text": "今天天气不错"}, ensure_ascii=False)
        + "\nnot json\n",
        encoding="utf-8",
    )
    run(tmp_path, "match", "--in", str(inp), "--out", str(out))
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert rows[0]["id"] == "a" and rows[0]["keyword_score"] > 0.5 and rows[0]["hits"]
    assert rows[1]["keyword_score"] == 0.0 and rows[1]["hits"] == []
    assert "error" in rows[2] and rows[2]["id"] is None


def test_test_command_explains(tmp_path):
    res = run(tmp_path, "test", "穩賺不賠，年化15%")
    assert "稳赚不赔" in res.output and "得分" in res.output


def test_add_remove_export_import(tmp_path):
    run(tmp_path, "add", "金蛋蛋计划", "fund_scheme", "0.8", "--actor", "alice", "--reason", "new")
    res = run(tmp_path, "test", "金蛋蛋计划")
    assert "金蛋蛋计划" in res.output
    csv_path = tmp_path / "lex.csv"
    run(tmp_path, "export", str(csv_path))
    assert "金蛋蛋计划" in csv_path.read_text(encoding="utf-8")
    run(tmp_path, "remove", "金蛋蛋计划", "--actor", "bob", "--reason", "dup")
    run(tmp_path, "import", str(csv_path), "--actor", "carol")
    hist = run(tmp_path, "history").output
    assert "carol" in hist and "bob" in hist


def test_bad_category_is_an_error(tmp_path):
    res = runner.invoke(
        app, ["--lexicon-dir", str(tmp_path / "lex"), "add", "x词", "nope", "0.5", "--actor", "a"]
    )
    assert res.exit_code == 1 and "unknown category" in res.output


def test_allow_add_list_remove(tmp_path):
    text = "保本保息理财风险提示"
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text(json.dumps({"id": "a", "text": text}, ensure_ascii=False) + "\n", encoding="utf-8")

    def positive_terms() -> set[str]:
        run(tmp_path, "match", "--in", str(inp), "--out", str(out))
        (row,) = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
        return {h["term"] for h in row["hits"] if not h["counter"]}

    assert "保本保息" in positive_terms()  # the blocked term counts before the phrase is allowed
    res = run(tmp_path, "allow", "add", text, "--note", "银行的风险提示", "--actor", "alice", "--reason", "harmless")
    assert "version v2" in res.output
    listed = run(tmp_path, "allow", "list").output
    flat = "".join(listed.split())
    assert text in flat and "银行的风险提示" in flat and "v2" in flat
    assert "保本保息" not in positive_terms()
    lex_dir = str(tmp_path / "lex")
    again = runner.invoke(app, ["--lexicon-dir", lex_dir, "allow", "add", "保本保息理財風險提示", "--actor", "bob"])
    assert again.exit_code == 1 and "alreadylisted" in "".join(again.output.split())  # rich may wrap lines
    run(tmp_path, "allow", "remove", text, "--actor", "carol", "--reason", "done")
    assert text not in run(tmp_path, "allow", "list").output
    assert "保本保息" in positive_terms()
    hist = run(tmp_path, "history").output
    assert "allow_add" in hist and "allow_remove" in hist and "carol" in hist
    missing = runner.invoke(app, ["--lexicon-dir", lex_dir, "allow", "remove", "没有", "--actor", "a"])
    assert missing.exit_code == 1 and "cannotremove" in "".join(missing.output.split())


def test_upgrade_lists_then_adds_the_bundled_terms_the_store_lacks(tmp_path, monkeypatch):
    from keywords.lexicon import Lexicon, Term

    run(tmp_path, "history")  # seeds the store from the bundled lexicon
    original = Lexicon.bundled
    newer = Lexicon.from_terms([*original(), Term("售后包租十年", "property", 0.7, provenance="bundled later")], "seed-2")
    monkeypatch.setattr(Lexicon, "bundled", classmethod(lambda cls: newer))
    listed = run(tmp_path, "upgrade")
    assert "售后包租十年" in listed.output and "--apply" in listed.output
    refused = runner.invoke(app, ["--lexicon-dir", str(tmp_path / "lex"), "upgrade", "--apply"])
    assert refused.exit_code == 1 and "--actor" in refused.output  # keywords CLI: errors exit 1
    done = run(tmp_path, "upgrade", "--apply", "--actor", "ops")
    assert "added 1 bundled terms" in done.output
    again = run(tmp_path, "upgrade")
    assert "售后包租十年" not in again.output and "0 条" in again.output
