"""Classifier benchmark: docs/s on ~100-character texts, default backend (ONNX, fp32 or int8 as the run was exported) vs PyTorch fp32 of the same
trained model, F1 of both on the test split, and the peak RSS of each scoring process; then the whole scorer
(lexicon + n-gram model + classifier + the fitted combination, as a worker runs it) on the same texts.

Each backend runs in its own child process so its peak RSS is its own. Each timing is repeated ``--reps`` times
and the median is reported with the range (on the 2-core dev machine one pass varied by ±25 % between runs):

    .venv/bin/python bench/bench_classifier.py [--model var/models] [--data classifier/data/seed.jsonl] [--reps 5]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(run, n_docs: int, reps: int) -> dict:
    """docs/s of ``reps`` passes of ``run()``: median and range."""
    rates = []
    for _ in range(max(1, reps)):
        t0 = time.perf_counter()
        run()
        rates.append(n_docs / (time.perf_counter() - t0))
    rates.sort()
    return {"docs_per_s": round(rates[len(rates) // 2], 1), "range": [round(rates[0], 1), round(rates[-1], 1)]}


def hundred_char_texts(rows: list[dict], n: int) -> list[str]:
    """~100-character documents cut from (or padded with) real rows, so timing reflects the corpus' script mix."""
    pool = "".join(r["text"].replace("\n", " ") for r in rows) or "保本保息，年化收益，稳赚不赔。"
    while len(pool) < n * 100:
        pool += pool
    return [pool[i * 100 : (i + 1) * 100] for i in range(n)]


def base_child(args: argparse.Namespace) -> None:
    """Reference only: PyTorch fp32 of the full 12-layer converted base (untrained head), i.e. what plain
    fine-tuning of e5-small without a truncated student would cost per document."""
    import numpy as np
    import torch
    from transformers import AutoTokenizer

    from classifier import student
    from classifier.dataset import load_rows
    from classifier.paths import BASE_NAME
    from classifier.runner import Chunker, score_windows

    torch.set_num_threads(args.threads)
    base = Path(args.model) / BASE_NAME
    model = student.build(base).eval()
    chunker = Chunker(AutoTokenizer.from_pretrained(base), 128)
    texts = hundred_char_texts(load_rows(args.data), args.n)
    windows = chunker.chunks(texts)[0]

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()

    score_windows(windows[:64], chunker.pad_id, run, sort=False)
    t0 = time.perf_counter()
    score_windows(windows, chunker.pad_id, run, sort=False)
    dps = len(texts) / (time.perf_counter() - t0)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"backend": "torch-base12", "docs_per_s": round(dps, 1), "peak_rss_mb": round(rss_mb)}))


def scorer_child(args: argparse.Namespace) -> None:
    """The worker's path: ``scoring.engine.Scorer`` with the bundled lexicon, the ONNX classifier and the combination
    fitted for it (``adscreen fit-combiner``), in batches of 32 as ``adscreen.score_batch`` does."""
    import torch

    from classifier.dataset import by_split, load_rows
    from classifier.inference import Classifier
    from keywords import Lexicon, Matcher
    from scoring.engine import Scorer, load_combiner

    torch.set_num_threads(args.threads)
    rows = load_rows(args.data)
    texts = hundred_char_texts(by_split(rows)["test"] or rows, args.n)
    clf = Classifier.load(args.model, backend="onnx", threads=args.threads, batch_size=32)
    scorer = Scorer(Matcher(Lexicon.bundled()), clf, combiner=load_combiner(args.model, clf))
    scorer.score(texts[:64])

    def run() -> None:
        for s in range(0, len(texts), 32):
            scorer.score(texts[s : s + 32])

    speed = timed(run, len(texts), args.reps)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    comb = scorer.usable_combiner()
    print(json.dumps({"backend": "scorer", **speed, "peak_rss_mb": round(rss_mb),
                      "combiner": comb.version if comb else None}))


