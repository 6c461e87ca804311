"""Where models live: one root directory holding the converted base and the trained runs."""

from __future__ import annotations

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


DEFAULT_MODEL_DIR = Path("var/models")


def default_model_dir() -> Path:
    """``var/models`` (relative to the working directory); the host passes its configured directory instead.

    A plain library reads no environment: ``adscreen`` hands ``ADSCREEN_MODEL_DIR`` over as an argument.
    """
    return DEFAULT_MODEL_DIR


def default_seed_path() -> Path:
    """The labelled seed set shipped with the package."""
    return Path(__file__).resolve().parent / "data" / "seed.jsonl"
