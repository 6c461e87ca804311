"""The OCR engine's name and version: part of every verdict key that reads the ``ocr`` field (``+ocr:<this>``).

Kept in a module of its own so that the scorer can name it without importing the engine.
"""

OCR_ENGINE = "rapidocr-3.10.0-ppocrv6"
