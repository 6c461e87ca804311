"""Hostile image bytes: each one refused with its reason (or, for an animated GIF, read on its first frame only),
none raising. The 30,000 × 30,000 PNG bomb is built here, compactly (a 1-bit image: ~110 KB of zlib)."""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from PIL import Image

from imaging.check import Limits, check_image, decode, gif_end, sniff


def png(width: int = 64, height: int = 40, color: str = "white") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


def jpeg(width: int = 64, height: int = 40) -> bytes:
    buf = io.BytesIO()
    im = Image.new("RGB", (width, height), "white")
    for x in range(0, width, 4):  # some detail, so the entropy-coded data is not trivially short
        im.putpixel((x, x % height), (x % 256, 0, 0))
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_bomb(side: int = 30_000) -> bytes:
    """A valid 1-bit grayscale PNG of side × side pixels: every row is a filter byte and side/8 zero bytes."""
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + -(-side // 8))
    comp = zlib.compressobj(9)
    block = row * 1000
    parts = [comp.compress(block) for _ in range(side // 1000)]
    parts.append(comp.compress(row * (side % 1000)))
    parts.append(comp.flush())
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (40, 30), c) for c in ("red", "blue", "green")]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="200" height="80">'
    b"<script>fetch('/steal?c='+document.cookie)</script><text x='5' y='40'>\xe4\xbf\x9d\xe6\x9c\xac</text></svg>"
)


def test_a_plain_png_and_jpeg_pass_with_their_size_and_type():
    for data, ctype in ((png(), "image/png"), (jpeg(), "image/jpeg")):
        check, image = decode(data)
        assert check.ok and check.content_type == ctype
        assert (check.width, check.height) == (64, 40) and image is not None and image.mode == "RGB"


def test_zero_bytes_is_refused():
    assert check_image(b"").reason == "image_empty"


def test_more_bytes_than_the_limit_is_refused_before_decoding():
    check = check_image(png(), Limits(max_bytes=100))
    assert check.reason == "image_too_large" and "limit is 100" in check.detail


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_a_truncated_png_is_refused(cut: float):
    data = png(300, 200, "yellow")
    assert check_image(data[: int(len(data) * cut)]).reason == "image_truncated"


def test_a_truncated_jpeg_is_refused():
    data = jpeg(400, 300)
    check = check_image(data[: len(data) // 2])
    assert check.reason == "image_truncated", check.detail


def test_a_30000_square_png_bomb_is_refused_from_its_header_without_decoding():
    bomb = png_bomb()
    assert len(bomb) < 400_000  # compact: 900 million pixels in a few hundred kilobytes
    started = time.perf_counter()
    check, image = decode(bomb)
    assert image is None and check.reason == "image_too_many_pixels"
    assert time.perf_counter() - started < 2, "refused from the header, not after decompressing"
    # under Pillow's own guard too (our limit is the tighter one): a 6,000 × 6,000 bomb is over 25 megapixels
    assert check_image(png_bomb(6_000)).reason == "image_too_many_pixels"
    assert check_image(png_bomb(6_000), Limits(max_pixels=40_000_000)).ok


def test_the_content_type_comes_from_the_bytes_not_the_header():
    html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
    check = check_image(html, declared_type="image/png")
    assert check.reason == "image_not_image" and "served as image/png" in check.detail
    assert check_image(png(), declared_type="text/html").ok  # a real PNG mislabelled is still a PNG
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"


def test_an_animated_gif_is_read_on_its_first_frame_only():
    data = animated_gif()
    check, image = decode(data)
    assert check.ok and check.animated and check.content_type == "image/gif"
    assert image is not None and image.getpixel((5, 5)) == (255, 0, 0)  # the red first frame, not blue or green


@pytest.mark.parametrize("declared", [None, "image/svg+xml", "image/png"])
def test_svg_with_a_script_is_never_rendered(declared: str | None):
    check, image = decode(SVG_WITH_SCRIPT, declared_type=declared)
    assert image is None and check.reason == "image_svg"
    assert check_image(b"\xef\xbb\xbf  \n<svg><script>x</script></svg>").reason == "image_svg"


@pytest.mark.parametrize(
    "data, what",
    [
        (png() + b"<html><script>alert(document.cookie)</script></html>", "markup"),
        (png() + b"PK\x03\x04\x14\x00\x00\x00\x08\x00payload.jar", "archive"),
        (png() + b"\x00\x01trailing", "after the PNG"),
        (jpeg() + b"<SCRIPT src=//evil.example/x.js></SCRIPT>", "markup"),
        (animated_gif() + b"*/=alert(1);//", "after the GIF"),
        (b"GIF89a" + b"<?php system($_GET['c']); ?>" + animated_gif()[6:], "markup"),
    ],
)
def test_polyglots_are_refused(data: bytes, what: str):
    check = check_image(data)
    assert check.reason == "image_polyglot" and what in check.detail, check.detail


def test_the_gif_walker_finds_the_trailer():
    data = animated_gif()
    assert gif_end(data) == len(data)
    assert gif_end(data[:-5]) is None


def test_garbage_after_a_valid_magic_is_undecodable_not_a_crash():
    for data in (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50 + b"IEND\xaeB`\x82", b"\xff\xd8\xff" + b"\x13" * 200, b"BM" + b"\x00" * 5):
        check = check_image(data)
        assert check.reason in {"image_undecodable", "image_truncated"}, (data[:8], check)


def test_transparent_images_are_flattened_on_white():
    buf = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(buf, "PNG")
    check, image = decode(buf.getvalue())
    assert check.ok and image is not None and image.getpixel((3, 3)) == (255, 255, 255)
