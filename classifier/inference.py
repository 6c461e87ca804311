"""Scoring API used by workers: load once per process, then ``predict_proba`` on batches of texts.

ONNX Runtime with the int8 model is the default backend; PyTorch (fp32, same weights) is the fallback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classifier.calibrate import sigmoid
from classifier.paths import CURRENT_FILE, ENCODER_DIR, META_FILE, ONNX_INT8, RUNS_DIR
from classifier.runner import MAX_CHUNKS, Chunker, doc_margins


def default_threads() -> int:
    """Two threads at most: more only wait on each other on the small dev machines (see README)."""
    return min(2, os.cpu_count() or 1)


def resolve_run_dir(model_dir: Path) -> Path:
    """A trained run directory, or a models root whose ``CURRENT`` names one."""
    model_dir = Path(model_dir)
    if (model_dir / META_FILE).exists():
        return model_dir
    current = model_dir / CURRENT_FILE
    if current.exists():
        run = model_dir / RUNS_DIR / current.read_text(encoding="utf-8").strip()
        if (run / META_FILE).exists():
            return run
    raise FileNotFoundError(f"no trained classifier in {model_dir} (run `adscreen train`)")


class Classifier:
    """Calibrated P(fundraising) for raw texts (digits masked, long texts chunked, max over the first chunks)."""

    def __init__(
        self, run_dir: Path, backend: str = "onnx", threads: int | None = None, batch_size: int = 32
    ):
        from transformers import AutoTokenizer

        self.run_dir = Path(run_dir)
        self.meta = json.loads((self.run_dir / META_FILE).read_text(encoding="utf-8"))
        self.version: str = self.meta["version"]
        self.threshold: float = float(self.meta["threshold"])
        self.temperature: float = float(self.meta["temperature"])
        self.batch_size = batch_size
        self.backend = backend
        threads = threads or default_threads()
        tok = AutoTokenizer.from_pretrained(self.run_dir / ENCODER_DIR)
        self.chunker = Chunker(
            tok,
            int(self.meta["max_length"]),
            max_chunks=int(self.meta.get("max_windows", MAX_CHUNKS)),
            text_prefix=self.meta.get("text_prefix", ""),
            fold=bool(self.meta.get("fold_text", False)),
        )
        if backend == "onnx":
            import onnxruntime as ort

            path = self.run_dir / self.meta.get("onnx", ONNX_INT8)  # runs before stop 19 name no file: int8
            if not path.exists():
                raise FileNotFoundError(f"{path} missing (train again, or use backend='torch')")
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            self._sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            self._run = self._run_onnx
        elif backend == "torch":
            import torch

            from classifier import student

            torch.set_num_threads(threads)
            self._model = student.load(self.run_dir)
            self._run = self._run_torch
        else:
            raise ValueError(f"unknown backend {backend!r} (onnx|torch)")

    @classmethod
    def load(cls, model_dir: Path, backend: str = "onnx", **kw) -> Classifier:
        """Raises FileNotFoundError when there is no trained model at ``model_dir``."""
        return cls(resolve_run_dir(Path(model_dir)), backend=backend, **kw)

    def _run_onnx(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self._sess.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]

    def _run_torch(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self._model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()

    def margins(self, texts: Sequence[str], sort: bool = True) -> np.ndarray:
        """Uncalibrated logit margins (max over chunks)."""
        return doc_margins(self.chunker, list(texts), self._run, self.batch_size, sort)

    def predict_proba(self, texts: Sequence[str]) -> list[float]:
        """Calibrated P(fundraising) per text; ``None``/empty texts get a valid probability."""
        texts = [t if isinstance(t, str) else ("" if t is None else str(t)) for t in texts]
        return [float(p) for p in sigmoid(self.margins(texts) / self.temperature)]

    def predict(self, texts: Sequence[str]) -> list[bool]:
        return [p >= self.threshold for p in self.predict_proba(texts)]
