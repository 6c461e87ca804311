"""Detectors loaded once per process, and batch scoring of texts with them.

Workers build one ``Scorer`` per process (after the fork: ONNX Runtime sessions are not fork-safe) and reuse it
for every batch; the keyword matcher picks up new lexicon versions by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imaging.version import OCR_ENGINE
from scoring import combiner as comb
from scoring import features as F
from scoring.verdict import Combined, Thresholds, Verdict, combine
from store.fields import compose, place_hits

log = logging.getLogger(__name__)
OCR_ONLY = "宣传内容仅出现在图片中"


@dataclass
class Scorer:
    matcher: Any | None  # keywords.LiveMatcher or keywords.Matcher
    classifier: Any | None  # classifier.inference.Classifier
    thresholds: Thresholds = Thresholds()
    combiner: comb.Combiner | None = None  # None: keyword score alone, or the classifier's probability

    def score(self, texts: Sequence[str]) -> list[Verdict]:
        """Plain texts (``adscreen score``): each is one ``body`` field."""
        return self.score_fields([{"body": t} for t in texts])

    def score_fields(self, docs: Sequence[Mapping[str, str | None]]) -> list[Verdict]:
        """Documents as named fields; every hit comes back in its field's offsets with its ``matched`` characters."""
        composed = [compose(f) for f in docs]
        texts = [c.text for c in composed]
        probs: list[float | None] = [None] * len(texts)
        if self.classifier is not None and texts:
            probs = [float(p) for p in self.classifier.predict_proba(texts)]
        version = getattr(self.classifier, "version", None)
        kws = [self.matcher.match(c.text) if self.matcher is not None else None for c in composed]
        combined = self._combined(texts, kws, probs)
        out = []
        for fields, comp, prob, kw, cmb in zip(docs, composed, probs, kws, combined, strict=True):
            verdict = combine(kw, prob, self.thresholds, classifier_version=version, combined=cmb)
            verdict.hits = place_hits(comp, fields, verdict.hits)
            out.append(verdict)
        with_ocr = [i for i, f in enumerate(docs) if f.get("ocr")]
        if with_ocr:  # the images' text (issue 14): its verdict is a row of its own, and says when only images pitch
            plain = self.score_fields([{k: v for k, v in docs[i].items() if k != "ocr"} for i in with_ocr])
            for i, text_only in zip(with_ocr, plain, strict=True):
                out[i].detector_versions += f"+ocr:{OCR_ENGINE}"
                if out[i].flag and not text_only.flag:
                    out[i].explanation = f"{OCR_ONLY}（图片文字识别）；{out[i].explanation}"
        return out

    def usable_combiner(self) -> comb.Combiner | None:
        """The combination, if it was fitted for exactly this classifier (or for none, when there is none)."""
        c = self.combiner
        if c is None or c.classifier_version != getattr(self.classifier, "version", None):
            return None
        return c

    def _combined(self, texts: list[str], kws: list[Any], probs: list[float | None]) -> list[Combined | None]:
        c = self.usable_combiner()
        if c is None or not texts:
            return [None] * len(texts)
        kwf = [F.keyword_features(kw, t) for kw, t in zip(kws, texts, strict=True)]
        x, ngram, near = c.detector_matrix(kwf, texts)
        clf = np.array([F.prob_logit(p) for p in probs]) if c.uses_classifier else None
        scores = c.predict(x, clf)
        out: list[Combined | None] = []
        for i, (text, kw, p) in enumerate(zip(texts, kws, probs, strict=True)):
            contrib = c.contributions(x[i], None if clf is None else float(clf[i]))
            flagged = bool(scores[i] >= self.thresholds.flag)
            ng_prob = float(1 / (1 + np.exp(-ngram[i]))) if c.ngram is not None else None
            extra: dict[str, Any] = {"kw_score": kwf[i]["kw_score"], "ngram_prob": ng_prob, "classifier_prob": p}
            if flagged and c.ngram is not None and contrib.get(F.NGRAM.name, 0.0) > 0:
                extra["ngram_top"] = [g for g, _ in c.ngram.top_ngrams(text, 2)]
            if near[i]:
                extra["neighbours_near"] = near[i]
            why = comb.explain(contrib, float(scores[i]), flagged, kw, extra)
            out.append(Combined(float(scores[i]), why, c.version, ng_prob))
        return out

    @property
    def detectors(self) -> list[str]:
        names = [name for name, d in (("keywords", self.matcher), ("classifier", self.classifier)) if d is not None]
        c = self.usable_combiner()
        return names + (["ngram"] if c is not None and c.ngram is not None else [])


def load_classifier(model_dir: Path, backend: str = "onnx", threads: int | None = None) -> Any | None:
    """The trained classifier, or None (with a log line) while none has been trained."""
    from classifier.inference import Classifier

    try:
        return Classifier.load(model_dir, backend=backend, threads=threads)
    except FileNotFoundError:
        log.warning("no trained classifier under %s; scoring with keywords only", model_dir)
        return None


def build_scorer(settings: Any, *, use_classifier: bool | None = None, with_combiner: bool = True) -> Scorer:
    """``with_combiner=False``: the detectors only, for fitting the combination (no "none fitted" warning)."""
    from keywords import LexiconStore, LiveMatcher

    matcher = LiveMatcher(LexiconStore(settings.lexicon_dir))
    use = settings.use_classifier if use_classifier is None else use_classifier
    clf = load_classifier(classifier_dir(settings), settings.classifier_backend, settings.clf_threads) if use else None
    return Scorer(
        matcher=matcher,
        classifier=clf,
        thresholds=Thresholds(settings.flag_threshold, settings.high_threshold, settings.medium_threshold),
        combiner=load_combiner(classifier_dir(settings), clf) if with_combiner else None,
    )


def load_combiner(model_dir: Path, classifier: Any | None) -> comb.Combiner | None:
    """The combination fitted for this classifier (``adscreen train`` fits it), or None with a log line."""
    version = getattr(classifier, "version", None)
    found = comb.load_for(model_dir, version)
    if found is None:
        log.warning(
            "no combination fitted for %s under %s (run `adscreen fit-combiner`); scoring with %s",
            version or "keywords only",
            model_dir,
            "the classifier's probability" if classifier is not None else "the keyword score",
        )
    return found


def classifier_dir(settings: Any) -> Path:
    """The models root: ``classifier`` resolves its ``CURRENT`` run (the one that won on the fixed test split)."""
    return Path(settings.model_dir)


_process_scorer: Scorer | None = None


def process_scorer(settings: Any) -> Scorer:
    """The scorer of this process, built on first use."""
    global _process_scorer
    if _process_scorer is None:
        _process_scorer = build_scorer(settings)
    return _process_scorer


def reset_process_scorer() -> None:
    global _process_scorer
    _process_scorer = None
