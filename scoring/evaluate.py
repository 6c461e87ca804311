"""Where detection fails: the combined verdict and each detector alone on a labelled split or file.

    adscreen evaluate [--split test|dev] [--data FILE.jsonl] [--errors] [--evasion] [--out var/eval]
    adscreen fit-combiner [--force]

Reports precision / recall / F1 on ``fundraising`` and the flag rate on the hard negatives (finance_legit +
warning_news) for the keywords, the n-gram model, the classifier and the combination; per source and per subtype;
a confusion table (gold subtype × flagged); a calibration plot (predicted score against the observed rate); with
``--errors`` the misses and false alarms with the features that moved them. The combination and every threshold
are fitted on train/dev; a test split is only reported. The settings come from the caller (the command line), so
that this module reads no configuration of its own.
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifier.paths import default_seed_path
from scoring.engine import Scorer, build_scorer, classifier_dir

SEED = default_seed_path()
HARD = ("finance_legit", "warning_news")  # the hard negatives
HARD_LEXICON = ("finance_legit", "warning_news", "loan_ad")  # the lexicon's own target set (keywords/README.md)


def load_rows(path: Path, split: str | None = None) -> list[dict[str, Any]]:
    """Rows of a labelled JSONL file (``text``, ``label``; ``subtype``/``source`` optional); one split if given."""
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    for n, r in enumerate(rows, 1):
        if not isinstance(r, dict) or not isinstance(r.get("text"), str) or "label" not in r:
            raise ValueError(f"{path}:{n}: a row needs a string 'text' and a 'label'")
    return [r for r in rows if split is None or r.get("split") == split]


def load_split(path: Path, split: str) -> list[dict[str, Any]]:
    return load_rows(path, split)


def _bundled_lexicon(settings: Any) -> Any:
    """Evaluate the bundled lexicon, not someone's live edits, when no live lexicon exists yet."""
    if not Path(settings.lexicon_dir).exists():
        return settings.model_copy(update={"lexicon_dir": Path(tempfile.mkdtemp()) / "lexicon"})
    return settings


def ensure_combiner(
    settings: Any,
    rows: Sequence[dict] | None = None,
    *,
    force: bool = False,
    use_classifier: bool | None = None,
    echo: Callable[[str], Any] = print,
) -> Any:
    """Fit (once per classifier version and data) the combination for the current classifier, or for keywords and
    the n-gram model when no classifier is trained or it is switched off."""
    from classifier.dataset import load_rows as load_labelled
    from scoring.fitting import ensure_combiner as fit_once

    scorer = build_scorer(settings, use_classifier=use_classifier, with_combiner=False)
    data = list(rows) if rows is not None else load_labelled(SEED)
    return fit_once(classifier_dir(settings), data, scorer.matcher, scorer.classifier, force=force, echo=echo)


# ---------------------------------------------------------------------------------------------- metrics
def prf(pred: Sequence[bool], gold: Sequence[bool]) -> tuple[float, float, float]:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0


f1 = prf  # the old name


def summary(pred: Sequence[bool], rows: Sequence[dict]) -> dict[str, Any]:
    gold = [_gold(r) for r in rows]
    p, r, f = prf(pred, gold)
    out: dict[str, Any] = {"n": len(rows), "positives": sum(gold), "precision": round(p, 4), "recall": round(r, 4)}
    out["f1"] = round(f, 4)
    for name, subs in (("flag_rate_hard", HARD), ("flag_rate_hard_lexicon", HARD_LEXICON)):
        idx = [i for i, row in enumerate(rows) if row.get("subtype") in subs and not gold[i]]
        out[name] = round(sum(pred[i] for i in idx) / len(idx), 4) if idx else None
        out[name.replace("flag_rate", "n")] = len(idx)
    return out


