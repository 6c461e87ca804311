"""Evaluate a trained model on any labelled JSONL file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from classifier.dataset import label_to_int, load_rows
from classifier.inference import Classifier
from classifier.metrics import report, write_report


def evaluate_rows(clf: Classifier, rows: list[dict], out_dir: Path | None = None) -> dict:
    probs = np.array(clf.predict_proba([r["text"] for r in rows]))
    labels = np.array([label_to_int(r["label"]) for r in rows])
    rep = report(rows, probs, clf.threshold)
    rep["version"] = clf.version
    if out_dir is not None:
        rep = write_report(rep, out_dir, labels, probs)
    return rep


def evaluate_file(data: Path, model_dir: Path, backend: str = "onnx", out_dir: Path | None = None) -> dict:
    return evaluate_rows(Classifier.load(model_dir, backend=backend), load_rows(data), out_dir)
