"""Images in ads: untrusted bytes checked (``check``), text read with boxes (``ocr``), QR and barcode payloads
(``qr``), and the ``ocr`` field's blocks and hit boxes (``spans``). A plain library: no Celery, Scrapy or database.

    check, image = imaging.check.decode(data, Limits(max_bytes, max_pixels))   # image is None when refused
    reading = imaging.reading.read_image(data, imaging.ocr.process_engine(threads=2))
"""

from __future__ import annotations

from imaging.check import REASONS, ImageCheck, Limits, check_image, decode, sniff
from imaging.version import OCR_ENGINE

__all__ = ["OCR_ENGINE", "REASONS", "ImageCheck", "Limits", "check_image", "decode", "sniff"]
