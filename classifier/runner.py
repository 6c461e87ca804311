"""Batched, chunked scoring shared by training-time evaluation and the inference backends.

Long documents are split into windows of ``max_length`` tokens (scored independently, max over windows: a
pitch anywhere makes the document a pitch). Windows are sorted by length and padded per batch only, so a batch
of short ads never pays for one long article.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from classifier.textprep import prepare

MAX_CHUNKS = 64  # per document; beyond that (>~8k tokens) the tail is not scored


class Chunker:
    """Tokenise prepared texts into id windows with the tokenizer's own special tokens around each."""

    def __init__(
        self,
        tokenizer,
        max_length: int = 128,
        max_chunks: int = MAX_CHUNKS,
        text_prefix: str = "",
        fold: bool = False,
    ):
        self.tok = tokenizer
        tokenizer.model_max_length = 1 << 30  # we window ourselves; silences the "longer than 512" warning
        self.max_length = max_length
        self.max_chunks = max_chunks
        self.fold = fold  # the lexicon's evasion folding before tokenising (textprep.prepare)
        empty = tokenizer("", add_special_tokens=True)["input_ids"]
        # e5 was trained on "passage: ..." inputs; an optional prefix is repeated in every window
        lead = tokenizer(text_prefix.strip(), add_special_tokens=False)["input_ids"] if text_prefix else []
        self.prefix, self.suffix = empty[:1] + lead, empty[1:]
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.body = max(1, max_length - len(self.prefix) - len(self.suffix))
        self.max_chars = self.body * max_chunks * 4  # a token is >= 1 char; cap before tokenising 1 MB inputs

    def chunks(self, texts: Sequence[str]) -> tuple[list[list[int]], list[int]]:
        """Returns (windows, owner index per window); every text gets at least one window."""
        prepared = [prepare((t or "")[: self.max_chars * 2], self.fold)[: self.max_chars] for t in texts]
        bodies = self.tok(prepared, add_special_tokens=False)["input_ids"]
        windows: list[list[int]] = []
        owners: list[int] = []
        for i, ids in enumerate(bodies):
            starts = range(0, max(len(ids), 1), self.body)
            for n, s in enumerate(starts):
                if n >= self.max_chunks:
                    break
                windows.append(self.prefix + ids[s : s + self.body] + self.suffix)
                owners.append(i)
        return windows, owners

    def truncated(self, texts: Sequence[str]) -> list[list[int]]:
        """First window only (training: one example per row)."""
        return [w[0] for w in self.leading(texts, 1)]

    def leading(self, texts: Sequence[str], k: int) -> list[list[list[int]]]:
        """The first ``k`` windows of each text (training: a row is a small bag of windows, scored by its max)."""
        prepared = [prepare((t or "")[: self.body * k * 8], self.fold)[: self.body * k * 4] for t in texts]
        bodies = self.tok(prepared, add_special_tokens=False)["input_ids"]
        return [
            [
                self.prefix + ids[s : s + self.body] + self.suffix
                for s in range(0, max(len(ids), 1), self.body)
            ][:k]
            for ids in bodies
        ]


def pad(windows: Sequence[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Dynamic padding to the longest window of the batch."""
    width = max(len(w) for w in windows)
    ids = np.full((len(windows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(windows), width), dtype=np.int64)
    for r, w in enumerate(windows):
        ids[r, : len(w)] = w
        mask[r, : len(w)] = 1
    return ids, mask


def score_windows(
    windows: list[list[int]],
    pad_id: int,
    run: Callable[[np.ndarray, np.ndarray], np.ndarray],
    batch_size: int = 32,
    sort: bool = True,
) -> np.ndarray:
    """Logit margin (positive minus negative) per window; ``run`` maps (ids, mask) -> logits (B, 2)."""
    order = np.argsort([len(w) for w in windows], kind="stable") if sort else np.arange(len(windows))
    out = np.empty(len(windows), dtype=np.float32)
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        ids, mask = pad([windows[i] for i in idx], pad_id)
        logits = np.asarray(run(ids, mask), dtype=np.float32)
        out[idx] = logits[:, 1] - logits[:, 0]
    return out


def doc_margins(
    chunker: Chunker,
    texts: Sequence[str],
    run: Callable[[np.ndarray, np.ndarray], np.ndarray],
    batch_size: int = 32,
    sort: bool = True,
) -> np.ndarray:
    """Per-document margin = max over its windows."""
    if not texts:
        return np.zeros(0, dtype=np.float32)
    windows, owners = chunker.chunks(texts)
    margins = score_windows(windows, chunker.pad_id, run, batch_size, sort)
    out = np.full(len(texts), -np.inf, dtype=np.float32)
    np.maximum.at(out, np.asarray(owners), margins)
    return out
