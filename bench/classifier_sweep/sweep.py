"""Sweep student configs (layers, epochs, windows per training row, ...) on a bundle from prepare.py.

Usage: sweep.py BUNDLE OUT WORKER NWORKERS [quick]. Each job trains with the recipe of classifier/train.py (frozen
embeddings, AdamW, warm-up + linear decay, class weights, length buckets, max over a row's windows), picks the F1
threshold on dev and prints dev/test F1 and the test flag rate on finance_legit + warning_news, for max-over-all-
windows ("max") and first-window ("first") inference. Run several workers at once on one GPU.
"""

import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from transformers import BertConfig, BertModel

B = Path(sys.argv[1])
OUT = Path(sys.argv[2])
wi, nw = int(sys.argv[3]), int(sys.argv[4])
quick = len(sys.argv) > 5
dev = "cuda" if torch.cuda.is_available() else "cpu"
D = np.load(B / "data.npz")
ids, lens, owner, y, split, sub = (D[k] for k in ("ids", "lens", "owner", "y", "split", "sub"))
PAD = int(D["pad"])
sd = {k: v.float() for k, v in load_file(str(B / "enc/model.safetensors")).items()}
base_cfg = BertConfig.from_pretrained(B / "enc")
ndoc = len(y)
win_of = [[] for _ in range(ndoc)]
for w, o in enumerate(owner):
    win_of[o].append(w)


def f1_at(p, yy, t):
    pr = p >= t
    tp = (pr & (yy == 1)).sum()
    return 2 * tp / max(1, pr.sum() + yy.sum())


def best_t(p, yy):
    o = np.argsort(-p)
    ps, ys = p[o], yy[o]
    tp = np.cumsum(ys)
    f = 2 * tp / (np.arange(1, len(ps) + 1) + yy.sum())
    i = int(np.argmax(f))
    return (ps[i] + (ps[i + 1] if i + 1 < len(ps) else 0)) / 2


