"""Combine whichever detectors exist into one verdict (score 0–1, level, flag, explanation).

Keyword evidence is explainable but blind to pitches without lexicon terms; the models separate pitches from
compliant bank ads and news that repeat the same words. The score is the learned combination of all of them
(``scoring/combiner.py``, fitted by ``adscreen train``), which also says which evidence moved it. Without a fitted
combination: the keyword score alone (keywords only), or the classifier's calibrated probability (a classifier
whose combination has not been fitted yet). There is no floor: no detector's score is ever the verdict's minimum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Thresholds:
    flag: float = 0.5
    high: float = 0.8
    medium: float = 0.5


@dataclass
class Verdict:
    score: float
    level: str
    flag: bool
    keyword_score: float | None
    classifier_prob: float | None
    hits: list[dict[str, Any]] = field(default_factory=list)
    explanation: str = ""
    detectors: list[str] = field(default_factory=list)
    detector_versions: str = ""
    category: str | None = None

    def to_record(self, record_id: object) -> dict[str, Any]:
        """The ``adscreen score`` output record."""
        return {
            "id": record_id,
            "score": round(self.score, 4),
            "level": self.level,
            "flag": self.flag,
            "hits": self.hits,
            "classifier_prob": None if self.classifier_prob is None else round(self.classifier_prob, 4),
            "keyword_score": None if self.keyword_score is None else round(self.keyword_score, 4),
            "explanation": self.explanation,
            "detectors": self.detectors,
        }


def level_for(score: float, t: Thresholds) -> str:
    if score >= t.high:
        return "high"
    if score >= t.medium:
        return "medium"
    return "low"


@dataclass(frozen=True)
class Combined:
    """The learned combination's output for one document."""

    score: float
    explanation: str  # the features that moved it, in Chinese
    version: str
    ngram_prob: float | None = None


def fallback_score(keyword_score: float | None, classifier_prob: float | None) -> float:
    """Without a fitted combination: the classifier's calibrated probability when there is one, else the keywords'."""
    if keyword_score is None and classifier_prob is None:
        raise ValueError("no detector voted")
    return float(classifier_prob if classifier_prob is not None else keyword_score)


def top_category(hits: list[dict[str, Any]]) -> str | None:
    """The heaviest positive hit's category; ``ad_law`` when a licensed sender guarantees returns (labeling.md)."""
    if any(h.get("rule") == "sender" and (h.get("value") or {}).get("rule") == "licensed_guarantee" for h in hits):
        return "ad_law"
    positive = [h for h in hits if not h.get("counter", False) and h.get("weight", 0) > 0]
    if not positive:
        return None
    return max(positive, key=lambda h: h.get("weight", 0))["category"]


def combine(
    keyword: Any | None,
    classifier_prob: float | None,
    thresholds: Thresholds = Thresholds(),
    *,
    classifier_version: str | None = None,
    combined: Combined | None = None,
) -> Verdict:
    """``keyword`` is a ``keywords.MatchResult`` (or None when the lexicon is off); ``combined`` the combination's
    output for this document (None: no combination fitted, see :func:`fallback_score`)."""
    keyword_score = None if keyword is None else float(keyword.score)
    hits = [] if keyword is None else [h.to_dict() for h in keyword.hits]
    raw = combined.score if combined is not None else fallback_score(keyword_score, classifier_prob)
    score = min(1.0, max(0.0, raw))
    detectors: list[str] = []
    versions: list[str] = []
    parts: list[str] = [combined.explanation] if combined is not None and combined.explanation else []
    if keyword is not None:
        detectors.append("keywords")
        versions.append(f"kw:{keyword.lexicon_version}")
        if keyword.explanation:
            parts.append(keyword.explanation)
    if classifier_prob is not None:
        detectors.append("classifier")
        versions.append(f"clf:{classifier_version or 'unknown'}")
        if combined is None:
            parts.append(f"分类器判定为集资宣传的概率 {classifier_prob:.2f}")
    if combined is not None:
        if combined.ngram_prob is not None:
            detectors.append("ngram")
        versions.append(f"comb:{combined.version}")
    return Verdict(
        score=score,
        level=level_for(score, thresholds),
        flag=score >= thresholds.flag,
        keyword_score=keyword_score,
        classifier_prob=classifier_prob,
        hits=hits,
        explanation="；".join(parts) or "未发现集资宣传特征",
        detectors=detectors,
        detector_versions="+".join(versions),
        category=top_category(hits),
    )
