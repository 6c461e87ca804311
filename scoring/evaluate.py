"""Evaluate the combined verdict on the labelled seed set: keywords alone, classifier alone, combined.

    .venv/bin/python -m scoring.evaluate [--split test] [--data classifier/data/seed.jsonl]

The blend weights and thresholds are chosen on the dev split (``--split dev``); report the test split.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from adscreen.settings import get_settings
from scoring.engine import build_scorer
from scoring.verdict import Thresholds, blend

ROOT = Path(__file__).resolve().parents[1]
HARD = {"finance_legit", "warning_news"}


def f1(pred: list[bool], gold: list[bool]) -> tuple[float, float, float]:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT / "classifier/data/seed.jsonl")
    ap.add_argument("--split", default="test")
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r.get("split") == args.split]
    settings = get_settings()
    if not Path(settings.lexicon_dir).exists():  # evaluate the bundled lexicon, not someone's live edits
        settings = settings.model_copy(update={"lexicon_dir": Path(tempfile.mkdtemp()) / "lexicon"})
    scorer = build_scorer(settings)
    texts = [r["text"] for r in rows]
    gold = [r["label"] == "fundraising" for r in rows]
    hard = [r["subtype"] in HARD for r in rows]
    kw = [scorer.matcher.match(t).score for t in texts]
    clf = scorer.classifier.predict_proba(texts) if scorer.classifier is not None else None
    t = Thresholds(settings.flag_threshold, settings.high_threshold, settings.medium_threshold)
    print(
        f"split {args.split}: {len(rows)} rows, {sum(gold)} fundraising, {sum(hard)} finance_legit+warning_news"
    )
    print(f"{'detector':<12} {'precision':>9} {'recall':>7} {'F1':>6} {'FP rate hard neg':>17}")

    def report(name: str, scores: list[float], threshold: float) -> None:
        pred = [s >= threshold for s in scores]
        p, r, f = f1(pred, gold)
        fpr = sum(pr for pr, h in zip(pred, hard, strict=True) if h) / max(1, sum(hard))
        print(f"{name:<12} {p:9.3f} {r:7.3f} {f:6.3f} {fpr:17.3f}")

    report("keywords", kw, t.flag)
    if clf is not None:
        report("classifier", list(clf), scorer.classifier.threshold)
        report("combined", [blend(k, c) for k, c in zip(kw, clf, strict=True)], t.flag)


if __name__ == "__main__":
    main()
