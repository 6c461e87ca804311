"""The learned combination of the detectors: a sign-constrained logistic regression, fitted without leakage.

Why this replaces the old blend and its keyword floor: a floor (score ≥ keyword score − 0.3) kept every strong
lexicon match in the queue, licensed banks' wealth SMS included; here the lexicon's evidence is a set of features
(what kind of promise, which rate, who sells, what counter-evidence) whose weights are learnt, so 【招商银行】…预期收益率
with a risk disclosure is weighed as the rubric weighs it.

Fitting (``fit``), chosen for a 2-core CPU budget:
- stage 1 on the **train** split: lexicon features + the character n-gram model's **out-of-fold** log-odds (5 folds,
  near-duplicates in one fold) + the nearest judged rows' verdict out of the same folds (``classifier.neighbours``),
  so the weights of both are learnt on predictions for unseen rows;
- stage 2 on the **dev** split: z = a·z₁ + b·(classifier logit) + c, a, b ≥ 0. The transformer is trained on the
  whole train split (k-fold retraining would cost k × 5–10 min), so its only unbiased predictions are on dev; three
  parameters on ~500 dev rows also calibrate the score (predicted score ≈ observed rate). Without a classifier,
  stage 2 is plain Platt scaling of z₁.
Every weight has the sign of its feature (``features.Feature.sign``): evidence never lowers the score and
counter-evidence never raises it, so the score is monotone in each detector's score. Stored as JSON + the n-gram
model's and the neighbour index's arrays (no pickle).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scoring import features as F

FORMAT = 1
JSON_FILE = "combiner.json"
NGRAM_DIR = "ngram"
NEIGHBOURS_DIR = "neighbours"
ROOT_DIR = "combiner"
NO_CLASSIFIER = "keywords-ngram"


def sigmoid(z: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def fit_logistic(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, signs: Sequence[int], l2: float = 1.0
) -> tuple[np.ndarray, float]:
    """Weighted logistic regression with sign constraints (L-BFGS-B bounds) and an L2 penalty on the weights."""
    from scipy.optimize import minimize

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    w = w / w.sum() * len(w)
    n, d = x.shape

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        beta, b0 = theta[:d], theta[d]
        z = x @ beta + b0
        # log(1 + e^z) - y z, stably
        lz = np.logaddexp(0.0, z)
        val = float(np.sum(w * (lz - y * z)) + 0.5 * l2 * beta @ beta)
        g = w * (sigmoid(z) - y)
        grad = np.concatenate([x.T @ g + l2 * beta, [g.sum()]])
        return val, grad

    bounds = [(0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None) for s in signs] + [(None, None)]
    res = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 2000})
    return res.x[:d], float(res.x[d])


@dataclass
class Combiner:
    names: list[str]  # stage-1 features (keywords, then the n-gram score)
    signs: list[int]
    mean: np.ndarray
    std: np.ndarray
    coef: np.ndarray  # stage 1, on standardised features
    intercept: float
    a: float = 1.0  # stage 2: z = a·z1 + b·(clf − clf_mean)/clf_std + c
    b: float = 0.0
    c: float = 0.0
    clf_mean: float = 0.0
    clf_std: float = 1.0
    ngram: Any | None = None  # classifier.ngram.NgramModel
    meta: dict = field(default_factory=dict)
    neighbours: Any | None = None  # classifier.neighbours.NeighbourIndex, over the n-gram model's TF-IDF rows

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "comb-unsaved"))

    @property
    def classifier_version(self) -> str | None:
        return self.meta.get("classifier_version")

    @property
    def uses_classifier(self) -> bool:
        return self.classifier_version is not None

    # ------------------------------------------------------------------------------------------ scoring
    def matrix(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        return np.array([[float(r.get(n, 0.0)) for n in self.names] for r in rows], dtype=np.float64)

    def detector_matrix(self, kw: Sequence[Mapping[str, float]], texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list]:
        """Stage 1's input for new texts (the n-gram model's log-odds and, when fitted with them, the neighbours'),
        the n-gram log-odds alone, and each text's two nearest judged rows (empty lists without the neighbours):
        the texts are vectorised once for all three."""
        if self.ngram is None:
            zeros = np.zeros(len(texts))
            return rows_matrix(kw, zeros, names=self.names), zeros, [[] for _ in texts]
        x = self.ngram.transform(list(texts))
        ngram = self.ngram.decision_from_matrix(x)
        if self.neighbours is None:
            return rows_matrix(kw, ngram, names=self.names), ngram, [[] for _ in texts]
        nb, near = self.neighbours.score(x)
        return rows_matrix(kw, ngram, nb, names=self.names), ngram, near

    def stage1(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std) @ self.coef + self.intercept

    def logits(self, x: np.ndarray, clf: np.ndarray | None = None) -> np.ndarray:
        z = self.a * self.stage1(x) + self.c
        if self.b and clf is not None:
            z = z + self.b * (np.asarray(clf, dtype=np.float64) - self.clf_mean) / self.clf_std
        return z

    def predict(self, x: np.ndarray, clf: np.ndarray | None = None) -> np.ndarray:
        return np.asarray(sigmoid(self.logits(x, clf)), dtype=np.float64)

    def contributions(self, x: np.ndarray, clf: float | None = None) -> dict[str, float]:
        """How much each feature moved this case's log-odds away from the average case (one row ``x``); a short
        text's copy of a feature counts with the feature, since it is the same evidence."""
        out: dict[str, float] = {}
        for j, n in enumerate(self.names):
            name = n.removeprefix(F.SHORT_PREFIX)
            out[name] = out.get(name, 0.0) + float(self.a * self.coef[j] * (x[j] - self.mean[j]) / self.std[j])
        if self.b and clf is not None:
            out[F.CLASSIFIER.name] = float(self.b * (clf - self.clf_mean) / self.clf_std)
        return out

    def weights(self) -> dict[str, float]:
        """Effective weight of each feature on its standardised scale (for the README and the tests)."""
        out = {n: float(self.a * self.coef[j]) for j, n in enumerate(self.names)}
        if self.b:
            out[F.CLASSIFIER.name] = float(self.b)
        return out

    # ------------------------------------------------------------------------------------------ storage
    def save(self, directory: Path) -> Path:
        """Write atomically (a temporary directory renamed into place): a reader never sees half a model."""
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=directory.name + ".tmp-", dir=directory.parent))
        try:
            doc = {
                "format": FORMAT,
                "names": self.names,
                "signs": self.signs,
                "mean": self.mean.tolist(),
                "std": self.std.tolist(),
                "coef": self.coef.tolist(),
                "intercept": self.intercept,
                "stage2": {"a": self.a, "b": self.b, "c": self.c, "clf_mean": self.clf_mean, "clf_std": self.clf_std},
                "meta": self.meta,
            }
            if self.ngram is not None:
                self.ngram.save(tmp / NGRAM_DIR, self.meta.get("ngram_version", "ngram"))
            if self.neighbours is not None:
                self.neighbours.save(tmp / NEIGHBOURS_DIR)
            (tmp / JSON_FILE).write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
            if directory.exists():
                old = directory.with_name(directory.name + ".old")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(directory, old)
                os.replace(tmp, directory)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, directory)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return directory

    @classmethod
    def load(cls, directory: Path) -> Combiner:
        """FileNotFoundError when absent."""
        directory = Path(directory)
        doc = json.loads((directory / JSON_FILE).read_text(encoding="utf-8"))
        if doc.get("format") != FORMAT:
            raise ValueError(f"{directory}: unknown combiner format {doc.get('format')!r}")
        ngram = None
        if (directory / NGRAM_DIR).exists():
            from classifier.ngram import NgramModel

            ngram = NgramModel.load(directory / NGRAM_DIR)
        neighbours = None
        if (directory / NEIGHBOURS_DIR).exists():
            from classifier.neighbours import NeighbourIndex

            neighbours = NeighbourIndex.load(directory / NEIGHBOURS_DIR)
        if (F.NEIGHBOURS.name in doc["names"]) != (neighbours is not None):
            raise ValueError(f"{directory}: the neighbour feature and the neighbour index come together")
        s2 = doc["stage2"]
        return cls(
            list(doc["names"]),
            [int(s) for s in doc["signs"]],
            np.asarray(doc["mean"], dtype=np.float64),
            np.asarray(doc["std"], dtype=np.float64),
            np.asarray(doc["coef"], dtype=np.float64),
            float(doc["intercept"]),
            float(s2["a"]),
            float(s2["b"]),
            float(s2["c"]),
            float(s2["clf_mean"]),
            float(s2["clf_std"]),
            ngram,
            dict(doc.get("meta") or {}),
            neighbours,
        )