def run(cfg):
    k, ep, tw, frz, seed, lr = (
        cfg["layers"],
        cfg["epochs"],
        cfg["train"],
        cfg["freeze"],
        cfg["seed"],
        cfg["lr"],
    )
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    c = BertConfig(**{**base_cfg.to_dict(), "num_hidden_layers": k})
    enc = BertModel(c, add_pooling_layer=False)
    enc.load_state_dict(
        {kk: v for kk, v in sd.items() if not kk.startswith("encoder.layer.") or int(kk.split(".")[2]) < k},
        strict=False,
    )
    head = torch.nn.Linear(c.hidden_size, 2)
    enc.to(dev)
    head.to(dev)
    drop = torch.nn.Dropout(0.1)
    if frz:
        enc.embeddings.word_embeddings.weight.requires_grad_(False)
        enc.embeddings.position_embeddings.weight.requires_grad_(False)
    tr = np.flatnonzero(split == 0)
    if cfg.get("no_al"):
        tr = tr[~D["al"][tr]]
    if tw == "first":
        items = [[win_of[d][0]] for d in tr]
        lab = y[tr]
    elif tw == "negall":
        items = []
        lab = []
        [
            (
                items.extend([[w] for w in (win_of[d][:4] if y[d] == 0 else win_of[d][:1])]),
                lab.extend([y[d]] * (min(4, len(win_of[d])) if y[d] == 0 else 1)),
            )
            for d in tr
        ]
        lab = np.array(lab)
    elif tw == "mil":
        items = [win_of[d][: cfg.get("milcap", 4)] for d in tr]
        lab = y[tr]
    cnt = np.bincount(lab, minlength=2)
    wts = torch.tensor(len(lab) / (2 * cnt), dtype=torch.float32, device=dev)
    body = [p for p in enc.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(
        [{"params": body, "lr": lr}, {"params": head.parameters(), "lr": 1e-3}], weight_decay=0.01
    )
    bs = 32
    steps = (len(items) + bs - 1) // bs * ep
    warm = max(1, int(steps * 0.06))
    sch = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    lossf = torch.nn.CrossEntropyLoss(weight=wts)

    def fwd(wins):
        x = torch.from_numpy(ids[wins]).long().to(dev)
        L = int(lens[wins].max())
        x = x[:, :L]
        m = (x != PAD).long()
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=dev == "cuda"):
            h = enc(input_ids=x, attention_mask=m).last_hidden_state
        h = h.float()
        mm = m.unsqueeze(-1).float()
        return head(drop((h * mm).sum(1) / mm.sum(1)))

    enc.train()
    drop.train()
    s = 0
    for _e in range(ep):
        keyl = np.array([max(lens[w] for w in it) for it in items])
        order = np.lexsort((rng.random(len(items)), keyl))
        batches = [order[i : i + bs] for i in range(0, len(order), bs)]
        rng.shuffle(batches)
        for b in batches:
            if quick and s > 3:
                break
            flat = [w for i in b for w in items[i]]
            own = torch.tensor([j for j, i in enumerate(b) for _ in items[i]], device=dev)
            lg = fwd(np.array(flat))
            mg = lg[:, 1] - lg[:, 0]
            dm = torch.full((len(b),), -1e9, device=dev).scatter_reduce(0, own, mg, "amax")
            logits = torch.stack([torch.zeros_like(dm), dm], 1)
            loss = lossf(logits, torch.from_numpy(lab[b]).to(dev))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(enc.parameters()) + list(head.parameters()), 1.0)
            opt.step()
            sch.step()
            s += 1
    enc.eval()
    drop.eval()
    res = {}
    ev = np.flatnonzero(split > 0)
    wins = np.array([w for d in ev for w in win_of[d]])
    mg = np.empty(len(wins), np.float32)
    with torch.no_grad():
        o = np.argsort(lens[wins])
        for i in range(0, len(o), 128):
            idx = o[i : i + 128]
            lg = fwd(wins[idx]).float().cpu().numpy()
            mg[idx] = lg[:, 1] - lg[:, 0]
    wm = dict(zip(wins.tolist(), mg.tolist(), strict=False))
    for mode in ("max", "first"):
        p = np.array(
            [
                max(wm[w] for w in win_of[d]) if mode == "max" else wm[win_of[d][0]]
                for d in range(ndoc)
                if split[d] > 0
            ]
        )
        sp = split[split > 0]
        yy = y[split > 0]
        ss = sub[split > 0]
        t = best_t(p[sp == 1], yy[sp == 1])
        hard = np.isin(ss, ["finance_legit", "warning_news"])
        res[mode] = dict(
            dev_f1=round(float(f1_at(p[sp == 1], yy[sp == 1], t)), 4),
            test_f1=round(float(f1_at(p[sp == 2], yy[sp == 2], t)), 4),
            test_hard_fp=round(float((p[(sp == 2) & hard] >= t).mean()), 4),
        )
    return res


base = dict(layers=4, epochs=4, train="first", freeze=True, lr=2e-4, milcap=1)
grid = []
for k, ep, cap in itertools.product((4, 6), (3, 4, 6), (1, 2)):
    grid.append({**base, "layers": k, "epochs": ep, "train": "mil", "milcap": cap})
grid.append({**base, "train": "mil", "milcap": 1, "no_al": True})
grid.append({**base, "epochs": 6, "train": "mil", "milcap": 2, "no_al": True})
jobs = [{**g, "seed": sd_} for g in grid for sd_ in (1, 2, 3)]
if quick:
    jobs = jobs[:2]
OUT.mkdir(parents=True, exist_ok=True)
with open(OUT / f"res_{wi}.jsonl", "a") as f:
    for j in jobs[wi::nw]:
        t0 = time.time()
        r = run(j)
        r["cfg"] = j
        r["sec"] = round(time.time() - t0, 1)
        f.write(json.dumps(r) + "\n")
        f.flush()
        print(r, flush=True)
