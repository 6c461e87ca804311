"""Browser tests in real headless Chromium: the inspector's whole path, and hostile ads shown inertly.

Screenshots go to ``docs/screenshots/`` when ``REVIEW_SCREENSHOTS=1`` (how the committed ones were made),
otherwise to a temporary folder.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from review.app import create_app
from store.db import session_scope
from store.models import Flag
from tests.browser import login, needs_chromium, serving
from tests.review_fixtures import add_case, seed, seed_history

pytestmark = [pytest.mark.services, needs_chromium, pytest.mark.usefixtures("cheap_argon2")]

XSS_TEXT = (
    '年化收益30%<script>window.__xss=1;document.title="pwned"</script>保本保息'
    "<img src=x onerror=\"window.__xss=2;document.title='pwned'\">"
    '<a href="javascript:window.__xss=3">点此领取</a>'
)
XSS_TITLE = '<svg onload="window.__xss=4">高收益<script>window.__xss=5</script>'
XSS_SNAPSHOT = (
    b"<html><head><title>snap</title>"
    b'<link rel="stylesheet" href="http://evil.example/x.css">'
    b"<script>window.__xss=6;document.body&&document.body.setAttribute('data-pwned','1');"
    b"try{parent.__xss=7;top.document.title='pwned'}catch(e){}</script></head>"
    b"<body><p>\xe5\xb9\xb4\xe5\x8c\x96\xe6\x94\xb6\xe7\x9b\x8a 30%</p>"
    b"<img src=\"data:,\" onerror=\"window.__xss=8;document.body.setAttribute('data-pwned','2')\">"
    b'<img src="http://evil.example/pixel.png">'
    b'<a id="js" href="javascript:parent.__xss=9">x</a>'
    b'<iframe src="http://evil.example/"></iframe>'
    b"</body></html>"
)


@pytest.fixture
def server(pg_url, tmp_path):
    """The app under uvicorn on a free port, with sample cases and a hostile one."""
    with session_scope(pg_url) as s:
        ids = [f.id for f in seed(s)]
        text = XSS_TEXT
        start = text.index("<script>")
        hits = [
            {
                "term": "年化收益",
                "category": "rate",
                "weight": 0.6,
                "start": 0,
                "end": 4,
                "rule": "r<script>",
            },
            {
                "term": "<script>",
                "category": '"><script>window.__xss=10</script>',
                "weight": 0.5,
                "start": start,
                "end": start + 8,
            },
        ]
        hostile = add_case(
            s,
            900,
            text,
            title=XSS_TITLE,
            raw=XSS_SNAPSHOT,
            url="javascript:window.__xss=11",
            hits=hits,
            score=0.5,
            level="medium",
        ).id
    app = create_app(pg_url, lexicon_dir=tmp_path / "lexicon")
    app.state.rescore = lambda: None
    with serving(app) as base:
        yield {"base": base, "ids": ids, "hostile": hostile, "url": pg_url}


def test_login_queue_case_confirm_export(server, browser, shots):
    base, ids = server["base"], server["ids"]
    context = browser.new_context(
        accept_downloads=True, viewport={"width": 1400, "height": 1000}, locale="zh-CN"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base)
    assert page.locator("table.queue tbody tr").count() == 6
    assert "待处理" in page.locator(".counts").inner_text()
    page.screenshot(path=str(shots / "queue.png"), full_page=True)

    page.keyboard.press("n")  # shortcut: claim the next case
    page.wait_for_url(f"{base}/cases/{ids[0]}")
    assert page.locator("#case-text mark.hl").count() >= 2
    assert "处理中" in page.locator("#case-status").inner_text()
    page.screenshot(path=str(shots / "case.png"), full_page=True)

    # selecting text fills the term proposal
    page.evaluate(
        """() => { const el = document.querySelector('#case-text');
                   const r = document.createRange(); r.setStart(el.firstChild, 0); r.setEnd(el.firstChild, 4);
                   const s = getSelection(); s.removeAllRanges(); s.addRange(r);
                   el.dispatchEvent(new MouseEvent('mouseup', {bubbles: true})); }"""
    )
    assert page.input_value("#propose-term") == "养老公寓"
    page.select_option("#propose-form select[name=category]", "pension")
    page.click("#propose-form button[type=submit]")
    page.wait_for_url(f"{base}/cases/{ids[0]}")
    assert "养老公寓" in page.locator(".flash").inner_text()

    page.fill("textarea[name=note]", "典型养老集资")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("c")  # shortcut: confirm → next case
    page.wait_for_url(f"{base}/cases/{ids[1]}")
    assert "确认涉嫌" in page.locator(".flash").inner_text()

    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("d")  # shortcut: dismiss, then 1 for the first reason (违反广告法但非集资)
    page.keyboard.press("1")
    page.wait_for_url(f"{base}/cases/{ids[2]}")

    page.goto(f"{base}/referrals")
    assert page.locator("input[name=flag_id]").count() == 1
    page.click("#export-btn")  # first a confirmation page (no JavaScript needed), nothing referred yet
    page.wait_for_selector("#confirm-export-btn")
    assert "此操作不能撤销" in page.locator("main").inner_text()
    with page.expect_download() as dl:
        page.click("#confirm-export-btn")
    data = Path(dl.value.path()).read_bytes()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "referrals.xlsx" in names and any(n.startswith("cases/ADS-") for n in names)
    with session_scope(server["url"]) as s:
        assert s.get(Flag, ids[0]).status == "referred" and s.get(Flag, ids[1]).status == "dismissed"

    page.goto(f"{base}/lexicon")
    assert "养老公寓" in page.locator("table.queue").first.inner_text()
    page.screenshot(path=str(shots / "lexicon.png"), full_page=False)

    with session_scope(server["url"]) as s:
        seed_history(s)  # a month of backdated flags and decisions for the charts
    page.goto(f"{base}/dashboard")
    page.wait_for_selector("#chart-category canvas")
    assert page.locator(".chart canvas").count() >= 8
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
    assert errors == []
    context.close()


def test_hostile_ad_is_shown_inertly(server, browser, shots):
    base, fid = server["base"], server["hostile"]
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    dialogs, outside = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on(
        "request", lambda r: None if r.url.startswith((base, "data:", "about:")) else outside.append(r.url)
    )
    blocked, finished = [], []
    page.on("requestfailed", lambda r: blocked.append(r.url) if r.failure == "csp" else None)
    page.on(
        "requestfinished", lambda r: None if r.url.startswith((base, "data:")) else finished.append(r.url)
    )
    login(page, base)
    page.goto(f"{base}/cases/{fid}")
    page.wait_for_load_state("networkidle")
    frame = page.frame_locator("iframe.snapshot")
    frame.locator("p").wait_for()

    assert page.evaluate("() => window.__xss") is None
    assert "pwned" not in page.title() and page.title().startswith("案件")
    # the payloads are visible as text, not elements
    text = page.locator("#case-text").inner_text()
    assert '<script>window.__xss=1;document.title="pwned"</script>' in text and "onerror=" in text
    assert page.locator("#case-text script, #case-text img, #case-text a, main svg[onload]").count() == 0
    assert "<svg onload=" in page.locator("h1.case-title").inner_text()
    assert page.locator("td.url a").count() == 0  # javascript: URL is not a link
    marks = page.locator("#case-text mark")
    assert marks.nth(1).inner_text() == "<script>"

    snap = next(f for f in page.frames if f.url.endswith(f"/cases/{fid}/snapshot"))
    assert snap.evaluate("() => [window.__xss, document.body.getAttribute('data-pwned')]") == [None, None]
    page.screenshot(path=str(shots / "case-hostile.png"), full_page=True)

    # opened on its own, the snapshot is still inert (CSP sandbox, unique origin)
    page.goto(f"{base}/cases/{fid}/snapshot")
    assert page.evaluate("() => [window.__xss, document.body.getAttribute('data-pwned')]") == [None, None]
    assert page.title() == "snap"
    assert dialogs == []
    # the snapshot's outside loads were attempted by the parser and refused by the CSP; none completed
    assert outside and sorted(outside) == sorted(blocked) and finished == []
    context.close()
