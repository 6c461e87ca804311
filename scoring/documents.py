"""Scoring stored documents: read them, run the detectors, write verdicts and flags in one transaction.

Shared by the Celery tasks and the embedded demo, so that both modes take exactly the same path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import load_only

from operators.risk import RiskConfig
from scoring.engine import Scorer
from store.db import session_scope
from store.images import with_image_boxes
from store.models import Document, DocumentVersion
from store.operators import link_documents
from store.verdicts import VerdictIn, save_verdicts


@dataclass
class BatchResult:
    scored: int = 0
    created: int = 0
    flagged: int = 0
    missing: int = 0


def score_document_ids(
    database_url: str | None,
    ids: Sequence[int],
    scorer: Scorer,
    on_progress: Callable[[int], None] | None = None,
    delay_ms: int = 0,
    risk: RiskConfig | None = None,
) -> BatchResult:
    """Score and store in ONE transaction: a batch killed mid-way leaves nothing behind and is redone whole.

    ``risk``: the operator thresholds of the settings (``operators.cli.risk_config``); None: the defaults.
    """
    result = BatchResult()
    with session_scope(database_url) as session:
        # the current version of each document: its named fields, not the raw snapshot
        docs = list(
            session.scalars(
                select(DocumentVersion)
                .options(load_only(DocumentVersion.id, DocumentVersion.document_id, DocumentVersion.title,
                                   DocumentVersion.text))
                .join(Document, Document.current_version_id == DocumentVersion.id)
                .where(Document.id.in_(list(ids)))
                .order_by(Document.id)
            )
        )
        result.missing = len(set(ids)) - len(docs)
        verdicts = scorer.score_fields([d.fields() for d in docs])
        if delay_ms:  # failure injection: a slow batch, killed mid-way in the tests
            for _ in docs:
                time.sleep(delay_ms / 1000)
        saved = save_verdicts(
            session,
            [
                (
                    doc.document_id,
                    VerdictIn(
                        version_id=doc.id,
                        score=v.score,
                        level=v.level,
                        flagged=v.flag,
                        detector_versions=v.detector_versions,
                        keyword_score=v.keyword_score,
                        classifier_prob=v.classifier_prob,
                        hits=with_image_boxes(session, doc.id, v.hits),  # ocr hits: their image and boxes
                        explanation=v.explanation,
                        detectors=v.detectors,
                        category=v.category,
                    ),
                )
                for doc, v in zip(docs, verdicts, strict=True)
            ],
        )
        # operators (issue 13): link the batch into operators, incrementally, in this same transaction
        link_documents(session, [d.document_id for d in docs], risk=risk or RiskConfig())
        result.scored = len(saved)
        result.created = sum(created for _, created in saved)
        result.flagged = sum(v.flag for v in verdicts)
        if on_progress:
            on_progress(len(docs))
    return result
