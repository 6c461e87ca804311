"""How far a lexicon can go on the seed set: recall on ``fundraising`` at ≤10 % hard-negative flags, for the shipped
lexicon and for learned text models of growing density, all trained on the seed TRAIN split only.

Why: issue 3 asks the lexicon for recall ≥ 0.85 while flagging ≤ 10 % of finance_legit + warning_news + loan_ad.
The shipped lexicon sits near 0.8. This script answers whether that is a lexicon that needs more terms or a
target that needs a statistical model: it fits, on train, (a) a weighted bag of jieba words (every word a lexicon
term, signed weights), (b) an L1-sparse set of character 2–3-grams on top of the lexicon's own per-category
evidence (what "mine a few hundred more terms" could reach at best), and (c) a dense tf-idf model over all
character 1–3-grams (≈200k features: a classifier, not a lexicon), and reports each at the issue's operating point on
dev and test. Each row's threshold is set on that split's own hard negatives (the issue's definition); for the
shipped lexicon the fixed 0.5 operating point is reported too.

    .venv/bin/python -m tools.keywords_eval.ceiling
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from keywords import FLAG_THRESHOLD, Lexicon, Matcher, segment
from keywords.categories import CATEGORIES
from keywords.normalize import normalize
from tools.keywords_eval.evaluate import HARD_NEG, SEED, load

HARD_FP = 0.10
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


def recall_at(scores: Sequence[float], rows: list[dict], max_fp: float = HARD_FP) -> tuple[float, float]:
    """Recall on fundraising with the threshold that flags at most ``max_fp`` of the hard negatives; and that
    threshold's realised hard-negative rate."""
    pos = [s for s, r in zip(scores, rows, strict=True) if r["subtype"] == "fundraising"]
    neg = sorted((s for s, r in zip(scores, rows, strict=True) if r["subtype"] in HARD_NEG), reverse=True)
    k = int(max_fp * len(neg))
    thr = neg[k] if k < len(neg) else -np.inf
    return sum(p > thr for p in pos) / len(pos), sum(n > thr for n in neg) / len(neg)


def _words(text: str) -> list[str]:
    tk = segment.tokenizer()
    return [
        w for run in _HAN_RUN.findall(normalize(text).text) for w in tk.cut(run, HMM=False) if len(w) >= 2
    ]


def _lexicon_features(matcher: Matcher) -> Callable[[str], np.ndarray]:
    cats = sorted(CATEGORIES)
    where = {c: i for i, c in enumerate(cats)}

    def feats(text: str) -> np.ndarray:
        r = matcher.match(text)
        f = np.zeros(len(cats) + 1)
        for h in r.hits:
            i = where[h.category]
            f[i] = max(f[i], h.weight)
        s = min(max(r.score, 1e-4), 1 - 1e-4)
        f[-1] = np.log(s / (1 - s))
        return f

    return feats


def main() -> None:
    rows = load(SEED)
    split = {s: [r for r in rows if r["split"] == s] for s in ("train", "dev", "test")}
    train = split["train"]
    y = np.array([r["subtype"] == "fundraising" for r in train])
    texts = {s: [r["text"] for r in rs] for s, rs in split.items()}
    matcher = Matcher(Lexicon.bundled())
    report: list[tuple[str, str, dict[str, tuple[float, float]]]] = []

    scores = {s: [matcher.match(t).score for t in texts[s]] for s in ("dev", "test")}
    fixed = {}
    for s in ("dev", "test"):
        flags = [x >= FLAG_THRESHOLD for x in scores[s]]
        fixed[s] = (
            float(
                np.mean([f for f, r in zip(flags, split[s], strict=True) if r["subtype"] == "fundraising"])
            ),
            float(np.mean([f for f, r in zip(flags, split[s], strict=True) if r["subtype"] in HARD_NEG])),
        )
    report.append(("shipped lexicon, score ≥ 0.5", f"{len(matcher.lexicon)} entries", fixed))
    report.append(
        (
            "shipped lexicon, threshold at 10 %",
            f"{len(matcher.lexicon)} entries",
            {s: recall_at(scores[s], split[s]) for s in scores},
        )
    )

    def fit(name: str, size: Callable[[LogisticRegression], str], x: dict, **kw: object) -> None:
        clf = LogisticRegression(max_iter=5000, class_weight="balanced", **kw).fit(x["train"], y)
        res = {s: recall_at(clf.decision_function(x[s]).tolist(), split[s]) for s in ("dev", "test")}
        report.append((name, size(clf), res))

    # (a) every jieba word a signed-weight term
    cv = CountVectorizer(analyzer=lambda ws: ws, binary=True, min_df=3)
    words = {s: [_words(t) for t in texts[s]] for s in split}
    xw = {"train": cv.fit_transform(words["train"])} | {s: cv.transform(words[s]) for s in ("dev", "test")}
    fit("jieba words, signed weights (L2)", lambda c: f"{c.coef_.shape[1]} words", xw, C=0.3)

    # (b) the lexicon's evidence plus an L1-sparse set of mined character 2–3-grams
    lf = _lexicon_features(matcher)
    lex = {s: sp.csr_matrix(np.array([lf(t) for t in texts[s]])) for s in split}
    tv = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), min_df=2, sublinear_tf=True)
    ng = {"train": tv.fit_transform(texts["train"])} | {s: tv.transform(texts[s]) for s in ("dev", "test")}
    xb = {s: sp.hstack([ng[s], lex[s]]).tocsr() for s in split}
    for c in (3.0, 10.0):
        fit(
            f"lexicon evidence + mined 2–3-grams (L1, C={c:g})",
            lambda m: f"{int((m.coef_ != 0).sum())} non-zero",
            xb,
            C=c,
            penalty="l1",
            solver="liblinear",
        )

    # (c) a dense character n-gram model: a text classifier, not a lexicon
    dv = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True)
    xd = {"train": dv.fit_transform(texts["train"])} | {s: dv.transform(texts[s]) for s in ("dev", "test")}
    fit("dense char 1–3-gram tf-idf (L2, C=16)", lambda c: f"{c.coef_.shape[1]} features", xd, C=16.0)

    n = {
        s: (
            sum(r["subtype"] == "fundraising" for r in split[s]),
            sum(r["subtype"] in HARD_NEG for r in split[s]),
        )
        for s in ("dev", "test")
    }
    print(
        f"train {len(train)} rows; dev {n['dev'][0]} pos / {n['dev'][1]} hard neg; test {n['test'][0]} / {n['test'][1]}"
    )
    print(f"{'model (fitted on train)':52} {'size':>18}   dev recall (hard FP)   test recall (hard FP)")
    for name, size, res in report:
        cells = "   ".join(f"{res[s][0]:.3f} ({res[s][1]:.1%})".rjust(19) for s in ("dev", "test"))
        print(f"{name:52} {size:>18}   {cells}")


if __name__ == "__main__":
    main()
