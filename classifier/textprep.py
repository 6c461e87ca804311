"""Text preparation shared by training, evaluation and inference.

The SMS spam rows of the corpus had every ASCII digit replaced by ``x`` while ham rows kept theirs, so a model
fed raw digits learns "x means ad". Every text the classifier sees goes through :func:`prepare` -- the one place
where digits are masked -- so crawled text looks like the training data.
"""

from __future__ import annotations

import re

# ASCII and full-width digits (the tokenizer's NFKC would turn "２０" back into "20").
_DIGITS = re.compile(r"[0-9０-９]")
_SPACES = re.compile(r"\s+")


def mask_digits(text: str) -> str:
    """Replace every ASCII / full-width digit by ``x`` (as in the SMS spam rows)."""
    return _DIGITS.sub("x", text)


def prepare(text: str | None) -> str:
    """Normalise one input text: ``None`` -> empty, collapse whitespace, mask digits."""
    if not text:
        return ""
    return mask_digits(_SPACES.sub(" ", str(text)).strip())
