"""Precision / recall / F1 and the evaluation report (PR curve PNG, errors by subtype, false positives)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from classifier.dataset import label_to_int

HARD_NEGATIVE_SUBTYPES = ("finance_legit", "warning_news")


def prf(labels: np.ndarray, preds: np.ndarray) -> dict:
    labels = np.asarray(labels, dtype=np.int64)
    preds = np.asarray(preds, dtype=np.int64)
    tp = int(((preds == 1) & (labels == 1)).sum())
    fp = int(((preds == 1) & (labels == 0)).sum())
    fn = int(((preds == 0) & (labels == 1)).sum())
    tn = int(((preds == 0) & (labels == 0)).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def report(rows: list[dict], probs: np.ndarray, threshold: float, n_examples: int = 20) -> dict:
    """Metrics plus the error analysis inspectors and labellers act on."""
    labels = np.array([label_to_int(r["label"]) for r in rows], dtype=np.int64)
    preds = (np.asarray(probs) >= threshold).astype(np.int64)
    out = prf(labels, preds)
    out["n"] = len(rows)
    out["threshold"] = round(float(threshold), 4)
    subtypes: dict[str, Counter] = {}
    for row, y, yhat in zip(rows, labels, preds, strict=True):
        c = subtypes.setdefault(str(row.get("subtype") or "?"), Counter())
        c["n"] += 1
        c["errors"] += int(y != yhat)
        c["fp"] += int(yhat == 1 and y == 0)
        c["fn"] += int(yhat == 0 and y == 1)
    out["by_subtype"] = {k: dict(v) for k, v in sorted(subtypes.items())}
    hard = [i for i, r in enumerate(rows) if r.get("subtype") in HARD_NEGATIVE_SUBTYPES and labels[i] == 0]
    out["fp_rate_hard_negatives"] = round(float(preds[hard].mean()), 4) if hard else None
    out["n_hard_negatives"] = len(hard)
    neg = labels == 0
    out["fp_rate"] = round(float(preds[neg].mean()), 4) if neg.any() else None

    def examples(mask: np.ndarray) -> list[dict]:
        idx = np.flatnonzero(mask)
        idx = idx[np.argsort(-np.abs(np.asarray(probs)[idx] - threshold))][:n_examples]
        return [
            {
                "id": rows[i].get("id"),
                "subtype": rows[i].get("subtype"),
                "prob": round(float(probs[i]), 4),
                "text": rows[i]["text"][:200],
            }
            for i in idx
        ]

    out["false_positives"] = examples((preds == 1) & (labels == 0))
    out["false_negatives"] = examples((preds == 0) & (labels == 1))
    return out


def pr_curve_png(labels: np.ndarray, probs: np.ndarray, path: Path, threshold: float | None = None) -> Path:
    """Precision-recall curve with the operating point marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(np.asarray(labels), np.asarray(probs))
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.plot(recall, precision, lw=2)
    if threshold is not None:
        m = prf(np.asarray(labels), (np.asarray(probs) >= threshold).astype(int))
        ax.scatter([m["recall"]], [m["precision"]], color="red", zorder=3, label=f"threshold {threshold:.3f}")
        ax.legend(loc="lower left")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.01)
    ax.set_title("fundraising vs rest")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(rep: dict, out_dir: Path, labels: np.ndarray, probs: np.ndarray) -> dict:
    """``report.json`` + ``pr_curve.png`` under ``out_dir``; returns the report with the file paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if len(set(np.asarray(labels).tolist())) > 1:
        rep["pr_curve"] = str(pr_curve_png(labels, probs, out_dir / "pr_curve.png", rep.get("threshold")))
    (out_dir / "report.json").write_text(json.dumps(rep, ensure_ascii=False, indent=2), encoding="utf-8")
    return rep
