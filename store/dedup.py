"""Content hashing and near-duplicate fingerprints: promoters repost the same pitch with small edits."""

from __future__ import annotations

import hashlib
import re

_SPACE = re.compile(r"\s+")
_DIGIT = re.compile(r"[0-9xX]")


def normalise_for_hash(text: str) -> str:
    """Whitespace and digits carry no identity (phone numbers and dates change between reposts)."""
    return _DIGIT.sub("#", _SPACE.sub("", text))


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise_for_hash(text).encode("utf-8")).hexdigest()


def simhash(text: str, ngram: int = 3) -> str:
    """64-bit SimHash over character n-grams, as 16 hex digits."""
    norm = normalise_for_hash(text)
    if not norm:
        return "0" * 16
    weights = [0] * 64
    grams = {norm[i : i + ngram] for i in range(max(1, len(norm) - ngram + 1))}
    for gram in grams:
        h = int.from_bytes(hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if h >> bit & 1 else -1
    value = sum(1 << bit for bit in range(64) if weights[bit] > 0)
    return f"{value:016x}"


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