def path_for(model_dir: Path, classifier_version: str | None) -> Path:
    """``<models root>/combiner/<classifier version>`` (or ``keywords-ngram`` without a classifier)."""
    return Path(model_dir) / ROOT_DIR / (classifier_version or NO_CLASSIFIER)


def load_for(model_dir: Path, classifier_version: str | None) -> Combiner | None:
    try:
        return Combiner.load(path_for(model_dir, classifier_version))
    except FileNotFoundError:
        return None


# ---------------------------------------------------------------------------------------------- fitting
@dataclass
class FitData:
    """What a fit needs for each row, computed once (and reused by the evaluation)."""

    kw: list[dict[str, float]]
    ngram: np.ndarray  # log-odds (out-of-fold on train, final model elsewhere)
    clf: np.ndarray | None  # classifier logits (dev/test only meaningful)
    y: np.ndarray
    weight: np.ndarray
    neighbours: np.ndarray | None = None  # the neighbours' log-odds (out-of-fold on train), when used


def _stage1_features(neighbours: bool, short: bool = False) -> list[F.Feature]:
    base = [*F.KEYWORD_FEATURES, F.NGRAM] + ([F.NEIGHBOURS] if neighbours else [])
    return base + ([F.short_copy(f) for f in base if f.name != "short"] if short else [])


