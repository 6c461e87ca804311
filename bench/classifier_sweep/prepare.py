"""Build a compact bundle for the classifier sweep: token windows (vocab remapped) + an 8-layer fp16 encoder.

Why: the sweep ran on a lent GPU machine that takes at most 64 MiB of files and has no project venv; the bundle
(~38 MB) carries everything it needs. Usage (after `adscreen convert`):

    .venv/bin/python bench/classifier_sweep/prepare.py classifier/data/seed.jsonl /tmp/bundle
    python3 bench/classifier_sweep/sweep.py /tmp/bundle /tmp/results 0 1     # worker 0 of 1 (GPU if present)
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import AutoModel, AutoTokenizer

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from classifier.textprep import prepare  # noqa: E402

seed = sys.argv[1]
out = Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
base = REPO / "var/models/base-e5-small"  # adscreen convert
tok = AutoTokenizer.from_pretrained(base)
rows = [json.loads(line) for line in open(seed)]
body = 126
docs = tok([prepare(r["text"])[: body * 64 * 4] for r in rows], add_special_tokens=False)["input_ids"]
cls, sep = tok.cls_token_id, tok.sep_token_id
used = sorted({i for d in docs for i in d} | {cls, sep, tok.pad_token_id, tok.unk_token_id})
remap = {o: n for n, o in enumerate(used)}
W, owner = [], []
for i, d in enumerate(docs):
    for n, s in enumerate(range(0, max(len(d), 1), body)):
        if n >= 16:
            break
        W.append([remap[cls]] + [remap[t] for t in d[s : s + body]] + [remap[sep]])
        owner.append(i)
L = np.array([len(w) for w in W])
ids = np.full((len(W), 128), remap[tok.pad_token_id], np.int32)
for r, w in enumerate(W):
    ids[r, : len(w)] = w
y = np.array([r["label"] == "fundraising" for r in rows], np.int64)
split = np.array([{"train": 0, "dev": 1, "test": 2}[r["split"]] for r in rows])
sub = np.array([r["subtype"] for r in rows])
al_ids = {
    line.split("\t")[0]
    for line in open(REPO / "classifier/data/decisions_train_only.tsv")
    if line.strip() and not line.startswith("#")
}
al = np.array([r["id"] in al_ids for r in rows])
np.savez_compressed(
    out / "data.npz",
    al=al,
    ids=ids,
    lens=L,
    owner=np.array(owner),
    y=y,
    split=split,
    sub=sub,
    pad=remap[tok.pad_token_id],
)
m = AutoModel.from_pretrained(base, add_pooling_layer=False)
m.encoder.layer = torch.nn.ModuleList(list(m.encoder.layer)[:8])
m.config.num_hidden_layers = 8
sd = m.state_dict()
sd["embeddings.word_embeddings.weight"] = sd["embeddings.word_embeddings.weight"][used]
m.config.vocab_size = len(used)
m.config.save_pretrained(out / "enc")
save_file({k: v.half().contiguous() for k, v in sd.items()}, str(out / "enc" / "model.safetensors"))
print("rows", len(rows), "windows", len(W), "vocab", len(used))
