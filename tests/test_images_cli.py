"""``adscreen score-image FILE…`` and ``adscreen score`` records with an ``image``: OCR text, QR payloads and the
verdict per image, hostile files refused with their reason, unreadable ones as error records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adscreen.cli import app
from tests.test_images_check import SVG_WITH_SCRIPT, png_bomb

runner = CliRunner()
POSTERS = Path(__file__).resolve().parents[1] / "demo_site" / "data" / "posters"
PITCH = str(POSTERS / "p10020-jijiying.png")
QR = str(POSTERS / "p10313-kangle.png")
JOBS = str(POSTERS / "p10214-zhaopin.png")


@pytest.fixture
def env(tmp_path, monkeypatch):
    from adscreen.settings import get_settings

    monkeypatch.setenv("ADSCREEN_LEXICON_DIR", str(tmp_path / "lex"))
    monkeypatch.setenv("ADSCREEN_MODEL_DIR", str(tmp_path / "no-models"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_score_image_prints_one_record_per_file(env):
    svg = env / "x.svg"
    svg.write_bytes(SVG_WITH_SCRIPT)
    result = runner.invoke(app, ["score-image", PITCH, QR, JOBS, str(svg), str(env / "missing.png")])
    assert result.exit_code == 1, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert [r["id"] for r in lines] == [PITCH, QR, JOBS, str(svg), str(env / "missing.png")]
    pitch, qr, jobs, bad, missing = lines
    for rec in (pitch, qr, jobs):
        assert {"id", "ocr_text", "qr", "score", "level", "flag", "hits"} <= set(rec)
    assert pitch["flag"] and pitch["level"] == "high" and "保本保息" in pitch["ocr_text"]
    assert pitch["explanation"].startswith("宣传内容仅出现在图片中")
    term = next(h for h in pitch["hits"] if h["matched"] == "保本保息")
    assert term["field"] == "ocr" and pitch["ocr_text"][term["start"] : term["end"]] == "保本保息"
    assert term["image_id"] == PITCH and len(term["boxes"]) == 1 and term["boxes"][0]["line"] == 1
    assert qr["flag"] and qr["qr"] == [{"format": "QR Code", "text": "https://kangle-yanglao.example.cn/join?ref=A88"}]
    assert not jobs["flag"] and "餐厅服务员" in jobs["ocr_text"] and jobs["hits"] == []
    assert bad["image_rejected"]["reason"] == "image_svg" and bad["ocr_text"] == "" and not bad["flag"]
    assert "cannot be read" in missing["error"]
    assert "1 of 5 files failed" in result.stderr


def test_score_accepts_records_with_an_image(env):
    bomb = env / "bomb.png"
    bomb.write_bytes(png_bomb())
    records = [
        {"id": "text+image", "text": "本公司新品上线，具体内容请看下方海报。", "image": PITCH},
        {"id": "image-only", "image": QR},
        {"id": "bomb", "text": "二手自行车转让", "image": str(bomb)},
        {"id": "missing", "text": "x", "image": str(env / "nope.png")},
        {"id": "bad-type", "text": "x", "image": 7},
        {"id": "plain", "text": "二手自行车转让，九成新"},
        {"id": "nothing"},
    ]
    inp, out = env / "in.jsonl", env / "out.jsonl"
    inp.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["score", "--in", str(inp), "--out", str(out), "--no-classifier"])
    assert result.exit_code == 1, result.output
    recs = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert list(recs) == [r["id"] for r in records], "one output line per input line, in order"
    both = recs["text+image"]
    assert both["flag"] and {h["field"] for h in both["hits"]} == {"ocr"} and "年化收益12%" in both["ocr_text"]
    assert recs["image-only"]["flag"] and recs["image-only"]["qr"][0]["text"].startswith("https://kangle")
    assert recs["bomb"]["image_rejected"]["reason"] == "image_too_many_pixels" and recs["bomb"]["score"] == 0.0
    assert "cannot be read" in recs["missing"]["error"]
    assert "'image' must be a file path" in recs["bad-type"]["error"]
    assert "ocr_text" not in recs["plain"] and not recs["plain"]["flag"]
    assert "no 'text'" in recs["nothing"]["error"]
    assert "3 of 7 records failed" in result.stderr
