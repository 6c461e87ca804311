"""OCR of a decoded image with the PP-OCRv6 models that ship inside the ``rapidocr`` wheel; nothing is downloaded.

The engine is built once per process (``process_engine``): loading the three ONNX models takes about a second and
some 200 MB, which a worker pays once, not per image. Each line comes back with its text, its quadrilateral box
in image pixels, its confidence and, where the recogniser gave them, one box per character (for highlighting a
hit inside a line); otherwise character boxes are interpolated along the line box.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from imaging.version import OCR_ENGINE

Point = tuple[int, int]
Quad = tuple[Point, Point, Point, Point]


@dataclass(frozen=True)
class OcrLine:
    text: str
    box: Quad  # top-left, top-right, bottom-right, bottom-left
    score: float
    chars: tuple[Quad, ...]  # one per character of ``text``

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "box": [list(p) for p in self.box],
            "score": round(self.score, 4),
            "chars": [[list(p) for p in q] for q in self.chars],
        }


def _quad(points: Any) -> Quad:
    pts = [(round(float(p[0])), round(float(p[1]))) for p in points]
    return (pts[0], pts[1], pts[2], pts[3])


def interpolate(box: Quad, n: int) -> tuple[Quad, ...]:
    """``n`` equal character boxes along a line box (the fallback when the recogniser gave none)."""
    if n <= 0:
        return ()
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = box
    out = []
    for i in range(n):
        a, b = i / n, (i + 1) / n
        top_a = (x0 + (x1 - x0) * a, y0 + (y1 - y0) * a)
        top_b = (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b)
        bot_b = (x3 + (x2 - x3) * b, y3 + (y2 - y3) * b)
        bot_a = (x3 + (x2 - x3) * a, y3 + (y2 - y3) * a)
        out.append(_quad((top_a, top_b, bot_b, bot_a)))
    return tuple(out)


def _char_boxes(text: str, box: Quad, words: Any) -> tuple[Quad, ...]:
    """Per-character boxes from the recogniser's pieces when they spell the line exactly, else interpolated."""
    try:
        pieces = [(str(t), _quad(b)) for t, _, b in words if b is not None]
    except (TypeError, ValueError, IndexError):
        pieces = []
    if pieces and "".join(t for t, _ in pieces) == text:
        out: list[Quad] = []
        for piece, quad in pieces:
            out.extend(interpolate(quad, len(piece)))
        return tuple(out)
    return interpolate(box, len(text))


class OcrEngine:
    """RapidOCR with the models bundled in its wheel (paths checked, so a wheel without them fails here, loudly)."""

    version = OCR_ENGINE

    def __init__(self, threads: int | None = None) -> None:
        import rapidocr
        from rapidocr import RapidOCR

        models = Path(rapidocr.__file__).resolve().parent / "models"
        paths = {
            "Det.model_path": models / "PP-OCRv6_det_small.onnx",
            "Rec.model_path": models / "PP-OCRv6_rec_small.onnx",
            "Cls.model_path": models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
        }
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"rapidocr's bundled models are missing ({missing}); reinstall rapidocr==3.10.0")
        params: dict[str, Any] = {k: str(v) for k, v in paths.items()}
        params["Global.log_level"] = "error"
        if threads:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = int(threads)
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        self._engine = RapidOCR(params=params)
        self._lock = threading.Lock()

    def read(self, image: Image.Image) -> list[OcrLine]:
        """The text lines of an RGB image, top to bottom as the detector orders them."""
        with self._lock:  # one inference at a time per engine: its sessions use every thread they were given
            result = self._engine(image, return_word_box=True, return_single_char_box=True)
        txts = getattr(result, "txts", None) or ()
        boxes = getattr(result, "boxes", None)
        if not txts or boxes is None:
            return []
        scores = getattr(result, "scores", None) or (1.0,) * len(txts)
        words = getattr(result, "word_results", None) or ()
        aligned = len(words) == len(txts)
        lines = []
        for i, text in enumerate(txts):
            text = str(text).strip()
            if not text:
                continue
            box = _quad(boxes[i])
            chars = _char_boxes(text, box, words[i] if aligned else ())
            lines.append(OcrLine(text=text, box=box, score=float(scores[i]), chars=chars))
        return lines


_engine: OcrEngine | None = None
_engine_lock = threading.Lock()


def process_engine(threads: int | None = None) -> OcrEngine:
    """This process's engine, built on first use (a worker of the ``images`` queue loads it once)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = OcrEngine(threads)
    return _engine