def child(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    from classifier.dataset import by_split, label_to_int, load_rows
    from classifier.inference import Classifier
    from classifier.metrics import prf

    torch.set_num_threads(args.threads)
    rows = load_rows(args.data)
    test = by_split(rows)["test"] or rows
    texts = hundred_char_texts(test, args.n)
    clf = Classifier.load(args.model, backend=args.backend, threads=args.threads, batch_size=32)
    sort = args.backend == "onnx"  # default path: length-sorted windows; baseline: plain batches in order
    clf.margins(texts[:64], sort=sort)  # warm-up
    speed = timed(lambda: clf.margins(texts, sort=sort), len(texts), args.reps)
    probs = np.array(clf.predict_proba([r["text"] for r in test]))
    labels = np.array([label_to_int(r["label"]) for r in test])
    m = prf(labels, (probs >= clf.threshold).astype(int))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tokens = np.mean([len(w) for w in clf.chunker.chunks(texts[:256])[0]])
    print(
        json.dumps(
            {
                "backend": args.backend,
                **speed,
                "f1": m["f1"],
                "n_test": len(test),
                "peak_rss_mb": round(rss_mb),
                "mean_tokens": round(float(tokens), 1),
                "version": clf.version,
                "precision": clf.meta.get("onnx_precision", "int8"),
            }
        )
    )


def main() -> None:
    from classifier.paths import default_model_dir, default_seed_path

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", type=Path, default=default_model_dir())
    ap.add_argument("--data", type=Path, default=default_seed_path())
    ap.add_argument("--n", type=int, default=1024, help="number of ~100-char documents timed")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5, help="timed passes per backend (the median is reported)")
    ap.add_argument("--base", action="store_true", help="also time PyTorch fp32 of the full 12-layer base")
    ap.add_argument("--backend", choices=["onnx", "torch", "torch-base12", "scorer"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.backend:
        {"torch-base12": base_child, "scorer": scorer_child}.get(args.backend, child)(args)
        return
    results = {}
    for backend in ("onnx", "torch", "scorer") + (("torch-base12",) if args.base else ()):
        cmd = [
            sys.executable,
            __file__,
            "--backend",
            backend,
            "--model",
            str(args.model),
            "--data",
            str(args.data),
            "--n",
            str(args.n),
            "--threads",
            str(args.threads),
            "--reps",
            str(args.reps),
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        results[backend] = json.loads(out)
    o, t = results["onnx"], results["torch"]
    print(
        f"model {o['version']}  ({args.n} docs x ~100 chars, ~{o['mean_tokens']} tokens, {args.threads} threads)"
    )
    print(f"{'backend':<24}{'docs/s':>10}{'F1(test)':>10}{'peak RSS MB':>13}   docs/s range of {args.reps} passes")
    print(f"{'onnx ' + o['precision'] + ' (default)':<24}{o['docs_per_s']:>10}{o['f1']:>10}{o['peak_rss_mb']:>13}   {o['range']}")
    print(f"{'pytorch fp32':<24}{t['docs_per_s']:>10}{t['f1']:>10}{t['peak_rss_mb']:>13}   {t['range']}")
    print(
        f"speed-up {o['docs_per_s'] / t['docs_per_s']:.2f}x   F1 loss {t['f1'] - o['f1']:+.4f}   "
        f"(n_test={o['n_test']})"
    )
    sc = results["scorer"]
    print(
        f"{'whole scorer (worker path)':<24}{sc['docs_per_s']:>10}{'-':>10}{sc['peak_rss_mb']:>13}"
        f"   {sc['range']}, combination {sc['combiner'] or 'none fitted (fallback)'}"
    )
    if "torch-base12" in results:
        b = results["torch-base12"]
        print(f"{'pytorch fp32 12-layer base':<24}{b['docs_per_s']:>10}{'-':>10}{b['peak_rss_mb']:>13}")
        print(f"default backend vs 12-layer base in fp32: {o['docs_per_s'] / b['docs_per_s']:.2f}x")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
