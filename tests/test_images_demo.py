"""The demo site's poster ads: rendered files, served as PNG in the detail body, covered by the answer key, and read
back by the OCR with a character error rate within the target (≤ 5 %) and their QR payload decoded."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest
import yaml

from demo_site.content import ads, expected_labels
from demo_site.server import start_in_thread

DATA = Path(__file__).resolve().parents[1] / "demo_site" / "data"
SPECS = yaml.safe_load((DATA / "posters.yaml").read_text(encoding="utf-8"))["posters"]


def test_every_poster_is_rendered_small_and_shown_by_an_ad_of_the_answer_key():
    shown = {name: a for a in ads() for name in a.get("images") or []}
    assert set(shown) == {s["file"] for s in SPECS}
    labels = expected_labels()
    for spec in SPECS:
        path = DATA / "posters" / spec["file"]
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size < 60_000
        assert labels[f"/ad/{shown[spec['file']]['id']}.html"]["expected"] in {"fundraising", "negative"}
    kinds = {(a["expected"], tuple(a.get("disguise") or [])) for a in shown.values()}
    assert ("fundraising", ("image_only",)) in kinds and ("fundraising", ("image_only", "image_qr")) in kinds
    assert {a["subtype"] for a in shown.values() if a["expected"] == "negative"} == {"other_ad"}
    assert sum(1 for s in SPECS if s.get("qr")) == 1


def test_the_detail_page_shows_the_poster_and_the_server_serves_it():
    server, base = start_in_thread("127.0.0.1", 0)
    try:
        ad = next(a for a in ads() if a.get("images"))
        html = urllib.request.urlopen(f"{base}/ad/{ad['id']}.html").read().decode("gbk")
        content = html.split('<div class="content">', 1)[1].split("</div>", 1)[0]
        [src] = re.findall(r'<img src="([^"]+)"', content)
        with urllib.request.urlopen(base + src) as resp:
            assert resp.headers["Content-Type"] == "image/png"
            assert resp.read() == (DATA / "posters" / ad["images"][0]).read_bytes()
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/img/..%2fads.yaml")
        assert err.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_ocr_reads_the_posters_within_the_error_target():
    from bench.bench_images import edit_distance
    from imaging.ocr import process_engine
    from imaging.reading import read_image

    engine = process_engine(2)
    edits = chars = 0
    for spec in SPECS:
        reading = read_image((DATA / "posters" / spec["file"]).read_bytes(), engine)
        known = re.sub(r"\s+", "", "".join(line["text"] for line in spec["lines"]))
        edits += edit_distance(known, re.sub(r"\s+", "", reading.text))
        chars += len(known)
        assert [c.text for c in reading.codes] == ([spec["qr"]] if spec.get("qr") else [])
        assert all(ln.score > 0.8 and len(ln.chars) == len(ln.text) for ln in reading.lines)
    assert edits / chars <= 0.05, f"CER {edits / chars:.3f}"
