"""OCR throughput, character error rate and memory of an images worker (issue 14).

    .venv/bin/python bench/bench_images.py [--threads 2] [--rounds 3] [--no-classifier]

- images/s: the demo site's posters read end to end (check, decode, OCR, QR) ``rounds`` times, on ``threads``
  ONNX Runtime threads (the 2 cores of the dev machine);
- CER: edit distance between what OCR read and the posters' known text (``demo_site/data/posters.yaml``), spaces
  ignored (the recogniser drops most of them), over all characters; target ≤ 5 %;
- CER degraded: the same posters rotated 2°, shrunk to 60 % and saved as JPEG quality 40 (a phone photo of a flyer);
- RSS: the process as an ``images`` worker holds it: the scorer (lexicon and, if trained, the classifier) plus the
  OCR engine, after reading; peak (VmHWM) and current (VmRSS); target ≤ 1.5 GB.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import time
from pathlib import Path

import yaml
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

POSTERS = ROOT / "demo_site" / "data"


def _mem() -> dict[str, float]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            key, value = line.split(":", 1)
            out[key] = int(value.split()[0]) / 1024  # MiB
    return out


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-classifier", action="store_true")
    args = parser.parse_args()

    from adscreen.settings import get_settings
    from imaging.ocr import OcrEngine
    from imaging.reading import read_image
    from scoring.engine import build_scorer

    specs = yaml.safe_load((POSTERS / "posters.yaml").read_text(encoding="utf-8"))["posters"]
    data = {s["file"]: (POSTERS / "posters" / s["file"]).read_bytes() for s in specs}
    base = _mem()
    settings = get_settings()
    scorer = build_scorer(settings, use_classifier=not args.no_classifier)
    after_scorer = _mem()
    started = time.perf_counter()
    engine = OcrEngine(threads=args.threads)
    read_image(next(iter(data.values())), engine)  # the models load on the first image
    load_s = time.perf_counter() - started
    after_engine = _mem()

    edits = chars = 0
    per_poster = []
    times = []
    for r in range(args.rounds):
        for spec in specs:
            t = time.perf_counter()
            reading = read_image(data[spec["file"]], engine)
            times.append(time.perf_counter() - t)
            if r == 0:
                known = _squash("".join(line["text"] for line in spec["lines"]))
                got = _squash(reading.text)
                d = edit_distance(known, got)
                edits += d
                chars += len(known)
                per_poster.append({"file": spec["file"], "chars": len(known), "edits": d,
                                   "qr": [c.text for c in reading.codes], "expected_qr": spec.get("qr")})  # fmt: skip
    total = sum(times)
    # the same posters as a phone photo of a flyer might send them: rotated 2°, shrunk to 60 %, JPEG quality 40
    deg_edits = 0
    for spec in specs:
        im = Image.open(io.BytesIO(data[spec["file"]])).convert("RGB")
        im = im.rotate(2, expand=True, fillcolor="white").resize((int(im.width * 0.6), int(im.height * 0.6)))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=40)
        got = _squash(read_image(buf.getvalue(), engine).text)
        deg_edits += edit_distance(_squash("".join(line["text"] for line in spec["lines"])), got)
    scorer.score_fields([{"body": "x", "ocr": reading.text}])
    end = _mem()
    result = {
        "threads": args.threads,
        "images": len(times),
        "images_per_s": round(len(times) / total, 2),
        "mean_s": round(total / len(times), 3),
        "engine_load_s": round(load_s, 2),
        "cer": round(edits / chars, 4),
        "cer_degraded": round(deg_edits / chars, 4),
        "edits": edits,
        "chars": chars,
        "qr_ok": all((p["expected_qr"] is None and not p["qr"]) or p["qr"] == [p["expected_qr"]] for p in per_poster),
        "classifier": scorer.classifier is not None,
        "rss_mib": {
            "start": round(base["VmRSS"]),
            "with_scorer": round(after_scorer["VmRSS"]),
            "with_ocr_engine": round(after_engine["VmRSS"]),
            "end": round(end["VmRSS"]),
            "peak": round(end["VmHWM"]),
        },
        "per_poster": per_poster,
    }
    print(json.dumps(result, ensure_ascii=False, indent=1))
    print(
        f"\n{result['images_per_s']} images/s on {args.threads} threads ({result['mean_s']} s each), "
        f"CER {100 * result['cer']:.2f}% over {chars} characters (target ≤ 5%; rotated, shrunk, JPEG-40 copies: "
        f"{100 * result['cer_degraded']:.2f}%), "
        f"RSS with OCR loaded {result['rss_mib']['end']} MiB, peak {result['rss_mib']['peak']} MiB "
        f"(target ≤ 1536 MiB; classifier loaded: {result['classifier']})"
    )


if __name__ == "__main__":
    main()
