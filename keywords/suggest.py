"""Term suggestions for the lexicon editor: words and n-grams over-represented in confirmed vs dismissed texts.

Ranking: weighted log-odds with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008), z-scored, so rare
flukes do not outrank steady signals. Texts are normalised first (繁→简, width, inserted symbols), which folds most
evasion variants onto one form; digit masks are dropped. Terms already in the lexicon are skipped.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from . import segment
from .lexicon import Lexicon
from .normalize import normalize, normalize_term

_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_STOP = set("的了是在和有我你他她它们这那就也都而及与或被把让给对从为以于第个")


def _features(text: str, ngram: tuple[int, int]) -> set[str]:
    """Distinct candidate terms of one text: jieba words (≥2 chars) plus character n-grams of Han runs."""
    s = normalize(text).text
    feats: set[str] = set()
    tk = segment.tokenizer()
    for run in _HAN_RUN.findall(s):
        for w in tk.cut(run, HMM=False):
            if len(w) >= 2:
                feats.add(w)
        lo, hi = ngram
        for n in range(lo, hi + 1):
            for i in range(len(run) - n + 1):
                g = run[i : i + n]
                if g[0] in _STOP or g[-1] in _STOP:
                    continue
                feats.add(g)
    return feats


def suggest_terms(
    confirmed: list[str],
    dismissed: list[str],
    lexicon: Lexicon | None = None,
    top_k: int = 50,
    min_count: int = 2,
    ngram: tuple[int, int] = (2, 6),
    prior: float = 0.5,
) -> list[dict]:
    """Return up to ``top_k`` dicts {term, score, confirmed, dismissed, example} for terms typical of ``confirmed``.

    ``score`` is the z-score of the log-odds ratio (≥ 2 is a fairly steady signal). Counts are document frequencies.
    """
    known: set[str] = set()
    if lexicon is not None:
        known = {normalize_term(t.term) for t in lexicon if t.kind == "literal"}
    pos: Counter[str] = Counter()
    neg: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for text in confirmed:
        for f in _features(text, ngram):
            pos[f] += 1
            examples.setdefault(f, text[:80])
    for text in dismissed:
        for f in _features(text, ngram):
            neg[f] += 1
    n_pos, n_neg = max(len(confirmed), 1), max(len(dismissed), 1)
    out = []
    for w, c_pos in pos.items():
        if c_pos < min_count or w in known:
            continue
        c_neg = neg[w]
        # document-level log-odds with a prior proportional to the term's overall rate
        rate = (c_pos + c_neg) / (n_pos + n_neg)
        a = prior * 10 * rate + 0.01
        b = prior * 10 * (1 - rate) + 0.01
        lp = math.log((c_pos + a) / (n_pos - c_pos + b))
        ln = math.log((c_neg + a) / (n_neg - c_neg + b))
        var = 1.0 / (c_pos + a) + 1.0 / (n_pos - c_pos + b) + 1.0 / (c_neg + a) + 1.0 / (n_neg - c_neg + b)
        z = (lp - ln) / math.sqrt(var)
        if z <= 0:
            continue
        out.append(
            {"term": w, "score": round(z, 3), "confirmed": c_pos, "dismissed": c_neg, "example": examples[w]}
        )
    out.sort(key=lambda d: (-d["score"], -len(d["term"])))
    # an n-gram that is a fragment of a known term, or of a longer candidate with about the same support, adds nothing
    known_blob = "\n".join(known)
    terms = {d["term"]: d["confirmed"] for d in out}
    kept: list[dict] = []
    for d in out:
        t = d["term"]
        if t in known_blob:
            continue
        if any(t != o and t in o and c >= 0.8 * d["confirmed"] for o, c in terms.items() if len(o) > len(t)):
            continue
        kept.append(d)
        if len(kept) >= top_k:
            break
    return kept
