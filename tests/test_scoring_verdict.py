"""The combined verdict: whichever detectors exist vote, and the verdict says which did."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from scoring.verdict import Combined, Thresholds, combine, fallback_score, level_for


@dataclass
class _Hit:
    term: str
    category: str
    weight: float
    counter: bool = False
    rule: str = "literal"
    value: dict | None = None

    def to_dict(self) -> dict:
        return {
            "term": self.term,
            "category": self.category,
            "weight": self.weight,
            "counter": self.counter,
            "rule": self.rule,
            "value": self.value,
        }


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


def test_without_a_fitted_combination_the_classifier_decides_and_keywords_set_no_floor():
    # no combination fitted yet for this classifier: its calibrated probability, never max(keyword, …)
    strong_kw = combine(_KwResult(0.95, [_Hit("保本保息", "return_promise", 0.9)]), 0.05, classifier_version="c1")
    assert strong_kw.score == pytest.approx(0.05) and not strong_kw.flag
    assert strong_kw.detectors == ["keywords", "classifier"] and strong_kw.detector_versions == "kw:7+clf:c1"
    assert fallback_score(0.9, None) == 0.9
    with pytest.raises(ValueError):
        fallback_score(None, None)


def test_the_combination_decides_when_given_and_is_named():
    cmb = Combined(0.12, "综合判定0.12：发布者为持牌机构（招商银行）且无保本承诺", "comb-1", ngram_prob=0.2)
    v = combine(_KwResult(0.95, [_Hit("年化", "rate", 0.8)], "关键词得分0.95：…"), 0.1, classifier_version="c1",
                combined=cmb)
    assert v.score == pytest.approx(0.12) and not v.flag
    assert v.detectors == ["keywords", "classifier", "ngram"]
    assert v.detector_versions == "kw:7+clf:c1+comb:comb-1"
    assert v.explanation.startswith("综合判定0.12：发布者为持牌机构") and "关键词得分0.95" in v.explanation


def test_counter_evidence_hits_do_not_set_the_category_and_ad_law_sender_does():
    v = combine(
        _KwResult(0.6, [_Hit("理财非存款", "risk_disclosure", -1.0, True), _Hit("年化", "rate", 0.3)]), None
    )
    assert v.category == "rate"
    ad = _Hit("持牌机构承诺保本：招商银行", "ad_law", 0.6, True, "sender", {"rule": "licensed_guarantee"})
    assert combine(_KwResult(0.2, [ad, _Hit("保本", "return_promise", 0.3)]), None).category == "ad_law"


def test_thresholds_are_configurable():
    t = Thresholds(flag=0.3, high=0.9, medium=0.3)
    assert combine(None, 0.35, t).flag and level_for(0.35, t) == "medium"
