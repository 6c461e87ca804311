"""Head-only training ("linear probe"): the encoder stays as converted, only the linear head is fitted.

Why: fine-tuning even one layer of the 4-layer student took 11 min of a 18-min training run on the 2-core machine
(seed v3, 9,121 rows; the first run's budget is 10). On seed v3's real test split the fine-tuned student served as
ONNX int8 reached F1 0.681, the probe 0.656-0.681 (``tools/probe_lab.py``, classifier/README.md). The probe needs one
forward pass per training window, run through ONNX Runtime int8 (the backend that serves it), and a logistic
regression that fits in seconds.

The head is written into the same ``MeanPoolClassifier`` (logit 0 for the negative class, the regression's
log-odds for the positive one), so calibration, export, inference and promotion are the fine-tuning path's own.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from classifier.onnx_export import quantize_int8
from classifier.runner import pad
from classifier.student import MeanPoolClassifier, mean_pool


class _Pooled(nn.Module):
    """The encoder and its mean pooling: the head's input."""

    def __init__(self, model: MeanPoolClassifier):
        super().__init__()
        self.encoder = model.encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        return mean_pool(out.last_hidden_state, attention_mask)


def pooled_session(model: MeanPoolClassifier, workdir: Path, threads: int, precision: str = "int8"):
    """An ONNX Runtime session computing the pooled embedding, at the served model's precision (int8: quantised the
    same way)."""
    import onnxruntime as ort

    fp32, int8 = Path(workdir) / "pooled.onnx", Path(workdir) / "pooled.int8.onnx"
    ids = torch.tensor([[0, 6, 7, 8, 2], [0, 9, 2, 1, 1]], dtype=torch.long)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Pooled(model).eval(),
            (ids, (ids != 1).long()),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                          "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    if precision == "int8":
        quantize_int8(fp32, int8)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    path = int8 if precision == "int8" else fp32
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def embed(model: MeanPoolClassifier, windows: Sequence[list[int]], pad_id: int, threads: int = 2,
          batch_size: int = 32, on_batch=lambda n: None, precision: str = "int8") -> np.ndarray:
    """Pooled embedding of every window (sorted by length and padded per batch, like inference)."""
    with tempfile.TemporaryDirectory() as tmp:
        sess = pooled_session(model, Path(tmp), threads, precision)
        order = np.argsort([len(w) for w in windows], kind="stable")
        out: np.ndarray | None = None
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            ids, mask = pad([windows[i] for i in idx], pad_id)
            e = sess.run(["embedding"], {"input_ids": ids, "attention_mask": mask})[0]
            if out is None:
                out = np.zeros((len(windows), e.shape[1]), dtype=np.float32)
            out[idx] = e
            on_batch(len(idx))
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)


def fit_head(model: MeanPoolClassifier, x: np.ndarray, y: np.ndarray, weight: np.ndarray, c: float = 0.03) -> None:
    """Standardised L2 logistic regression, folded into the head: logits = (0, w·x + b).

    ``weight`` carries the class and source weights (train.sample_weights). C = 0.03 was the best of
    0.01–1 on dev (tools/probe_lab.py); the regression is on standardised features, so C does not depend on
    the encoder's scale.
    """
    from sklearn.linear_model import LogisticRegression

    mu = x.mean(0)
    sd = x.std(0)
    sd[sd < 1e-6] = 1.0
    lr = LogisticRegression(C=c, max_iter=3000)
    lr.fit((x - mu) / sd, y, sample_weight=weight)
    w = lr.coef_[0] / sd
    b = float(lr.intercept_[0] - (lr.coef_[0] * mu / sd).sum())
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
        model.head.weight[1] = torch.from_numpy(w.astype(np.float32))
        model.head.bias[1] = b
