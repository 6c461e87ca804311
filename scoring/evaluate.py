"""Evaluate the combined verdict on the labelled seed set, and fit the blend on its dev split.

    adscreen evaluate-blend --fit            # fit the blend on dev for the current classifier, then report test
    adscreen evaluate-blend --split test     # keywords alone, classifier alone, combined

The blend and the classifier's threshold are chosen on dev; the test split is only reported. The settings come
from the caller (the command line), so that this module reads no configuration of its own.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from classifier.paths import default_seed_path
from scoring import blend as blending
from scoring.engine import Scorer, build_scorer, classifier_dir
from scoring.verdict import Thresholds, blend

SEED = default_seed_path()
HARD = {"finance_legit", "warning_news"}


def load_split(path: Path, split: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r.get("split") == split]


def detector_scores(scorer: Scorer, texts: list[str]) -> tuple[list[float], list[float] | None]:
    kw = [scorer.matcher.match(t).score for t in texts]
    clf = (
        [float(p) for p in scorer.classifier.predict_proba(texts)] if scorer.classifier is not None else None
    )
    return kw, clf


def ensure_blend(
    settings: Any, scorer: Scorer, data: Path = SEED, force: bool = False
) -> blending.Blend | None:
    """Fit (once per classifier version) the blend on the dev split; returns None without a classifier."""
    if scorer.classifier is None:
        return None
    model_dir = classifier_dir(settings)
    version = scorer.classifier.version
    if not force and blending.path_for(model_dir, version).exists():
        return blending.load(model_dir, version)
    rows = load_split(data, "dev")
    kw, clf = detector_scores(scorer, [r["text"] for r in rows])
    fitted = blending.fit(
        kw, clf, [r["label"] == "fundraising" for r in rows], f"dev split of {data.name}, {version}"
    )
    blending.save(fitted, model_dir, version)
    return fitted


def f1(pred: list[bool], gold: list[bool]) -> tuple[float, float, float]:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def compare(
    settings: Any,
    data: Path = SEED,
    split: str = "test",
    fit: bool = False,
    echo: Callable[[str], Any] = print,
) -> dict[str, tuple[float, float, float, float]]:
    """Precision, recall, F1 and hard-negative flag rate of each detector on ``split``; prints the table."""
    if not Path(settings.lexicon_dir).exists():  # evaluate the bundled lexicon, not someone's live edits
        settings = settings.model_copy(update={"lexicon_dir": Path(tempfile.mkdtemp()) / "lexicon"})
    scorer = build_scorer(settings)
    if fit:
        scorer.blend = ensure_blend(settings, scorer, data, force=True) or scorer.blend
        echo(f"blend fitted: {scorer.blend}")
    rows = load_split(data, split)
    gold = [r["label"] == "fundraising" for r in rows]
    hard = [r["subtype"] in HARD for r in rows]
    kw, clf = detector_scores(scorer, [r["text"] for r in rows])
    t = Thresholds(settings.flag_threshold, settings.high_threshold, settings.medium_threshold)
    echo(
        f"split {split}: {len(rows)} rows, {sum(gold)} fundraising, {sum(hard)} finance_legit+warning_news"
    )
    echo(f"{'detector':<12} {'precision':>9} {'recall':>7} {'F1':>6} {'FP rate hard neg':>17}")

    results: dict[str, tuple[float, float, float, float]] = {}

    def report(name: str, scores: list[float], threshold: float) -> None:
        pred = [s >= threshold for s in scores]
        p, r, f = f1(pred, gold)
        fpr = sum(pr for pr, h in zip(pred, hard, strict=True) if h) / max(1, sum(hard))
        results[name] = (p, r, f, fpr)
        echo(f"{name:<12} {p:9.3f} {r:7.3f} {f:6.3f} {fpr:17.3f}")

    report("keywords", kw, t.flag)
    if clf is not None:
        report("classifier", clf, scorer.classifier.threshold)
        report("combined", [blend(k, c, scorer.blend) for k, c in zip(kw, clf, strict=True)], t.flag)
    return results
