"""Training-time helpers: cached frozen layers give the same logits as the full network; source weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from classifier import student
from classifier.dataset import source_class_factors, source_group, source_weights
from classifier.train import sample_weights


def _tiny_model(tmp_path):
    from transformers import BertConfig, BertModel

    cfg = BertConfig(
        vocab_size=50,
        hidden_size=32,
        num_hidden_layers=3,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=1,
    )
    torch.manual_seed(0)
    BertModel(cfg, add_pooling_layer=False).save_pretrained(tmp_path / "enc")
    return student.build(tmp_path / "enc").eval()


def test_cached_lower_layers_reproduce_the_full_forward(tmp_path):
    model = _tiny_model(tmp_path)
    windows = [[0, 5, 6, 7, 2], [0, 9, 2], [0, 11, 12, 13, 14, 15, 16, 2]]
    full = []
    with torch.inference_mode():
        for w in windows:
            ids = torch.tensor([w])
            full.append(model(ids, torch.ones_like(ids))[0].numpy())
    for k in (1, 2):
        states = student.lower_states(model, windows, k, pad_id=1)
        assert [s.shape[0] for s in states] == [len(w) for w in windows]
        with torch.inference_mode():
            cached = student.upper_logits(model, states, k).numpy()
        assert np.abs(cached - np.stack(full)).max() < 2e-2  # fp16 cache, padded batch


def test_frozen_count_leaves_one_layer_to_learn_and_freezes_the_rest(tmp_path):
    model = _tiny_model(tmp_path)
    assert student.frozen_count(model, 2) == 2 and student.frozen_count(model, 9) == 2
    student.freeze_lower(model, 2)
    layers = student.layers_of(model)
    assert not any(p.requires_grad for p in layers[1].parameters())
    assert all(p.requires_grad for p in layers[2].parameters())
    assert not any(p.requires_grad for p in model.encoder.embeddings.parameters())


def test_source_weights_shrink_the_big_source_and_keep_the_mean():
    rows = [{"source": "bdci"}] * 90 + [{"source": "written:sms-1"}] * 9 + [{"source": "written:post"}]
    assert source_group(rows[-1]) == "written"
    w = np.array(source_weights(rows, power=0.5))
    assert w.mean() == pytest.approx(1.0)
    assert w[0] < 1.0 < w[-1]  # 90 bdci rows against 10 written rows
    assert w[-1] / w[0] == pytest.approx(3.0)  # (90/10) ** 0.5
    assert np.allclose(source_weights(rows, power=0.0), 1.0)
    full = np.array(source_weights(rows, power=1.0, clip=100.0))
    assert full[:90].sum() == pytest.approx(full[90:].sum())  # power 1: each source carries the same weight


def test_source_class_factors_balance_the_classes_within_each_source():
    sms = [{"source": "sms", "label": "fundraising"}] * 4 + [{"source": "sms", "label": "negative"}] * 96
    posts = [{"source": "bdci", "label": "fundraising"}] * 10 + [{"source": "bdci", "label": "negative"}] * 10
    titles = [{"source": "tnews", "label": "negative"}] * 5
    f = np.array(source_class_factors(sms + posts + titles, power=1.0, clip=100.0))
    assert f[:4].sum() == pytest.approx(f[4:100].sum())  # power 1: each class carries half of its source
    assert np.allclose(f[100:120], 1.0) and np.allclose(f[120:], 1.0)  # balanced already; one class only
    half = np.array(source_class_factors(sms, power=0.5))
    assert half[0] == pytest.approx(12.5 ** 0.5) and half[-1] == pytest.approx((50 / 96) ** 0.5)
    assert max(source_class_factors(sms, power=1.0, clip=8.0)) == 8.0


def test_sample_weights_combine_class_and_source():
    rows = [{"source": "a"}] * 8 + [{"source": "b"}] * 2
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0, 1, 0])
    w = sample_weights(rows, y, 0.0)
    assert w[0] / w[1] == pytest.approx(4.0)  # 2 positives of 10: class weight 2.5 vs 0.625
    ws = sample_weights(rows, y, 1.0)
    assert ws[8] > ws[0]  # same class, the smaller source weighs more


def test_fitted_head_is_the_regression_on_raw_embeddings(tmp_path):
    """probe.fit_head folds the standardisation into the head: the margin equals the regression's log-odds."""
    from sklearn.linear_model import LogisticRegression

    from classifier import probe

    model = _tiny_model(tmp_path)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 32)).astype(np.float32) * rng.uniform(0.1, 5, 32).astype(np.float32) + 3
    y = (x[:, 0] / x[:, 0].std() + 0.3 * rng.normal(size=200) > x[:, 0].mean() / x[:, 0].std()).astype(int)
    w = np.ones(200)
    probe.fit_head(model, x, y, w, c=0.5)
    with torch.no_grad():
        logits = model.head(torch.from_numpy(x)).numpy()
    assert np.allclose(logits[:, 0], 0.0)
    mu, sd = x.mean(0), x.std(0)
    ref = LogisticRegression(C=0.5, max_iter=3000).fit((x - mu) / sd, y).decision_function((x - mu) / sd)
    assert np.abs(logits[:, 1] - ref).max() < 1e-3
    assert ((logits[:, 1] > 0) == y).mean() > 0.9


def test_probe_embedding_matches_the_torch_encoder(tmp_path):
    """The int8 ONNX embedding the head is fitted on stays close to the fp32 encoder's mean pooling."""
    from classifier import probe

    model = _tiny_model(tmp_path)
    windows = [[0, 5, 6, 7, 2], [0, 9, 2], [0, 11, 12, 13, 14, 15, 16, 2]]
    emb = probe.embed(model, windows, pad_id=1, threads=1)
    with torch.inference_mode():
        ref = np.stack([
            student.mean_pool(model.encoder(input_ids=torch.tensor([w])).last_hidden_state, torch.ones(1, len(w)))[0].numpy()
            for w in windows
        ])
    assert emb.shape == ref.shape
    assert np.abs(emb - ref).max() < 0.1 * np.abs(ref).max()