def f1_interval(pred: Sequence[bool], gold: Sequence[bool], reps: int = 1000, seed: int = 0,
                level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of F1 on ``fundraising`` over resamples of the rows.

    Why: on a test split with ~200 pitches one row moves F1 by ~0.004, so a figure without its spread invites
    reading noise as progress (classifier/README.md, stops 19–21)."""
    return _interval(_f1_resampled(np.asarray(pred, bool), np.asarray(gold, bool), reps, seed), level)


def f1_delta_interval(pred_a: Sequence[bool], pred_b: Sequence[bool], gold: Sequence[bool], reps: int = 1000,
                      seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Paired bootstrap interval of F1(b) − F1(a) on the same resampled rows: whether b beats a beyond noise."""
    a, b, g = (np.asarray(v, bool) for v in (pred_a, pred_b, gold))
    return _interval(_f1_resampled(b, g, reps, seed) - _f1_resampled(a, g, reps, seed), level)


def _f1_resampled(pred: np.ndarray, gold: np.ndarray, reps: int, seed: int) -> np.ndarray:
    """F1 of each of ``reps`` bootstrap resamples (the same resamples for the same ``seed`` and length)."""
    if len(pred) != len(gold):
        raise ValueError("predictions and gold labels differ in length")
    if not len(gold):
        return np.zeros(reps)
    idx = np.random.default_rng(seed).integers(0, len(gold), size=(reps, len(gold)))
    p, g = pred[idx], gold[idx]
    tp = (p & g).sum(1)
    denom = p.sum(1) + g.sum(1)  # F1 = 2·tp / (predicted + actual)
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def _interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    lo, hi = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2])
    return round(float(lo), 4), round(float(hi), 4)


def recall_at_hard(scores: Sequence[float], rows: Sequence[dict], max_rate: float = 0.10) -> tuple[float, float]:
    """Recall on fundraising with the threshold that flags at most ``max_rate`` of the split's own hard negatives
    (finance_legit + warning_news + loan_ad): the issue's "lexicon recall at ≤ 10 % flags"; and the rate reached."""
    pos = [float(s) for s, r in zip(scores, rows, strict=True) if _gold(r)]
    neg = sorted((float(s) for s, r in zip(scores, rows, strict=True)
                  if r.get("subtype") in HARD_LEXICON and not _gold(r)), reverse=True)
    if not pos or not neg:
        return 0.0, 0.0
    k = int(max_rate * len(neg))
    thr = neg[k] if k < len(neg) else -np.inf
    return round(sum(p > thr for p in pos) / len(pos), 4), round(sum(n > thr for n in neg) / len(neg), 4)


def _gold(row: dict) -> bool:
    from classifier.dataset import label_to_int

    return bool(label_to_int(row.get("label")))


def calibration_png(scores: dict[str, np.ndarray], gold: np.ndarray, path: Path, bins: int = 10) -> Path:
    """Reliability diagram: mean predicted score against the observed fundraising rate, per score bin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=100)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
    edges = np.linspace(0, 1, bins + 1)
    for name, s in scores.items():
        s = np.asarray(s, dtype=float)
        which = np.clip(np.digitize(s, edges[1:-1]), 0, bins - 1)
        xs, ys, ns = [], [], []
        for b in range(bins):
            m = which == b
            if m.any():
                xs.append(s[m].mean())
                ys.append(gold[m].mean())
                ns.append(int(m.sum()))
        ax.plot(xs, ys, marker="o", label=name)
        if name == "combined":
            for x, y, n in zip(xs, ys, ns, strict=True):
                ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlabel("predicted score (bin mean)")
    ax.set_ylabel("observed fundraising rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("calibration (numbers: rows per bin, combined)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def ece(scores: np.ndarray, gold: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error (share-weighted |mean score − observed rate| over the score bins)."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            total += m.mean() * abs(float(scores[m].mean()) - float(gold[m].mean()))
    return round(total, 4)


# ---------------------------------------------------------------------------------------------- evaluation
def detector_scores(scorer: Scorer, texts: Sequence[str]) -> dict[str, Any]:
    """Every detector's score and the combined verdict for each text (one scoring pass)."""
    verdicts = scorer.score(list(texts))
    comb = scorer.usable_combiner()
    out: dict[str, Any] = {"verdicts": verdicts, "combined": np.array([v.score for v in verdicts])}
    if scorer.matcher is not None:
        out["keywords"] = np.array([v.keyword_score or 0.0 for v in verdicts])
    if scorer.classifier is not None:
        out["classifier"] = np.array([v.classifier_prob for v in verdicts], dtype=float)
    if comb is not None and comb.ngram is not None:
        out["ngram"] = comb.ngram.predict_proba(list(texts))
    return out


