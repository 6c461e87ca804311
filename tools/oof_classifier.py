"""Out-of-fold logits of a fine-tuned classifier, for placing it in the combination by train rows instead of dev.

Why (issue #11, stop 21): stage 2 is fitted on dev, whose F1 comes mostly from written rows, so a classifier that
fits the written style well gets more weight than the real rows warrant (classifier/README.md, "Stop 21"). With
out-of-fold logits of the train rows, ``detection_lab --clf-logits F --variants base,stage2_train_oof`` fits
stage 2 on the 6,974 real train rows instead. Each fold trains the classifier once, so this takes k + 1 trainings.

    .venv/bin/python -m tools.oof_classifier [--layers 4 --frozen-layers 2 --epochs 2 --folds 5] [--out var/oof_clf]

Writes ``<out>/oof_logits.npz`` (train: out of fold, in the seed set's train order, on the n-gram model's folds;
dev and test: from the classifier trained on all train rows) and the runs under ``<out>/fold<k>/``, ``<out>/all/``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from classifier.config import TrainConfig
from classifier.dataset import by_split, label_to_int, load_rows
from classifier.paths import default_seed_path


def _logits(run_dir: Path, texts: list[str]) -> np.ndarray:
    from classifier.inference import Classifier
    from scoring.features import prob_logit

    clf = Classifier(run_dir, backend="onnx")
    return np.array([prob_logit(p) for p in clf.predict_proba(texts)], dtype=np.float64)


def main() -> None:
    from classifier.ngram import fold_ids
    from classifier.train import train

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_seed_path())
    ap.add_argument("--base", type=Path, default=Path("var/models/base-e5-small"))
    ap.add_argument("--out", type=Path, default=Path("var/oof_clf"))
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--frozen-layers", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    cfg = TrainConfig(layers=args.layers, frozen_layers=args.frozen_layers, epochs=args.epochs, head_only=False)
    sp = by_split(load_rows(args.data))
    tr, dv, te = sp["train"], sp["dev"], sp["test"]
    texts = [r["text"] for r in tr]
    folds = fold_ids(texts, [label_to_int(r["label"]) for r in tr], args.folds)
    out = {"train": np.zeros(len(tr))}
    t0 = time.time()
    for f in range(args.folds):
        keep = [r for r, k in zip(tr, folds, strict=True) if k != f]
        run = train(keep + dv, args.base, args.out / f"fold{f}", cfg, progress=False)
        held = np.flatnonzero(folds == f)
        out["train"][held] = _logits(run, [texts[i] for i in held])
        print(f"fold {f}: {len(keep)} train rows, {len(held)} scored, {time.time() - t0:.0f} s", flush=True)
    run = train(tr + dv, args.base, args.out / "all", cfg, progress=False)
    for name, rows in (("dev", dv), ("test", te)):
        out[name] = _logits(run, [r["text"] for r in rows])
    np.savez(args.out / "oof_logits.npz", **out)
    print(f"all: {run.name}, {time.time() - t0:.0f} s -> {args.out / 'oof_logits.npz'}", flush=True)


if __name__ == "__main__":
    main()
