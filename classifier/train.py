"""Fine-tuning: truncated encoder + mean-pool head, frozen embeddings, length-bucketed batches, class weights.

Then temperature scaling and the threshold on dev, a report on test, int8 ONNX export, and a run directory
with everything needed to reproduce and audit the model (metrics, data hash, versions, config).
"""

from __future__ import annotations

import json
import platform
import random
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from classifier import student
from classifier.calibrate import choose_threshold, fit_temperature, sigmoid
from classifier.config import TrainConfig
from classifier.dataset import by_split, data_hash, label_to_int
from classifier.metrics import prf, report, write_report
from classifier.onnx_export import describe, export_served
from classifier.paths import META_FILE
from classifier.runner import MAX_CHUNKS, Chunker, doc_margins


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def bucketed_batches(lengths: list[int], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Batches of similar length (sorted with random tie-breaks), in shuffled order: little padding."""
    jitter = rng.random(len(lengths))
    order = np.lexsort((jitter, np.asarray(lengths)))
    batches = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def class_weights(labels: np.ndarray) -> torch.Tensor:
    """Inverse class frequency, normalised so a balanced set gets weights 1, 1."""
    counts = np.bincount(labels, minlength=2).astype(np.float64)
    counts[counts == 0] = 1
    return torch.tensor(len(labels) / (2 * counts), dtype=torch.float32)


def sample_weights(rows: list[dict], labels: np.ndarray, source_power: float) -> np.ndarray:
    """Class weight (inverse frequency) times source weight, per training row."""
    from classifier.dataset import source_weights

    cw = class_weights(labels).numpy()[labels]
    sw = np.asarray(source_weights(rows, source_power), dtype=np.float32) if source_power else 1.0
    return (cw * sw).astype(np.float32)


def _progress(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
    )


def _torch_runner(model: student.MeanPoolClassifier):
    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()

    return run


def versions() -> dict:
    import onnxruntime
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


def _dev_fallback(splits: dict[str, list[dict]]) -> None:
    """No dev rows: hold out every 7th train row, so calibration never sees test."""
    if not splits["dev"]:
        train = splits["train"]
        splits["dev"] = train[::7]
        splits["train"] = [r for i, r in enumerate(train) if i % 7]


def _fit_probe(model, cfg: TrainConfig, splits: dict, chunker: Chunker, y_train: np.ndarray, progress: bool):
    """Head-only training (classifier/probe.py): embed each row's first window once, fit the head."""
    from classifier import probe

    t0 = time.time()
    windows = chunker.truncated([r["text"] for r in splits["train"]])
    with _progress(progress) as bar:
        task = bar.add_task("embedding the training rows", total=len(windows), info="")
        x = probe.embed(model, windows, chunker.pad_id, cfg.threads, on_batch=lambda n: bar.update(task, advance=n),
                        precision=cfg.onnx_precision)
    cache_seconds = time.time() - t0
    t1 = time.time()
    probe.fit_head(model, x, y_train, sample_weights(splits["train"], y_train, cfg.source_power), cfg.probe_c)
    return 0, [], time.time() - t1, cache_seconds, len(student.layers_of(model))


def _fine_tune(model, cfg: TrainConfig, splits: dict, chunker: Chunker, y_train: np.ndarray, progress: bool):
    """Fine-tuning above cached frozen lower layers; returns (steps, losses, loop s, cache s, frozen layers)."""
    frozen = student.frozen_count(model, cfg.frozen_layers)
    if frozen:
        student.freeze_lower(model, frozen)

    bags = chunker.leading([r["text"] for r in splits["train"]], max(1, cfg.train_windows))
    lengths = [max(len(w) for w in bag) * len(bag) for bag in bags]
    weights = sample_weights(splits["train"], y_train, cfg.source_power)
    t_cache = time.time()
    # frozen lower layers: their output for every training window, computed once (fp16) instead of per epoch
    flat_windows = [w for bag in bags for w in bag]
    states = student.lower_states(model, flat_windows, frozen, chunker.pad_id) if frozen else None
    offsets = np.cumsum([0] + [len(b) for b in bags])
    cache_seconds = time.time() - t_cache
    head_params = list(model.head.parameters())
    body_params = [
        p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("head.")
    ]
    groups = [{"params": head_params, "lr": cfg.head_lr}]
    if body_params:
        groups.insert(0, {"params": body_params, "lr": cfg.lr})
    optim = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
    steps_per_epoch = (len(bags) + cfg.batch_size - 1) // cfg.batch_size
    total = steps_per_epoch * cfg.epochs
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    warm = max(1, int(total * cfg.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    loss_fn = torch.nn.CrossEntropyLoss(reduction="none")
    rng = np.random.default_rng(cfg.seed)
    step = 0
    losses: list[float] = []
    t_train = time.time()
    from classifier.runner import pad

    with _progress(progress) as bar:
        task = bar.add_task("training", total=total, info="")
        model.train()
        for epoch in range(cfg.epochs):
            for batch in bucketed_batches(lengths, cfg.batch_size, rng):
                if step >= total:
                    break
                owner = torch.tensor([j for j, i in enumerate(batch) for _ in bags[i]])
                if states is not None:
                    logits = student.upper_logits(
                        model, [states[k] for i in batch for k in range(offsets[i], offsets[i + 1])], frozen
                    )
                else:
                    ids, mask = pad([w for i in batch for w in bags[i]], chunker.pad_id)
                    logits = model(torch.from_numpy(ids), torch.from_numpy(mask))
                margin = logits[:, 1] - logits[:, 0]
                doc = torch.full((len(batch),), -1e4).scatter_reduce(0, owner, margin, "amax")
                # softmax is shift-invariant: CE on (0, max margin) == CE on the logits when a bag is 1 window
                per_row = loss_fn(
                    torch.stack([torch.zeros_like(doc), doc], 1), torch.from_numpy(y_train[batch])
                )
                w = torch.from_numpy(weights[batch])
                loss = (per_row * w).sum() / w.sum()
                optim.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optim.step()
                sched.step()
                step += 1
                losses.append(float(loss.detach()))
                bar.update(task, advance=1, info=f"epoch {epoch + 1} loss {np.mean(losses[-20:]):.3f}")
    train_seconds = time.time() - t_train
    return step, losses, train_seconds, cache_seconds, frozen


def train(
    rows: list[dict],
    base_dir: Path,
    runs_root: Path,
    config: TrainConfig | None = None,
    progress: bool = True,
) -> Path:
    """Train on ``rows`` (with ``split``), write ``runs_root/<version>/`` and return it."""
    cfg = config or TrainConfig()
    t_start = time.time()
    torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    splits = by_split(rows)
    _dev_fallback(splits)
    y_train = np.array([label_to_int(r["label"]) for r in splits["train"]], dtype=np.int64)
    if len(set(y_train.tolist())) < 2:
        raise ValueError("training data needs both fundraising and negative rows")
    runs_root = Path(runs_root)
    runs_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=runs_root))
    try:
        student.prepare_encoder_dir(Path(base_dir), tmp / student.ENCODER_DIR, cfg.layers, cfg.trim_vocab)
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(tmp / student.ENCODER_DIR)
        chunker = Chunker(
            tok,
            cfg.max_length,
            max_chunks=cfg.infer_windows or MAX_CHUNKS,
            text_prefix=cfg.text_prefix,
            fold=cfg.fold_text,
        )
        seed_everything(cfg.seed)
        model = student.build(tmp / student.ENCODER_DIR, cfg.dropout)
        student.freeze_embeddings(model)
        if cfg.head_only:
            step, losses, train_seconds, cache_seconds, frozen = _fit_probe(model, cfg, splits, chunker, y_train, progress)
        else:
            step, losses, train_seconds, cache_seconds, frozen = _fine_tune(model, cfg, splits, chunker, y_train, progress)
        model.eval()
        run = _torch_runner(model)

        def margins_of(split: str) -> tuple[np.ndarray, np.ndarray]:
            texts = [r["text"] for r in splits[split]]
            labels = np.array([label_to_int(r["label"]) for r in splits[split]], dtype=np.int64)
            return doc_margins(chunker, texts, run), labels

        dev_m, dev_y = margins_of("dev")
        temperature = fit_temperature(dev_m, dev_y)
        threshold = choose_threshold(sigmoid(dev_m / temperature), dev_y)
        dev_report = prf(dev_y, (sigmoid(dev_m / temperature) >= threshold).astype(int))

        student.save(model, tmp)
        served = export_served(model, tmp, cfg.onnx_precision)
        d_hash = data_hash(rows)
        import hashlib

        head_bytes = (tmp / student.HEAD_FILE).read_bytes()
        tag = b"" if cfg.onnx_precision == "int8" else cfg.onnx_precision.encode()  # int8 runs keep their old ids
        version = "clf-" + hashlib.sha256(head_bytes + d_hash.encode() + tag).hexdigest()[:8]
        meta = {
            "version": version,
            "threshold": threshold,
            "temperature": temperature,
            "max_length": cfg.max_length,
            "text_prefix": cfg.text_prefix,
            "max_windows": chunker.max_chunks,
            "fold_text": cfg.fold_text,
            "backend_default": "onnx",
            "onnx": served.name,
            "onnx_precision": cfg.onnx_precision,
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")

        metrics: dict = {
            "version": version,
            "dev": dev_report,
            "temperature": temperature,
            "threshold": threshold,
        }
        if splits["test"]:
            test_m, test_y = margins_of("test")
            test_p = sigmoid(test_m / temperature)
            metrics["test"] = write_report(
                report(splits["test"], test_p, threshold), tmp / "eval_test", test_y, test_p
            )
            from classifier.inference import Classifier

            onnx_p = np.array(
                Classifier(tmp, backend="onnx", threads=cfg.threads).predict_proba(
                    [r["text"] for r in splits["test"]]
                )
            )
            metrics["test_onnx"] = prf(test_y, (onnx_p >= threshold).astype(int))
            metrics["test_onnx_max_abs_prob_diff"] = round(float(np.abs(onnx_p - test_p).max()), 4)
            metrics["test_onnx_mean_abs_prob_diff"] = round(float(np.abs(onnx_p - test_p).mean()), 4)
            metrics["onnx_quantization"] = describe(cfg.onnx_precision)
        base_conv = Path(base_dir) / "conversion.json"
        metrics.update(
            {
                "data_hash": d_hash,
                "n_rows": {k: len(v) for k, v in splits.items()},
                "n_positive_train": int(y_train.sum()),
                "config": asdict(cfg),
                "base_model": str(base_dir),
                "base_conversion": json.loads(base_conv.read_text()) if base_conv.exists() else None,
                "versions": versions(),
                "steps": step,
                "final_loss": round(float(np.mean(losses[-20:])), 4) if losses else None,
                "train_seconds": round(train_seconds, 1),
                "cache_seconds": round(cache_seconds, 1),
                "frozen_layers": frozen,
                "total_seconds": round(time.time() - t_start, 1),
            }
        )
        (tmp / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
        dest = runs_root / version
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
        return dest
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
