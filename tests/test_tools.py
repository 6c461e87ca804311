"""The tooling outside the packages: importable without side effects, no /tmp paths, paths given as arguments."""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("adscreen", "crawler", "store", "worker", "keywords", "classifier", "scoring", "review", "demo_site")
TOOL_MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts)
    for p in (ROOT / "tools").rglob("*.py")
    if p.name != "__init__.py"
)
CORPUS = ROOT.parent / "shared" / "data" / "corpus"


def test_tooling_is_not_in_the_installed_packages():
    assert not list((ROOT / "keywords").glob("eval/*.py"))
    assert sorted(p.name for p in (ROOT / "classifier" / "data").glob("*.py")) == ["__init__.py"]
    assert "tools.seed_data.build_seed" in TOOL_MODULES and "tools.keywords_eval.evaluate" in TOOL_MODULES


@pytest.mark.parametrize("module", TOOL_MODULES)
def test_tool_imports_without_reading_files(module, tmp_path, monkeypatch):
    # from an empty directory: a module that opened a file at import time (as labels_v2_record once did) fails
    monkeypatch.chdir(tmp_path)
    importlib.import_module(module)


def test_no_tmp_paths_in_tools_or_packages():
    offenders = []
    for top in ("tools", *SHIPPED):
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and "/tmp" in node.value:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], "take the path as an argument (or use tempfile):\n" + "\n".join(offenders)


def _draw(path: Path, n: int, prefix: str) -> None:
    path.write_text(
        "".join(json.dumps({"id": f"{prefix}{i}", "source": "sms", "text": f"t{i}"}) + "\n" for i in range(n)),
        encoding="utf-8",
    )


def test_labels_record_rebuilds_the_set_from_given_paths(tmp_path):
    from tools.keywords_eval import labels_v2_record as rec

    first, second = rec.parse(rec.chunks1), rec.parse(rec.chunks2)
    _draw(tmp_path / "c1.jsonl", len(first), "a")
    _draw(tmp_path / "c2.jsonl", len(second), "b")
    (tmp_path / "holdout.txt").write_text("zzz\n", encoding="utf-8")
    out = tmp_path / "evalset.jsonl"
    args = [str(tmp_path / "c1.jsonl"), str(tmp_path / "c2.jsonl"), "--holdout", str(tmp_path / "holdout.txt")]
    rec.main([*args, "--out", str(out)])
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    skipped = [*first.values(), *second.values()].count("-")
    assert len(rows) == len(first) + len(second) - skipped
    assert rows[0]["id"] == "a0" and rows[0]["subtype"] == rec.CODES[first[0]]
    (tmp_path / "holdout.txt").write_text("a3\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="holdout"):
        rec.main([*args, "--out", str(tmp_path / "other.jsonl")])
    assert not (tmp_path / "other.jsonl").exists()


@pytest.mark.skipif(not CORPUS.exists(), reason="needs ../shared/data/corpus")
def test_reading_aid_writes_only_where_it_is_told(tmp_path, monkeypatch, capsys):
    from tools.seed_data import review

    monkeypatch.chdir(tmp_path)
    batch, decisions = tmp_path / "in" / "batch.tsv", tmp_path / "decisions.tsv"
    review.main(["--batch", str(batch), "--decisions", str(decisions), "show", "fund_sms", "3"])
    proposed = [line.split("\t") for line in batch.read_text(encoding="utf-8").splitlines()]
    assert len(proposed) == 3 and all(code in review.CODES for _, code in proposed)
    review.main(["--batch", str(batch), "--decisions", str(decisions), "decide", "1=W"])
    decided = [line.split("\t") for line in decisions.read_text(encoding="utf-8").splitlines()]
    assert [rid for rid, _ in decided] == [rid for rid, _ in proposed] and decided[1][1] == "W"
    assert batch.read_text(encoding="utf-8") == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decisions.tsv", "in"]
    assert "total 3" in capsys.readouterr().out


def test_weight_fit_scores_rows_exactly_as_the_matcher_does():
    """The fit moves weights under the matcher's own score, so its forward pass must be that score: noisy-or with
    the repeat boost, counter phrases discounting nearby hits, document damping, combinations, rates, senders."""
    import torch

    from keywords import Lexicon, Matcher
    from tools.keywords_eval import fit_weights as fw

    lex = Lexicon.bundled()
    texts = [
        "商铺包租，年回报8%，即买即租，稳赚不赔，稳赚不赔",
        "警方提醒：所谓保本高收益的理财平台涉嫌非法集资，受害者众多",
        "【工商银行】理财产品，预期年化3.5%，理财非存款，投资需谨慎",
        "xx财富：新客专享，年化15%，5万起投，保本保息",
        "今天天气很好",
    ]
    rows = [{"text": t, "label": "negative", "subtype": "normal"} for t in texts]
    m = Matcher(lex)
    design = fw.Design(fw.collect(rows, m), m)
    w = torch.tensor([lex.get(t).weight for t in design.names], dtype=torch.float64)
    got = design.raw(w).numpy()
    want = [Matcher(lex, gain=1.0).match(t).score for t in texts]
    assert got == pytest.approx(want, abs=1e-3)
    assert 0.0 < min(want[:4]) and want[4] == 0.0
