"""Propose (and optionally apply) lexicon weights from a labelled TRAIN split: smoothed per-term precision.

Why: the seed weights come from domain.md; the corpora show that many of those phrases live mostly in news and
warnings (集资, 拉人头, 高息 …). We down-weight a positive term whose documents are mostly negatives and weaken a
counter-evidence term that mostly occurs in real pitches. Only the train split is read; evaluate on dev/test.

    .venv/bin/python -m tools.keywords_eval.tune_weights [--apply] [--min-support 6]

History: applied once to the seed lexicon (86 weights changed); terms added later by hand were not re-tuned.
Running it again re-reads the current lexicon, so its proposals now differ from that first run.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

from keywords import Lexicon, Matcher
from keywords.categories import is_counter
from keywords.lexicon import SEED_PATH
from tools.keywords_eval.evaluate import SEED, load

HARD = ("finance_legit", "warning_news", "loan_ad")


def term_stats(rows: list[dict], lex: Lexicon) -> dict[str, Counter]:
    m = Matcher(lex)
    st: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        g = "P" if r["subtype"] == "fundraising" else ("H" if r["subtype"] in HARD else "O")
        for term in {h.term for h in m.match(r["text"]).hits if h.rule in ("literal", "pinyin", "homophone")}:
            st[term][g] += 1
    return st


def propose(lex: Lexicon, st: dict[str, Counter], min_support: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for t in lex:
        if t.kind != "literal" or t.term not in st:
            continue
        c = st[t.term]
        p, h, o = c["P"], c["H"], c["O"]
        if p + h + o < min_support:
            continue
        if is_counter(t.category):
            share = (h + 1) / (p + h + 2)  # how much of its use is in hard negatives
            new = round(t.weight * min(1.0, max(0.0, (share - 0.35) / 0.45)), 2)
        else:
            prec = (p + 1) / (p + h + 0.5 * o + 2)
            if t.weight >= 0.55:  # domain.md core indicators: keep them, let counter-evidence handle warnings
                new = min(t.weight, 0.45) if prec < 0.2 and p <= 1 else t.weight
            elif prec < 0.25:
                new = 0.03
            elif prec < 0.4:
                new = min(t.weight, 0.1)
            elif prec < 0.55:
                new = min(t.weight, 0.25)
            elif prec >= 0.8 and p >= 5:
                new = max(t.weight, 0.6)
            else:
                new = t.weight
        if abs(new - t.weight) >= 0.01:
            out[t.term] = new
    return out


def apply_to_yaml(changes: dict[str, float], path: Path = SEED_PATH) -> int:
    """Rewrite weights in place, keeping the file's comments and layout."""
    text = path.read_text(encoding="utf-8")
    n = 0
    for term, w in changes.items():
        t = re.escape(term)
        new, k = re.subn(rf"(^\s*- {t}: )([0-9.]+)\s*$", rf"\g<1>{w}", text, flags=re.M)
        if not k:
            new, k = re.subn(rf"(^\s*- {t}: \{{term: {t}, weight: )([0-9.]+)", rf"\g<1>{w}", text, flags=re.M)
        text, n = new, n + k
    path.write_text(text, encoding="utf-8")
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--apply", action="store_true")
    ap.add_argument("--min-support", type=int, default=6)
    args = ap.parse_args()
    rows = [r for r in load(SEED) if r.get("split") == "train"]
    lex = Lexicon.bundled()
    st = term_stats(rows, lex)
    changes = propose(lex, st, args.min_support)
    for term, w in sorted(changes.items(), key=lambda kv: kv[0]):
        c = st[term]
        print(json.dumps({"term": term, "old": lex.get(term).weight, "new": w, **c}, ensure_ascii=False))
    if args.apply:
        print("rewrote", apply_to_yaml(changes), "weights in", SEED_PATH)


if __name__ == "__main__":
    main()
