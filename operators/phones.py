"""Phone numbers in any of the forms ads write them: mobile, landline with area code, 400/800 service numbers.

Matching runs on the digit-folded text (full-width and Chinese digits are digits there) and allows one or two
separators between digits (spaces, dashes, dots, brackets), so 138 1234 5678, 138-1234-5678, 一三八一二三四五六七八
and (0370)3286123 are all found. ``phonenumbers`` validates each candidate for region CN; the canonical form is
E.164. Masked numbers (138****1234, 138xxxx1234) are kept as ``phone_partial``: the visible digits with ``*``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

import phonenumbers

MASKS = "*xX?"
# a run of digits and mask characters, with at most two separators between two of them
_RUN = re.compile(r"(?:\+|00)?[0-9*xX?](?:[ \t\-.()_~]{0,2}[0-9*xX?]){6,}")


@lru_cache(maxsize=65536)
def validate(digits: str) -> str | None:
    """E.164 of a valid Chinese number written as national (or +86) digits, else None."""
    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _strip_country(chars: str) -> str:
    """National digits of +86 / 0086 / 86-prefixed numbers (a landline written +86 370 … regains its 0)."""
    for prefix in ("+86", "0086", "86"):
        rest = chars[len(prefix) :]
        if chars.startswith(prefix) and 10 <= len(rest) <= 12 and (prefix != "86" or len(rest) == 11):
            if rest[0] in "1" or rest[:3] in ("400", "800") or rest[0] == "0":
                return rest
            return "0" + rest
    return chars


def _shape(digits: str) -> bool:
    """Lengths a Chinese number can have: 11-digit mobile, 10-digit 400/800, 0 + area code + 7–8 digits."""
    n = len(digits)
    if digits[0] == "1":
        return n == 11 and digits[1] in "3456789"
    if digits[:3] in ("400", "800"):
        return n == 10
    return digits[0] == "0" and 10 <= n <= 12


def _partial(chars: str) -> str | None:
    """A masked mobile or landline: the shape of one, some digits hidden, enough left visible to mean something."""
    masked = "".join("*" if c in MASKS else c for c in chars)
    hidden = masked.count("*")
    visible = len(masked) - hidden
    if hidden < 2 or visible < 5 or not masked[0].isdigit():
        return None
    if masked[0] == "1" and len(masked) == 11 and masked[1] in "3456789":
        return masked
    if masked[:3] in ("400", "800") and len(masked) == 10:
        return masked
    if masked[0] == "0" and 10 <= len(masked) <= 12:
        return masked
    return None


def find(folded: str) -> Iterator[tuple[str, str, int, int]]:
    """(kind, canonical, start, end) in ``folded`` (digit-folded text) for every phone and masked phone."""
    for m in _RUN.finditer(folded):
        start = m.start()
        if start and folded[start - 1].isdigit():
            continue
        yield from _from_run(m.group(), start)


def _from_run(run: str, offset: int) -> Iterator[tuple[str, str, int, int]]:
    chunks = [(c.start(), c.end()) for c in re.finditer(r"[+0-9*xX?]+", run)]
    whole = re.sub(r"[^0-9*xX?+]", "", run).lstrip("+")
    hit = _classify(whole)
    if hit is not None:
        first, last = chunks[0][0], chunks[-1][1]
        yield hit[0], hit[1], offset + first, offset + last
        return
    # too long or not a number as a whole: the longest valid concatenation of consecutive chunks, left to right
    i = 0
    while i < len(chunks):
        best = None
        acc = ""
        for j in range(i, len(chunks)):
            acc += run[chunks[j][0] : chunks[j][1]].lstrip("+")
            if len(acc) > 14:
                break
            hit = _classify(acc)
            if hit is not None:
                best = (j, hit)
        if best is None:
            i += 1
            continue
        j, (kind, value) = best
        yield kind, value, offset + chunks[i][0], offset + chunks[j][1]
        i = j + 1


def _classify(chars: str) -> tuple[str, str] | None:
    if not chars or chars[0] in "xX" or chars[-1] in "xX":  # x at either end belongs to a word, not a mask
        return None
    if any(c in MASKS for c in chars):
        masked = _partial(_strip_country(chars))
        return ("phone_partial", masked) if masked else None
    digits = _strip_country(chars)
    if not _shape(digits):
        return None
    e164 = validate(digits)
    return ("phone", e164) if e164 else None
