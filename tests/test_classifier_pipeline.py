"""Training loop, inference backends, promotion and setup caching on a tiny random-init model (fast)."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np
import pytest

from classifier import setup as clf_setup
from classifier.inference import Classifier
from classifier.registry import current_run, promote_if_better
from classifier.setup import ensure_model, train_and_promote
from classifier.train import TrainConfig

POS_WORDS = [
    "保本保息",
    "年化收益",
    "稳赚不赔",
    "高额回报",
    "拉人头返利",
    "静态收益",
    "原始股认购",
    "月息两分",
]
NEG_WORDS = [
    "今天天气晴朗",
    "超市水果打折",
    "球队赢得比赛",
    "新款手机发布",
    "公园里散步",
    "学校开学典礼",
    "电影票房",
]


def _tiny_base(path: Path) -> Path:
    """A 2-layer BERT with a character Unigram tokenizer, saved like a converted base model."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import BertConfig, BertModel

    from classifier.convert import write_tokenizer_files

    chars = sorted(set("".join(POS_WORDS + NEG_WORDS) + "，。x%abcdefghijklmnopqrstuvwxyz ") - {" "})
    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    vocab += [(c, -3.0) for c in chars] + [("<mask>", 0.0)]
    tok = Tokenizer(Unigram(vocab, unk_id=3))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    path.mkdir(parents=True)
    write_tokenizer_files(path, json.loads(tok.to_str()))
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        pad_token_id=1,
    )
    import torch

    torch.manual_seed(0)
    BertModel(cfg, add_pooling_layer=False).save_pretrained(path)
    return path


def _rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        pos = i % 3 == 0
        words = rng.sample(POS_WORDS if pos else NEG_WORDS, 2) + rng.sample(NEG_WORDS, 1)
        rng.shuffle(words)
        split = ["train"] * 6 + ["dev", "dev", "test", "test"]
        rows.append(
            {
                "id": f"r{i}",
                "text": "，".join(words) + f"{rng.randint(0, 99)}",
                "split": split[i % 10],
                "label": "fundraising" if pos else "negative",
                "subtype": "pitch" if pos else ("finance_legit" if i % 2 else "other"),
            }
        )
    return rows


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    base = _tiny_base(root / "tiny-base")
    rows = _rows(300)
    cfg = TrainConfig(
        layers=None, epochs=10, batch_size=16, lr=5e-3, head_lr=2e-2, max_length=32, threads=1, head_only=False,
        text_prefix="",
    )
    run, decision = train_and_promote(root, rows, base, cfg, progress=False)
    return root, base, rows, run, decision


def test_training_learns_and_writes_run_dir(trained):
    root, _, _, run, decision = trained
    assert decision["promoted"] and current_run(root) == run
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"]["f1"] >= 0.9, metrics["test"]
    assert metrics["data_hash"] and metrics["versions"]["torch"]
    for name in (
        "classifier.json",
        "head.safetensors",
        "model.onnx",
        "encoder/config.json",
        "encoder/tokenizer.json",
        "eval_test/pr_curve.png",
        "eval_test/report.json",
    ):
        assert (run / name).exists(), name
    assert metrics["config"]["seed"] == 42


def test_onnx_and_torch_agree(trained):
    root, _, rows, _, _ = trained
    texts = [r["text"] for r in rows[:60]]
    onnx = np.array(Classifier.load(root, backend="onnx").predict_proba(texts))
    torch_ = np.array(Classifier.load(root, backend="torch").predict_proba(texts))
    # the toy model is trained to saturation (probabilities 1e-27 or 1), so int8 noise can flip a row that sits on
    # the boundary on one CPU and not on another: decisions agree on all but one row, probabilities on average
    threshold = Classifier.load(root).threshold
    assert ((onnx >= threshold) != (torch_ >= threshold)).sum() <= 1
    assert np.abs(onnx - torch_).mean() < 0.05


