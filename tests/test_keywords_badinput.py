"""Bad input: empty, huge, control characters, lone surrogates, non-text."""

from __future__ import annotations

import json

import pytest

from keywords import Lexicon, Matcher, TextRejected


@pytest.fixture(scope="module")
def m() -> Matcher:
    return Matcher(Lexicon.bundled(), max_chars=1_000_000)


def test_empty_and_none(m):
    for text in ("", None):
        r = m.match(text)
        assert r.hits == [] and r.score == 0.0 and r.explanation == "未命中关键词"


def test_ten_megabytes_rejected_with_clear_error(m):
    big = "保本保息" * (10 * 1024 * 1024 // 4)
    with pytest.raises(TextRejected, match="limit"):
        m.match(big)
    assert issubclass(TextRejected, ValueError)


def test_truncate_mode_matches_prefix():
    m = Matcher(Lexicon.bundled(), max_chars=1000, oversize="truncate")
    r = m.match("保本保息" + "啊" * 5000)
    assert r.truncated and r.score > 0


def test_control_chars_and_surrogates(m):
    text = "\x00保\x1b本\ud83d保息\udc00，年化\x7f15%\u202e"
    r = m.match(text)
    hit = next(h for h in r.hits if h.term == "保本保息")
    assert text[hit.start : hit.end] == "保\x1b本\ud83d保息"
    json.dumps(r.to_dict(), ensure_ascii=False)  # no lone surrogates leak into the result


def test_bytes_and_wrong_type(m):
    assert m.match("保本保息".encode()).score > 0
    assert m.match(b"\xff\xfe\xfa").score == 0.0
    with pytest.raises(TextRejected):
        m.match(12345)  # type: ignore[arg-type]


def test_only_noise(m):
    r = m.match("☆☆☆ \u200b\u200b ❤❤")
    assert r.score == 0.0
