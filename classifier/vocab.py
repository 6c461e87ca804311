"""Vocabulary trimming: keep the XLM-R pieces that Chinese text can use, drop the rest.

Why: the word embeddings are 96M of e5-small's 118M parameters, almost all for scripts an ad screener never
sees. A Unigram tokenizer only ever picks pieces that are substrings of the (normalised) input, so keeping every
piece made of CJK / CJK punctuation / full-width characters keeps the tokenisation of Chinese text *identical*.
ASCII runs inside Chinese text carry no word-initial "▁", so every ASCII piece without it is kept too (APP, QQ,
xx masks, 20%), plus short and the most probable "▁"-initial ASCII words and every single-character piece (so any other
script degrades to characters instead of ``<unk>``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np

ASCII_TOP = 12000  # most probable "▁"-initial ASCII pieces kept


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0xF900 <= o <= 0xFAFF
        or 0x20000 <= o <= 0x2FFFF
        or 0x3000 <= o <= 0x303F
        or 0xFF00 <= o <= 0xFFEF
        or 0x2000 <= o <= 0x206F
    )


def _is_ascii(ch: str) -> bool:
    return 0x20 <= ord(ch) < 0x7F or ch == "▁"


def keep_ids(vocab: list[list], ascii_top: int = ASCII_TOP) -> list[int]:
    """Ids (ascending, so specials stay first) of the pieces to keep."""
    keep: set[int] = set()
    ascii_only: list[tuple[float, int]] = []
    for i, (piece, score) in enumerate(vocab):
        body = piece.replace("▁", "")
        if i < 4 or piece == "<mask>" or len(body) <= 1:
            keep.add(i)
        elif all(_is_cjk(c) or _is_ascii(c) for c in piece):
            if any(_is_cjk(c) for c in piece) or not piece.startswith("▁") or len(body) <= 3:
                keep.add(i)  # CJK pieces, and ASCII runs glued to CJK (no word-initial "▁")
            else:
                ascii_only.append((score, i))
    ascii_only.sort(reverse=True)
    keep.update(i for _, i in ascii_only[:ascii_top])
    return sorted(keep)


def trim_tokenizer(tok: dict, ids: list[int]) -> dict:
    """A copy of a Unigram ``tokenizer.json`` restricted to ``ids`` (renumbered in order)."""
    new = copy.deepcopy(tok)
    old_vocab = tok["model"]["vocab"]
    remap = {old: new_id for new_id, old in enumerate(ids)}
    new["model"]["vocab"] = [old_vocab[i] for i in ids]
    new["model"]["unk_id"] = remap[tok["model"]["unk_id"]]
    for added in new.get("added_tokens", []):
        added["id"] = remap[added["id"]]
    post = new.get("post_processor") or {}
    for spec in post.get("special_tokens", {}).values():
        spec["ids"] = [remap[i] for i in spec["ids"]]
    return new


def trim_vocab(model_dir: Path, ascii_top: int = ASCII_TOP) -> dict:
    """Trim a saved HF encoder directory in place (tokenizer + word embeddings); returns sizes."""
    from safetensors.numpy import load_file, save_file

    model_dir = Path(model_dir)
    tok = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    if tok["model"]["type"] != "Unigram":
        raise ValueError("vocabulary trimming supports Unigram (XLM-R/e5) tokenizers only")
    ids = keep_ids(tok["model"]["vocab"], ascii_top)
    weights = load_file(str(model_dir / "model.safetensors"))
    key = next(k for k in weights if k.endswith("word_embeddings.weight"))
    before = weights[key].shape[0]
    idx = np.asarray(ids)
    idx = idx[idx < before]
    weights[key] = np.ascontiguousarray(weights[key][idx])
    save_file(weights, str(model_dir / "model.safetensors"), metadata={"format": "pt"})
    (model_dir / "tokenizer.json").write_text(
        json.dumps(trim_tokenizer(tok, ids), ensure_ascii=False), encoding="utf-8"
    )
    cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    cfg["vocab_size"] = len(idx)
    (model_dir / "config.json").write_text(json.dumps(cfg, indent=2), encoding="utf-8")
    return {"vocab_before": before, "vocab_after": len(idx)}
