"""Detection experiments for issue #11: other n-gram models and other combinations, chosen on dev, reported on test.

Not the product: it reuses the product's pieces (lexicon features, n-gram model, combination fit) and varies one
thing at a time, so each figure in the closing note has a command behind it.

    .venv/bin/python -m tools.detection_lab [--models var/models] [--variants base,real_dev,...]

Every variant is fitted on train (+ dev for stage 2 / thresholds) and selected by its dev F1; the test split (real
rows only) is printed for the record. The thresholds are 0.5 (the product's) and the dev-optimal one.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from classifier.calibrate import choose_threshold
from classifier.dataset import by_split, label_to_int, load_rows, source_weights
from classifier.ngram import NgramModel, out_of_fold
from classifier.paths import default_seed_path
from keywords import LexiconStore, Matcher
from scoring import combiner as C
from scoring import features as F
from scoring.engine import load_classifier

HARD = ("finance_legit", "warning_news")


def prf(pred: np.ndarray, gold: np.ndarray) -> tuple[float, float, float]:
    tp = float(np.sum(pred & gold))
    p = tp / max(1.0, float(pred.sum()))
    r = tp / max(1.0, float(gold.sum()))
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def report(name: str, split_rows: dict, scores: dict, thr_dev: float) -> None:
    line = [f"{name:<28}"]
    for split in ("dev", "test"):
        rows, s = split_rows[split], scores[split]
        gold = np.array([bool(label_to_int(r["label"])) for r in rows])
        hard = np.array([r.get("subtype") in HARD and not g for r, g in zip(rows, gold, strict=True)])
        for thr in (0.5, thr_dev):
            pred = s >= thr
            p, r, f = prf(pred, gold)
            rate = float(pred[hard].mean()) if hard.any() else 0.0
            line.append(f"{split}@{thr:.2f} P{p:.3f} R{r:.3f} F{f:.3f} H{rate:.3f}")
    print("  ".join(line), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=Path, default=Path("var/models"))
    ap.add_argument("--data", type=Path, default=default_seed_path())
    ap.add_argument("--variants", default="all")
    ap.add_argument("--probe", type=Path, default=None, help="embeddings from tools.probe_lab (.npz): LR probe as the classifier")
    ap.add_argument("--no-clf", action="store_true", help="skip the trained classifier")
    args = ap.parse_args()
    t0 = time.time()
    rows = load_rows(args.data)
    sp = by_split(rows)
    tr, dv, te = sp["train"], sp["dev"], sp["test"]
    texts = {k: [r["text"] for r in v] for k, v in (("train", tr), ("dev", dv), ("test", te))}
    y = {k: np.array([label_to_int(r["label"]) for r in v]) for k, v in (("train", tr), ("dev", dv), ("test", te))}
    w_tr = np.asarray(source_weights(tr, 0.5))
    matcher = Matcher(LexiconStore(Path(tempfile.mkdtemp()) / "lexicon").load())
    kw = {k: [F.keyword_features(matcher.match(t), t) for t in v] for k, v in texts.items()}
    print(f"lexicon features {time.time() - t0:.0f} s", flush=True)
    clf = None if args.no_clf else load_classifier(args.models)
    logit = {k: np.array([F.prob_logit(p) for p in clf.predict_proba(texts[k])]) for k in ("dev", "test")} if clf else {}
    if args.probe is not None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        z = np.load(args.probe)
        sc = StandardScaler().fit(z["train"])
        lr = LogisticRegression(C=0.03, class_weight="balanced", max_iter=3000)
        lr.fit(sc.transform(z["train"]), y["train"], sample_weight=w_tr)
        logit = {k: lr.decision_function(sc.transform(z[k])) for k in ("dev", "test")}
        clf = "probe"
    print(f"classifier {getattr(clf, 'version', None)} {time.time() - t0:.0f} s", flush=True)
    split_rows = {"dev": dv, "test": te}
    want = set(args.variants.split(",")) if args.variants != "all" else None

    def ngram_scores(**fit_args):
        oof = out_of_fold(texts["train"], y["train"], w_tr, k=5, **fit_args)
        model = NgramModel.fit(texts["train"], y["train"], w_tr, **fit_args)
        return oof, {k: model.decision_function(texts[k]) for k in ("dev", "test")}

    def combine(name, oof, ng, dev_mask=None, l2=1.0, use_clf=True):
        if want and name not in want:
            return
        dmask = np.ones(len(dv), bool) if dev_mask is None else dev_mask
        dev_fd = C.FitData([kw["dev"][i] for i in np.flatnonzero(dmask)], ng["dev"][dmask],
                           logit["dev"][dmask] if (use_clf and clf) else None, y["dev"][dmask], np.ones(dmask.sum()))
        comb = C.fit(C.FitData(kw["train"], oof, None, y["train"], w_tr), dev_fd, ngram_model=None, meta={}, l2=l2)
        scores = {k: comb.predict(C.rows_matrix(kw[k], ng[k]), logit.get(k) if (use_clf and clf) else None)
                  for k in ("dev", "test")}
        thr = choose_threshold(scores["dev"], y["dev"])
        report(name, split_rows, scores, float(thr))

    oof, ng = ngram_scores()
    print(f"n-gram base {time.time() - t0:.0f} s", flush=True)
    report("ngram alone", split_rows, {k: 1 / (1 + np.exp(-ng[k])) for k in ng},
           float(choose_threshold(1 / (1 + np.exp(-ng["dev"])), y["dev"])))
    if clf:
        pc = {k: 1 / (1 + np.exp(-logit[k])) for k in logit}
        report("classifier alone", split_rows, pc, float(choose_threshold(pc["dev"], y["dev"])))
    combine("base", oof, ng)
    combine("no_classifier", oof, ng, use_clf=False)
    real_dev = np.array([not str(r.get("source", "")).startswith("written") for r in dv])
    combine("real_dev_stage2", oof, ng, dev_mask=real_dev)
    combine("l2_0.1", oof, ng, l2=0.1)
    combine("l2_10", oof, ng, l2=10.0)
    for name, fa in (("ngram_1_4", {"ngram_range": (1, 4)}), ("ngram_c1", {"c": 1.0}), ("ngram_c16", {"c": 16.0}),
                     ("ngram_2_4", {"ngram_range": (2, 4)})):
        if want and name not in want:
            continue
        o2, n2 = ngram_scores(**fa)
        report(name + " alone", split_rows, {k: 1 / (1 + np.exp(-n2[k])) for k in n2},
               float(choose_threshold(1 / (1 + np.exp(-n2["dev"])), y["dev"])))
        combine(name, o2, n2)
        print(f"  {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
