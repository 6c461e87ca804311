"""The combined verdict: whichever detectors exist vote, and the verdict says which did."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from scoring.verdict import Thresholds, blend, combine, level_for


@dataclass
class _Hit:
    term: str
    category: str
    weight: float
    counter: bool = False

    def to_dict(self) -> dict:
        return {"term": self.term, "category": self.category, "weight": self.weight, "counter": self.counter}


@dataclass
class _KwResult:
    score: float
    hits: list = field(default_factory=list)
    explanation: str = ""
    lexicon_version: str = "7"


def test_keywords_only():
    v = combine(_KwResult(0.9, [_Hit("保本保息", "return_promise", 1.0)], "命中：保本保息"), None)
    assert v.score == pytest.approx(0.9) and v.flag and v.level == "high"
    assert v.detectors == ["keywords"] and v.detector_versions == "kw:7" and v.classifier_prob is None
    assert v.category == "return_promise" and "保本保息" in v.explanation


def test_classifier_only():
    v = combine(None, 0.3, classifier_version="clf-abc")
    assert v.score == pytest.approx(0.3) and not v.flag and v.level == "low"
    assert v.detectors == ["classifier"] and v.detector_versions == "clf:clf-abc" and v.hits == []


def test_both_detectors_blend_and_a_confident_classifier_carries_a_silent_lexicon():
    both = combine(_KwResult(0.0), 0.95, classifier_version="c1")
    assert both.flag and both.detectors == ["keywords", "classifier"]
    assert both.detector_versions == "kw:7+clf:c1"
    # a news headline full of trigger words that the classifier sees as news stays out of the queue
    news = combine(_KwResult(0.7, [_Hit("保本", "return_promise", 0.6)]), 0.05)
    assert not news.flag


def test_counter_evidence_hits_do_not_set_the_category():
    v = combine(
        _KwResult(0.6, [_Hit("理财非存款", "risk_disclosure", -1.0, True), _Hit("年化", "rate", 0.3)]), None
    )
    assert v.category == "rate"


def test_thresholds_are_configurable():
    t = Thresholds(flag=0.3, high=0.9, medium=0.3)
    assert combine(None, 0.35, t).flag and level_for(0.35, t) == "medium"
    with pytest.raises(ValueError):
        blend(None, None)


def test_blend_is_monotone_in_both_detectors_and_fits_from_labels():
    from scoring.blend import DEFAULT, fit

    grid = [0.0, 0.2, 0.5, 0.8, 1.0]
    for k in grid:
        probs = [DEFAULT.score(k, p) for p in grid]
        assert probs == sorted(probs)
    for p in grid:
        kws = [DEFAULT.score(k, p) for k in grid]
        assert kws == sorted(kws)
    # a blend fitted on data where only the classifier is informative learns to trust the classifier
    kw = [0.1, 0.9, 0.1, 0.9] * 10
    pr = [0.9, 0.9, 0.1, 0.1] * 10
    y = [True, True, False, False] * 10
    b = fit(kw, pr, y, "synthetic", keyword_margin=1.0)  # the fitted part alone
    assert b.score(0.1, 0.9) > 0.5 > b.score(0.9, 0.1)


def test_strong_keyword_evidence_is_not_vetoed_by_the_classifier():
    from scoring.blend import DEFAULT

    assert DEFAULT.score(1.0, 0.02) >= 0.7 >= 0.5
    assert DEFAULT.score(0.6, 0.02) < 0.5  # weak lexicon evidence still needs the classifier's agreement
