"""Draw the rows to hand-label for the keyword evaluation set (holdout IDs excluded, fixed seed).

Why a broad finance filter rather than the lexicon: rows chosen by our own terms would flatter recall. The filter
only asks that a row talks about money (理财/投资/收益/利息/贷款/股/币/返/租…), then we sample at random per corpus.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
BROAD = re.compile(
    r"理财|投资|收益|利息|利率|贷款|借款|股|币|返|租|存款|基金|保险|银行|会员|分红|入社|养老|集资|回报|年化|赚"
)
PLAN = {"sms": 150, "bdci_entity": 70, "iflytek": 30, "thucnews": 30, "bdci_negative": 30, "tnews": 20}


def holdout() -> set[str]:
    path = SHARED / "holdout_ids.txt"
    if not path.exists():
        sys.exit("holdout_ids.txt missing: refusing to sample without the exclusion list")
    return {x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()}


def main(seed: int = 20261127) -> None:
    excluded = holdout()
    rng = random.Random(seed)
    for name, n in PLAN.items():
        rows = []
        with (SHARED / "corpus" / f"{name}.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                if row["id"] in excluded or not BROAD.search(row["text"]):
                    continue
                if name == "sms" and row["source_label"] != "spam" and rng.random() < 0.7:
                    continue  # spam carries the ads; keep some ham for hard negatives
                rows.append(row)
        for row in rng.sample(rows, min(n, len(rows))):
            print(json.dumps({"id": row["id"], "source": name, "text": row["text"]}, ensure_ascii=False))


PROMISE = re.compile(r"收益|回报|利息|分红|返|保本|回购|%|赚")
MONEYISH = re.compile(r"投|理财|股|币|租|存|会员|入社|养老|认购")


def enriched(seed: int = 7, n_sms: int = 80, n_bdci: int = 50) -> None:
    """Second draw, enriched for promises (a promise word AND a money word) so that positives are numerous enough
    to measure recall. Biased towards explicit wording: say so when reporting recall."""
    excluded = holdout()
    rng = random.Random(seed)
    for name, n in (("sms", n_sms), ("bdci_entity", n_bdci)):
        rows = []
        with (SHARED / "corpus" / f"{name}.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                if row["id"] in excluded or row.get("source_label") == "ham":
                    continue
                if PROMISE.search(row["text"]) and MONEYISH.search(row["text"]):
                    rows.append(row)
        for row in rng.sample(rows, min(n, len(rows))):
            print(json.dumps({"id": row["id"], "source": name, "text": row["text"]}, ensure_ascii=False))


if __name__ == "__main__":
    enriched() if sys.argv[1:] == ["--enriched"] else main()
