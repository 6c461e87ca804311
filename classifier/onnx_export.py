"""Export the trained network to ONNX and quantise it to int8 (dynamic) for the default CPU backend."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from classifier.paths import ONNX_FP32, ONNX_INT8
from classifier.student import MeanPoolClassifier


def export_onnx(model: MeanPoolClassifier, path: Path, opset: int = 17) -> Path:
    """Logits (batch, 2) from input_ids / attention_mask, both dimensions dynamic."""
    model = model.eval()
    ids = torch.tensor([[0, 6, 7, 8, 2], [0, 9, 2, 1, 1]], dtype=torch.long)
    mask = (ids != 1).long()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (ids, mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "logits": {0: "batch"},
            },
            opset_version=opset,
            dynamo=False,
        )
    return Path(path)


def quantize_int8(src: Path, dst: Path) -> Path:
    """Dynamic int8 quantisation of MatMul/Gather weights (activations quantised at run time)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src),
        str(dst),
        weight_type=QuantType.QInt8,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},  # fused contrib ops lack shape info
    )
    return Path(dst)


def export_int8(model: MeanPoolClassifier, run_dir: Path, keep_fp32: bool = False) -> Path:
    fp32 = export_onnx(model, Path(run_dir) / ONNX_FP32)
    out = quantize_int8(fp32, Path(run_dir) / ONNX_INT8)
    if not keep_fp32:
        fp32.unlink()
    return out
