"""Untrusted image bytes in, a decoded first frame or a refusal with its reason out. Never raises on hostile input.

A crawled "image" is whatever a hostile server chose to send: an HTML page labelled ``image/png``, a 30,000 ×
30,000 PNG that decompresses to gigabytes, an SVG carrying a script, a GIF that is also a JavaScript file, a
truncated download, nothing at all. The rules, in the order they are applied:

- 0 bytes → ``image_empty``; more than ``max_bytes`` → ``image_too_large``;
- SVG (markup, whatever the header says) → ``image_svg``: never rendered, so its scripts never run anywhere;
- the type comes from the magic bytes (PNG, JPEG, GIF, WebP, BMP), never from the ``Content-Type`` header; anything
  else → ``image_not_image``;
- markup, script or an archive inside the bytes, or data after a PNG's end → ``image_polyglot`` (such a file is
  both an image and a page or an archive: kept out of the evidence store, where an inspector's browser could meet it);
- more than ``max_pixels`` (read from the header before anything is decoded; Pillow's decompression-bomb guard is
  kept on as a second net) → ``image_too_many_pixels``;
- a decode that runs out of data → ``image_truncated``; any other decode failure → ``image_undecodable``;
- an animated GIF (or WebP/APNG) is accepted, and only its first frame is decoded.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 25_000_000

REASONS = {
    "image_empty": "0-byte file",
    "image_too_large": "more bytes than the limit",
    "image_svg": "SVG: never rendered",
    "image_not_image": "not an image by its magic bytes",
    "image_polyglot": "image bytes that are also markup, script or an archive",
    "image_too_many_pixels": "more pixels than the limit (decompression bomb)",
    "image_truncated": "the image data ends early",
    "image_undecodable": "the image cannot be decoded",
}

_PNG = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"IEND\xaeB`\x82"
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (_PNG, "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)
_PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP", "image/bmp": "BMP"}
# active content, or a second file format, hidden in the bytes of an image (GIFAR, PNG + HTML, JPEG + JS)
_ACTIVE = re.compile(
    rb"<\s*(?:script|html|body|svg|iframe|object|embed|meta|a\s+href|\?php)\b|javascript:|<!doctype",
    re.IGNORECASE,
)
_ARCHIVES = (b"PK\x03\x04\x14\x00", b"PK\x03\x04\x0a\x00", b"PK\x05\x06", b"%PDF-1.", b"Rar!\x1a\x07")


@dataclass(frozen=True)
class Limits:
    max_bytes: int = MAX_BYTES
    max_pixels: int = MAX_PIXELS


@dataclass
class ImageCheck:
    """The verdict on one image's bytes: accepted (``reason`` is None) or refused with a reason and a detail."""

    sha256: str
    size: int
    reason: str | None = None
    detail: str = ""
    content_type: str | None = None  # by magic bytes
    width: int | None = None
    height: int | None = None
    animated: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.reason is None


def sniff(data: bytes) -> str | None:
    """The image type by magic bytes, or None."""
    for magic, ctype in _MAGIC:
        if data.startswith(magic):
            return ctype
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _is_svg(data: bytes, declared: str | None) -> bool:
    if declared and "svg" in declared.lower():
        return True
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<") and b"<svg" in head


def _polyglot(data: bytes, ctype: str) -> str | None:
    if m := _ACTIVE.search(data):
        return f"markup {m.group()[:20]!r} at byte {m.start()}"
    for marker in _ARCHIVES:
        at = data.find(marker)
        if at > 0:
            return f"archive or document signature {marker[:4]!r} at byte {at}"
    if ctype == "image/png":
        end = data.rfind(_PNG_END)
        if end != -1 and end + len(_PNG_END) < len(data):
            return f"{len(data) - end - len(_PNG_END)} bytes after the PNG's end"
    if ctype == "image/gif":
        end = gif_end(data)
        if end is not None and data[end:].strip(b"\x00\r\n\t "):
            return f"{len(data) - end} bytes after the GIF's trailer"
    return None


def gif_end(data: bytes) -> int | None:
    """The offset just past a GIF's trailer (walking its blocks), or None when the blocks run out first."""
    if len(data) < 13:
        return None
    pos = 13
    if data[10] & 0x80:
        pos += 3 * (2 ** ((data[10] & 0x07) + 1))
    while pos < len(data):
        kind = data[pos]
        if kind == 0x3B:
            return pos + 1
        if kind == 0x21:
            pos += 2
        elif kind == 0x2C:
            if pos + 10 > len(data):
                return None
            flags = data[pos + 9]
            pos += 10
            if flags & 0x80:
                pos += 3 * (2 ** ((flags & 0x07) + 1))
            pos += 1  # LZW minimum code size
        else:
            return None
        while pos < len(data) and data[pos]:  # data sub-blocks, ended by a 0-length one
            pos += data[pos] + 1
        pos += 1
    return None


def _refuse(check: ImageCheck, reason: str, detail: str) -> ImageCheck:
    check.reason, check.detail = reason, detail
    return check


def decode(
    data: bytes, limits: Limits = Limits(), declared_type: str | None = None
) -> tuple[ImageCheck, Image.Image | None]:
    """Check ``data`` and decode its first frame as RGB (transparency on white); the image is None when refused."""
    check = ImageCheck(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    if declared_type:
        check.meta["declared_type"] = declared_type[:100]
    if not data:
        return _refuse(check, "image_empty", "0 bytes"), None
    if len(data) > limits.max_bytes:
        return _refuse(check, "image_too_large", f"{len(data)} bytes; the limit is {limits.max_bytes}"), None
    if _is_svg(data, declared_type):
        return _refuse(check, "image_svg", "SVG is markup that can carry scripts: never rendered"), None
    ctype = sniff(data)
    if ctype is None:
        head = data[:16].hex(" ")
        said = f" (served as {declared_type[:60]})" if declared_type else ""
        return _refuse(check, "image_not_image", f"no image magic bytes{said}; starts {head}"), None
    check.content_type = ctype
    if why := _polyglot(data, ctype):
        return _refuse(check, "image_polyglot", f"{ctype} with {why}"), None
    if ctype == "image/png" and _PNG_END not in data[-64:]:
        return _refuse(check, "image_truncated", "PNG without its IEND chunk"), None
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[ctype]])
            check.width, check.height = im.size
            if check.width * check.height > limits.max_pixels or not (check.width and check.height):
                return _refuse(
                    check, "image_too_many_pixels",
                    f"{check.width}×{check.height} pixels; the limit is {limits.max_pixels}",
                ), None  # fmt: skip
            check.animated = bool(getattr(im, "is_animated", False))
            if check.animated:
                check.meta["frames"] = "first of several"
                im.seek(0)
            im.load()
            return check, _rgb(im)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            return _refuse(check, "image_too_many_pixels", str(exc)[:300]), None
        except (OSError, SyntaxError, ValueError, EOFError, UnidentifiedImageError, MemoryError) as exc:
            text = f"{type(exc).__name__}: {exc}"[:300]
            truncated = "truncated" in text or isinstance(exc, EOFError) or "broken data stream" in text
            return _refuse(check, "image_truncated" if truncated else "image_undecodable", text), None


def check_image(data: bytes, limits: Limits = Limits(), declared_type: str | None = None) -> ImageCheck:
    """``decode`` without keeping the pixels (the crawler's and the store's gate)."""
    return decode(data, limits, declared_type)[0]


def _rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        out = Image.new("RGB", rgba.size, "white")
        out.paste(rgba, mask=rgba.getchannel("A"))
        return out
    return im.convert("RGB") if im.mode != "RGB" else im.copy()
