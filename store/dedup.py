"""Content hashing and near-duplicate fingerprints: promoters repost the same pitch with small edits.

SimHash is computed with numpy (the crawler saves documents on its hot path) and split into four 16-bit bands that
are indexed columns: two fingerprints within 3 bits always share a band, so a near-duplicate lookup is an indexed
query instead of a scan (within 4 bits ~90 % share one, within 6 bits ~60 %).
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

_SPACE = re.compile(r"\s+")
_DIGIT = re.compile(r"[0-9xX]")
BANDS = 4
NEAR_DUPLICATE_BITS = 6
_BITS = np.arange(64, dtype=np.uint64)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_P = np.uint64(0x100000001B3)


def normalise_for_hash(text: str) -> str:
    """Whitespace and digits carry no identity (phone numbers and dates change between reposts)."""
    return _DIGIT.sub("#", _SPACE.sub("", text))


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise_for_hash(text).encode("utf-8")).hexdigest()


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads the n-gram codes over all 64 bits."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def simhash(text: str, ngram: int = 3) -> str:
    """64-bit SimHash over distinct character n-grams, as 16 hex digits."""
    norm = normalise_for_hash(text)
    if not norm:
        return "0" * 16
    codes = np.frombuffer(norm.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) < ngram:
        codes = np.pad(codes, (0, ngram - len(codes)))
    with np.errstate(over="ignore"):
        grams = codes[: len(codes) - ngram + 1].copy()
        for k in range(1, ngram):
            grams = grams * _P + codes[k : len(codes) - ngram + 1 + k]
        hashes = _mix(np.unique(grams))
    bits = ((hashes[:, None] >> _BITS) & np.uint64(1)).sum(axis=0)
    value = int((bits * 2 > len(hashes)).astype(np.uint64) @ (np.uint64(1) << _BITS))
    return f"{value:016x}"


def bands(fingerprint: str) -> list[int]:
    """The four 16-bit bands of a fingerprint (signed-safe small integers for the indexed columns)."""
    value = int(fingerprint, 16)
    return [(value >> (16 * i)) & 0xFFFF for i in range(BANDS)]


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
