"""Shared helpers for building the seed set: corpus loading with holdout exclusion and the dedup key.

Every data-building entry point goes through `load_corpus`, so the holdout IDs can never leak into the project.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
CORPUS_DIR = SHARED / "corpus"
HOLDOUT = SHARED / "holdout_ids.txt"
CORPUS_FILES = ("sms", "iflytek", "thucnews", "tnews", "bdci_entity", "bdci_negative")
SUBTYPES = ("fundraising", "ad_law", "finance_legit", "loan_ad", "warning_news", "other_ad", "normal")
CODES = dict(zip("FALDWON", SUBTYPES, strict=True))

_DIGITS = re.compile(r"[0-9]")
_NOISE = re.compile(r"[\sx0-9年。，,.!！?？:：;；、\"'“”‘’（）()【】\[\]{}<>《》~～—\-_/\\|*#@&%+=…·]+")


def holdout_ids() -> set[str]:
    """IDs reserved for evaluation; an absent file means nothing to exclude (but say so loudly in callers)."""
    if not HOLDOUT.exists():
        return set()
    return {line.strip() for line in HOLDOUT.read_text(encoding="utf-8").splitlines() if line.strip()}


def load_corpus(exclude: set[str] | None = None) -> Iterator[dict]:
    """Yield corpus rows in file order, skipping every holdout ID."""
    excluded = holdout_ids() if exclude is None else exclude
    for name in CORPUS_FILES:
        with (CORPUS_DIR / f"{name}.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                if row["id"] in excluded:
                    continue
                row["corpus"] = name
                yield row


def mask_digits(text: str) -> str:
    """Replace ASCII digits by `x`, as the SMS corpus did to its spam rows (see shared/data/README.md)."""
    return _DIGITS.sub("x", text)


def dup_key(text: str) -> str:
    """Aggressive near-duplicate key: NFKC, lower case, no digits/x masks, whitespace or punctuation.

    It also drops 年 and 。 because BDCI test rows lost them; grouping too much only makes splits safer.
    """
    norm = unicodedata.normalize("NFKC", text).lower()
    return _NOISE.sub("", norm)