def thresholds_of(scorer: Scorer) -> dict[str, float]:
    comb = scorer.usable_combiner()
    t = {"keywords": 0.5, "combined": scorer.thresholds.flag}
    if scorer.classifier is not None:
        t["classifier"] = float(scorer.classifier.threshold)
    if comb is not None and comb.ngram is not None:
        ng = float(comb.meta.get("ngram_threshold", 0.5))
        t["ngram"] = ng
    return t


def evaluate(
    settings: Any,
    data: Path = SEED,
    split: str | None = "test",
    *,
    errors: bool = False,
    evasion: bool = False,
    out_dir: Path | None = None,
    n_errors: int = 25,
    echo: Callable[[str], Any] = print,
    scorer: Scorer | None = None,
) -> dict[str, Any]:
    """The report (also written to ``out_dir/report.json`` with ``calibration.png``); prints the tables."""
    scorer = scorer or build_scorer(_bundled_lexicon(settings))
    rows = load_rows(data, split)
    if not rows:
        raise ValueError(f"no rows in {data}" + (f" with split {split!r}" if split else ""))
    gold = np.array([_gold(r) for r in rows])
    scores = detector_scores(scorer, [r["text"] for r in rows])
    thr = thresholds_of(scorer)
    names = [n for n in ("keywords", "ngram", "classifier", "combined") if n in scores]
    preds = {n: [bool(x) for x in np.asarray(scores[n]) >= thr[n]] for n in names}
    comb = scorer.usable_combiner()
    report: dict[str, Any] = {
        "data": str(data),
        "split": split or "all",
        "combiner": comb.version if comb else None,
        "classifier": getattr(scorer.classifier, "version", None),
        "lexicon": getattr(scorer.matcher, "version", None),
        "thresholds": thr,
        "detectors": {n: summary(preds[n], rows) for n in names},
    }
    for n in names:
        r10, h10 = recall_at_hard(scores[n], rows)
        report["detectors"][n]["recall_at_10pct_hard_lexicon"] = r10
        report["detectors"][n]["hard_rate_at_that_threshold"] = h10
        report["detectors"][n]["f1_interval_95"] = list(f1_interval(preds[n], gold))
    echo(
        f"{data.name} split={report['split']}: {len(rows)} rows, {int(gold.sum())} fundraising; "
        f"combination {report['combiner'] or '(none fitted: fallback score)'}"
    )
    echo(
        f"{'detector':<11}{'threshold':>10}{'precision':>10}{'recall':>8}{'F1':>7}{'flags hard':>11}{'(+loan)':>9}"
        f"{'recall@10%hard':>16}"
    )
    for n in names:
        s = report["detectors"][n]
        echo(
            f"{n:<11}{thr[n]:>10.3f}{s['precision']:>10.3f}{s['recall']:>8.3f}{s['f1']:>7.3f}"
            f"{_pct(s['flag_rate_hard']):>11}{_pct(s['flag_rate_hard_lexicon']):>9}"
            f"{s['recall_at_10pct_hard_lexicon']:>16.3f}"
        )
    echo("(flags hard: finance_legit + warning_news; (+loan): with loan_ad; recall@10%hard: the threshold that flags"
         " 10 % of this split's finance_legit + warning_news + loan_ad)")
    echo("F1, 95 % bootstrap interval (1,000 resamples of the rows): " + ", ".join(
        f"{n} {report['detectors'][n]['f1_interval_95'][0]:.3f}–{report['detectors'][n]['f1_interval_95'][1]:.3f}"
        for n in names))
    report["by_source"] = _by(rows, preds, names, key=lambda r: _source(r))
    report["by_subtype"] = _by(rows, preds, names, key=lambda r: str(r.get("subtype") or "?"))
    echo("\nper source (combined; other detectors' F1 in brackets)")
    echo(f"{'source':<34}{'n':>5}{'pos':>5}{'P':>7}{'R':>7}{'F1':>7}{'neg flagged':>13}   kw / ngram / clf F1")
    for src, d in report["by_source"].items():
        c = d["combined"]
        others = " / ".join(f"{d[n]['f1']:.2f}" if d[n]["positives"] else "-" for n in names if n != "combined")
        echo(
            f"{src[:33]:<34}{c['n']:>5}{c['positives']:>5}{c['precision']:>7.3f}{c['recall']:>7.3f}{c['f1']:>7.3f}"
            f"{_pct(c['negative_flag_rate']):>13}   {others}"
        )
    report["by_reading"] = by_reading(rows, preds, scores, names)
    if report["by_reading"]:
        echo("\nper reading (rows whose two blind readers agreed, rows an adjudicator decided)")
        echo(f"{'reading':<14}{'n':>6}{'pos':>5}{'P':>7}{'R':>7}{'F1':>7}{'flags hard':>12}{'lexicon recall@10%hard':>24}")
        for g, d in report["by_reading"].items():
            c = d["combined"]
            echo(f"{g:<14}{c['n']:>6}{c['positives']:>5}{c['precision']:>7.3f}{c['recall']:>7.3f}{c['f1']:>7.3f}"
                 f"{_pct(c['flag_rate_hard']):>12}{d['keywords']['recall_at_10pct_hard_lexicon']:>24.3f}")
    echo("\nconfusion (gold subtype × verdict; flag rate of each detector)")
    echo(f"{'subtype':<15}{'n':>5}{'flagged':>9}{'not':>6}   " + "  ".join(f"{n[:8]:>8}" for n in names))
    for sub, d in report["by_subtype"].items():
        c = d["combined"]
        rates = "  ".join(f"{_pct(d[n]['flag_rate']):>8}" for n in names)
        echo(f"{sub:<15}{c['n']:>5}{c['flagged']:>9}{c['n'] - c['flagged']:>6}   {rates}")
    report["calibration_error"] = {n: ece(np.asarray(scores[n], dtype=float), gold) for n in names}
    echo("\nexpected calibration error: " + ", ".join(f"{n} {v:.3f}" for n, v in report["calibration_error"].items()))
    if evasion:
        report["evasion"] = evasion_report(scorer, rows, thr, echo)
    if errors:
        report["errors"] = error_list(rows, scores, thr, n_errors, echo)
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        plotted = {n: scores[n] for n in ("classifier", "ngram", "combined") if n in scores}
        report["calibration_png"] = str(calibration_png(plotted, gold.astype(float), out_dir / "calibration.png"))
        (out_dir / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        echo(f"\nreport -> {out_dir / 'report.json'}  calibration plot -> {report['calibration_png']}")
    return report


READINGS = {"double_blind": "agreed", "double_blind+adjudicated": "adjudicated"}


def by_reading(rows: Sequence[dict], preds: dict[str, list[bool]], scores: dict[str, Any], names: Sequence[str]) -> dict:
    """Every detector on the rows whose two blind readers agreed and on those an adjudicator decided.

    Why: the disputed rows carry most of the split's label noise (DATA.md, readers against each other), so the
    agreed rows are the closer picture of a set read as consistently as the bureau's hidden sets.
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        g = READINGS.get(str(r.get("label_method") or ""))
        if g:
            groups[g].append(i)
    out: dict[str, dict] = {}
    for g in ("agreed", "adjudicated"):
        idx = groups.get(g)
        if not idx:
            continue
        sub = [rows[i] for i in idx]
        out[g] = {}
        for n in names:
            out[g][n] = summary([preds[n][i] for i in idx], sub)
            out[g][n]["recall_at_10pct_hard_lexicon"] = recall_at_hard([float(scores[n][i]) for i in idx], sub)[0]
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _source(row: dict) -> str:
    from classifier.dataset import source_group

    return source_group(row)


def _by(rows: Sequence[dict], preds: dict[str, list[bool]], names: Sequence[str], key: Callable) -> dict:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups[key(r)].append(i)
    out: dict[str, dict] = {}
    for g in sorted(groups, key=lambda g: -len(groups[g])):
        idx = groups[g]
        sub = [rows[i] for i in idx]
        gold = [_gold(r) for r in sub]
        out[g] = {}
        for n in names:
            pred = [preds[n][i] for i in idx]
            p, r, f = prf(pred, gold)
            negs = [pr for pr, gd in zip(pred, gold, strict=True) if not gd]
            out[g][n] = {
                "n": len(idx),
                "positives": sum(gold),
                "flagged": sum(pred),
                "precision": round(p, 4),
                "recall": round(r, 4),
                "f1": round(f, 4),
                "flag_rate": round(sum(pred) / len(pred), 4),
                "negative_flag_rate": round(sum(negs) / len(negs), 4) if negs else None,
            }
    return out


def error_list(
    rows: Sequence[dict], scores: dict[str, Any], thr: dict[str, float], n: int, echo: Callable[[str], Any]
) -> dict[str, list[dict]]:
    """Misses and false alarms of the combined verdict, most confident first, with what moved each."""
    verdicts = scores["verdicts"]
    out: dict[str, list[dict]] = {"misses": [], "false_alarms": []}
    order = np.argsort(-np.abs(np.asarray(scores["combined"]) - thr["combined"]))
    for i in order:
        g = _gold(rows[i])
        flagged = bool(scores["combined"][i] >= thr["combined"])
        if g == flagged:
            continue
        kind = "misses" if g else "false_alarms"
        if len(out[kind]) >= n:
            continue
        v = verdicts[i]
        item = {
            "id": rows[i].get("id"),
            "source": _source(rows[i]),
            "subtype": rows[i].get("subtype"),
            "score": round(float(v.score), 4),
            "keywords": None if v.keyword_score is None else round(v.keyword_score, 3),
            "ngram": round(float(scores["ngram"][i]), 3) if "ngram" in scores else None,
            "classifier": None if v.classifier_prob is None else round(v.classifier_prob, 3),
            "why": v.explanation.split("；关键词得分")[0][:160],
            "text": rows[i]["text"][:160],
        }
        out[kind].append(item)
    for kind, title in (("misses", "MISSES (fundraising not flagged)"), ("false_alarms", "FALSE ALARMS")):
        echo(f"\n{title}: {len(out[kind])} shown")
        for e in out[kind]:
            parts = [f"kw {e['keywords']}"] + ([f"ngram {e['ngram']}"] if e["ngram"] is not None else [])
            parts += [f"clf {e['classifier']}"] if e["classifier"] is not None else []
            echo(f"  {e['score']:.2f} [{e['subtype']}/{e['source']}] {' '.join(parts)} | {e['why']}")
            echo(f"       {e['text'][:110]!r}")
    return out


def evasion_report(
    scorer: Scorer, rows: Sequence[dict], thr: dict[str, float], echo: Callable[[str], Any]
) -> dict[str, Any]:
    """Recall on disguised copies of the positives (traditional, symbols, pinyin, full-width, numerals) over recall
    on the clean texts, per detector. The rewrites come from the repository's ``tools/keywords_eval/evasion.py``."""
    import importlib
    import sys

    from keywords import Lexicon, Matcher

    root = str(Path(__file__).resolve().parents[1])  # the checkout: tools/ is repository tooling, not installed
    if root not in sys.path:
        sys.path.append(root)
    make_evasions = importlib.import_module("tools.keywords_eval.evasion").make_evasions

    pos = [r["text"] for r in rows if _gold(r)]
    ev = make_evasions(pos, Matcher(Lexicon.bundled()))
    clean = detector_scores(scorer, pos)
    dirty = detector_scores(scorer, [t for _, _, t in ev])
    out: dict[str, Any] = {"n_positives": len(pos), "n_rewrites": len(ev)}
    families = sorted({f for _, f, _ in ev})
    for n in ("keywords", "ngram", "classifier", "combined"):
        if n not in clean:
            continue
        rc = float(np.mean(np.asarray(clean[n]) >= thr[n])) if pos else 0.0
        flags = np.asarray(dirty[n]) >= thr[n]
        re_ = float(flags.mean()) if len(flags) else 0.0
        fam = {f: round(float(np.mean([fl for (_, ff, _), fl in zip(ev, flags, strict=True) if ff == f])), 4)
               for f in families}
        out[n] = {"recall_clean": round(rc, 4), "recall_evasion": round(re_, 4),
                  "ratio": round(re_ / rc, 4) if rc else None, "by_family": fam}
        echo(f"evasion {n:<11} clean {rc:.3f}  rewritten {re_:.3f}  ratio {out[n]['ratio']}  {fam}")
    return out
