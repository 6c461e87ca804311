"""Keyword lexicon engine for illegal-fundraising screening: evasion-resistant matching with explanations,
a live versioned lexicon, CSV import/export and term suggestions. A plain library (no celery/scrapy/sqlalchemy).

    store = LexiconStore("var/lexicon"); m = LiveMatcher(store); r = m.match(text)
"""

from __future__ import annotations

from . import categories
from .lexicon import AllowPhrase, Lexicon, LexiconError, Term
from .live import LiveMatcher
from .matcher import FLAG_THRESHOLD, Hit, Matcher, MatchResult, TextRejected
from .store import AllowNotFound, LexiconStore, TermNotFound


def warmup(lexicon: Lexicon | None = None) -> None:
    """Load jieba, the folding and homophone tables (and optionally build a matcher) before forking workers."""
    from . import segment
    from .normalize import fold_table
    from .variants import homophone_table

    fold_table()
    homophone_table()
    segment.warmup()
    if lexicon is not None:
        Matcher(lexicon)


__all__ = [
    "FLAG_THRESHOLD",
    "AllowNotFound",
    "AllowPhrase",
    "Hit",
    "Lexicon",
    "LexiconError",
    "LexiconStore",
    "LiveMatcher",
    "MatchResult",
    "Matcher",
    "Term",
    "TermNotFound",
    "TextRejected",
    "categories",
    "warmup",
]
