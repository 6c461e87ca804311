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

from imaging.version import OCR_ENGINE
from scoring import blend as blending
from scoring.blend import DEFAULT, Blend
from scoring.verdict import Thresholds, Verdict, combine
from store.fields import compose, place_hits

log = logging.getLogger(__name__)
OCR_ONLY = "宣传内容仅出现在图片中"


@dataclass
class Scorer:
    matcher: Any | None  # keywords.LiveMatcher or keywords.Matcher
    classifier: Any | None  # classifier.inference.Classifier
    thresholds: Thresholds = Thresholds()
    blend: Blend = DEFAULT

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
        out = []
        for fields, comp, prob in zip(docs, composed, probs, strict=True):
            kw = self.matcher.match(comp.text) if self.matcher is not None else None
            verdict = combine(kw, prob, self.thresholds, classifier_version=version, blend_params=self.blend)
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

    @property
    def detectors(self) -> list[str]:
        return [
            name for name, d in (("keywords", self.matcher), ("classifier", self.classifier)) if d is not None
        ]


def load_classifier(model_dir: Path, backend: str = "onnx", threads: int | None = None) -> Any | None:
    """The trained classifier, or None (with a log line) while none has been trained."""
    from classifier.inference import Classifier

    try:
        return Classifier.load(model_dir, backend=backend, threads=threads)
    except FileNotFoundError:
        log.warning("no trained classifier under %s; scoring with keywords only", model_dir)
        return None


def build_scorer(settings: Any, *, use_classifier: bool | None = None) -> Scorer:
    from keywords import LexiconStore, LiveMatcher

    matcher = LiveMatcher(LexiconStore(settings.lexicon_dir))
    use = settings.use_classifier if use_classifier is None else use_classifier
    clf = load_classifier(classifier_dir(settings), settings.classifier_backend, settings.clf_threads) if use else None
    return Scorer(
        matcher=matcher,
        classifier=clf,
        thresholds=Thresholds(settings.flag_threshold, settings.high_threshold, settings.medium_threshold),
        blend=blending.load(classifier_dir(settings), getattr(clf, "version", None)),
    )


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