def stage1_names(neighbours: bool = False, short: bool = False) -> list[str]:
    """Stage 1's columns: keyword features, the n-gram log-odds, the neighbours' log-odds (``neighbours``), then
    (``short``) a copy of each that only short texts carry."""
    return [f.name for f in _stage1_features(neighbours, short)]


def stage1_signs(neighbours: bool = False, short: bool = False) -> list[int]:
    return [f.sign for f in _stage1_features(neighbours, short)]


def rows_matrix(
    kw: Sequence[Mapping[str, float]],
    ngram: np.ndarray,
    neighbours: np.ndarray | None = None,
    names: Sequence[str] | None = None,
) -> np.ndarray:
    """Stage 1's columns, by name (default ``stage1_names(neighbours given)``), so that a combination saved with
    other columns still reads its own: ``ngram_logit``, ``neighbour_logodds``, ``short:<name>`` (the column times
    the ``short`` feature), else the keyword feature of that name."""
    names = list(names) if names is not None else stage1_names(neighbours is not None)
    n = len(kw)
    ngram = np.asarray(ngram, dtype=np.float64).reshape(n)
    nb = None if neighbours is None else np.asarray(neighbours, dtype=np.float64).reshape(n)
    built: dict[str, np.ndarray] = {}  # each base column once, whether read alone or under a short copy

    def column(name: str) -> np.ndarray:
        if name not in built:
            if name.startswith(F.SHORT_PREFIX):
                built[name] = column(name[len(F.SHORT_PREFIX):]) * column("short")
            elif name == F.NGRAM.name:
                built[name] = ngram
            elif name == F.NEIGHBOURS.name:
                if nb is None:
                    raise ValueError("this combination reads the neighbours' log-odds: pass them")
                built[name] = nb
            else:
                built[name] = np.array([float(r.get(name, 0.0)) for r in kw], dtype=np.float64)
        return built[name]

    return np.stack([column(c) for c in names], 1) if names else np.zeros((n, 0))


