"""How keyword score and classifier probability combine: a logistic blend fitted on the dev split.

score = max(sigmoid(a·kw + b·logit(p) + c·kw·logit(p) + d), kw − margin). The interaction term lets a confident classifier carry a
pitch the lexicon misses and lets the lexicon's counter-evidence hold back a news headline the classifier likes.
The fitted parameters are kept per classifier version under the models root (``blend/<version>.json``); without
them the defaults below (fitted on the seed dev split for the default model) apply.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

EPS = 0.01  # probabilities beyond 1 % / 99 % carry no extra information here; keeps the blend monotone


def logit(p: float) -> float:
    p = min(1 - EPS, max(EPS, p))
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class Blend:
    a: float = 1.968
    b: float = 0.854
    c: float = 0.397
    d: float = -1.970
    fitted_on: str = "default (seed dev split, 4-layer e5-small student)"
    # Strong lexicon evidence is never vetoed by the classifier: score >= keyword score - margin. The classifier
    # learnt the corpora's styles (Weibo posts, SMS) and under-calls freshly written classified ads (on the demo
    # site it finds 12 of 63 pitches, the lexicon 63); a keyword score of 0.8 or more stays in the queue.
    keyword_margin: float = 0.3

    def score(self, keyword_score: float, classifier_prob: float) -> float:
        lp = logit(classifier_prob)
        z = self.a * keyword_score + self.b * lp + self.c * keyword_score * lp + self.d
        fitted = 1 / (1 + math.exp(-max(-50.0, min(50.0, z))))
        return max(fitted, keyword_score - self.keyword_margin)


DEFAULT = Blend()


def fit(
    keyword_scores: list[float],
    probs: list[float],
    labels: list[bool],
    fitted_on: str,
    keyword_margin: float = 0.3,
) -> Blend:
    from sklearn.linear_model import LogisticRegression

    rows = [[k, logit(p), k * logit(p)] for k, p in zip(keyword_scores, probs, strict=True)]
    model = LogisticRegression(C=1.0, max_iter=1000).fit(rows, labels)
    a, b, c = (float(x) for x in model.coef_[0])
    return Blend(a, b, c, float(model.intercept_[0]), fitted_on, keyword_margin)


def path_for(model_dir: Path, classifier_version: str) -> Path:
    return Path(model_dir) / "blend" / f"{classifier_version}.json"


def save(blend: Blend, model_dir: Path, classifier_version: str) -> Path:
    path = path_for(model_dir, classifier_version)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(blend), ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def load(model_dir: Path, classifier_version: str | None) -> Blend:
    if classifier_version:
        path = path_for(model_dir, classifier_version)
        if path.exists():
            return Blend(**json.loads(path.read_text(encoding="utf-8")))
    return DEFAULT
