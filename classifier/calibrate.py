"""Temperature scaling and threshold choice, both fitted on the dev split only."""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def nll(margins: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    p = np.clip(sigmoid(margins / temperature), 1e-7, 1 - 1e-7)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))


def fit_temperature(margins: np.ndarray, labels: np.ndarray) -> float:
    """Scalar T minimising dev NLL of sigmoid(margin / T): log-spaced grid, then a finer grid around the best.

    Why a grid: one parameter, deterministic, no optimiser state; and it cannot diverge on separable dev data
    (T is bounded to [0.05, 20]).
    """
    margins = np.asarray(margins, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if len(margins) == 0 or labels.min() == labels.max():
        return 1.0
    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 121))
    best = min(grid, key=lambda t: nll(margins, labels, t))
    fine = best * np.exp(np.linspace(-0.06, 0.06, 25))
    return float(min(fine, key=lambda t: nll(margins, labels, t)))


def choose_threshold(probs: np.ndarray, labels: np.ndarray) -> float:
    """Threshold maximising dev F1 (predict positive when p >= t).

    The cut is placed midway between the lowest positive-predicted score and the next lower score, so it
    does not sit exactly on a dev example. Ties in F1 go to the higher threshold (fewer false positives).
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(probs) == 0 or labels.sum() == 0:
        return 0.5
    order = np.argsort(-probs, kind="stable")
    p_sorted, y_sorted = probs[order], labels[order]
    tp = np.cumsum(y_sorted)
    k = np.arange(1, len(p_sorted) + 1)
    f1 = 2 * tp / (k + labels.sum())
    # only cut between distinct scores
    valid = np.append(p_sorted[1:] < p_sorted[:-1], True)
    f1 = np.where(valid, f1, -1.0)
    best_f1 = f1.max()
    i = int(np.flatnonzero(f1 >= best_f1 - 1e-12)[0])  # first = highest threshold among ties
    lower = p_sorted[i + 1] if i + 1 < len(p_sorted) else 0.0
    return float((p_sorted[i] + lower) / 2)
