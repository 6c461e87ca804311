"""The classifier network: a (truncated) pretrained encoder, mean pooling, a linear head.

Why mean pooling: e5 was trained with mean-pooled sentence embeddings and ships no pooler, so the [CLS] state
is a weak feature; mean pooling also works for any other HF encoder given with ``--base-model``.
Why truncation: keeping the first k of 12 layers is the cheapest "student" and the main lever for CPU speed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from torch import nn

from classifier.paths import ENCODER_DIR, HEAD_FILE


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


class MeanPoolClassifier(nn.Module):
    """Encoder -> masked mean -> dropout -> Linear(hidden, 2). Returns logits."""

    def __init__(self, encoder: nn.Module, hidden: int, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, 2)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        return self.head(self.dropout(mean_pool(out.last_hidden_state, attention_mask)))


def _layer_list(encoder: nn.Module) -> nn.ModuleList:
    enc = getattr(encoder, "encoder", None)
    layers = getattr(enc, "layer", None) if enc is not None else None
    if not isinstance(layers, nn.ModuleList):
        raise ValueError(f"cannot truncate {type(encoder).__name__}: no encoder.layer ModuleList")
    return layers


def _load_encoder(path: Path):
    """``AutoModel`` without the (unused) pooler where the architecture has that switch."""
    from transformers import AutoModel

    try:
        return AutoModel.from_pretrained(path, add_pooling_layer=False)
    except TypeError:
        return AutoModel.from_pretrained(path)


def prepare_encoder_dir(base_dir: Path, out: Path, layers: int | None, trim: bool) -> Path:
    """Copy ``base_dir`` into ``out`` keeping the first ``layers`` layers and (optionally) a trimmed vocab."""
    from transformers import AutoTokenizer

    from classifier.vocab import trim_vocab

    if out.exists():
        shutil.rmtree(out)
    model = _load_encoder(base_dir)
    if layers and layers < model.config.num_hidden_layers:
        model.encoder.layer = nn.ModuleList(list(_layer_list(model))[:layers])
        model.config.num_hidden_layers = layers
    model.save_pretrained(out)
    tok = AutoTokenizer.from_pretrained(base_dir)
    tok.save_pretrained(out)
    if (Path(base_dir) / "tokenizer.json").exists():  # keep the exact original file (and our config) for e5
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            if (Path(base_dir) / name).exists():
                shutil.copyfile(Path(base_dir) / name, out / name)
    if trim:
        tok_json = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))
        if tok_json.get("model", {}).get("type") == "Unigram":
            trim_vocab(out)
    return out


def build(encoder_dir: Path, dropout: float = 0.1) -> MeanPoolClassifier:
    """A classifier around the encoder saved at ``encoder_dir`` (new, randomly initialised head)."""
    encoder = _load_encoder(encoder_dir)
    return MeanPoolClassifier(encoder, encoder.config.hidden_size, dropout)


def save(model: MeanPoolClassifier, run_dir: Path) -> None:
    from safetensors.torch import save_file

    model.encoder.save_pretrained(run_dir / ENCODER_DIR)
    save_file({k: v.contiguous() for k, v in model.head.state_dict().items()}, str(run_dir / HEAD_FILE))


def load(run_dir: Path) -> MeanPoolClassifier:
    from safetensors.torch import load_file

    model = build(run_dir / ENCODER_DIR)
    model.head.load_state_dict(load_file(str(run_dir / HEAD_FILE)))
    return model.eval()


def freeze_embeddings(model: MeanPoolClassifier) -> None:
    """Frozen word/position embeddings: most parameters, little to gain from 3k examples."""
    emb = model.encoder.get_input_embeddings()
    emb.weight.requires_grad_(False)
    pos = getattr(getattr(model.encoder, "embeddings", None), "position_embeddings", None)
    if pos is not None:
        pos.weight.requires_grad_(False)


# ---------------------------------------------------------------- frozen lower layers, cached once
def layers_of(model: MeanPoolClassifier) -> nn.ModuleList:
    return _layer_list(model.encoder)


def frozen_count(model: MeanPoolClassifier, requested: int) -> int:
    """How many lower layers to freeze: at most all but one, so something above the cache still learns."""
    return max(0, min(int(requested), len(layers_of(model)) - 1))


def freeze_lower(model: MeanPoolClassifier, k: int) -> None:
    """Freeze the embeddings and the first ``k`` layers (their outputs are then computed once and cached)."""
    for p in model.encoder.get_input_embeddings().parameters():
        p.requires_grad_(False)
    emb = getattr(model.encoder, "embeddings", None)
    if emb is not None and k:
        for p in emb.parameters():
            p.requires_grad_(False)
    for layer in list(layers_of(model))[:k]:
        for p in layer.parameters():
            p.requires_grad_(False)


def _mask4d(model: MeanPoolClassifier, hidden: torch.Tensor, mask: torch.Tensor):
    from transformers.masking_utils import create_bidirectional_mask

    return create_bidirectional_mask(config=model.encoder.config, inputs_embeds=hidden, attention_mask=mask)


def lower_states(
    model: MeanPoolClassifier, windows: list[list[int]], k: int, pad_id: int, batch_size: int = 64
) -> list[torch.Tensor]:
    """Hidden states after the embeddings and the first ``k`` layers, one fp16 (length, hidden) tensor per window.

    Why: frozen layers give the same output every epoch, so computing them once removes their forward and
    backward passes from every training step (the main cost of training on two CPU cores).
    """
    from classifier.runner import pad

    was_training = model.training
    model.eval()
    out: list[torch.Tensor | None] = [None] * len(windows)
    order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
    layers = list(layers_of(model))[:k]
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            ids, mask = pad([windows[i] for i in idx], pad_id)
            ids_t, mask_t = torch.from_numpy(ids), torch.from_numpy(mask)
            h = model.encoder.embeddings(input_ids=ids_t)
            am = _mask4d(model, h, mask_t)
            for layer in layers:
                h = layer(h, am)
            for j, i in enumerate(idx):
                out[i] = h[j, : len(windows[i])].to(torch.float16).clone()
    model.train(was_training)
    return out  # type: ignore[return-value]


def upper_logits(model: MeanPoolClassifier, states: list[torch.Tensor], k: int) -> torch.Tensor:
    """Logits from cached lower states: the layers above ``k``, mean pooling and the head (trainable part)."""
    width = max(int(s.shape[0]) for s in states)
    hidden = states[0].shape[1]
    h = torch.zeros(len(states), width, hidden, dtype=torch.float32)
    mask = torch.zeros(len(states), width, dtype=torch.long)
    for i, s in enumerate(states):
        h[i, : s.shape[0]] = s.float()
        mask[i, : s.shape[0]] = 1
    am = _mask4d(model, h, mask)
    for layer in list(layers_of(model))[k:]:
        h = layer(h, am)
    return model.head(model.dropout(mean_pool(h, mask)))
