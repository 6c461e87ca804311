"""Pure-logic tests: digit masking, calibration, threshold, batching, data helpers, metrics."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.calibrate import choose_threshold, fit_temperature, nll, sigmoid
from classifier.dataset import by_split, data_hash, extra_rows, label_to_int
from classifier.metrics import prf, report
from classifier.textprep import mask_digits, prepare
from classifier.train import bucketed_batches, class_weights


def test_mask_digits_ascii_and_fullwidth():
    assert mask_digits("年化20%，１０万起") == "年化xx%，xx万起"
    assert prepare(None) == ""
    assert prepare("  保本  保息 \n 12 ") == "保本 保息 xx"


def test_temperature_recovers_scale():
    rng = np.random.default_rng(0)
    true_margin = rng.normal(0, 2, 4000)
    labels = (rng.random(4000) < sigmoid(true_margin)).astype(int)
    # the model is over-confident by a factor 3
    t = fit_temperature(true_margin * 3, labels)
    assert 2.5 < t < 3.6
    assert nll(true_margin * 3, labels, t) < nll(true_margin * 3, labels, 1.0)


def test_temperature_degenerate_inputs():
    assert fit_temperature(np.array([]), np.array([])) == 1.0
    assert fit_temperature(np.array([1.0, 2.0]), np.array([1, 1])) == 1.0


def test_threshold_maximises_f1_and_sits_between_scores():
    probs = np.array([0.95, 0.9, 0.8, 0.6, 0.4, 0.2, 0.1])
    labels = np.array([1, 1, 1, 0, 1, 0, 0])
    t = choose_threshold(probs, labels)
    # best cuts: top 3 (F1 6/7=.857) or top 5 (F1 8/9=.889) -> top 5, cut between .4 and .2
    assert t == pytest.approx(0.3)
    assert prf(labels, (probs >= t).astype(int))["f1"] == pytest.approx(0.8889, abs=1e-4)


def test_threshold_ties_prefer_higher_and_handles_no_positives():
    probs = np.array([0.9, 0.5, 0.5, 0.1])
    labels = np.array([1, 0, 0, 0])
    assert choose_threshold(probs, labels) == pytest.approx(0.7)
    assert choose_threshold(probs, np.zeros(4, int)) == 0.5


def test_bucketed_batches_cover_everything_with_similar_lengths():
    rng = np.random.default_rng(1)
    lengths = list(rng.integers(5, 128, 300))
    batches = bucketed_batches(lengths, 32, np.random.default_rng(0))
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(300))
    spreads = [np.ptp(np.asarray(lengths)[b]) for b in batches]
    assert np.mean(spreads) < 20  # random batches would spread ~110
    again = bucketed_batches(lengths, 32, np.random.default_rng(0))
    assert all((a == b).all() for a, b in zip(batches, again, strict=True))


def test_class_weights_inverse_frequency():
    w = class_weights(np.array([0] * 90 + [1] * 10))
    assert w[1] / w[0] == pytest.approx(9.0)


def test_labels_extra_rows_and_hash():
    assert label_to_int("fundraising") == 1 and label_to_int("negative") == 0
    assert label_to_int(True) == 1 and label_to_int("confirmed") == 1 and label_to_int("dismissed") == 0
    extra = extra_rows([{"text": "a", "label": True}, {"text": "b", "label": "negative"}])
    assert [r["split"] for r in extra] == ["train", "train"]
    assert [r["label"] for r in extra] == ["fundraising", "negative"]
    rows = [{"id": "1", "text": "x", "label": "negative", "split": "dev"}]
    assert by_split(rows)["dev"] == rows
    changed = [dict(rows[0], label="fundraising")]
    assert data_hash(rows) != data_hash(changed)


def test_report_subtypes_and_hard_negative_fp_rate():
    rows = [
        {"id": "a", "text": "t", "label": "fundraising", "subtype": "p2p"},
        {"id": "b", "text": "t", "label": "negative", "subtype": "finance_legit"},
        {"id": "c", "text": "t", "label": "negative", "subtype": "warning_news"},
        {"id": "d", "text": "t", "label": "negative", "subtype": "other"},
    ]
    rep = report(rows, np.array([0.9, 0.8, 0.1, 0.2]), 0.5)
    assert rep["f1"] == pytest.approx(2 / 3, abs=1e-3)
    assert rep["fp_rate_hard_negatives"] == 0.5
    assert rep["by_subtype"]["finance_legit"]["fp"] == 1
    assert [e["id"] for e in rep["false_positives"]] == ["b"]


def test_prepare_folds_evasion_spellings_only_when_asked():
    assert prepare("保☆本 年化１８％，穩賺") == "保☆本 年化xx％，穩賺"  # runs trained before fold_text
    folded = prepare("保☆本 年化１８％，穩賺", fold=True)
    assert folded == prepare("保本年化18%，稳赚", fold=True) and "保本" in folded and "x" in folded
