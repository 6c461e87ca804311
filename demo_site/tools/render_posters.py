"""Render the demo site's poster ads (``demo_site/data/posters.yaml``) into ``demo_site/data/posters/*.png``.

Run once, by hand, and commit the PNGs (small palette files): the demo and the tests never need a CJK font.

    python demo_site/tools/render_posters.py [--font /usr/share/fonts/truetype/wqy/wqy-microhei.ttc]

The font is Debian's ``fonts-wqy-microhei`` (``fc-list | grep -i wenquanyi``); QR codes are drawn with zxing-cpp's
writer (the same library that decodes them in the worker).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml
from PIL import Image, ImageDraw, ImageFont

DATA = Path(__file__).resolve().parents[1] / "data"
FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


def qr_image(payload: str, scale: int = 6) -> Image.Image:
    import zxingcpp

    code = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode)
    return Image.fromarray(__import__("numpy").array(code.to_image(scale=scale))).convert("RGB")


def render(spec: dict, font_path: str) -> Image.Image:
    width, height = spec["size"]
    im = Image.new("RGB", (width, height), spec.get("background", "white"))
    draw = ImageDraw.Draw(im)
    draw.rectangle([12, 12, width - 13, height - 13], outline="#c8a060", width=4)
    qr = qr_image(spec["qr"]) if spec.get("qr") else None
    text_width = width - (qr.width + 60 if qr else 0)
    y = 48
    for line in spec["lines"]:
        font = ImageFont.truetype(font_path, line["size"])
        w = draw.textlength(line["text"], font=font)
        draw.text(((text_width - w) / 2, y), line["text"], font=font, fill=line.get("color", "black"))
        y += int(line["size"] * 1.7)
    if qr is not None:
        im.paste(qr, (width - qr.width - 40, (height - qr.height) // 2))
    return im


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--font", default=FONT)
    args = parser.parse_args()
    posters = yaml.safe_load((DATA / "posters.yaml").read_text(encoding="utf-8"))["posters"]
    out_dir = DATA / "posters"
    out_dir.mkdir(exist_ok=True)
    for spec in posters:
        im = render(spec, args.font).quantize(colors=48, method=Image.Quantize.MEDIANCUT)
        path = out_dir / spec["file"]
        im.save(path, "PNG", optimize=True)
        print(f"{path.relative_to(DATA.parent.parent)}  {path.stat().st_size:>7} bytes")


if __name__ == "__main__":
    main()
