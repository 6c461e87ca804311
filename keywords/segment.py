"""jieba word-boundary check, run only in a small window around short candidate hits.

Why only there: ``jieba.cut`` manages ~3–5k docs/s on 100-character texts, far below the 20k docs/s budget, and it
only decides something for short terms that may be cut out of a longer word (保本 inside 确保/本金).
Forked workers: call :func:`warmup` (or ``keywords.warmup()``) in the parent before forking so that each child
inherits the loaded dictionary instead of loading it again; we never use ``jieba.enable_parallel`` (it forks its own
pool and is incompatible with Celery prefork), and user words go through ``add_word`` on a private Tokenizer rather than
``load_userdict`` on the global one, so nothing else in the process is affected.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from functools import lru_cache

import jieba

jieba.setLogLevel(logging.WARNING)

_LOCK = threading.Lock()
_TOKENIZER: jieba.Tokenizer | None = None
_ADDED: set[str] = set()
WINDOW = 5


def tokenizer() -> jieba.Tokenizer:
    global _TOKENIZER
    if _TOKENIZER is None:
        with _LOCK:
            if _TOKENIZER is None:
                tk = jieba.Tokenizer()
                tk.initialize()
                _TOKENIZER = tk
    return _TOKENIZER


def warmup(words: Iterable[str] = ()) -> None:
    """Load the jieba dictionary now (before fork) and register lexicon phrases as user words."""
    add_words(words)


def add_words(words: Iterable[str]) -> None:
    """Register phrases of ≥3 characters so jieba keeps them whole; shorter ones are already in jieba's dictionary
    and boosting them would glue them wrongly (确保本金 → 确/保本/金)."""
    tk = tokenizer()
    new = [w for w in words if len(w) >= 3 and w not in _ADDED]
    if not new:
        return
    with _LOCK:
        for w in new:
            tk.add_word(w)
            _ADDED.add(w)
        _crosses_cached.cache_clear()


@lru_cache(maxsize=65536)
def _crosses_cached(window: str, start: int, end: int, head_only: bool = False) -> bool:
    pos = 0
    for tok in tokenizer().cut(window, HMM=False):
        a, b = pos, pos + len(tok)
        pos = b
        if a < start < b and b < end:  # token starts before the hit and ends inside it (确保|本金 for 保本)
            return True
        if not head_only and start < a < end < b:  # token starts inside the hit and runs past its end
            return True
    return False


def crosses_word(text: str, start: int, end: int, head_only: bool = False) -> bool:
    """True when jieba segments ``text`` so that a word straddles the boundary of ``text[start:end]``.

    ``head_only``: only a word straddling the start counts. Why: for 返租, 包租, 返本, 退本, 稳赚 jieba cuts the
    real hit in 返租金 / 包租期 / 返本金 / 稳赚钱 as 返|租金, which would drop it; a word glued onto the start
    (往返|租车, 确保|本金) is the case the check exists for.
    """
    lo = max(0, start - WINDOW)
    hi = min(len(text), end + WINDOW)
    return _crosses_cached(text[lo:hi], start - lo, end - lo, head_only)
