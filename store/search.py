"""Queue search: one folded text per flag (title, body, publisher, contact, URL and the phone numbers' digits),
matched by substring.

Chinese has no word breaks, so the search is a substring match (``LIKE '%…%'``); on PostgreSQL a ``pg_trgm`` GIN
index on ``flag_search.body`` (migration 0008) answers it without reading every row; SQLite scans, which the demo's
size allows. Both sides are folded the same way (NFKC: full-width letters and digits become ASCII; lower case), and
a phone number written ``138-1234 5678`` is also stored as ``13812345678``, so that a fragment of its digits finds
it however the ad spelled it.
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select

from store.models import Flag, FlagSearch

MAX_QUERY = 100
# digit runs with the separators ads put inside phone numbers (spaces, dashes, dots, brackets)
_PHONEISH = re.compile(r"\d(?:[\s\-－—–.·()（）]*\d){5,}")
_NOT_DIGIT = re.compile(r"\D")
_QUERY_DIGITS = re.compile(r"^[\d\s\-－—–.·()（）+]+$")


def fold(text: str | None) -> str:
    """NFKC and lower case: ``１３８`` → ``138``, ``ＡＢ`` → ``ab``."""
    return unicodedata.normalize("NFKC", text or "").lower()


def phone_digits(text: str) -> list[str]:
    """The digit strings of the phone-like runs in ``text`` (separators removed)."""
    return [_NOT_DIGIT.sub("", m.group()) for m in _PHONEISH.finditer(fold(text))]


def search_text(
    title: str | None, body: str | None, publisher: str | None, contact: str | None, url: str | None
) -> str:
    """The one text a flag is searched in (stored in ``flag_search.body``)."""
    parts = [fold(p) for p in (title, body, publisher, contact, url) if p]
    digits = phone_digits("\n".join(p for p in (title, body, contact) if p))
    return "\n".join(parts + ([" ".join(digits)] if digits else []))


def normalize_query(q: str | None) -> str | None:
    """What to look for: folded; a phone fragment (``138-1234``) as its digits; None for nothing usable."""
    q = fold(q).strip()[:MAX_QUERY]
    if not q:
        return None
    if _QUERY_DIGITS.match(q) and sum(c.isdigit() for c in q) >= 3:
        return _NOT_DIGIT.sub("", q)
    return q


def _like_pattern(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_condition(q: str):
    """SQL: the flag's search text contains ``q`` (already normalised)."""
    return Flag.id.in_(select(FlagSearch.flag_id).where(FlagSearch.body.like(_like_pattern(q), escape="\\")))
