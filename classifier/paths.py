"""Where models live: one root directory holding the converted base and the trained runs."""

from __future__ import annotations

import os
from pathlib import Path

BASE_NAME = "base-e5-small"
RUNS_DIR = "runs"
CURRENT_FILE = "CURRENT"
# inside a trained run directory
META_FILE = "classifier.json"
ENCODER_DIR = "encoder"
HEAD_FILE = "head.safetensors"
ONNX_FP32 = "model.onnx"
ONNX_INT8 = "model.int8.onnx"


def default_model_dir() -> Path:
    """``$ADSCREEN_MODEL_DIR`` or ``var/models`` (relative to the working directory)."""
    return Path(os.environ.get("ADSCREEN_MODEL_DIR", "var/models"))


def default_seed_path() -> Path:
    """The labelled seed set shipped with the package."""
    return Path(__file__).resolve().parent / "data" / "seed.jsonl"
