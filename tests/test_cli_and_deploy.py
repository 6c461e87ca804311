"""The command line and the deployment files agree: every compose service runs a real `adscreen` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from adscreen.cli import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _compose_commands() -> list[tuple[str, list[str]]]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return [
        (name, svc["command"])
        for name, svc in compose["services"].items()
        if isinstance(svc.get("command"), list) and svc["command"][0] == "adscreen"
    ]


def test_compose_runs_the_app_image_for_every_app_service():
    names = {n for n, _ in _compose_commands()}
    assert {"worker", "beat", "crawler", "web", "migrate"} <= names


@pytest.mark.parametrize(("service", "command"), _compose_commands())
def test_compose_service_command_is_a_real_command(service, command):
    # --help is eager, but unknown commands and options still fail while parsing
    result = runner.invoke(app, [*command[1:], "--help"])
    assert result.exit_code == 0, f"{service}: {command} → {result.output}"


def test_unknown_option_is_refused():
    assert runner.invoke(app, ["worker", "--no-such-option", "--help"]).exit_code != 0


def test_score_writes_one_record_per_line_and_reports_bad_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("ADSCREEN_LEXICON_DIR", str(tmp_path / "lex"))
    from adscreen.settings import get_settings

    get_settings.cache_clear()
    inp = tmp_path / "in.jsonl"
    inp.write_text(
        "\n".join(
            [
                json.dumps(
                    {"id": 1, "text": "保本保息，年化收益20%，稳赚不赔，推荐好友再返利"}, ensure_ascii=False
                ),
                json.dumps({"id": 2, "text": "二手自行车转让，九成新，价格面议"}, ensure_ascii=False),
                "{not json",
                json.dumps({"id": 4}),
            ]
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["score", "--in", str(inp), "--out", str(out), "--no-classifier"])
    get_settings.cache_clear()
    assert result.exit_code == 1, result.output  # some records failed: the exit status says so
    assert "2 of 4 records failed" in result.stderr
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in recs] == [1, 2, "line:3", 4]
    pitch, plain, bad_json, no_text = recs
    assert pitch["flag"] is True and pitch["level"] in {"high", "medium"} and pitch["classifier_prob"] is None
    assert any(h["term"] for h in pitch["hits"]) and set(pitch) >= {"id", "score", "level", "flag", "hits"}
    assert plain["flag"] is False and plain["score"] < pitch["score"]
    assert "invalid JSON" in bad_json["error"] and "text" in no_text["error"]


def test_settings_reach_the_library_commands(tmp_path, monkeypatch):
    """The libraries read no environment: adscreen hands ADSCREEN_LEXICON_DIR / ADSCREEN_MODEL_DIR over to them."""
    from adscreen.settings import get_settings
    from classifier import cli as clf_cli

    monkeypatch.setenv("ADSCREEN_LEXICON_DIR", str(tmp_path / "live-lexicon"))
    monkeypatch.setenv("ADSCREEN_MODEL_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    try:
        added = runner.invoke(app, ["keywords", "add", "金蛋蛋计划", "fund_scheme", "0.8", "--actor", "alice"])
        assert added.exit_code == 0, added.output
        assert any((tmp_path / "live-lexicon").iterdir())
        assert clf_cli.model_root() == tmp_path / "models"
        configured = runner.invoke(app, ["keywords", "test", "金蛋蛋计划"])
        other = tmp_path / "explicit"
        explicit = runner.invoke(app, ["keywords", "--lexicon-dir", str(other), "test", "金蛋蛋计划"])
        # the text is echoed once; a matched term adds its row in the hits table
        assert configured.output.count("金蛋蛋计划") > 1 and explicit.output.count("金蛋蛋计划") == 1
    finally:
        get_settings.cache_clear()
