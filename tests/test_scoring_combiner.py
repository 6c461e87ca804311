"""The learned combination: no floor, monotone in every detector's score, explanations that name the evidence,
stored without pickle and versioned with the classifier."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from keywords import Lexicon, Matcher
from scoring import combiner as C
from scoring import features as F
from scoring.engine import Scorer
from scoring.fitting import fit_from_rows

ROOT = Path(__file__).resolve().parents[1]


class _FakeClassifier:
    """A stand-in classifier whose probability the test chooses."""

    version = "clf-test"
    threshold = 0.5

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = prob

    def predict_proba(self, texts):
        return [self.prob for _ in texts]


def _seed_rows() -> list[dict]:
    rows = [json.loads(x) for x in (ROOT / "classifier/data/seed.jsonl").read_text("utf-8").splitlines()]
    train = [r for r in rows if r["split"] == "train"][::8]
    dev = [r for r in rows if r["split"] == "dev"][::2]
    return train + dev


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(Lexicon.bundled())


@pytest.fixture(scope="module")
def fitted(matcher) -> C.Combiner:
    """Keywords + n-gram + a (constant-on-train, varied-on-dev) classifier, fitted on a slice of the seed set."""

    class DevClassifier(_FakeClassifier):
        def predict_proba(self, texts):  # informative on dev: near the label for most rows
            lookup = {r["text"]: r["label"] == "fundraising" for r in _seed_rows()}
            return [0.85 if lookup.get(t) else 0.15 for t in texts]

    return fit_from_rows(_seed_rows(), matcher, DevClassifier(), folds=3)


@pytest.fixture(scope="module")
def no_clf(matcher) -> C.Combiner:
    return fit_from_rows(_seed_rows(), matcher, None, folds=3)


def _row(**over: float) -> dict[str, float]:
    f = F.keyword_features(None, "x" * 80)
    f.update(over)
    return f


def _matrix(comb: C.Combiner, feats: list[dict[str, float]], ngram: np.ndarray, nb: float = 0.0) -> np.ndarray:
    """Stage 1's columns; the neighbours' log-odds ``nb`` when the combination was fitted with them."""
    return C.rows_matrix(feats, ngram, np.full(len(feats), nb) if comb.neighbours is not None else None, comb.names)


def _score(comb: C.Combiner, feats: dict[str, float], ngram: float = 0.0, clf: float | None = None,
           nb: float = 0.0) -> float:
    x = _matrix(comb, [feats], np.array([ngram]), nb)
    return float(comb.predict(x, None if clf is None else np.array([clf]))[0])


def test_constrained_fit_respects_the_signs():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] - x[:, 1] + 0.1 * rng.normal(size=400) > 0).astype(float)
    coef, _ = C.fit_logistic(x, y, np.ones(400), [+1, +1, -1])
    assert coef[0] > 1.0  # the real positive effect is learnt
    assert coef[1] == pytest.approx(0.0, abs=1e-9)  # a "+" feature with a negative effect is clamped to 0
    assert coef[2] <= 0.0


def test_monotone_in_each_detectors_score(fitted):
    grid = np.linspace(-8, 8, 17)
    base = _row(kw_score=0.4, cat_return=0.3)
    by_clf = [_score(fitted, base, 0.0, c) for c in grid]
    by_ngram = [_score(fitted, base, g, 0.0) for g in grid]
    by_kw = [_score(fitted, _row(kw_score=k, cat_return=0.3), 0.0, 0.0) for k in np.linspace(0, 1, 11)]
    assert fitted.neighbours is not None and F.NEIGHBOURS.name in fitted.names
    by_nb = [_score(fitted, base, 0.0, 0.0, nb) for nb in grid]
    for seq in (by_clf, by_ngram, by_kw, by_nb):
        assert all(b >= a - 1e-12 for a, b in zip(seq, seq[1:], strict=False)), seq
    assert by_clf[-1] > by_clf[0] and by_ngram[-1] > by_ngram[0]
    # and in every piece of evidence: every weight has its feature's sign
    for name, w in fitted.weights().items():
        sign = next(s for n, s in zip(fitted.names + [F.CLASSIFIER.name], fitted.signs + [1], strict=True)
                    if n == name)
        assert w * sign >= -1e-12, (name, w)


def test_short_texts_get_weights_of_their_own_and_stay_monotone(fitted):
    """Every stage-1 feature has a copy that only texts under SHORT_CHARS carry, with the feature's sign; long and
    short texts alike are monotone in each detector, and the explanation counts a copy with its feature."""
    copies = [n for n in fitted.names if n.startswith(F.SHORT_PREFIX)]
    assert F.SHORT_PREFIX + F.NGRAM.name in copies and F.SHORT_PREFIX + "kw_score" in copies
    assert "short" in fitted.names and F.SHORT_PREFIX + "short" not in fitted.names
    for chars in (F.SHORT_CHARS - 1, F.SHORT_CHARS, 600):
        row = F.keyword_features(None, "x" * chars)
        assert row["short"] == float(chars < F.SHORT_CHARS)
        row.update(kw_score=0.4, cat_return=0.3)
        by_ngram = [_score(fitted, row, g, 0.0) for g in np.linspace(-8, 8, 17)]
        by_kw = [_score(fitted, {**row, "kw_score": k}, 0.0, 0.0) for k in np.linspace(0, 1, 11)]
        for seq in (by_ngram, by_kw):
            assert all(b >= a - 1e-12 for a, b in zip(seq, seq[1:], strict=False)), (chars, seq)
    short_row = {**F.keyword_features(None, "x" * 80), "kw_score": 0.9}
    contrib = fitted.contributions(_matrix(fitted, [short_row], np.array([3.0]))[0], 0.0)
    assert not any(n.startswith(F.SHORT_PREFIX) for n in contrib)
    x = _matrix(fitted, [short_row], np.array([3.0]))[0]
    j, js = fitted.names.index(F.NGRAM.name), fitted.names.index(F.SHORT_PREFIX + F.NGRAM.name)
    both = sum(fitted.a * fitted.coef[i] * (x[i] - fitted.mean[i]) / fitted.std[i] for i in (j, js))
    assert contrib[F.NGRAM.name] == pytest.approx(both)


def test_no_floor_strong_keywords_licensed_sender_low_classifier_is_not_flagged(fitted, matcher):
    text = "【中信银行】尊敬的客户：我行稳健理财第8期，预期年化收益率高达5.2%，稳定收益，五万起投，额度有限，欲购从速。"
    strong = _row(kw_score=0.95, cat_return=0.6, cat_rate=0.5, cat_solicit=0.4, rate_annual=5.2 / 40,
                  sender_licensed=1.0, ctr_licensed=0.6)
    low = F.prob_logit(0.03)
    assert _score(fitted, strong, ngram=0.0, clf=low) < 0.5  # the old floor would have kept it ≥ 0.65
    scorer = Scorer(matcher, _FakeClassifier(0.03), combiner=_as_version(fitted, "clf-test"))
    (v,) = scorer.score([text])
    assert not v.flag and "持牌机构" in v.explanation


def _as_version(comb: C.Combiner, version: str) -> C.Combiner:
    comb.meta["classifier_version"] = version
    return comb


def test_explanation_names_the_top_features(no_clf, matcher):
    text = "【鑫盛财富】本公司理财产品保本保息，年化收益18%，一万起投，稳赚不赔，推荐好友另有返利。"
    scorer = Scorer(matcher, None, combiner=no_clf)
    (v,) = scorer.score([text])
    assert v.flag and v.explanation.startswith("综合判定")
    head = v.explanation.split("；关键词得分")[0]
    named = [p for p in ("保本保息", "年化收益18%", "非持牌机构", "字符模型", "起投", "返利", "关键词证据") if p in head]
    assert len(named) >= 2, head
    benign = scorer.score(["二手自行车转让，九成新，价格面议，限本地自提。"])[0]
    assert not benign.flag and benign.explanation.startswith("综合判定")


def test_explain_picks_the_largest_contributions_in_the_verdicts_direction(matcher):
    r = matcher.match("【鑫盛财富】保本保息，年化收益18%，一万起投")
    contrib = {"guarantee_x_rate": 2.5, "sender_unlicensed": 1.8, "min_amount": 0.2, "ctr_risk": -0.1, "length": 0.05}
    line = C.explain(contrib, 0.97, True, r, {})
    assert line.startswith("综合判定0.97：承诺保本保息并给出年化收益18%，发布者非持牌机构（鑫盛财富）"), line


def test_a_sender_rule_is_named_only_when_it_fired_and_pushed_its_own_way(matcher):
    """The absence of a licensed sender also raises a standardised score; the explanation must not then claim one
    (a flagged pitch once read "发布者为持牌机构（）且无保本承诺")."""
    none = matcher.match("综合广场！城南核心，独立产权，沿街商铺，私享专线：xxxxxxxxxxx")
    absent = {"sender_licensed": 1.2, "sender_ad_law": 0.9, "sender_unlicensed": -0.8, "ngram_logit": 1.0}
    flagged = C.explain(absent, 0.76, True, none, {"ngram_prob": 0.79})
    cleared = C.explain({k: -v for k, v in absent.items()}, 0.1, False, none, {"ngram_prob": 0.1})
    for line in (flagged, cleared):
        assert "持牌机构" not in line, line
    bank = matcher.match("【招商银行】我行理财产品预期年化4.1%，理财非存款，产品有风险，投资须谨慎")
    assert F.keyword_features(bank, "")["sender_licensed"] == 1.0
    line = C.explain({"sender_licensed": -1.5, "ctr_risk": -0.7}, 0.02, False, bank, {})
    assert "发布者为持牌机构（招商银行）且无保本承诺" in line, line
    assert "持牌机构" not in C.explain({"sender_licensed": 1.5}, 0.9, True, bank, {})  # never as a reason to flag
    unlicensed = matcher.match("【鑫盛财富】保本保息，年化收益18%，一万起投")
    assert "非持牌机构" not in C.explain({"sender_unlicensed": -1.0}, 0.1, False, unlicensed, {})
    # the same for rates and counter-evidence: named only when present, and only the way they push
    assert "收益" not in C.explain({"cat_rate": -0.9}, 0.1, False, none, {})
    assert "收益" not in C.explain({"cat_rate": 0.9}, 0.9, True, none, {})
    assert "给出年化收益18%" in C.explain({"cat_rate": 0.9}, 0.9, True, unlicensed, {})
    assert "风险提示" not in C.explain({"ctr_risk": 0.9}, 0.9, True, bank, {})
    assert "含风险提示" in C.explain({"ctr_risk": -0.9}, 0.1, False, bank, {})


def test_a_detector_is_said_to_judge_only_the_way_its_own_number_reads(matcher, no_clf):
    """A 0.42 n-gram score raises the combined score above the average case, but the case page must not say the
    n-gram model "判为集资宣传（0.42）": the words and the number shown beside them must agree."""
    r = matcher.match("投资即送，年化收益")
    up_low = C.explain({"ngram_logit": 1.2, "clf_logit": 0.8, "kw_score": 0.6}, 0.6, True, r,
                       {"ngram_prob": 0.42, "classifier_prob": 0.43, "kw_score": 0.3})
    assert "判为集资宣传" not in up_low and "关键词证据较强" not in up_low, up_low
    assert "字符模型得分偏高（0.42" in up_low and "分类器得分偏高（0.43）" in up_low, up_low
    down_high = C.explain({"ngram_logit": -1.2}, 0.2, False, r, {"ngram_prob": 0.55})
    assert "字符模型得分偏低（0.55" in down_high and "判为非集资" not in down_high, down_high
    sure = C.explain({"ngram_logit": 1.2}, 0.9, True, r, {"ngram_prob": 0.91})
    assert "字符模型判为集资宣传（0.91" in sure, sure
    # and on texts the fitted combination scores, every verdict word matches its number
    scorer = Scorer(matcher, None, combiner=no_clf)
    texts = ["保本保息，年化18%，一万起投，详询王经理", "某地警方破获一起以高息为诱饵的非法集资案", "二手自行车转让",
             "【招商银行】理财非存款，产品有风险", "区块链项目上线，注册送矿机，每天挖矿收益", "包租十年，年回报8%"]
    for v in scorer.score(texts):
        for m in re.finditer(r"判为集资宣传（(0\.\d+)", v.explanation):
            assert float(m.group(1)) >= 0.5, v.explanation
        for m in re.finditer(r"判为非集资（(0\.\d+)", v.explanation):
            assert float(m.group(1)) < 0.5, v.explanation


def test_saved_without_pickle_and_versioned_with_the_classifier(tmp_path, no_clf, fitted):
    path = C.path_for(tmp_path, None)
    no_clf.save(path)
    assert sorted(p.name for p in path.rglob("*") if p.is_file()) == [
        "combiner.json", "neighbours.json", "neighbours.npz", "ngram.json", "ngram.npz"]
    back = C.load_for(tmp_path, None)
    feats = [_row(kw_score=0.7, cat_return=0.5), _row()]
    ng = np.array([1.5, -2.0])
    assert np.allclose(back.predict(_matrix(back, feats, ng, 0.8)), no_clf.predict(_matrix(no_clf, feats, ng, 0.8)))
    texts = ["保本保息年化18%", "今天天气很好"]
    assert np.allclose(back.ngram.decision_function(texts), no_clf.ngram.decision_function(texts))
    # the served neighbours score as the fitted ones (the stored cosines are float16: equal to 1e-3)
    assert np.allclose(back.detector_matrix(feats, texts)[0], no_clf.detector_matrix(feats, texts)[0], atol=1e-3)
    assert C.load_for(tmp_path, "clf-other") is None
    _as_version(fitted, "clf-test").save(C.path_for(tmp_path, "clf-test"))
    assert C.load_for(tmp_path, "clf-test").uses_classifier
    # a combination fitted for another classifier is never applied
    s = Scorer(None, _FakeClassifier(0.2), combiner=_as_version(C.load_for(tmp_path, "clf-test"), "clf-else"))
    assert s.usable_combiner() is None and s.score(["x"])[0].score == pytest.approx(0.2)


def test_keywords_and_ngram_without_classifier_and_hits_keep_their_fields(no_clf, matcher):
    scorer = Scorer(matcher, None, combiner=no_clf)
    assert scorer.detectors == ["keywords", "ngram"]
    fields = {"title": "保本保息理财", "body": "联系人王经理，年化18%，一万起投，电话138xxxx"}
    (v,) = scorer.score_fields([fields])
    assert "comb:" in v.detector_versions and "ngram" in v.detectors and v.keyword_score > 0.9
    for h in v.hits:
        assert fields[h["field"]][h["start"] : h["end"]] == h["matched"]
    # keywords only (no combination) still works: the keyword score is the verdict
    bare = Scorer(matcher, None)
    (kw_only,) = bare.score(["保本保息，年化收益20%，稳赚不赔"])
    assert kw_only.score == pytest.approx(kw_only.keyword_score) and kw_only.detectors == ["keywords"]


def test_a_combination_fitted_by_an_older_recipe_is_refitted(tmp_path, no_clf, matcher, monkeypatch):
    """Same data, same classifier, but fitted the old way (no class balance within sources): refit, not reuse."""
    from scoring import fitting

    rows = _seed_rows()
    meta = no_clf.meta
    no_clf.meta = {**meta, "recipe": fitting.FIT_RECIPE - 1}
    no_clf.save(C.path_for(tmp_path, None))
    no_clf.meta = meta
    calls = []
    monkeypatch.setattr(fitting, "fit_from_rows", lambda *a, **k: calls.append(1) or no_clf)
    fitting.ensure_combiner(tmp_path, rows, matcher, None)
    assert calls == [1]  # the old recipe was not reused
    no_clf.save(C.path_for(tmp_path, None))
    fitting.ensure_combiner(tmp_path, rows, matcher, None)
    assert calls == [1]  # the current recipe and data are
    assert no_clf.meta["recipe"] == fitting.FIT_RECIPE and no_clf.meta["class_power"] == fitting.CLASS_POWER


def test_a_copy_of_a_judged_pitch_names_the_case_it_resembles(no_clf, matcher):
    """The neighbours' evidence is shown with the ids of the judged rows it rests on, with their own labels."""
    rows = {r["id"]: r for r in _seed_rows()}
    pitch = next(r for r in _seed_rows() if r["split"] == "train" and r["label"] == "fundraising"
                 and r["source"] == "sms-spam-corpus")
    near = no_clf.neighbours.nearest(no_clf.ngram.transform([pitch["text"]])[0], 2)
    assert near[0][0] == pitch["id"] and near[0][1] == 1 and near[0][2] == pytest.approx(1.0, abs=1e-3)
    assert all(rows[i]["label"] == ("fundraising" if label else "negative") for i, label, _ in near)
    pitch_nb, benign_nb = no_clf.neighbours.logodds(no_clf.ngram.transform([pitch["text"], "二手自行车转让，九成新，价格面议。"]))
    assert pitch_nb > benign_nb  # the judged copy among its neighbours lifts it
    assert not any(i.startswith("w-") for i in no_clf.neighbours.ids)  # precedents are judged real texts
    line = C.explain({F.NEIGHBOURS.name: 2.0, "kw_score": 0.3}, 0.9, True, None,
                     {"neighbours_near": near, "kw_score": 0.5})
    assert f"与已判定为集资宣传的样本相近：{pitch['id']}" in line, line
