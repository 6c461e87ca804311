"""The risk index of an operator (0–100) and its components, in the manner of Beijing's 冒烟指数: a total that an
inspector can take apart. Levels follow Chongqing's three tiers: 高风险 / 重点关注 / 正常监测.

Formula ``op-risk-1`` (weights add up to 100):

    30 × max document score          the worst ad (latest verdict of its current version)
  + 15 × mean document score
  + 15 × min(1, log2(1 + documents) / log2(21))      reach: 20 ads or more is full
  +  5 × min(1, (sites − 1) / 2)    +  5 × min(1, (regions − 1) / 3)      spread over sites and regions
  +  5 × min(1, scheme categories / 3)
  + 15 × min(1, confirmed cases / 2)                 inspectors already confirmed some of its ads
  + 10 × min(1, max(0, new ads last 7 days − new ads the 7 before) / 5)    growth
  then × (1 − 0.5 × dismissed / (confirmed + dismissed))                   inspectors dismissed its ads

A new ad is dated by its posting time, or when first crawled if it shows none.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

FORMULA_VERSION = "op-risk-1"
HIGH, WATCH, NORMAL = "高风险", "重点关注", "正常监测"


@dataclass(frozen=True)
class RiskConfig:
    high_threshold: float = 70.0
    watch_threshold: float = 40.0
    spike_per_day: int = 5  # new ads within 24 hours that raise a spike warning

    def level(self, index: float) -> str:
        if index >= self.high_threshold:
            return HIGH
        return WATCH if index >= self.watch_threshold else NORMAL


@dataclass
class DocFacts:
    """What the index reads of one member document."""

    document_id: int
    score: float | None
    source: int | None
    region: str | None
    categories: Iterable[str] = field(default_factory=tuple)
    confirmed: bool = False
    dismissed: bool = False
    seen_at: datetime | None = None


@dataclass(frozen=True)
class Risk:
    index: float
    level: str
    components: dict[str, Any]
    formula_version: str = FORMULA_VERSION


def assess(docs: Iterable[DocFacts], now: datetime, config: RiskConfig = RiskConfig()) -> Risk:
    """The index, its level and every component it was built from (stored and shown, not only the total)."""
    docs = list(docs)
    scores = [d.score for d in docs if d.score is not None]
    sites = {d.source for d in docs if d.source is not None}
    regions = {d.region.strip() for d in docs if d.region and d.region.strip()}
    categories = sorted({c for d in docs for c in d.categories if c})
    confirmed = sum(d.confirmed for d in docs)
    dismissed = sum(d.dismissed for d in docs)
    seen = sorted(d.seen_at for d in docs if d.seen_at is not None)
    last7 = sum(1 for t in seen if now - timedelta(days=7) < t <= now)
    prev7 = sum(1 for t in seen if now - timedelta(days=14) < t <= now - timedelta(days=7))
    last_day = sum(1 for t in seen if now - timedelta(days=1) < t <= now)
    max_score = max(scores, default=0.0)
    mean_score = sum(scores) / len(scores) if scores else 0.0
    parts = {
        "max_score": 30 * max_score,
        "mean_score": 15 * mean_score,
        "documents": 15 * min(1.0, math.log2(1 + len(docs)) / math.log2(21)),
        "sites": 5 * min(1.0, max(0, len(sites) - 1) / 2),
        "regions": 5 * min(1.0, max(0, len(regions) - 1) / 3),
        "categories": 5 * min(1.0, len(categories) / 3),
        "confirmed": 15 * min(1.0, confirmed / 2),
        "growth": 10 * min(1.0, max(0, last7 - prev7) / 5),
    }
    decided = confirmed + dismissed
    damp = 1 - 0.5 * (dismissed / decided) if decided else 1.0
    index = round(max(0.0, min(100.0, sum(parts.values()) * damp)), 1)
    components = {
        "documents": len(docs),
        "sites": len(sites),
        "regions": sorted(regions),
        "max_score": round(max_score, 4),
        "mean_score": round(mean_score, 4),
        "categories": categories,
        "confirmed": confirmed,
        "dismissed": dismissed,
        "first_seen": seen[0].isoformat() if seen else None,
        "last_seen": seen[-1].isoformat() if seen else None,
        "new_last_7_days": last7,
        "new_previous_7_days": prev7,
        "new_last_day": last_day,
        "points": {k: round(v, 2) for k, v in parts.items()},
        "dismissed_factor": round(damp, 3),
        "thresholds": {"high": config.high_threshold, "watch": config.watch_threshold},
    }
    return Risk(index, config.level(index), components)