def fit(
    train: FitData,
    dev: FitData,
    *,
    ngram_model: Any | None,
    meta: Mapping[str, Any],
    l2: float = 1.0,
    neighbours: Any | None = None,
    short: bool = False,
    extra: Sequence[F.Feature] = (),
) -> Combiner:
    """Stage 1 on train (out-of-fold n-gram and neighbour scores), stage 2 on dev (classifier logit + calibration).
    ``neighbours``: the index served with the combination, when ``train.neighbours`` holds its out-of-fold scores;
    ``short``: every stage-1 feature also gets a weight of its own for short texts (``features.SHORT_CHARS``);
    ``extra``: more stage-1 columns, read by name from the rows' keyword features (tools/detection_lab.py's trials)."""
    use_nb = train.neighbours is not None
    if use_nb != (dev.neighbours is not None):
        raise ValueError("train and dev both carry the neighbours' scores, or neither does")
    names = stage1_names(use_nb, short) + [f.name for f in extra]
    signs = stage1_signs(use_nb, short) + [f.sign for f in extra]
    x_tr = rows_matrix(train.kw, train.ngram, train.neighbours, names)
    mean = x_tr.mean(0)
    std = x_tr.std(0)
    std[std < 1e-6] = 1.0
    y = train.y.astype(np.float64)
    pos = max(1.0, y.sum())
    neg = max(1.0, len(y) - y.sum())
    balance = np.where(y > 0, len(y) / (2 * pos), len(y) / (2 * neg))
    coef, b0 = fit_logistic((x_tr - mean) / std, y, balance * train.weight, signs, l2)
    comb = Combiner(names, signs, mean, std, coef, b0, ngram=ngram_model, meta=dict(meta), neighbours=neighbours)
    fit_stage2(comb, dev)
    comb.meta["version"] = "comb-" + hashlib.sha256(
        json.dumps([coef.tolist(), b0, comb.a, comb.b, comb.c, dict(meta)], sort_keys=True, default=str).encode()
    ).hexdigest()[:8]
    return comb


def fit_stage2(comb: Combiner, dev: FitData) -> None:
    """Stage 2 on dev: z = a·(stage 1) + b·(standardised classifier logit) + c with a, b ≥ 0 (Platt scaling of stage
    1 alone without a classifier); set on ``comb`` in place."""
    z1 = comb.stage1(rows_matrix(dev.kw, dev.ngram, dev.neighbours, comb.names))
    if dev.clf is not None:
        clf = np.asarray(dev.clf, dtype=np.float64)
        comb.clf_mean, comb.clf_std = float(clf.mean()), float(clf.std() or 1.0)
        x2 = np.stack([z1, (clf - comb.clf_mean) / comb.clf_std], 1)
        (a, b), c = fit_logistic(x2, dev.y, np.ones(len(dev.y)), [+1, +1], l2=0.01)
    else:
        (a,), c = fit_logistic(z1.reshape(-1, 1), dev.y, np.ones(len(dev.y)), [+1], l2=0.01)
        b = 0.0
    comb.a, comb.b, comb.c = float(a), float(b), float(c)


# ---------------------------------------------------------------------------------------------- explaining
def explain(
    contributions: Mapping[str, float],
    score: float,
    flagged: bool,
    keyword_result: Any | None,
    extra: Mapping[str, Any],
    k: int = 3,
    phrase: Callable[..., str | None] = F.phrase,
) -> str:
    """The two or three features that moved this case, in plain Chinese, in the direction of the verdict.

    e.g. 综合判定0.97：承诺保本保息并给出年化收益18%，发布者非持牌机构（鑫盛财富）；反向：含风险提示（…）
    """
    lead = sorted(
        ((n, c) for n, c in contributions.items() if (c > 0) == flagged and abs(c) > 0.05),
        key=lambda nc: -abs(nc[1]),
    )
    against = sorted(
        ((n, c) for n, c in contributions.items() if (c > 0) != flagged and abs(c) > 0.5),
        key=lambda nc: -abs(nc[1]),
    )
    words: list[str] = []
    for n, c in lead:
        p = phrase(n, c > 0, keyword_result, extra)
        if p and not any(p in w or w in p for w in words):
            words.append(p)
        if len(words) == k:
            break
    line = f"综合判定{score:.2f}：" + ("，".join(words) if words else ("未见集资宣传特征" if not flagged else "多项弱证据叠加"))
    for n, c in against[:1]:
        p = phrase(n, c > 0, keyword_result, extra)
        if p and p not in words:
            line += f"；反向：{p}"
    return line


def finite(x: float) -> float:
    return x if math.isfinite(x) else 0.0