def test_served_onnx_precision_is_recorded_and_int8_still_exports(trained, tmp_path):
    """The run serves the file its classifier.json names (fp32 by default); int8 export still works on demand and
    leaves only the quantised file; an unknown precision is refused."""
    from classifier import student
    from classifier.onnx_export import export_served

    root, _, _, run, _ = trained
    meta = json.loads((run / "classifier.json").read_text())
    assert meta["onnx_precision"] == "fp32" and meta["onnx"] == "model.onnx"
    assert not (run / "model.int8.onnx").exists()
    model = student.load(run)
    out = export_served(model, tmp_path, "int8")
    assert out.name == "model.int8.onnx" and out.exists() and not (tmp_path / "model.onnx").exists()
    with pytest.raises(ValueError, match="precision"):
        export_served(model, tmp_path, "fp16")


def test_api_and_bad_input(trained):
    root = trained[0]
    clf = Classifier.load(root)
    assert clf.version.startswith("clf-") and len(clf.version) == 12
    assert 0.0 < clf.threshold < 1.0
    huge = "保本保息，" * 200_000  # 1 MB of text
    t0 = time.time()
    probs = clf.predict_proba(
        ["", None, "Hello world, nothing to see", "Привет 😀", huge, "保本保息，年化收益"]
    )
    assert time.time() - t0 < 30
    assert len(probs) == 6 and all(0.0 <= p <= 1.0 and np.isfinite(p) for p in probs)
    assert probs[5] > clf.threshold and probs[4] > clf.threshold  # long doc: max over chunks
    assert clf.predict_proba([]) == []


def test_long_document_pitch_at_end_is_found(trained):
    clf = Classifier.load(trained[0])
    doc = "今天天气晴朗，" * 100 + "保本保息，稳赚不赔，高额回报"
    assert len(clf.chunker.chunks([doc])[0]) > 1
    assert clf.predict_proba([doc])[0] > clf.threshold


def test_missing_model_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        Classifier.load(tmp_path)


def test_worse_model_is_not_promoted(trained, tmp_path):
    root, base, rows, run, _ = trained
    weak = TrainConfig(
        layers=None, epochs=1, max_steps=1, lr=1e-6, head_lr=1e-6, max_length=32, threads=1, seed=7, head_only=False
    )
    from classifier.train import train

    bad_run = train(rows, base, root / "runs", weak, progress=False)
    from classifier.dataset import by_split

    decision = promote_if_better(root, bad_run, by_split(rows)["test"])
    assert not decision["promoted"] and current_run(root) == run
    assert decision["candidate_test_f1"] < decision["current_test_f1"]


def test_ensure_model_is_cached(trained, tmp_path, monkeypatch):
    root, base, rows, run, _ = trained
    seed = tmp_path / "seed.jsonl"
    seed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    monkeypatch.setattr(clf_setup, "train_and_promote", lambda *a, **k: pytest.fail("retrained"))
    t0 = time.time()
    assert ensure_model(root, progress=False, data=seed) == run
    assert time.time() - t0 < 5
    # changed data -> retrain is requested
    called = {}
    monkeypatch.setattr(
        clf_setup, "train_and_promote", lambda *a, **k: called.setdefault("x", (run, {"promoted": True}))
    )
    ensure_model(root, progress=False, data=seed, extra=[{"text": "新的", "label": "negative"}])
    assert called


def test_chunker_windows_respect_max_length_and_prefix(trained):
    from transformers import AutoTokenizer

    from classifier.runner import Chunker

    tok = AutoTokenizer.from_pretrained(trained[1])
    plain = Chunker(tok, max_length=16)
    windows, owners = plain.chunks(["", "保本保息" * 20, "x"])
    assert owners.count(0) == 1 and windows[0] == plain.prefix + plain.suffix
    assert owners.count(1) == 6  # 80 chars + "▁" over 14-token bodies
    assert all(len(w) <= 16 for w in windows)
    pre = Chunker(tok, max_length=16, text_prefix="保本")
    windows, _ = pre.chunks(["今天天气晴朗" * 10])
    assert len(pre.prefix) > 1 and all(w[: len(pre.prefix)] == pre.prefix for w in windows)
    assert all(len(w) <= 16 for w in windows)
