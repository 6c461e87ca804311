"""Reading the images of stored versions and scoring them again with their ``ocr`` field (the ``images`` queue).

The text verdict is written first, by the scoring batch; this runs afterwards, on its own queue, so images never
slow text scoring. Per batch of versions:

1. claim the images not read yet (committed: an image that kills the reader is given up after two tries);
2. read them outside any transaction (OCR lines with boxes, QR payloads), each image once whatever number of pages
   carry it; an image that fails is a ``failed`` reading with its reason, never a crashed task;
3. in one transaction: store the readings, write each version's ``ocr`` field once, file its identifiers (QR URLs
   …), score the version's fields with ``ocr`` included and store that verdict (a new row: its detector versions
   end in ``+ocr:<engine>``), which refreshes the flag by the usual rules; link the documents into operators.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from imaging.check import Limits
from imaging.ocr import OcrEngine
from imaging.reading import read_image
from operators.risk import RiskConfig
from scoring.engine import Scorer
from store.db import session_scope
from store.images import (
    add_ocr_identifiers,
    build_version_ocr,
    claim_readings,
    images_to_read,
    save_reading,
    with_image_boxes,
)
from store.models import DocumentVersion
from store.operators import link_documents
from store.verdicts import VerdictIn, save_verdicts

log = logging.getLogger(__name__)


@dataclass
class ImagesResult:
    versions: int = 0
    images_read: int = 0
    images_failed: int = 0
    with_text: int = 0
    scored: int = 0
    flagged: int = 0


def read_and_score_versions(
    database_url: str,
    version_ids: Sequence[int],
    scorer: Scorer,
    engine: OcrEngine,
    limits: Limits = Limits(),
    risk: RiskConfig | None = None,  # operator thresholds of the settings; None: the defaults
) -> ImagesResult:
    result = ImagesResult(versions=len(set(version_ids)))
    with session_scope(database_url) as session:
        todo = images_to_read(session, version_ids, engine.version)
        claimed = set(claim_readings(session, sorted(todo), engine.version))
    readings = {}
    for image_id in sorted(claimed):
        try:
            r = read_image(todo[image_id], engine, limits)
            if r.check.ok:
                readings[image_id] = dict(
                    lines=r.line_dicts, codes=[c.as_dict() for c in r.codes], text=r.text, elapsed_ms=r.elapsed_ms
                )
            else:
                readings[image_id] = dict(error=f"{r.check.reason}: {r.check.detail}")
        except Exception as exc:  # noqa: BLE001 - one hostile image is a failed reading, not a failed batch
            log.warning("reading image %s failed", image_id, exc_info=True)
            readings[image_id] = dict(error=f"{type(exc).__name__}: {exc}"[:500])
    result.images_read = len(readings)
    result.images_failed = sum("error" in r for r in readings.values())
    with session_scope(database_url) as session:
        for image_id, r in sorted(readings.items()):
            save_reading(session, image_id, engine.version, **r)
        ready = []
        for vid in sorted(set(version_ids)):
            ocr = build_version_ocr(session, vid, engine.version)
            if ocr is None:
                continue  # an image still being read by another worker: that worker's batch scores it
            add_ocr_identifiers(session, vid)
            if ocr.text:
                ready.append(vid)
        result.with_text = len(ready)
        if not ready:
            return result
        versions = list(session.scalars(select(DocumentVersion).where(DocumentVersion.id.in_(ready))))
        verdicts = scorer.score_fields([v.fields() for v in versions])
        saved = save_verdicts(
            session,
            [
                (
                    v.document_id,
                    VerdictIn(
                        version_id=v.id, score=vd.score, level=vd.level, flagged=vd.flag,
                        detector_versions=vd.detector_versions, keyword_score=vd.keyword_score,
                        classifier_prob=vd.classifier_prob, hits=with_image_boxes(session, v.id, vd.hits),
                        explanation=vd.explanation, detectors=vd.detectors, category=vd.category,
                    ),
                )  # fmt: skip
                for v, vd in zip(versions, verdicts, strict=True)
            ],
        )
        link_documents(session, sorted({v.document_id for v in versions}), risk=risk or RiskConfig())
        result.scored = len(saved)
        result.flagged = sum(vd.flag for vd in verdicts)
    return result


def read_unread_images(settings: Any, scorer: Scorer, *, batch: int = 8) -> ImagesResult:
    """The embedded mode's images pass (``adscreen demo``, ``sources crawl``): every version with unread images."""
    from imaging.ocr import process_engine
    from store.images import versions_awaiting_ocr

    engine = process_engine(settings.ocr_threads or min(2, os.cpu_count() or 1))
    limits = Limits(max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels)
    total = ImagesResult()
    if not settings.use_ocr:
        return total
    with session_scope(settings.database_url) as session:
        pending = versions_awaiting_ocr(session, limit=10**9)
    for start in range(0, len(pending), batch):
        r = read_and_score_versions(settings.database_url, pending[start : start + batch], scorer, engine, limits)
        for name in vars(total):
            setattr(total, name, getattr(total, name) + getattr(r, name))
    return total
