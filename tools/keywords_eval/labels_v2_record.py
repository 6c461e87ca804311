"""Record of the hand labels (rubric v2) given to the candidates drawn by ``sample_candidates.py``; kept for provenance.

The labels below are by position in the two draws (the random one, then ``--enriched``). To rebuild
``evalset.jsonl`` from them, draw the candidates again (the draws are seeded, so they are the same rows) and pass
both files::

    python -m tools.keywords_eval.sample_candidates > var/kw_cands.jsonl
    python -m tools.keywords_eval.sample_candidates --enriched > var/kw_cands2.jsonl
    python -m tools.keywords_eval.labels_v2_record var/kw_cands.jsonl var/kw_cands2.jsonl [--out PATH]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOLDOUT = HERE.parents[2] / "shared" / "data" / "holdout_ids.txt"

L1 = {}
chunks1 = """
0-9: N L O O N N W N O L
10-19: O O D D N O O N O D
20-29: W W W W W D N N N W
30-39: D O N N N F F F N F
40-49: O N W N O L N W O O
50-59: W L O W O N O O N O
60-69: W D N O W W N N O N
70-79: N D O O O N A W N N
80-89: O O W O W O D O O L
90-99: L N N W W N N N N W
100-109: D O O O W W O O N W
110-119: N N O O W N N O W O
120-129: W O O D W O N N D O
130-139: O W W W D W N D W W
140-149: W O N O A L N O O W
150-159: W O F F F O N O F F
160-169: W O F W W L W O W W
170-179: W W O W W W O N N O
180-189: O N F W D W O N N W
190-199: F W D W F W F F F W
200-209: F W W D W W O O F F
210-219: F F O F W F F W F O
220-229: F D O O O O D O O L
230-239: O O L O O O O L O O
240-249: O O O O O L O L O O
250-259: W W W W W W W W W W
260-269: W W W W W W N W W W
270-279: N W W N W W W W W W
280-289: W W W W W W W W W W
290-299: W W W W W O W W W W
300-309: D W W L W W W W W W
310-319: N W W N W W W W W W
320-329: N W F W N W O W W W
"""
chunks2 = """
0-9: O O O O F O - A A F
10-19: A O L O O A O D O F
20-29: L F L - O A O A O A
30-39: O F L O O F A L L F
40-49: L A O F O O O O O L
50-59: L O O F O L L L O O
60-69: O O F L L F D A F A
70-79: A F L L L L O - - O
80-89: F W W A W F W W F W
90-99: W W W F O F F O F W
100-109: W F F F F N W O F W
110-119: F O F W W O W F W O
120-129: W F F O F O F N O W
"""


def parse(ch: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for line in ch.strip().splitlines():
        rng, codes = line.split(":")
        a, b = map(int, rng.split("-"))
        codes = codes.split()
        assert len(codes) == b - a + 1, line
        for i, c in zip(range(a, b + 1), codes, strict=True):
            out[i] = c
    return out


CODES = dict(
    zip(
        "FALDWON",
        ("fundraising", "ad_law", "finance_legit", "loan_ad", "warning_news", "other_ad", "normal"),
        strict=False,
    )
)
def labelled_rows(random_draw: Path, enriched_draw: Path) -> list[dict]:
    """The candidates of both draws with their recorded labels (skipped and repeated rows left out)."""
    rows: list[dict] = []
    seen: set[str] = set()
    for path, ch, draw in ((random_draw, chunks1, "random"), (enriched_draw, chunks2, "enriched")):
        lab = parse(ch)
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            r = json.loads(line)
            c = lab[i]
            if c == "-" or r["id"] in seen:
                continue
            seen.add(r["id"])
            rows.append(
                {
                    "id": r["id"],
                    "source": r["source"],
                    "text": r["text"],
                    "label": "fundraising" if c == "F" else "negative",
                    "subtype": CODES[c],
                    "rubric_version": 2,
                    "draw": draw,
                    "labeler": "keywords-helper (LLM), single pass",
                }
            )
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="rebuild evalset.jsonl from the two candidate draws")
    ap.add_argument("random_draw", type=Path, help="output of sample_candidates.py")
    ap.add_argument("enriched_draw", type=Path, help="output of sample_candidates.py --enriched")
    ap.add_argument("--out", type=Path, default=HERE / "evalset.jsonl")
    ap.add_argument("--holdout", type=Path, default=HOLDOUT, help="IDs that must not appear")
    args = ap.parse_args(argv)
    rows = labelled_rows(args.random_draw, args.enriched_draw)
    hold = {x.strip() for x in args.holdout.read_text(encoding="utf-8").splitlines() if x.strip()}
    leaked = {r["id"] for r in rows} & hold
    if leaked:
        raise SystemExit(f"{len(leaked)} candidates are holdout IDs, e.g. {sorted(leaked)[:3]}")
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(len(rows), Counter(r["subtype"] for r in rows))


if __name__ == "__main__":
    main()
