"""Evaluate the keyword matcher: recall on fundraising, flag rate on the hard negatives, evasion-set recall ratio.

    .venv/bin/python -m tools.keywords_eval.evaluate [--set PATH] [--lexicon-dir DIR] [--show-errors]

Data: ``classifier/data/seed.jsonl`` when it exists (the project's labelled set), otherwise our own small set
``tools/keywords_eval/evalset.jsonl``; holdout IDs are dropped either way. Flagged = score ≥ FLAG_THRESHOLD.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

from keywords import FLAG_THRESHOLD, Lexicon, LexiconStore, Matcher
from tools.keywords_eval.evasion import make_evasions

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SEED = REPO / "classifier" / "data" / "seed.jsonl"
OWN = HERE / "evalset.jsonl"
HOLDOUT = REPO.parent / "shared" / "data" / "holdout_ids.txt"
HARD_NEG = ("finance_legit", "warning_news", "loan_ad")


def load(path: Path) -> list[dict]:
    hold = set()
    if HOLDOUT.exists():
        hold = {x.strip() for x in HOLDOUT.read_text(encoding="utf-8").splitlines() if x.strip()}
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return [r for r in rows if r["id"] not in hold]


def evaluate(rows: list[dict], matcher: Matcher, show_errors: bool = False, evasion: bool = True) -> dict:
    by_sub: dict[str, list[bool]] = defaultdict(list)
    pos_texts: list[str] = []
    pos_flags: list[bool] = []
    for r in rows:
        res = matcher.match(r["text"])
        flagged = res.score >= FLAG_THRESHOLD
        by_sub[r["subtype"]].append(flagged)
        if r["label"] == "fundraising" or r["subtype"] == "fundraising":
            pos_texts.append(r["text"])
            pos_flags.append(flagged)
            if show_errors and not flagged:
                print(f"MISS {r['id']} {res.score:.2f} {r['text'][:90]!r} | {res.explanation[:80]}")
        elif show_errors and flagged and r["subtype"] in HARD_NEG:
            print(
                f"FP   {r['id']} [{r['subtype']}] {res.score:.2f} {r['text'][:80]!r} | {res.explanation[:90]}"
            )
    recall = sum(pos_flags) / max(len(pos_flags), 1)
    hard = [f for s in HARD_NEG for f in by_sub.get(s, [])]
    hard_rate = sum(hard) / max(len(hard), 1)
    ev = make_evasions(pos_texts, matcher) if evasion else []
    fam_hits: dict[str, list[bool]] = defaultdict(list)
    for _i, fam, text in ev:
        fam_hits[fam].append(matcher.match(text).score >= FLAG_THRESHOLD)
    ev_all = [f for v in fam_hits.values() for f in v]
    ev_recall = sum(ev_all) / max(len(ev_all), 1)
    return {
        "n": len(rows),
        "subtypes": dict(Counter(r["subtype"] for r in rows)),
        "recall_fundraising": round(recall, 4),
        "n_fundraising": len(pos_flags),
        "flag_rate_hard_negatives": round(hard_rate, 4),
        "n_hard_negatives": len(hard),
        "flag_rate_by_subtype": {s: round(sum(v) / len(v), 4) for s, v in sorted(by_sub.items())},
        "evasion_recall": round(ev_recall, 4),
        "evasion_recall_ratio": round(ev_recall / recall, 4) if recall else 0.0,
        "evasion_recall_by_family": {f: round(sum(v) / len(v), 4) for f, v in fam_hits.items()},
        "n_evasion": len(ev_all),
        "threshold": FLAG_THRESHOLD,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", type=Path, default=None)
    ap.add_argument("--lexicon-dir", type=Path, default=None)
    ap.add_argument("--show-errors", action="store_true")
    ap.add_argument("--split", default="", help="comma-separated splits to keep (e.g. test); default all")
    ap.add_argument("--no-evasion", action="store_true", help="skip the evasion set (faster)")
    args = ap.parse_args()
    path = args.set or (SEED if SEED.exists() else OWN)
    lex = LexiconStore(args.lexicon_dir).load() if args.lexicon_dir else Lexicon.bundled()
    matcher = Matcher(lex)
    rows = load(path)
    if args.split:
        keep = set(args.split.split(","))
        rows = [r for r in rows if r.get("split") in keep]
    out = evaluate(rows, matcher, args.show_errors, evasion=not args.no_evasion)
    out["split"] = args.split or "all"
    out["set"] = str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    out["lexicon_version"] = lex.version
    print(json.dumps(out, ensure_ascii=False, indent=2))
    ok = (
        out["recall_fundraising"] >= 0.85
        and out["flag_rate_hard_negatives"] <= 0.10
        and out["evasion_recall_ratio"] >= 0.95
    )
    print(
        "targets (recall ≥ 0.85, hard-negative flag rate ≤ 0.10, evasion ratio ≥ 0.95):",
        "MET" if ok else "NOT MET",
    )


if __name__ == "__main__":
    main()
