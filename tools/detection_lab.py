"""Detection experiments for issue #11: other n-gram models and other combinations, chosen on dev, reported on test.

Not the product: it reuses the product's pieces (lexicon features, n-gram model, combination fit) and varies one
thing at a time, so each figure in the closing note has a command behind it.

    .venv/bin/python -m tools.detection_lab [--models var/models] [--variants base,real_dev,...]

Variants: base, no_classifier, real_dev_stage2, l2_0.1, l2_10, gbm (monotone gradient boosting as stage 1),
no_written (train without the written set), curve (n-gram alone on 25/50/75 % of the real train rows, all written
rows kept), multiclass (7-way n-gram, P(fundraising)), self_training (n-gram refitted with pseudo-labels of unread
corpus rows, holdout IDs and their near-duplicates excluded), ngram_1_4, ngram_c1, ngram_c8, ngram_c16, ngram_c64, ngram_2_4,
ngram_words (jieba words and word pairs added), adjudicated_w (train rows whose readers disagreed weighted 0.25, 0.5
and 2), oof_written_batch (stage 1 on n-gram scores out of fold by written batch: a batch's rows are never scored
by a model that saw the batch, as test rows are never scored by one that saw their style), ngram_nb_0.5, ngram_nb_1,
ngram_nb_1_c4, ngram_nb_1_c1 (features scaled by their naive-Bayes log-count ratio, NBSVM), stage1_real (stage 1
fitted on the real train rows' out-of-fold scores only; the n-gram model still learns every row), distill (as
self_training, but the teacher combination includes the classifier: with ``--models`` naming a larger classifier,
distillation of that teacher into the n-gram model over the unread pool), source_class (the classes balanced within
each source as well, ``classifier.dataset.source_class_factors`` at powers 0 (stop 20's recipe) / 0.25 / 0.5 / 1,
for the n-gram model and optionally stage 1), stage2_train_oof (with ``--probe`` or ``--clf-logits``: stage 2 fitted on the train rows'
out-of-fold classifier logits, real rows only or all, instead of on dev; ``--clf-logits`` takes
``tools.oof_classifier``'s file, the logits of a fine-tuned classifier), no_neighbours (the combination without the
nearest judged rows' verdict, ``classifier.neighbours``: stop 21's product), knn (k = 5 and 50 neighbours instead of
20), knn_all (the written train rows as neighbours too; the product takes the real ones), knn_class (each neighbour weighed by
``source_class_factors``: a pitch among SMS neighbours counts as much as the SMS corpus's many non-pitches), no_short
(stage 1 without the short texts' own weights, ``scoring.features.SHORT_CHARS``; the ``short`` indicator stays), segment_max (the
n-gram model's highest log-odds over the text's sentences as an extra stage-1 column, and segment_gain, how far it
rises above the whole text's), views (n-gram models over jieba words, character 1–3- and 3–5-grams as extra stage-1
columns, and views_mean, their mean log-odds with the base's as the one n-gram column), short_stage2 (the classifier's
weight of its own for short texts in stage 2 too), contact_gate (every stage-1 feature copied for texts that give a
phone, WeChat, QQ or hotline, beside the short texts' copies), short_cut (the short texts' copies at 100, 200 and 300
characters instead of ``SHORT_CHARS``), knn_dense (with ``--dense``: the
nearest judged rows by the encoder's pooled embeddings as one more stage-1 column), al_none / al_stage1_out /
al_weight (the active-learning rows of
corpus4 left out everywhere, left out of stage 1 only, or weighted 0.5). The n-gram model's rows are weighted as ``scoring.fitting``
weighs them (source weights × ``source_class_factors(CLASS_POWER)``), stage 1's by the source weights alone, and
stage 1 carries the neighbours' scores as the product's does; the variants that fit their own stage 1 outside
``combine`` (stage2_train_oof, self_training, distill) do without them.

Every variant is fitted on train (+ dev for stage 2 / thresholds) and selected by its dev F1; the test split (real
rows only) is printed for the record. The thresholds are 0.5 (the product's) and the dev-optimal one. Each line
after the base's also gives the paired bootstrap interval of the test F1 gain over the base at 0.5
(``scoring.evaluate.f1_delta_interval``): an interval that straddles zero is noise.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from classifier import neighbours as nbr
from classifier.calibrate import choose_threshold
from classifier.dataset import by_split, label_to_int, load_rows, source_class_factors, source_weights
from classifier.ngram import NgramModel, fold_ids, out_of_fold
from classifier.paths import default_seed_path
from keywords import LexiconStore, Matcher
from scoring import combiner as C
from scoring import features as F
from scoring.engine import load_classifier
from scoring.fitting import CLASS_POWER, NEIGHBOURS, SHORT_COPIES
from tools.seed_data import pools

HARD = ("finance_legit", "warning_news")
SENTENCE = re.compile(r"[。！？!?；;\n]+")


def prf(pred: np.ndarray, gold: np.ndarray) -> tuple[float, float, float]:
    tp = float(np.sum(pred & gold))
    p = tp / max(1.0, float(pred.sum()))
    r = tp / max(1.0, float(gold.sum()))
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


_BASE_TEST: dict[str, np.ndarray] = {}  # the base variant's test verdicts at 0.5, for the paired intervals


def report(name: str, split_rows: dict, scores: dict, thr_dev: float) -> None:
    """One line per variant; after the base, also the paired bootstrap interval of its test F1 minus the base's."""
    from scoring.evaluate import f1_delta_interval

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
    dev_real = np.array([not str(r.get("source", "")).startswith("written") for r in split_rows["dev"]])
    dev_gold = np.array([bool(label_to_int(r["label"])) for r in split_rows["dev"]])
    line.append(f"devReal@0.50 F{prf(np.asarray(scores['dev'])[dev_real] >= 0.5, dev_gold[dev_real])[2]:.3f}")
    # the flag line the real dev rows alone would choose, and what it gives on test
    thr_real = float(choose_threshold(np.asarray(scores["dev"])[dev_real], dev_gold[dev_real]))
    t_gold = np.array([bool(label_to_int(r["label"])) for r in split_rows["test"]])
    t_hard = np.array([r.get("subtype") in HARD and not g for r, g in zip(split_rows["test"], t_gold, strict=True)])
    t_pred = np.asarray(scores["test"]) >= thr_real
    line.append(f"devReal-thr {thr_real:.2f}: test F{prf(t_pred, t_gold)[2]:.3f} H{float(t_pred[t_hard].mean()):.3f}")
    test_gold = np.array([bool(label_to_int(r["label"])) for r in split_rows["test"]])
    test_pred = np.asarray(scores["test"]) >= 0.5
    if name == "base":
        _BASE_TEST["pred"] = test_pred
    elif "pred" in _BASE_TEST:
        lo, hi = f1_delta_interval(_BASE_TEST["pred"], test_pred, test_gold)
        line.append(f"test ΔF1 vs base, 95 % paired bootstrap [{lo:+.3f}, {hi:+.3f}]")
    print("  ".join(line), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=Path, default=Path("var/models"))
    ap.add_argument("--data", type=Path, default=default_seed_path())
    ap.add_argument("--variants", default="all")
    ap.add_argument("--probe", type=Path, default=None, help="embeddings from tools.probe_lab (.npz): LR probe as the classifier")
    ap.add_argument("--clf-logits", type=Path, default=None,
                    help="tools.oof_classifier's oof_logits.npz: that classifier instead of the trained one")
    ap.add_argument("--no-clf", action="store_true", help="skip the trained classifier")
    ap.add_argument("--dense", type=Path, default=None,
                    help="tools.probe_lab embeddings (.npz) for knn_dense: the nearest judged rows by the encoder")
    args = ap.parse_args()
    t0 = time.time()
    rows = load_rows(args.data)
    sp = by_split(rows)
    tr, dv, te = sp["train"], sp["dev"], sp["test"]
    texts = {k: [r["text"] for r in v] for k, v in (("train", tr), ("dev", dv), ("test", te))}
    y = {k: np.array([label_to_int(r["label"]) for r in v]) for k, v in (("train", tr), ("dev", dv), ("test", te))}
    w_tr = np.asarray(source_weights(tr, 0.5))  # stage 1's row weights, as scoring.fitting's
    w_ng = w_tr * np.asarray(source_class_factors(tr, CLASS_POWER))  # the n-gram model's, as scoring.fitting's
    matcher = Matcher(LexiconStore(Path(tempfile.mkdtemp()) / "lexicon").load())
    kw = {k: [F.keyword_features(matcher.match(t), t) for t in v] for k, v in texts.items()}
    print(f"lexicon features {time.time() - t0:.0f} s", flush=True)
    clf = None if (args.no_clf or args.clf_logits) else load_classifier(args.models)
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
    oof_clf = None  # out-of-fold classifier logits of the train rows, where a variant can have them
    if args.clf_logits is not None:
        zl = np.load(args.clf_logits)
        logit, oof_clf, clf = {"dev": zl["dev"], "test": zl["test"]}, zl["train"], "oof_classifier"
    print(f"classifier {getattr(clf, 'version', clf)} {time.time() - t0:.0f} s", flush=True)
    split_rows = {"dev": dv, "test": te}
    want = set(args.variants.split(",")) if args.variants != "all" else None

    def ngram_scores(weight=None, return_model=False, **fit_args):
        """Out-of-fold train scores and dev/test scores of the n-gram model (``weight``: default the product's)."""
        w = w_ng if weight is None else weight
        oof = out_of_fold(texts["train"], y["train"], w, k=5, **fit_args)
        model = NgramModel.fit(texts["train"], y["train"], w, **fit_args)
        out = oof, {k: model.decision_function(texts[k]) for k in ("dev", "test")}
        return (*out, model) if return_model else out

    def neighbour_scores(vectors, k=nbr.K, ref=None, weights=None):
        """The neighbours' log-odds as scoring.fitting computes them: out of fold on train, every train row (or the
        ``ref`` ones) as the reference of dev and test; ``weights``: each reference row's weight."""
        ref = np.ones(len(tr), bool) if ref is None else ref
        wr = np.ones(len(tr)) if weights is None else np.asarray(weights)
        out = {"train": nbr.out_of_fold(vectors["train"], y["train"], train_folds, k, ref=ref, weights=wr)}
        r = np.flatnonzero(ref)
        for s in ("dev", "test"):
            out[s] = nbr.rate_logodds(vectors[s], vectors["train"][r], y["train"][r], k, wr[r])
        return out

    def combine(name, oof, ng, dev_mask=None, l2=1.0, use_clf=True, train_mask=None, stage1=None, weight=None,
                key=None, nb="product", short=SHORT_COPIES, kws=None, extra=()):
        """``weight``: train weights (default the source weights); ``key``: the variant to gate on (default name);
        ``nb``: the neighbours' scores per split (default the product's, None: without them); ``kws``: other keyword
        features per split (default the product's), ``extra``: more stage-1 features read from them. Returns the
        combination (None when the variant is not wanted)."""
        if want and (key or name) not in want:
            return None
        kwd = kw if kws is None else kws
        nb = nb_base if isinstance(nb, str) else nb
        dmask = np.ones(len(dv), bool) if dev_mask is None else dev_mask
        tmask = np.ones(len(tr), bool) if train_mask is None else train_mask
        w_fit = w_tr if weight is None else weight
        nb_dev = nb["dev"][dmask] if nb is not None else None
        dev_fd = C.FitData([kwd["dev"][i] for i in np.flatnonzero(dmask)], ng["dev"][dmask],
                           logit["dev"][dmask] if (use_clf and clf) else None, y["dev"][dmask], np.ones(dmask.sum()),
                           nb_dev)
        tr_fd = C.FitData([kwd["train"][i] for i in np.flatnonzero(tmask)], oof, None, y["train"][tmask], w_fit[tmask],
                          nb["train"][tmask] if nb is not None else None)
        comb = C.fit(tr_fd, dev_fd, ngram_model=None, meta={}, l2=l2, short=short, extra=extra)
        if stage1 is not None:  # another stage 1 (same features), the same stage 2 on dev
            comb.stage1 = stage1(tr_fd)
            C.fit_stage2(comb, dev_fd)
        scores = {k: comb.predict(C.rows_matrix(kwd[k], ng[k], nb[k] if nb is not None else None, comb.names),
                                  logit.get(k) if (use_clf and clf) else None)
                  for k in ("dev", "test")}
        thr = choose_threshold(scores["dev"], y["dev"])
        report(name, split_rows, scores, float(thr))
        return comb

    def alone(name, s):
        report(name + " alone", split_rows, s, float(choose_threshold(s["dev"], y["dev"])))

    def gbm_stage1(fd):
        from sklearn.ensemble import HistGradientBoostingClassifier

        yy = fd.y.astype(float)
        bal = np.where(yy > 0, len(yy) / (2 * yy.sum()), len(yy) / (2 * (len(yy) - yy.sum())))
        use_nb = fd.neighbours is not None
        names = C.stage1_names(use_nb, SHORT_COPIES)  # the columns combine() scores with
        g = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=40,
                                           l2_regularization=1.0, monotonic_cst=C.stage1_signs(use_nb, SHORT_COPIES),
                                           random_state=0)
        g.fit(C.rows_matrix(fd.kw, fd.ngram, fd.neighbours, names), fd.y, sample_weight=bal * fd.weight)
        return g.decision_function

    def combine_extra(name, extra, key=None, extra_signs=None):
        """The base combination plus extra stage-1 columns (``extra[split]``: rows × m, signs ``extra_signs``,
        default +1 each), carried as keyword features named ``extra_<j>``."""
        m = extra["train"].shape[1]
        feats = [F.Feature(f"extra_{j}", s, "lab") for j, s in enumerate(extra_signs or [+1] * m)]
        kws = {k: [{**r, **{f.name: float(extra[k][i, j]) for j, f in enumerate(feats)}} for i, r in enumerate(rows)]
               for k, rows in kw.items()}
        comb = combine(name, oof, ng, key=key, kws=kws, extra=feats)
        if comb is not None:
            w = comb.weights()
            print(f"  {name}: extra weights {[round(w[f.name], 3) for f in feats][:60]}, n-gram {w[F.NGRAM.name]:.3f}",
                  flush=True)

    train_folds = fold_ids(texts["train"], y["train"], 5)  # the folds of out_of_fold, computed once for the neighbours
    oof, ng, ng_model = ngram_scores(return_model=True)
    vectors = {k: ng_model.transform(texts[k]) for k in ("train", "dev", "test")}
    real_tr = np.array([not str(r.get("source", "")).startswith("written") for r in tr])
    nb_ref = real_tr if NEIGHBOURS == "real" else None  # the product's neighbours
    nb_base = neighbour_scores(vectors, ref=nb_ref) if NEIGHBOURS else None

    def nb_ref_of(keep):
        """The product's neighbour reference rows, restricted to ``keep``."""
        return keep if nb_ref is None else nb_ref & keep
    print(f"n-gram base {time.time() - t0:.0f} s", flush=True)
    report("ngram alone", split_rows, {k: 1 / (1 + np.exp(-ng[k])) for k in ng},
           float(choose_threshold(1 / (1 + np.exp(-ng["dev"])), y["dev"])))
    if clf:
        pc = {k: 1 / (1 + np.exp(-logit[k])) for k in logit}
        report("classifier alone", split_rows, pc, float(choose_threshold(pc["dev"], y["dev"])))
    combine("base", oof, ng)
    combine("no_classifier", oof, ng, use_clf=False)
    combine("no_neighbours", oof, ng, nb=None)
    for k_nb in (5, 50) if not want or "knn" in want else ():
        combine(f"knn k={k_nb}", oof, ng, nb=neighbour_scores(vectors, k_nb, ref=nb_ref), key="knn")
    if not want or "knn_class" in want:  # each neighbour weighed by its source's class balance, as the n-gram's rows
        combine("knn_class", oof, ng, nb=neighbour_scores(vectors, ref=nb_ref,
                                                          weights=source_class_factors(tr, CLASS_POWER)))
    if not want or "knn_all" in want:  # every train row as a neighbour, the written ones too
        combine("knn_all", oof, ng, nb=neighbour_scores(vectors))
    if not want or "segment_max" in want:
        # a pitch inside a longer post: the n-gram model's highest log-odds over the text's sentences (out of fold on
        # train, each fold's model scoring its held rows' sentences), beside the whole text's
        def seg_max(model, items):
            segs, owner = [], []
            for i, t in enumerate(items):
                parts = [p for p in SENTENCE.split(t or "") if len(p.strip()) >= 6] or [t or ""]
                segs += parts
                owner += [i] * len(parts)
            z = model.decision_function(segs)
            out = np.full(len(items), -40.0)
            np.maximum.at(out, np.asarray(owner), z)
            return out

        sm = {"train": np.zeros(len(tr))}
        for f in range(5):
            fit_rows, held = np.flatnonzero(train_folds != f), np.flatnonzero(train_folds == f)
            m_f = NgramModel.fit([texts["train"][i] for i in fit_rows], y["train"][fit_rows], w_ng[fit_rows])
            sm["train"][held] = seg_max(m_f, [texts["train"][i] for i in held])
        for k in ("dev", "test"):
            sm[k] = seg_max(ng_model, texts[k])
        combine_extra("segment_max", {k: v.reshape(-1, 1) for k, v in sm.items()})
        gain = {k: np.maximum(sm[k] - (oof if k == "train" else ng[k]), 0.0).reshape(-1, 1) for k in sm}
        combine_extra("segment_gain", gain, key="segment_max")  # how far the best sentence rises above the whole
    combine("no_short", oof, ng, short=False)  # stage 1 without the short texts' copies (the `short` indicator stays)
    for cut in (100, 200, 300) if not want or "short_cut" in want else ():
        # another length for "short" (the product's is features.SHORT_CHARS)
        kws = {k: [{**r, "short": float(len(t or "") < cut)} for r, t in zip(rows, texts[k], strict=True)]
               for k, rows in kw.items()}
        combine(f"short_cut {cut}", oof, ng, key="short_cut", kws=kws)
    if clf and (not want or "short_stage2" in want):
        # the classifier's weight of its own for short texts too, in stage 2 (on dev): z = a z1 + (b + b_s short) clf + c
        tr_fd = C.FitData(kw["train"], oof, None, y["train"], w_tr, nb_base["train"])
        dv_fd = C.FitData(kw["dev"], ng["dev"], logit["dev"], y["dev"], np.ones(len(dv)), nb_base["dev"])
        comb = C.fit(tr_fd, dv_fd, ngram_model=None, meta={}, short=SHORT_COPIES)
        short = {k: np.array([r["short"] for r in kw[k]]) for k in ("dev", "test")}
        z1 = {k: comb.stage1(C.rows_matrix(kw[k], ng[k], nb_base[k], comb.names)) for k in ("dev", "test")}
        cz = {k: (logit[k] - comb.clf_mean) / comb.clf_std for k in ("dev", "test")}
        x2 = {k: np.stack([z1[k], cz[k], cz[k] * short[k], short[k]], 1) for k in ("dev", "test")}
        beta, c0 = C.fit_logistic(x2["dev"], y["dev"], np.ones(len(dv)), [+1, +1, +1, 0], l2=0.01)
        print(f"  short_stage2: a {beta[0]:.3f}, b {beta[1]:.3f}, b_short {beta[2]:.3f}, short {beta[3]:.3f}", flush=True)
        sc = {k: C.sigmoid(x2[k] @ beta + c0) for k in ("dev", "test")}
        report("short_stage2", split_rows, sc, float(choose_threshold(sc["dev"], y["dev"])))
    if not want or "contact_gate" in want:
        # a second gate beside length: a text that gives a way to reach the seller (phone, WeChat, QQ, hotline) is an
        # ad, whatever its length; every stage-1 feature gets a copy for such texts, with the feature's sign
        contact = re.compile(r"(?:[1１][3-9３-９][0-9x０-９]{9}|[0-9x]{7,}|微信|薇信|威信|加v|\+v|vx|qq|扣扣|电话|热线|"
                             r"咨询|联系|详询|致电|私信|加群)", re.I)
        base_names = C.stage1_names(True)  # the columns before any short copy

        def contact_cols(k):
            b = C.rows_matrix(kw[k], (oof if k == "train" else ng[k]), nb_base[k], base_names)
            has = np.array([bool(contact.search(t or "")) for t in texts[k]], dtype=float).reshape(-1, 1)
            return np.hstack([b * has, has])
        print("  contact share: " + ", ".join(f"{k} {np.mean([bool(contact.search(t or '')) for t in texts[k]]):.2f}"
                                              for k in ("train", "dev", "test")), flush=True)
        combine_extra("contact_gate", {k: contact_cols(k) for k in ("train", "dev", "test")},
                      extra_signs=C.stage1_signs(True) + [0])
    if not want or "views" in want:
        # other views of the text, each its own out-of-fold model and its own stage-1 column
        cols = {k: [] for k in ("train", "dev", "test")}
        for view in ({"words": True}, {"ngram_range": (1, 3)}, {"ngram_range": (3, 5)}):
            o_v, n_v = ngram_scores(**view)
            cols["train"].append(o_v)
            cols["dev"].append(n_v["dev"])
            cols["test"].append(n_v["test"])
            print(f"  view {view} {time.time() - t0:.0f} s", flush=True)
        arr = {k: np.stack(v, 1) for k, v in cols.items()}
        combine_extra("views", arr)
        mean_view = {k: np.concatenate([arr[k], (oof if k == "train" else ng[k]).reshape(-1, 1)], 1).mean(1)
                     for k in arr}
        combine("views_mean", mean_view["train"], {k: mean_view[k] for k in ("dev", "test")}, key="views")
    real_dev = np.array([not str(r.get("source", "")).startswith("written") for r in dv])
    combine("real_dev_stage2", oof, ng, dev_mask=real_dev)
    combine("l2_0.1", oof, ng, l2=0.1)
    combine("l2_10", oof, ng, l2=10.0)
    combine("gbm", oof, ng, stage1=gbm_stage1)
    written = np.array([str(r.get("source", "")).startswith("written") for r in tr])
    if not want or "no_written" in want:
        real_tr = np.flatnonzero(~written)
        t_real, y_real, w_real = [texts["train"][i] for i in real_tr], y["train"][real_tr], w_ng[real_tr]
        o_nw = out_of_fold(t_real, y_real, w_real, k=5)
        m_nw = NgramModel.fit(t_real, y_real, w_real)
        n_nw = {k: m_nw.decision_function(texts[k]) for k in ("dev", "test")}
        alone("no_written", {k: 1 / (1 + np.exp(-v)) for k, v in n_nw.items()})
        combine("no_written", o_nw, n_nw, train_mask=~written, nb=neighbour_scores(vectors, ref=~written))
    # the classes balanced within each source too, for the n-gram model (power 0: stop 20's recipe)
    for a in (0.0, 0.25, 0.5, 1.0) if not want or "source_class" in want else ():
        w_sc = w_tr * np.asarray(source_class_factors(tr, a)) if a else w_tr
        o_sc, n_sc = ngram_scores(weight=w_sc)
        alone(f"source_class {a}", {k: 1 / (1 + np.exp(-v)) for k, v in n_sc.items()})
        combine(f"source_class {a}", o_sc, n_sc, key="source_class")
        combine(f"source_class {a} stage1 too", o_sc, n_sc, weight=w_sc, key="source_class")
    if (args.probe is not None or oof_clf is not None) and (not want or "stage2_train_oof" in want):
        # stage 2 on the train rows' out-of-fold classifier logits (the probe refits cheaply per fold; a fine-tuned
        # classifier comes from tools.oof_classifier) instead of dev, whose F1 comes mostly from written rows: 6,974
        # real train rows against dev's 1,129
        if oof_clf is None:
            from sklearn.linear_model import LogisticRegression


            z_tr = sc.transform(z["train"])
            folds = fold_ids(texts["train"], y["train"])
            oof_clf = np.zeros(len(tr))
            for f in range(5):
                fit_rows, held = folds != f, folds == f
                lr_f = LogisticRegression(C=0.03, class_weight="balanced", max_iter=3000)
                lr_f.fit(z_tr[fit_rows], y["train"][fit_rows], sample_weight=w_tr[fit_rows])
                oof_clf[held] = lr_f.decision_function(z_tr[held])
        for name, mask in (("stage2_train_oof real", ~written), ("stage2_train_oof all", np.ones(len(tr), bool))):
            s2 = C.FitData([kw["train"][i] for i in np.flatnonzero(mask)], oof[mask], oof_clf[mask], y["train"][mask],
                           np.ones(int(mask.sum())))
            comb = C.fit(C.FitData(kw["train"], oof, None, y["train"], w_tr), s2, ngram_model=None, meta={})
            sc2 = {k: comb.predict(C.rows_matrix(kw[k], ng[k], names=comb.names), logit[k]) for k in ("dev", "test")}
            report(name, split_rows, sc2, float(choose_threshold(sc2["dev"], y["dev"])))
    if not want or "stage1_real" in want:  # the n-gram learns every row; stage 1 learns from the real rows' OOF only
        combine("stage1_real", oof[~written], ng, train_mask=~written)
    if args.dense is not None and (not want or "knn_dense" in want):
        # the nearest judged rows by the encoder's pooled embedding (meaning) beside the TF-IDF ones (wording)
        from scipy.sparse import csr_matrix

        z = np.load(args.dense)
        unit = {k: csr_matrix(z[k] / np.maximum(np.linalg.norm(z[k], axis=1, keepdims=True), 1e-9))
                for k in ("train", "dev", "test")}
        for k_d in (5, 20):
            dn = neighbour_scores(unit, k_d, ref=nb_ref)
            combine_extra(f"knn_dense k={k_d}", {k: dn[k][:, None] for k in dn}, key="knn_dense")
    if not want or want & {"al_none", "al_stage1_out", "al_weight"}:
        # corpus4, the active-learning rows (train only): drawn near the flag line, they are not the population
        # stage 1 should learn its weights from. al_none: without them anywhere (the seed before stop 24);
        # al_stage1_out: the n-gram model and the neighbours learn them, stage 1 does not; al_weight: weight 0.5
        manifest = json.loads((pools.POOLS / "manifest.json").read_text(encoding="utf-8"))
        drawn = set(manifest["pools"].get("corpus4", {}).get("scores", {}))
        al = np.array([r["id"] in drawn for r in tr])
        print(f"active-learning rows in train: {int(al.sum())}", flush=True)
        if not want or "al_none" in want:
            o_al, n_al = ngram_scores(weight=w_ng * ~al)
            combine("al_none", o_al[~al], n_al, train_mask=~al, nb=neighbour_scores(vectors, ref=nb_ref_of(~al)))
        combine("al_stage1_out", oof[~al], ng, train_mask=~al)
        if not want or "al_weight" in want:
            half = np.where(al, 0.5, 1.0)
            o_h, n_h = ngram_scores(weight=w_ng * half)
            combine("al_weight", o_h, n_h, weight=w_tr * half)
    if not want or "curve" in want:
        u = np.random.default_rng(0).random(len(tr))
        for frac in (0.25, 0.5, 0.75):
            keep = np.flatnonzero(written | (u < frac))
            m = NgramModel.fit([texts["train"][i] for i in keep], y["train"][keep], w_ng[keep])
            alone(f"curve real {frac:.0%} (n={len(keep)})",
                  {k: m.predict_proba(texts[k]) for k in ("dev", "test")})
    if not want or "multiclass" in want:
        from sklearn.linear_model import LogisticRegression

        sub = np.array([r.get("subtype", "") for r in tr])
        vec_model = NgramModel.fit(texts["train"], y["train"], w_ng)  # its vocabulary and idf
        lr7 = LogisticRegression(C=4.0, max_iter=3000, class_weight="balanced")
        lr7.fit(vec_model.transform(texts["train"]), sub, sample_weight=w_ng)
        col = list(lr7.classes_).index("fundraising")
        alone("multiclass", {k: lr7.predict_proba(vec_model.transform(texts[k]))[:, col] for k in ("dev", "test")})
    for variant, use_teacher_clf in (("self_training", False), ("distill", True)):
        # self_training: the combination without the classifier labels unread rows; distill: with the classifier
        # (run with --models pointing at a larger, slower classifier, it is the teacher the issue suggests)
        if (want and variant not in want) or (use_teacher_clf and not hasattr(clf, "predict_proba")):
            continue
        pool = unread_pool(rows)
        teacher = C.fit(C.FitData(kw["train"], oof, None, y["train"], w_tr),
                        C.FitData(kw["dev"], ng["dev"], logit["dev"] if use_teacher_clf else None, y["dev"],
                                  np.ones(len(dv))), ngram_model=None, meta={})
        base_model = NgramModel.fit(texts["train"], y["train"], w_ng)
        kw_pool = [F.keyword_features(matcher.match(t), t) for t in pool]
        logit_pool = np.array([F.prob_logit(p) for p in clf.predict_proba(pool)]) if use_teacher_clf else None
        p_pool = teacher.predict(C.rows_matrix(kw_pool, base_model.decision_function(pool), names=teacher.names),
                                 logit_pool)
        sure = np.flatnonzero((p_pool <= 0.1) | (p_pool >= 0.9))
        m = NgramModel.fit(texts["train"] + [pool[i] for i in sure],
                           np.concatenate([y["train"], (p_pool[sure] >= 0.5).astype(int)]),
                           np.concatenate([w_ng, np.full(len(sure), 0.3)]))
        print(f"{variant}: {len(pool)} unread rows, {len(sure)} pseudo-labelled "
              f"({int((p_pool[sure] >= 0.5).sum())} positive)", flush=True)
        alone(variant, {k: m.predict_proba(texts[k]) for k in ("dev", "test")})
        # in the combination: every fold's model also learns the pseudo-labelled rows, the train rows stay out of fold
        pseudo = ([pool[i] for i in sure], (p_pool[sure] >= 0.5).astype(int), np.full(len(sure), 0.3))
        o_st = out_of_fold(texts["train"], y["train"], w_ng, k=5, extra=pseudo)
        combine(variant, o_st, {k: m.decision_function(texts[k]) for k in ("dev", "test")})
    if not want or "oof_written_batch" in want:
        from classifier.ngram import dup_key

        groups = [r["provenance"] if str(r.get("source", "")).startswith("written") else dup_key(r["text"]) for r in tr]
        combine("oof_written_batch", out_of_fold(texts["train"], y["train"], w_ng, k=5, groups=groups), ng)
    if not want or "adjudicated_w" in want:  # the disputed rows carry the label noise: do they teach or confuse?
        disputed = np.array([str(r.get("label_method", "")).endswith("adjudicated") for r in tr])
        for a in (0.25, 0.5, 2.0):
            o_a, n_a = ngram_scores(weight=w_ng * np.where(disputed, a, 1.0))
            alone(f"adjudicated_w {a}", {k: 1 / (1 + np.exp(-v)) for k, v in n_a.items()})
            combine(f"adjudicated_w {a}", o_a, n_a, weight=w_tr * np.where(disputed, a, 1.0), key="adjudicated_w")
    if not want or "kw_specialist" in want:
        # a specialist: an n-gram model fitted only on the rows the lexicon fires on (kw_score >= gate), so that among
        # texts that carry pitch wording it learns what separates a pitch from the news, warnings and shop ads that
        # quote it, instead of the whole-corpus model's "SMS marketing style reads negative"; its log-odds is a
        # stage-1 column on the gated rows (0 elsewhere) beside a free gate indicator
        for gate in (0.3, 0.6):
            g = {k: np.array([r["kw_score"] >= gate for r in kw[k]]) for k in ("train", "dev", "test")}
            col = {k: np.zeros(len(g[k])) for k in g}
            for f in range(5):
                fit_rows = np.flatnonzero((train_folds != f) & g["train"])
                held = np.flatnonzero((train_folds == f) & g["train"])
                m_f = NgramModel.fit([texts["train"][i] for i in fit_rows], y["train"][fit_rows], w_ng[fit_rows])
                col["train"][held] = m_f.decision_function([texts["train"][i] for i in held])
            on = np.flatnonzero(g["train"])
            m_g = NgramModel.fit([texts["train"][i] for i in on], y["train"][on], w_ng[on])
            for k in ("dev", "test"):
                idx = np.flatnonzero(g[k])
                col[k][idx] = m_g.decision_function([texts[k][i] for i in idx])
            print(f"  kw_specialist gate {gate}: gated share " + ", ".join(f"{k} {g[k].mean():.2f}" for k in g)
                  + f", pitches among gated train rows {y['train'][on].mean():.2f}", flush=True)
            combine_extra(f"kw_specialist {gate}", {k: np.stack([col[k], g[k].astype(float)], 1) for k in g},
                          key="kw_specialist", extra_signs=[+1, 0])
    for name, fa in (("ngram_1_4", {"ngram_range": (1, 4)}), ("ngram_c1", {"c": 1.0}), ("ngram_c16", {"c": 16.0}),
                     ("ngram_c64", {"c": 64.0}), ("ngram_c8", {"c": 8.0}),
                     ("ngram_nb_0.5", {"nb": 0.5}), ("ngram_nb_1", {"nb": 1.0}), ("ngram_nb_1_c4", {"nb": 1.0, "c": 4.0}),
                     ("ngram_nb_1_c1", {"nb": 1.0, "c": 1.0}),
                     ("ngram_2_4", {"ngram_range": (2, 4)}), ("ngram_words", {"words": True})):
        if want and name not in want:
            continue
        o2, n2 = ngram_scores(**fa)
        report(name + " alone", split_rows, {k: 1 / (1 + np.exp(-n2[k])) for k in n2},
               float(choose_threshold(1 / (1 + np.exp(-n2["dev"])), y["dev"])))
        combine(name, o2, n2)
        print(f"  {time.time() - t0:.0f} s", flush=True)


def unread_pool(rows: list[dict], sms_share: float = 0.08, title_share: float = 0.1) -> list[str]:
    """Corpus texts no one has read: not in the seed set, not a holdout ID, not a near-duplicate of either. Every
    bdci and iflytek row, a seeded share of SMS and news titles (the bulk of those corpora is ordinary text)."""
    import random

    from tools.seed_data.common import dup_key, load_corpus
    from tools.seed_data.pools import required_holdout

    held = required_holdout()
    every = list(load_corpus(exclude=set()))
    taken = {dup_key(r["text"]) for r in rows} | {dup_key(r["text"]) for r in every if r["id"] in held}
    rnd, out = random.Random(0), []
    for r in every:
        key = dup_key(r["text"])
        if r["id"] in held or key in taken or len(key) < 6:
            continue
        taken.add(key)
        share = {"sms": sms_share, "thucnews": title_share, "tnews": title_share}.get(r["corpus"], 1.0)
        if share >= 1.0 or rnd.random() < share:
            out.append(r["text"])
    return out


if __name__ == "__main__":
    main()
