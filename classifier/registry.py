"""Which trained run is current, and the promotion rule: a new run replaces the current one only if it beats
it on the fixed test split (both scored on the same rows, with each model's own threshold)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from classifier.dataset import label_to_int
from classifier.metrics import prf
from classifier.paths import CURRENT_FILE, RUNS_DIR


def current_run(root: Path) -> Path | None:
    path = Path(root) / CURRENT_FILE
    if not path.exists():
        return None
    run = Path(root) / RUNS_DIR / path.read_text(encoding="utf-8").strip()
    return run if run.exists() else None


def set_current(root: Path, run_dir: Path) -> None:
    """Atomic pointer swap (write + rename), so readers never see a half-written name."""
    root = Path(root)
    tmp = root / (CURRENT_FILE + ".tmp")
    tmp.write_text(Path(run_dir).name + "\n", encoding="utf-8")
    os.replace(tmp, root / CURRENT_FILE)


def test_f1(run_dir: Path, test_rows: list[dict]) -> float:
    """F1 of a saved run on ``test_rows`` with its default (ONNX int8) backend, torch if ONNX is missing."""
    from classifier.inference import Classifier

    try:
        clf = Classifier(run_dir, backend="onnx")
    except FileNotFoundError:
        clf = Classifier(run_dir, backend="torch")
    probs = np.array(clf.predict_proba([r["text"] for r in test_rows]))
    labels = np.array([label_to_int(r["label"]) for r in test_rows])
    return prf(labels, (probs >= clf.threshold).astype(int))["f1"]


def promote_if_better(root: Path, new_run: Path, test_rows: list[dict], force: bool = False) -> dict:
    """Make ``new_run`` current when it has a strictly higher test F1 than the current run (or none exists)."""
    root = Path(root)
    cur = current_run(root)
    decision: dict = {"candidate": new_run.name, "current": cur.name if cur else None}
    if cur is None or force or cur.resolve() == Path(new_run).resolve():
        decision.update(promoted=True, reason="forced" if force and cur else "no current model")
    else:
        new_f1 = test_f1(new_run, test_rows)
        try:
            cur_f1 = test_f1(cur, test_rows)
        except Exception as exc:  # an unreadable current model never blocks a good one
            cur_f1, decision["current_error"] = -1.0, repr(exc)
        decision.update(candidate_test_f1=new_f1, current_test_f1=cur_f1, promoted=new_f1 > cur_f1)
        decision["reason"] = "higher test F1" if new_f1 > cur_f1 else "does not beat current on test"
    if decision["promoted"]:
        set_current(root, new_run)
    metrics_path = Path(new_run) / "metrics.json"
    if metrics_path.exists():
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        metrics["promotion"] = decision
        metrics_path.write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
    return decision
