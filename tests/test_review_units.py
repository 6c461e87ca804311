"""Unit tests of the review app's pieces that need no database: escaping, links, charts, referral helpers."""

from __future__ import annotations

from datetime import date

from markupsafe import Markup

from review import charts
from review.highlight import css_class, highlight, safe_href, valid_spans
from review.services.referral import _cell
from review.workdays import add_working_days


def test_highlight_escapes_text_and_spans():
    text = '<script>window.__xss=1</script>年化收益<img src=x onerror="alert(1)">保本'
    hits = [
        {"term": "年化收益", "category": "rate", "weight": 0.5, "start": 31, "end": 35},
        {"term": "<b>", "category": 'x" onmouseover="alert(1)', "weight": 0.9, "start": 0, "end": 8},
    ]
    html = str(highlight(text, hits))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "onerror=&#34;alert(1)&#34;" in html
    assert '<mark class="hl hl-rate"' in html and ">年化收益</mark>" in html
    assert 'class="hl hl-xonmouseoveralert1"' in html  # a hostile category cannot leave the attribute
    assert 'title="x&#34; onmouseover=&#34;alert(1) · &lt;b&gt; · 权重 0.9"' in html


def test_valid_spans_drops_bad_and_overlapping_hits():
    text = "保本保息年化收益"
    hits = [
        {"start": 0, "end": 4, "weight": 0.5},
        {"start": 2, "end": 6, "weight": 0.9},  # heavier: wins the overlap
        {"start": 6, "end": 99, "weight": 1},  # out of range
        {"start": "0", "end": 2, "weight": 1},  # not an int
        {"start": 3, "end": 3, "weight": 1},  # empty
    ]
    assert [(h["start"], h["end"]) for h in valid_spans(text, hits)] == [(2, 6)]
    assert str(highlight(text, None)) == text


def test_safe_href_only_allows_http():
    assert safe_href("https://a.example/x?y=1") == "https://a.example/x?y=1"
    for bad in (
        "javascript:alert(1)",
        " JAVASCRIPT:alert(1)",
        "data:text/html,<script>",
        "vbscript:x",
        "//evil",
        "http:/x",
        "",
    ):
        assert safe_href(bad) is None, bad
    assert css_class(None) == "other" and css_class("<>") == "other"


def test_charts_escape_labels_and_draw_each_value():
    svg = charts.stacked_bars(["2026-11-01", "2026-11-02"], {"<script>": [1, 2], "b": [0, 3]}, "t")
    assert isinstance(svg, Markup) and "<script>" not in str(svg) and "&lt;script&gt;" in str(svg)
    assert str(svg).count("<rect") == 3 + 2  # three non-zero bars + two legend swatches
    bars = charts.hbars([("insp", 4), ("insp2", 2)], "throughput")
    assert 'width="440.0"' in str(bars) and 'width="220.0"' in str(bars)
    line = charts.line(["a", "b", "c"], [0.5, None, 1.0], "rate")
    assert str(line).count("<circle") == 2 and "<polyline" in str(line)
    assert "暂无数据" in str(charts.hbars([], "empty"))


def test_referral_cells_and_deadline():
    assert _cell("=SUM(A1)") == "'=SUM(A1)" and _cell("@x") == "'@x" and _cell("-1+2") == "'-1+2"
    assert _cell("年化") == "年化" and _cell(0.5) == 0.5
    assert _cell("a\x00b\x0bc") == "a\ufffdb\ufffdc"
    assert _cell([{"category": "rate", "span": "年化", "rule": "lex:年化"}]) == "利率回报:年化(词库词条)"
    assert add_working_days(date(2026, 11, 27), 15).day == date(2026, 12, 18)  # Friday + 15 working days
    assert add_working_days(date(2026, 11, 28), 1).day == date(2026, 11, 30)  # Saturday → Monday
