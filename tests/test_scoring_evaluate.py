"""adscreen evaluate: per-detector, per-source and per-subtype figures, a confusion table, a calibration plot and
the errors with what moved them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from keywords import Lexicon, Matcher
from scoring.engine import Scorer
from scoring.evaluate import ece, evaluate, load_rows
from scoring.fitting import fit_from_rows

ROOT = Path(__file__).resolve().parents[1]

ROWS = [
    ("【鑫盛财富】保本保息，年化收益18%，一万起投，稳赚不赔", "fundraising", "fundraising", "written:sms"),
    ("商铺售后包租十年，年租金回报10%，到期原价回购", "fundraising", "fundraising", "written:listing"),
    ("二手自行车转让，九成新，价格面议", "negative", "other_ad", "written:listing"),
    ("警惕“保本高收益”骗局，收益率超过6%就要打问号", "negative", "warning_news", "tnews"),
    ("【招商银行】理财非存款，产品有风险，投资须谨慎，业绩比较基准3.5%", "negative", "finance_legit", "sms"),
    ("无抵押信用贷款，当天放款，额度高", "negative", "loan_ad", "sms"),
    ("今天天气很好，晚上一起吃饭吧", "negative", "normal", "sms"),
    ("新币私募认购，上所后百倍空间，推荐认购返10%", "fundraising", "fundraising", "bdci"),
]


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    matcher = Matcher(Lexicon.bundled())
    seed = [json.loads(x) for x in (ROOT / "classifier/data/seed.jsonl").read_text("utf-8").splitlines()]
    rows = [r for r in seed if r["split"] == "train"][::10] + [r for r in seed if r["split"] == "dev"][::3]
    return Scorer(matcher, None, combiner=fit_from_rows(rows, matcher, None, folds=3))


@pytest.fixture()
def data(tmp_path) -> Path:
    path = tmp_path / "labelled.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": f"r{i}", "text": t, "label": lab, "subtype": sub, "source": src}, ensure_ascii=False)
            + "\n"
            for i, (t, lab, sub, src) in enumerate(ROWS)
        ),
        encoding="utf-8",
    )
    return path


def test_report_per_detector_source_subtype_with_plot_and_errors(scorer, data, tmp_path):
    lines: list[str] = []
    rep = evaluate(None, data, None, errors=True, out_dir=tmp_path / "out", echo=lines.append, scorer=scorer)
    assert set(rep["detectors"]) == {"keywords", "ngram", "combined"}  # no classifier here
    for s in rep["detectors"].values():
        assert {"precision", "recall", "f1", "flag_rate_hard", "n_hard", "recall_at_10pct_hard_lexicon"} <= set(s)
        assert s["n_hard"] == 2
    assert set(rep["by_source"]) == {"written", "sms", "tnews", "bdci"}
    assert rep["by_source"]["written"]["combined"]["n"] == 3
    assert set(rep["by_subtype"]) == {"fundraising", "other_ad", "warning_news", "finance_legit", "loan_ad", "normal"}
    assert rep["by_subtype"]["fundraising"]["keywords"]["positives"] == 3
    assert (tmp_path / "out" / "calibration.png").stat().st_size > 1000
    assert json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))["split"] == "all"
    errs = rep["errors"]
    assert set(errs) == {"misses", "false_alarms"}
    for e in errs["misses"] + errs["false_alarms"]:
        assert e["why"].startswith("综合判定") and e["text"]
    out = "\n".join(lines)
    assert "per source" in out and "confusion" in out and "combined" in out


def test_recall_at_hard_uses_the_splits_own_hard_negatives():
    from scoring.evaluate import recall_at_hard

    rows = [{"label": "fundraising"}] * 4 + [{"label": "negative", "subtype": "warning_news"}] * 10
    scores = [0.9, 0.8, 0.3, 0.1] + [0.85] + [0.2] * 9
    assert recall_at_hard(scores, rows) == (0.75, 0.1)  # one of ten news rows may be flagged: cut above 0.2


def test_rows_need_text_and_label(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="label"):
        load_rows(bad)


def test_calibration_error_is_zero_when_scores_are_the_rates():
    import numpy as np

    s = np.array([0.05] * 20 + [0.95] * 20)
    y = np.array([1] + [0] * 19 + [1] * 19 + [0])
    assert ece(s, y) == pytest.approx(0.0, abs=1e-9)
    assert ece(np.array([0.9] * 10), np.zeros(10)) == pytest.approx(0.9)



def _write(path: Path, rows: list[tuple], methods: list[str | None]) -> Path:
    path.write_text(
        "".join(
            json.dumps({"id": f"r{i}", "text": t, "label": lab, "subtype": sub, "source": src}
                       | ({"label_method": m} if m else {}), ensure_ascii=False) + "\n"
            for i, ((t, lab, sub, src), m) in enumerate(zip(rows, methods, strict=True))
        ),
        encoding="utf-8",
    )
    return path


def test_report_per_reading_splits_agreed_from_adjudicated_rows(scorer, tmp_path):
    methods = ["double_blind", "double_blind+adjudicated"] * (len(ROWS) // 2)
    lines: list[str] = []
    rep = evaluate(None, _write(tmp_path / "read.jsonl", ROWS, methods), None, echo=lines.append, scorer=scorer)
    assert list(rep["by_reading"]) == ["agreed", "adjudicated"]
    assert "per reading" in "\n".join(lines)
    for g, parity in (("agreed", 0), ("adjudicated", 1)):
        mine = [r for i, r in enumerate(ROWS) if i % 2 == parity]
        # the same rows evaluated on their own give the same figures: the table is those rows', not the split's
        alone = evaluate(None, _write(tmp_path / f"{g}.jsonl", mine, [None] * len(mine)), None,
                         echo=lambda _: None, scorer=scorer)
        assert alone["by_reading"] == {}  # rows without a reading method give no such table
        for n in ("keywords", "combined"):
            got, want = rep["by_reading"][g][n], alone["detectors"][n]
            for k in ("n", "positives", "precision", "recall", "f1", "flag_rate_hard", "recall_at_10pct_hard_lexicon"):
                assert got[k] == want[k], (g, n, k)


def test_f1_interval_brackets_the_point_figure_and_narrows_with_more_rows():
    from scoring.evaluate import f1_interval, prf

    rng = np.random.default_rng(1)
    gold = rng.random(2000) < 0.2
    pred = np.where(rng.random(2000) < 0.8, gold, ~gold)  # a noisy detector
    f1 = prf(list(pred), list(gold))[2]
    lo, hi = f1_interval(pred, gold)
    assert lo < f1 < hi
    lo_s, hi_s = f1_interval(pred[:200], gold[:200])
    assert hi_s - lo_s > 1.5 * (hi - lo)  # ten times fewer rows: about three times wider
    assert f1_interval(gold, gold) == (1.0, 1.0)


def test_f1_delta_interval_tells_a_real_gain_from_none():
    from scoring.evaluate import f1_delta_interval

    rng = np.random.default_rng(2)
    gold = rng.random(1000) < 0.25
    weak = np.where(rng.random(1000) < 0.7, gold, ~gold)
    strong = np.where(rng.random(1000) < 0.95, gold, ~gold)
    assert f1_delta_interval(weak, weak, gold) == (0.0, 0.0)
    lo, hi = f1_delta_interval(weak, strong, gold)
    assert 0 < lo < hi
    with pytest.raises(ValueError):
        f1_delta_interval(weak[:10], strong[:10], gold[:9])
