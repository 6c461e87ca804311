"""The character n-gram model: learns, folds evasion spellings, round-trips through JSON + NPZ, no pickle."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from classifier.ngram import NPZ_FILE, NgramModel, dup_key, fold_ids, normalise, out_of_fold

PITCH = ["保本保息年化收益", "稳赚不赔高额回报", "原始股认购上市在即", "包租十年年回报", "推荐好友返利分红"]
PLAIN = ["二手自行车转让", "周末超市水果打折", "小区停车位出租", "钢琴课招生", "家政保洁上门服务"]


def _data(n: int = 200, seed: int = 0) -> tuple[list[str], list[int]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        pos = i % 2 == 0
        words = rng.sample(PITCH if pos else PLAIN, 2) + rng.sample(PLAIN, 1)
        texts.append("，".join(words) + f"，电话{rng.randint(10, 99)}")
        labels.append(int(pos))
    return texts, labels


@pytest.fixture(scope="module")
def model() -> NgramModel:
    texts, labels = _data()
    return NgramModel.fit(texts, labels, c=4.0)


def test_learns_and_scores_in_log_odds(model):
    s = model.decision_function(["保本保息，年化收益", "二手自行车转让，九成新"])
    assert s[0] > 0 > s[1]
    assert np.allclose(model.predict_proba(["x"]), 1 / (1 + np.exp(-model.decision_function(["x"]))))
    assert model.decision_function([]).shape == (0,)
    assert np.isfinite(model.decision_function(["", None, "Hello"])).all()


def test_evasion_spellings_and_digits_read_as_the_plain_text(model):
    plain = model.decision_function(["保本保息，年化收益20%"])[0]
    for variant in ("保☆本保息，年化收益２０％", "保本保息，年化收益99%", "保本保息，年化收益xx%", "保本保息，年化收益20％"):
        assert model.decision_function([variant])[0] == pytest.approx(plain, abs=1e-6), variant
    assert normalise("穩賺不賠 ２０％") == normalise("稳赚不赔 20%")


def test_round_trip_through_json_and_npz_without_pickle(model, tmp_path):
    model.save(tmp_path / "ng", "ngram-test")
    doc = json.loads((tmp_path / "ng" / "ngram.json").read_text("utf-8"))
    assert doc["meta"]["version"] == "ngram-test" and len(doc["vocabulary"]) == len(model.vocabulary)
    with np.load(tmp_path / "ng" / NPZ_FILE, allow_pickle=False) as z:
        assert z["coef"].dtype == np.float32 and z["coef"].shape == (len(model.vocabulary),)
    back = NgramModel.load(tmp_path / "ng")
    texts = ["保本保息年化收益18%", "小区停车位出租", "推荐好友返利"]
    assert np.allclose(back.decision_function(texts), model.decision_function(texts), atol=1e-5)
    assert back.version == "ngram-test"
    (tmp_path / "ng" / "ngram.json").write_text(json.dumps({**doc, "vocabulary": doc["vocabulary"][:-1]}), "utf-8")
    with pytest.raises(ValueError):
        NgramModel.load(tmp_path / "ng")


def test_top_ngrams_name_chinese_evidence(model):
    top = [g for g, _ in model.top_ngrams("保本保息，年化收益，电话12", 3)]
    assert top and all(len(g) >= 2 and all("\u4e00" <= c <= "\u9fff" for c in g) for g in top)


def test_out_of_fold_keeps_near_duplicates_together():
    texts, labels = _data(120)
    texts += [t.replace("电话", "电话 ") + "!" for t in texts[:20]]  # near-duplicates of the first 20 rows
    labels += labels[:20]
    folds = fold_ids(texts, labels, k=4)
    for i in range(20):
        assert dup_key(texts[i]) == dup_key(texts[120 + i]) and folds[i] == folds[120 + i]
    oof = out_of_fold(texts, labels, k=4)
    assert oof.shape == (len(texts),) and ((oof > 0) == np.array(labels, bool)).mean() > 0.9


def test_word_features_add_a_block_that_round_trips(tmp_path):
    """``words=True``: jieba words and word pairs after the character block; stored, loaded and scored the same,
    and the characters' own block is exactly what a characters-only fit would build."""
    texts, labels = _data()
    chars = NgramModel.fit(texts, labels)
    both = NgramModel.fit(texts, labels, words=True)
    n_char = len(chars.vocabulary)
    assert both.vocabulary[:n_char] == chars.vocabulary
    assert np.allclose(both.idf[:n_char], chars.idf)
    extra = both.vocabulary[n_char:]
    assert extra and all(g[0] in "\x01\x02" for g in extra) and "\x01保本" in extra
    probe = ["保本保息，年化收益18%", "小区停车位出租", "推荐好友返利分红", ""]
    assert both.decision_function(probe)[0] > 0 > both.decision_function(probe)[1]
    both.save(tmp_path / "w", "ngram-w")
    assert json.loads((tmp_path / "w" / "ngram.json").read_text("utf-8"))["words"] is True
    back = NgramModel.load(tmp_path / "w")
    assert back.words and np.allclose(back.decision_function(probe), both.decision_function(probe), atol=1e-5)
    assert not NgramModel.load(chars.save(tmp_path / "c", "ngram-c")).words
    assert all(len(g) >= 2 and "\x01" not in g for g, _ in both.top_ngrams("保本保息，年化收益18%"))


def test_naive_bayes_scaling_folds_into_the_stored_weights(tmp_path):
    """``nb`` scales features before the regression; the served model must score exactly as the fitted one did."""
    from sklearn.linear_model import LogisticRegression

    from classifier.ngram import _nb_ratio

    texts, labels = _data()
    plain = NgramModel.fit(texts, labels, c=4.0)
    nb = NgramModel.fit(texts, labels, c=4.0, nb=1.0)
    assert nb.meta["nb"] == 1.0 and "nb" not in plain.meta
    x = nb.transform(texts)
    r = _nb_ratio(x, np.asarray(labels), None)
    lr = LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000, solver="liblinear")
    lr.fit(x.multiply(r).tocsr(), labels)
    probe = ["保本保息，年化收益", "二手自行车转让，九成新", "包租十年"]
    want = lr.decision_function(nb.transform(probe).multiply(r).tocsr())
    assert np.allclose(nb.decision_function(probe), want, atol=1e-4)
    assert not np.allclose(nb.coef, plain.coef)  # the scaling changed the fit
    nb.save(tmp_path, "ngram-nb")
    assert np.allclose(NgramModel.load(tmp_path).decision_function(probe), nb.decision_function(probe), atol=1e-6)
