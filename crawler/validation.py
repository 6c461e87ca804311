"""Checks on raw bodies before any parsing: size limit and binary (non-text) content."""

from __future__ import annotations

import codecs

TEXT_TYPES = ("text/", "application/json", "application/xhtml", "application/xml", "application/javascript")
MAGIC = (
    b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"%PDF", b"PK\x03\x04", b"\x1f\x8b", b"\x7fELF", b"MZ", b"Rar!",
    b"7z\xbc\xaf", b"RIFF", b"ID3", b"OggS", b"fLaC", b"BZh", b"\xfd7zXZ", b"\x00asm", b"wOFF", b"wOF2",
)  # fmt: skip
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def binary_reason(body: bytes, content_type: str | None) -> str | None:
    """Why the body is not a text document, or ``None`` for text."""
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime and not (mime.startswith(TEXT_TYPES) or mime.endswith(("+json", "+xml"))):
        return f"non-text content type {mime}"
    head = body[:2048]
    if head.startswith(MAGIC):
        return "binary file signature"
    if head.startswith(_UTF16_BOMS):
        return None
    if b"\x00" in head:
        return "NUL bytes in body"
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    if head and controls / len(head) > 0.05:
        return f"{controls} control bytes in the first {len(head)}"
    return None


def size_reason(body: bytes, limit: int) -> str | None:
    if limit and len(body) > limit:
        return f"{len(body)} bytes > limit {limit}"
    return None
