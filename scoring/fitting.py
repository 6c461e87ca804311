"""Fitting the combination on the labelled rows, once per classifier version and data (``adscreen train`` runs it).

The expensive parts are computed once per call: the lexicon's features of every train/dev row, the n-gram model's
out-of-fold scores on train (5 fits) and its final fit, and the classifier's logits on dev. On the 2-core machine
this takes about a minute for the 5,231-row seed set.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scoring import combiner as C
from scoring import features as F

# Why 1.0: tools/detection_lab.py's source_class variant (seed v3, fitted on train, chosen on dev) gave the combination
# dev F1 0.894 at 0.5 against 0.891 (0.5), 0.892 (0.25) and 0.888 without; the real test rows moved 0.793 -> 0.798.
CLASS_POWER = 1.0
# Which train rows serve as neighbours: "real" (corpus rows), "all" (written rows too) or "" (no neighbours).
# Why "real": in tools/detection_lab.py (seed v3, fitted on train) real neighbours gave dev F1 0.894 against 0.891
# without; every train row gave 0.899 but lost two rows of the demo site's answer key (a pitch missed, a false
# alarm, both through written neighbours), and the explanation should cite judged real texts, not one writer's
# templates (classifier/README.md, "Stop 22").
NEIGHBOURS = "real"
# Whether every stage-1 feature also gets a weight of its own for short texts (scoring.features.SHORT_CHARS). Why:
# in tools/detection_lab.py (seed v3, fitted on train, chosen on dev) the copies gave dev F1 0.902 against 0.894
# (its real rows 0.813 against 0.795); on test 0.801 against 0.805, inside the paired interval, with hard flags
# 2.1 % against 3.1 % (classifier/README.md, "Stop 23").
SHORT_COPIES = True
# Bumped whenever the fitting changes, so that a saved combination fitted the old way is refitted (ensure_combiner).
FIT_RECIPE = 5


def _by_split(rows: Sequence[dict]) -> dict[str, list[dict]]:
    from classifier.dataset import by_split

    splits = by_split(list(rows))
    if not splits["dev"]:  # no dev rows: hold out every 7th train row, as the classifier's training does
        train = splits["train"]
        splits["dev"] = train[::7]
        splits["train"] = [r for i, r in enumerate(train) if i % 7]
    return splits


def labels(rows: Sequence[dict]) -> np.ndarray:
    from classifier.dataset import label_to_int

    return np.array([label_to_int(r["label"]) for r in rows], dtype=np.int64)


def keyword_rows(matcher: Any | None, texts: Sequence[str]) -> tuple[list[Any], list[dict[str, float]]]:
    results = [matcher.match(t) if matcher is not None else None for t in texts]
    return results, [F.keyword_features(r, t) for r, t in zip(results, texts, strict=True)]


def classifier_logits(classifier: Any | None, texts: Sequence[str]) -> np.ndarray | None:
    if classifier is None:
        return None
    return np.array([F.prob_logit(p) for p in classifier.predict_proba(list(texts))], dtype=np.float64)


def fit_from_rows(
    rows: Sequence[dict],
    matcher: Any | None,
    classifier: Any | None = None,
    *,
    folds: int = 5,
    source_power: float = 0.5,
    class_power: float = CLASS_POWER,
    neighbours: str = NEIGHBOURS,
    echo: Callable[[str], Any] = lambda s: None,
) -> C.Combiner:
    """Fit the n-gram model and the combination on ``rows`` (with ``split``); dev calibrates, test is untouched.

    The n-gram model's rows also carry ``source_class_factors(class_power)``: the classes balanced within each
    source, so that a style (SMS marketing) does not stand for "not a pitch". Stage 1 keeps the source weights
    alone: with the factors there too, tools/detection_lab.py's dev F1 fell (0.890–0.892 against 0.891–0.894).
    ``neighbours``: also the nearest judged train rows' verdict (``classifier.neighbours``), out of fold on train
    with the n-gram model's folds, and served from an index of those rows ("real": the corpus rows only).
    """
    from classifier import neighbours as nb
    from classifier.calibrate import choose_threshold
    from classifier.dataset import data_hash, source_class_factors, source_weights
    from classifier.metrics import prf
    from classifier.ngram import NgramModel, fold_ids, out_of_fold

    t0 = time.time()
    splits = _by_split(rows)
    train, dev = splits["train"], splits["dev"]
    tr_texts, dv_texts = [r["text"] for r in train], [r["text"] for r in dev]
    y_tr, y_dv = labels(train), labels(dev)
    w_tr = np.asarray(source_weights(train, source_power) if source_power else np.ones(len(train)))
    w_ng = w_tr * np.asarray(source_class_factors(train, class_power)) if class_power else w_tr
    echo(f"n-gram model: {folds}-fold out-of-fold scores on {len(train)} train rows")
    fold_of = fold_ids(tr_texts, y_tr, folds)  # one assignment for the n-gram model's and the neighbours' folds
    oof = out_of_fold(tr_texts, y_tr, w_ng, k=folds, folds=fold_of)
    ngram = NgramModel.fit(tr_texts, y_tr, w_ng)
    ng_dev = ngram.decision_function(dv_texts)
    index, nb_tr, nb_dv = None, None, None
    if neighbours:
        real = np.array([not str(r.get("source", "")).startswith("written") for r in train])
        ref = real if neighbours == "real" else np.ones(len(train), bool)
        echo(f"neighbours: out-of-fold on {len(train)} train rows, {int(ref.sum())} of them as neighbours")
        x_tr = ngram.transform(tr_texts)
        nb_tr = nb.out_of_fold(x_tr, y_tr, fold_of, ref=ref)
        keep = np.flatnonzero(ref)
        index = nb.NeighbourIndex.build(x_tr[keep], y_tr[keep], [str(train[i].get("id", i)) for i in keep])
        nb_dv = index.logodds(ngram.transform(dv_texts))
    echo("lexicon features")
    _, kw_tr = keyword_rows(matcher, tr_texts)
    _, kw_dv = keyword_rows(matcher, dv_texts)
    clf_dev = classifier_logits(classifier, dv_texts)
    version = getattr(classifier, "version", None)
    meta = {
        "classifier_version": version,
        "lexicon_version": getattr(matcher, "version", None),
        "data_hash": data_hash(list(rows)),
        "n_rows": {"train": len(train), "dev": len(dev)},
        "folds": folds,
        "source_power": source_power,
        "class_power": class_power,
        "neighbours": neighbours or None,
        "short_copies": SHORT_COPIES,
        "recipe": FIT_RECIPE,
        "fitted_on": "stage 1: train split (n-gram out-of-fold); stage 2 and calibration: dev split",
        "ngram_version": f"ngram-{data_hash(list(rows))[:8]}",
    }
    comb = C.fit(
        C.FitData(kw_tr, oof, None, y_tr, w_tr, nb_tr),
        C.FitData(kw_dv, ng_dev, clf_dev, y_dv, np.ones(len(dev)), nb_dv),
        ngram_model=ngram,
        meta=meta,
        neighbours=index,
        short=SHORT_COPIES,
    )
    # figures on dev (calibration data, so optimistic) and on train out-of-fold (stage 1 only)
    p_dev = comb.predict(C.rows_matrix(kw_dv, ng_dev, nb_dv, comb.names), clf_dev)
    ng_thr = choose_threshold(1 / (1 + np.exp(-ng_dev)), y_dv)
    comb.meta["metrics"] = {
        "dev_at_0.5": prf(y_dv, (p_dev >= 0.5).astype(int)),
        "dev_best_threshold": round(float(choose_threshold(p_dev, y_dv)), 4),
        "train_oof_stage1_at_0.5": prf(y_tr, (comb.stage1(C.rows_matrix(kw_tr, oof, nb_tr, comb.names)) >= 0).astype(int)),
    }
    comb.meta["ngram_threshold"] = round(float(ng_thr), 4)
    comb.meta["fit_seconds"] = round(time.time() - t0, 1)
    return comb


def ensure_combiner(
    model_dir: Path,
    rows: Sequence[dict],
    matcher: Any | None,
    classifier: Any | None = None,
    *,
    force: bool = False,
    echo: Callable[[str], Any] = lambda s: None,
) -> C.Combiner:
    """The combination for this classifier version, fitted (and saved) when missing or fitted on other data."""
    from classifier.dataset import data_hash

    version = getattr(classifier, "version", None)
    path = C.path_for(model_dir, version)
    if not force:
        have = C.load_for(model_dir, version)
        if (have is not None and have.meta.get("data_hash") == data_hash(list(rows))
                and have.meta.get("recipe", 1) == FIT_RECIPE):
            return have
    comb = fit_from_rows(rows, matcher, classifier, echo=echo)
    comb.save(path)
    echo(f"combination {comb.version} -> {path} ({comb.meta['fit_seconds']} s)")
    return comb
