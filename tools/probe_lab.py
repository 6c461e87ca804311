"""Experiment for issue #11: a frozen multilingual-e5 encoder (k layers, mean-pooled, ONNX int8) + logistic regression.

Why try it: fine-tuning the 4-layer student takes 11-18 min on the 2-core machine (over the first-run budget) and
reached test F1 0.72 (PyTorch) / 0.68 (ONNX) on seed v3. A frozen encoder is one forward pass per row, and a linear
probe on its embeddings fits in seconds, so it can even be fitted out-of-fold for the combination.

    .venv/bin/python -m tools.probe_lab --layers 4 [--prefix "query: "] [--windows 1]
    .venv/bin/python -m tools.probe_lab --static [--layers 12]   # static token vectors, see static_embed


Embeddings are cached under var/probe/. Prints dev/test F1 of the probe alone and the time each step took.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from classifier import probe, student
from classifier.calibrate import choose_threshold
from classifier.dataset import by_split, label_to_int, load_rows, source_weights
from classifier.paths import default_seed_path
from classifier.runner import Chunker
from classifier.student import prepare_encoder_dir


def embed(model, chunker: Chunker, texts: list[str], windows_per_row: int) -> np.ndarray:
    """Mean of the int8 pooled embeddings of each row's first windows (``classifier.probe.embed`` does the work)."""
    bags = chunker.leading(texts, windows_per_row)
    owner = np.array([i for i, b in enumerate(bags) for _ in b])
    out = probe.embed(model, [w for b in bags for w in b], chunker.pad_id, threads=2)
    doc = np.zeros((len(bags), out.shape[1]), dtype=np.float32)
    np.add.at(doc, owner, out)
    return doc / np.bincount(owner, minlength=len(bags))[:, None]


def static_embed(base: Path, layer: int, texts: dict[str, list[str]], prefix: str, dims: int = 256) -> dict:
    """Static token vectors distilled from the full encoder (model2vec's recipe), SIF-weighted mean per row.

    Why try it (stop 20): it carries all 12 layers' knowledge at the cost of a table lookup, where the served
    classifier keeps 2 layers for speed. Each token the seed splits use is run alone ([CLS] token [SEP]) through the
    encoder; the mean of the layer's outputs is its vector, PCA keeps ``dims``, and a row is the mean of its
    tokens weighted by a / (a + p(token)).
    """
    import torch
    from tokenizers import Tokenizer
    from transformers import BertModel

    tok = Tokenizer.from_file(str(base / "tokenizer.json"))
    ids = {k: [e.ids[1:-1] for e in tok.encode_batch([prefix + t for t in v])] for k, v in texts.items()}
    counts: dict[int, int] = {}
    for rows in ids.values():
        for row in rows:
            for i in row:
                counts[i] = counts.get(i, 0) + 1
    vocab = sorted(counts)
    model = BertModel.from_pretrained(str(base)).eval()
    vecs = np.zeros((len(vocab), model.config.hidden_size), np.float32)
    with torch.no_grad():
        for s in range(0, len(vocab), 1024):
            b = torch.tensor([[0, i, 2] for i in vocab[s : s + 1024]])
            hs = model(input_ids=b, attention_mask=torch.ones_like(b), output_hidden_states=True).hidden_states
            vecs[s : s + 1024] = hs[layer].mean(1).numpy()
    vecs -= vecs.mean(0)
    vecs = vecs @ np.linalg.svd(vecs, full_matrices=False)[2][:dims].T
    total = sum(counts.values())
    col = {i: j for j, i in enumerate(vocab)}
    weight = np.array([1e-3 / (1e-3 + counts[i] / total) for i in vocab], np.float32)

    def row(tokens: list[int]) -> np.ndarray:
        if not tokens:
            return np.zeros(dims, np.float32)
        j = [col[i] for i in tokens]
        return (vecs[j] * weight[j, None]).sum(0) / weight[j].sum()

    return {k: np.stack([row(r) for r in v]) for k, v in ids.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", type=Path, default=Path("var/models/base-e5-small"))
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--prefix", default="query: ")
    ap.add_argument("--windows", type=int, default=1)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--out", type=Path, default=Path("var/probe"))
    ap.add_argument("--static", action="store_true", help="static token vectors of layer --layers (static_embed)")
    args = ap.parse_args()
    from transformers import AutoTokenizer

    t0 = time.time()
    rows = load_rows(default_seed_path())
    sp = by_split(rows)
    tag = f"L{args.layers}_int8_w{args.windows}_m{args.max_length}_{'p' if args.prefix else 'np'}"
    args.out.mkdir(parents=True, exist_ok=True)
    if args.static:
        tag = f"static_L{args.layers}_{'p' if args.prefix else 'np'}"
    cache = args.out / f"emb_{tag}.npz"
    if cache.exists():
        z = np.load(cache)
        emb = {k: z[k] for k in ("train", "dev", "test")}
    elif args.static:
        emb = static_embed(args.base, args.layers, {k: [r["text"] for r in sp[k]] for k in ("train", "dev", "test")},
                           args.prefix)
        np.savez(cache, **emb)
    else:
        enc_dir = args.out / f"enc_L{args.layers}"
        if not enc_dir.exists():
            prepare_encoder_dir(args.base, enc_dir, args.layers, True)
        model = student.build(enc_dir).eval()
        tok = AutoTokenizer.from_pretrained(enc_dir)
        chunker = Chunker(tok, args.max_length, text_prefix=args.prefix, fold=True)
        emb = {}
        for k in ("train", "dev", "test"):
            t1 = time.time()
            emb[k] = embed(model, chunker, [r["text"] for r in sp[k]], args.windows)
            print(f"embed {k} {len(sp[k])} rows {time.time() - t1:.0f} s", flush=True)
        np.savez(cache, **emb)
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    y = {k: np.array([label_to_int(r["label"]) for r in sp[k]]) for k in ("train", "dev", "test")}
    w = np.asarray(source_weights(sp["train"], 0.5))
    sc = StandardScaler().fit(emb["train"])
    x = {k: sc.transform(v) for k, v in emb.items()}
    for c in (0.01, 0.03, 0.1, 0.3, 1.0):
        lr = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x["train"], y["train"], sample_weight=w)
        p = {k: lr.predict_proba(x[k])[:, 1] for k in ("dev", "test")}
        thr = float(choose_threshold(p["dev"], y["dev"]))
        out = [f"{tag} C={c:<5}"]
        for k in ("dev", "test"):
            for t in (0.5, thr):
                pred = p[k] >= t
                tp = float((pred & (y[k] == 1)).sum())
                pr, rc = tp / max(1, pred.sum()), tp / max(1, (y[k] == 1).sum())
                out.append(f"{k}@{t:.2f} P{pr:.3f} R{rc:.3f} F{2 * pr * rc / max(1e-9, pr + rc):.3f}")
        print("  ".join(out), flush=True)
    print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
