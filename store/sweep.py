"""The sweeper's query: documents whose scoring message was lost (a broker restart, a crawl killed mid-way).

It differs from ``documents.unscored_ids`` (the embedded mode's "score everything pending") in one way that matters:
it leaves alone documents fetched in the last ``min_age_seconds``, whose batch is most likely still queued, so
that the sweeper does not enqueue every fresh document twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Document, utcnow

SWEEP_LIMIT = 50_000


def stale_unscored_ids(
    session: Session, min_age_seconds: int, *, now: datetime | None = None, limit: int = SWEEP_LIMIT
) -> list[int]:
    """Ids of documents still unscored ``min_age_seconds`` after their fetch, oldest first, at most ``limit``."""
    cutoff = (now or utcnow()) - timedelta(seconds=min_age_seconds)
    return list(
        session.scalars(
            select(Document.id)
            .where(Document.scored_at.is_(None), Document.fetched_at < cutoff)
            .order_by(Document.id)
            .limit(limit)
        )
    )
