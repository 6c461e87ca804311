"""What mined terms would do for the lexicon alone: recall at ≤ 10 % hard-negative flags with suggested terms added.

Why: issue 11 asks the lexicon for recall ≥ 0.85 at 10 % hard flags, and ``ceiling.py`` shows a sparse model of
mined n-grams gets there on test. This checks whether *lexicon terms* get there. It takes the product's own
suggestions (``keywords.suggest.suggest_terms``: fundraising train rows against the other train rows), adds the top
``--top`` as literal terms, each in the commonest category of the other hits in the rows that hold it, fits their
weights under the matcher's own noisy-or score (``fit_weights.fit``) on train, and reports train / dev / test. It
writes nothing: the result (keywords/README.md) was that the gain comes from corpus markers such as 联系人 and 电话,
so no mined term was shipped.

    .venv/bin/python -m tools.keywords_eval.mine_terms [--top 600] [--min-count 6] [--finance-only]
"""

from __future__ import annotations

import argparse
import dataclasses
from collections import Counter

from keywords import Lexicon, Matcher
from keywords.lexicon import Term
from keywords.suggest import suggest_terms
from tools.keywords_eval.ceiling import recall_at
from tools.keywords_eval.evaluate import SEED, load
from tools.keywords_eval.fit_weights import collect, fit

# a character that ties a term to money, returns or a scheme (the --finance-only filter)
FINANCE = set("收益回报投资理财租息利币股盘金融贷赚钱财富资本红返保值升涨倍期满购认筹募")
# categories that describe a promise or a manner rather than a scheme; a mined term is not filed under them
GENERIC = {"combo", "helper", "rate", "lure", "solicit", "return_promise", "legitimacy"}


def mined_lexicon(base: Lexicon, train: list[dict], top: int, min_count: int, finance_only: bool) -> Lexicon:
    pos = [r["text"] for r in train if r["label"] == "fundraising"]
    neg = [r["text"] for r in train if r["label"] != "fundraising"]
    found = suggest_terms(pos, neg, base, top_k=top, min_count=min_count, ngram=(2, 6))
    if finance_only:
        found = [d for d in found if any(ch in FINANCE for ch in d["term"])]
    matcher = Matcher(base)
    cats = [[h.category for h in matcher.match(t).hits if not h.counter and h.weight > 0] for t in pos]

    def category(term: str) -> str:
        c = Counter(k for t, ks in zip(pos, cats, strict=True) if term in t for k in ks if k not in GENERIC)
        return c.most_common(1)[0][0] if c else "wealth"

    added = [Term(term=d["term"], category=category(d["term"]), weight=0.3, provenance="mined: seed train")
             for d in found]
    print(f"{len(added)} terms added, e.g. {'、'.join(t.term for t in added[:20])}")
    lex = Lexicon.from_terms([*base.terms.values(), *added], version="mined")
    matcher = Matcher(lex)
    weights = fit(collect(train, matcher), {t.term: t.weight for t in lex}, 0.002, matcher=matcher)
    return Lexicon.from_terms(
        [dataclasses.replace(t, weight=weights.get(t.term, t.weight)) if t.kind == "literal" else t
         for t in lex.terms.values()],
        version="mined-fitted",
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--top", type=int, default=600)
    ap.add_argument("--min-count", type=int, default=6)
    ap.add_argument("--finance-only", action="store_true", help="keep only terms holding a finance character")
    args = ap.parse_args()
    rows = load(SEED)
    split = {s: [r for r in rows if r["split"] == s] for s in ("train", "dev", "test")}
    base = Lexicon.bundled()
    for name, lex in (("shipped", base),
                      ("mined", mined_lexicon(base, split["train"], args.top, args.min_count, args.finance_only))):
        m = Matcher(lex)
        res = {s: recall_at([m.match(r["text"]).score for r in rs], rs) for s, rs in split.items()}
        print(f"{name:<8}", "  ".join(f"{s} {r:.3f} ({fp:.1%} hard flagged)" for s, (r, fp) in res.items()))


if __name__ == "__main__":
    main()
