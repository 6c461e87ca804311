"""One image's bytes to what the detectors and the evidence need: the check, the OCR lines and the QR payloads."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from imaging.check import ImageCheck, Limits, decode
from imaging.ocr import OcrEngine, OcrLine
from imaging.qr import Code, decode_codes
from imaging.spans import image_text


@dataclass
class ImageReading:
    check: ImageCheck
    lines: list[OcrLine] = field(default_factory=list)
    codes: list[Code] = field(default_factory=list)
    engine: str = ""
    elapsed_ms: int = 0

    @property
    def line_dicts(self) -> list[dict[str, Any]]:
        return [ln.as_dict() for ln in self.lines]

    @property
    def text(self) -> str:
        return image_text(self.line_dicts)


def read_image(
    data: bytes, engine: OcrEngine, limits: Limits = Limits(), declared_type: str | None = None
) -> ImageReading:
    """Check, decode (first frame), OCR and decode codes; a refused image comes back with no lines and no codes."""
    started = time.perf_counter()
    check, image = decode(data, limits, declared_type)
    if image is None:
        return ImageReading(check=check, engine=engine.version)
    lines = engine.read(image)
    codes = decode_codes(image)
    return ImageReading(
        check=check,
        lines=lines,
        codes=codes,
        engine=engine.version,
        elapsed_ms=round((time.perf_counter() - started) * 1000),
    )
