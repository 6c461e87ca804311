"""QR codes and barcodes in a decoded image (zxing-cpp). Payloads are data, never followed or rendered as links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PIL import Image

MAX_PAYLOAD_CHARS = 2000


@dataclass(frozen=True)
class Code:
    format: str
    text: str  # the payload as decoded, cut at MAX_PAYLOAD_CHARS; inert text
    box: tuple[tuple[int, int], ...]  # the symbol's four corners

    @property
    def is_url(self) -> bool:
        return self.text.lower().startswith(("http://", "https://", "weixin://", "alipays://"))

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format, "text": self.text, "box": [list(p) for p in self.box]}


def decode_codes(image: Image.Image) -> list[Code]:
    """Every readable QR code and barcode, in the order zxing-cpp finds them."""
    import zxingcpp

    out: list[Code] = []
    for r in zxingcpp.read_barcodes(image.convert("L")):
        if not getattr(r, "valid", True):
            continue
        text = (r.text or "").replace("\x00", "")[:MAX_PAYLOAD_CHARS]
        pos = r.position
        box = tuple((int(p.x), int(p.y)) for p in (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left))
        out.append(Code(format=str(r.format).rsplit(".", 1)[-1], text=text, box=box))
    return out
