"""``adscreen score`` on hostile input: one output line per input line, valid UTF-8 JSON, the good lines scored."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from adscreen.batch_score import Line, parse_line, score_lines
from adscreen.cli import app

runner = CliRunner()
LIMIT = 500
PITCH = "保本保息，年化收益20%，稳赚不赔，推荐好友再返利"
PLAIN = "二手自行车转让，九成新，价格面议"


def j(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


# (line bytes, expected id, expected: "scored" or a fragment of the error)
CASES: list[tuple[bytes, object, str]] = [
    (j({"id": "good-1", "text": PITCH}), "good-1", "scored"),
    (b'{"id": "sur\\ud800id", "text": "' + PITCH.encode() + b'"}', "sur\ud800id", "lone surrogate"),
    (b'{"id": "sur-text", "text": "\\u5e74\\udc00\\u5316"}', "sur-text", "lone surrogate"),
    (j({"id": "long", "text": "好" * (LIMIT + 1)}), "long", "limit is 500"),
    (j({"id": "at-limit", "text": "好" * LIMIT}), "at-limit", "scored"),
    (b'{"id": "deep", "text": "x", "meta": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "line:6", "nested"),
    (b"[" * 50_000 + b"]" * 50_000, "line:7", "nested"),
    (b"{not json", "line:8", "invalid JSON"),
    (b"[1, 2]", "line:9", "not an object"),
    (b'"just a string"', "line:10", "not an object"),
    (b"null", "line:11", "not an object"),
    (j({"id": 12, "text": 7}), 12, "expected a string"),
    (j({"id": {"a": 1}, "text": "x"}), "line:13", "'id' must be"),
    (j({"id": True, "text": "x"}), "line:14", "'id' must be"),
    (b'{"id": NaN, "text": "x"}', "line:15", "finite"),
    (b'{"id": ' + b"9" * 5000 + b', "text": "x"}', "line:16", "invalid JSON"),
    (j({"id": "seps", "text": f"{PITCH}\u2028第二行\u2029第三段\r"}), "seps", "scored"),
    (b'{"id": "raw-cr", "text": "a\rb"}', "line:18", "invalid JSON"),
    (b'{"id": "bad-utf8", "text": "\xff\xfe"}', "line:19", "not UTF-8"),
    (b"", "line:20", "empty line"),
    (b"   \t", "line:21", "empty line"),
    (j({"id": 22, "text": PLAIN}) + b"\r", 22, "scored"),
    (j({"text": PLAIN}), "line:23", "scored"),
    (j({"id": "no-text"}), "no-text", "no 'text'"),
    (b"x" * (12 * LIMIT + (1 << 20) + 10), "line:25", "line longer than"),
    (j({"id": "last", "text": PITCH}), "last", "scored"),
]


@pytest.fixture
def env(tmp_path, monkeypatch):
    from adscreen.settings import get_settings

    monkeypatch.setenv("ADSCREEN_LEXICON_DIR", str(tmp_path / "lex"))
    monkeypatch.setenv("ADSCREEN_USE_CLASSIFIER", "false")
    monkeypatch.setenv("ADSCREEN_MAX_TEXT_CHARS", str(LIMIT))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_every_hostile_line_yields_one_record_and_good_ones_are_scored(env):
    inp, out = env / "in.jsonl", env / "out.jsonl"
    # a BOM before the first record; the last line has no newline
    inp.write_bytes(b"\xef\xbb\xbf" + b"\n".join(line for line, _, _ in CASES))
    result = runner.invoke(app, ["score", "--in", str(inp), "--out", str(out)])
    raw = out.read_bytes()
    lines = raw.decode("utf-8").split("\n")  # strict: the output is valid UTF-8
    assert lines[-1] == "" and len(lines) - 1 == len(CASES)
    recs = [json.loads(line) for line in lines[:-1]]
    failed = 0
    for number, ((_, rid, expected), rec) in enumerate(zip(CASES, recs, strict=True), start=1):
        assert rec["id"] == rid, rec
        if expected == "scored":
            assert "error" not in rec and isinstance(rec["score"], float) and rec["classifier_prob"] is None, rec
        else:
            failed += 1
            assert expected in rec["error"] and rec["score"] is None and rec["line"] == number, rec
    by_id = {r["id"]: r for r in recs}
    assert by_id["good-1"]["flag"] is True and by_id["last"]["flag"] is True and by_id["seps"]["flag"] is True
    assert by_id[22]["flag"] is False and by_id[22]["score"] < by_id["good-1"]["score"]
    assert b"\\ud800" in raw  # the surrogate id is escaped, and decodes back to the input's id
    assert result.exit_code == 1, result.output
    assert f"{failed} of {len(CASES)} records failed" in result.stderr


def test_all_good_exits_zero_and_splits_on_newline_only(env):
    inp, out = env / "in.jsonl", env / "out.jsonl"
    inp.write_bytes(j({"id": "a", "text": f"{PITCH}\u2028{PLAIN}"}) + b"\n" + j({"id": "b", "text": PLAIN}) + b"\n")
    result = runner.invoke(app, ["score", "--in", str(inp), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["id"] for x in out.read_text(encoding="utf-8").splitlines()] == ["a", "b"]


class _Picky:
    """A scorer that fails on one text, as an unforeseen detector bug would."""

    def score(self, texts):
        from scoring.verdict import Thresholds, combine

        if "boom" in texts:
            raise RuntimeError("detector broke")
        return [combine(None, 0.1, Thresholds()) for _ in texts]


def test_a_record_the_scorer_fails_on_is_an_error_not_an_abort():
    lines = [parse_line(i + 1, j({"id": i, "text": t}), 100, 10_000) for i, t in enumerate(["ok", "boom", "ok2"])]
    lines.append(Line(4, "line:4", error="empty line"))
    recs = score_lines(_Picky(), lines)
    assert [r["id"] for r in recs] == [0, 1, 2, "line:4"]
    assert "error" not in recs[0] and "error" not in recs[2]
    assert recs[1]["error"] == "scoring failed: RuntimeError: detector broke"
