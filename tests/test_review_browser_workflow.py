"""The daily work in real headless Chromium: dismissing by ``d`` + digit, filters surviving ``n``, search by a phone
fragment, bulk confirmation, assign / comment / reopen, a scoped inspector who cannot see another unit's case,
the ECharts dashboard (canvases, no console errors, links into the queue) and no horizontal scroll at 375 px.

Screenshots go to ``docs/screenshots/`` when ``REVIEW_SCREENSHOTS=1``, otherwise to a temporary folder.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from review.app import create_app
from store import units
from store.db import session_scope
from store.models import Decision, Flag, User
from tests.browser import login, needs_chromium, serving
from tests.review_fixtures import PASSWORD, add_case, seed, seed_history

pytestmark = [pytest.mark.services, needs_chromium, pytest.mark.usefixtures("cheap_argon2")]
SHANGQIU = [
    ("睢阳养老公寓火热认购，保本保息，年化收益12%，咨询 139-8765 4321", "河南省商丘市睢阳区", "pension", 0.95),
    ("梁园区合作社入股分红，每年固定分红10%，面向全社会募集", "商丘市梁园区", "coop", 0.9),
    ("梁园产权式商铺售后包租，十年回购，年均收益8%", "商丘梁园", "property", 0.88),
    ("永城区块链平台币内测，邀请好友得奖励", "永城市", "crypto", 0.7),
]


@pytest.fixture
def server(pg_url, tmp_path):
    from review.users import create_user

    with session_scope(pg_url) as s:
        seed(s)
        sq = [
            add_case(s, 500 + i, text, region=region, category=cat, score=score, level="high").id
            for i, (text, region, cat, score) in enumerate(SHANGQIU)
        ]
        create_user(s, "sy", PASSWORD, "inspector")
    app = create_app(pg_url, lexicon_dir=tmp_path / "lexicon")
    app.state.rescore = lambda: None
    app.state.run_job = lambda job: job()
    with session_scope(pg_url) as s:
        units.set_user_units(s, s.scalar(select(User.id).where(User.username == "sy")), ["sq-suiyang"])
    with serving(app) as base:
        yield {"base": base, "sq": sq, "url": pg_url, "app": app}


def _page(browser, width: int = 1400, height: int = 1000):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    return context, page, problems


def _blank(page) -> None:
    """Nothing focused (no click: a click could land on a link)."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")


def test_dismiss_by_d_and_digit_and_the_chinese_error_in_place(server, browser, shots):
    base, sq = server["base"], server["sq"]
    context, page, problems = _page(browser)
    login(page, base)
    page.goto(f"{base}/cases/{sq[1]}")
    page.click("#claim-form button")
    page.wait_for_url(f"{base}/cases/{sq[1]}")
    page.fill("#note", "只是合作社的普通宣传")
    page.click("#btn-dismiss")  # no reason: refused in place, in Chinese, the note kept, nothing sent
    assert page.locator("#reason-error").is_visible() and "请先选择排除理由" in page.inner_text("#reason-error")
    assert page.url == f"{base}/cases/{sq[1]}" and page.input_value("#note") == "只是合作社的普通宣传"
    assert "picking" in page.get_attribute("#reasons", "class")
    page.keyboard.press("5")  # the fifth reason: 其他商业广告 → dismissed, auto-next
    page.wait_for_url(lambda u: u != f"{base}/cases/{sq[1]}")
    with session_scope(server["url"]) as s:
        d = s.scalar(select(Decision).where(Decision.flag_id == sq[1]))
        assert (d.action, d.reason, d.note) == ("dismiss", "other_ad", "只是合作社的普通宣传")
    # the shortest route: d then a digit (2 keys), the radio list having had focus or not
    here = page.url
    page.focus("#reasons input[data-key='1']")  # a radio is not a text field: keys still work there
    page.keyboard.press("d")
    page.keyboard.press("2")
    page.wait_for_url(lambda u: u != here)
    fid = int(here.rsplit("/", 1)[1])
    with session_scope(server["url"]) as s:
        assert s.scalar(select(Decision.reason).where(Decision.flag_id == fid)) == "finance_legit"
    # in a text field the keys type text
    page.fill("#note", "")
    page.click("#note")
    page.keyboard.type("dcen")
    assert page.input_value("#note") == "dcen"
    assert problems == []
    context.close()


def test_filters_survive_n_and_auto_next(server, browser):
    base, sq = server["base"], server["sq"]
    context, page, problems = _page(browser)
    login(page, base)
    page.fill("input[name=region]", "梁园")
    page.click("#filter-form button[type=submit]")
    page.wait_for_url(lambda u: "region=" in u)
    assert page.locator("table.queue tbody tr").count() == 2
    page.goto(f"{base}/dashboard")  # leave the queue; the filters stay with the session
    page.goto(f"{base}/queue")
    assert page.input_value("input[name=region]") == "梁园"
    _blank(page)
    page.keyboard.press("n")
    page.wait_for_url(f"{base}/cases/{sq[1]}")  # the best 梁园 case, not the higher-priority 睢阳 one
    _blank(page)
    page.keyboard.press("c")  # confirm → auto-next inside the filter
    page.wait_for_url(f"{base}/cases/{sq[2]}")
    _blank(page)
    page.keyboard.press("n")  # n on a case one holds: releases it, and the filter has nothing else
    page.wait_for_url(lambda u: "/queue" in u)
    assert "队列已清空" in page.inner_text(".flash") and page.input_value("input[name=region]") == "梁园"
    with session_scope(server["url"]) as s:
        assert s.get(Flag, sq[2]).status == "open" and s.get(Flag, sq[1]).status == "confirmed"
    assert problems == []
    context.close()


def test_search_by_a_phone_fragment(server, browser, shots):
    base, sq = server["base"], server["sq"]
    context, page, problems = _page(browser)
    login(page, base)
    _blank(page)
    page.keyboard.press("/")
    page.keyboard.type("8765-43")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: "q=" in u)
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 1 and f"/cases/{sq[0]}" in rows.first.inner_html()
    page.screenshot(path=str(shots / "queue-search.png"), full_page=False)
    assert problems == []
    context.close()


def test_bulk_confirm(server, browser, shots):
    base, sq = server["base"], server["sq"]
    context, page, problems = _page(browser)
    login(page, base)
    page.goto(f"{base}/queue?region=商丘")
    page.screenshot(path=str(shots / "queue.png"), full_page=True)
    page.check(f"input[name=flag_id][value='{sq[0]}']")
    page.check(f"input[name=flag_id][value='{sq[3]}']")
    page.select_option("#bulk-action", "confirm")
    assert not page.is_visible("#bulk-reason")
    page.click("#bulk-submit")
    page.wait_for_url(lambda u: "/queue" in u)
    assert "批量确认：成功 2 件" in page.inner_text("main")
    with session_scope(server["url"]) as s:
        assert {s.get(Flag, i).status for i in (sq[0], sq[3])} == {"confirmed"}
    assert problems == []
    context.close()


def test_assign_comment_and_reopen(server, browser, shots):
    base, sq = server["base"], server["sq"]
    context, page, problems = _page(browser)
    login(page, base)
    page.goto(f"{base}/cases/{sq[3]}")
    page.fill("#comment-body", "发布者疑似无牌照，请睢阳同事协查")
    page.click("#comment-btn")
    page.wait_for_url(f"{base}/cases/{sq[3]}")
    assert "发布者疑似无牌照" in page.inner_text("#comments")
    page.select_option("#assign-colleague", "insp2")
    page.click("#assign-btn")
    page.wait_for_url(f"{base}/cases/{sq[3]}")
    assert "insp2" in page.inner_text("#case-status").replace("处理中", "") or "insp2" in page.inner_text(".meta")
    assert "将此案指派给 insp2" in page.inner_text("#history")
    context.close()

    context, page, problems = _page(browser)
    login(page, base, "insp2")
    page.goto(f"{base}/cases/{sq[3]}")
    _blank(page)
    page.keyboard.press("e")  # insp2 holds it now and escalates
    page.wait_for_url(lambda u: u != f"{base}/cases/{sq[3]}")
    page.goto(f"{base}/cases/{sq[3]}")
    page.fill("#reopen-form input[name=note]", "上报前需补充证据")
    page.click("#reopen-btn")
    page.wait_for_url(f"{base}/cases/{sq[3]}")
    assert page.inner_text("#case-status") == "待处理"
    history = page.inner_text("#history")
    assert "重新打开了此案（原状态：已上报），备注：上报前需补充证据" in history and "{" not in history
    page.screenshot(path=str(shots / "case-workflow.png"), full_page=True)
    assert problems == []
    context.close()


def test_scoped_inspector_cannot_see_another_units_case(server, browser):
    base, sq = server["base"], server["sq"]
    context, page, problems = _page(browser)
    login(page, base, "sy")
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 1 and f"/cases/{sq[0]}" in rows.first.inner_html()
    r = page.goto(f"{base}/cases/{sq[1]}")
    assert r.status == 404 and "不属于您负责的单位" in page.inner_text("main")
    api = page.request.get(f"{base}/api/v1/cases/{sq[1]}")
    assert api.status == 404
    assert page.request.get(f"{base}/api/v1/cases/{sq[0]}").status == 200
    context.close()


def test_dashboard_charts_render_and_link_into_the_queue(server, browser, shots):
    base = server["base"]
    shangqiu = ["睢阳区", "梁园区", "永城市", "虞城县", "夏邑县", "民权县", "柘城县", "商丘", "郑州"]
    with session_scope(server["url"]) as s:
        seed_history(s, regions=shangqiu)
        for f in s.scalars(select(Flag).where(Flag.status == "confirmed").limit(12)):
            f.status = "referred"
    for width, name in ((1920, "dashboard-1920.png"), (375, "dashboard-375.png")):
        context, page, problems = _page(browser, width, 1000)
        login(page, base, "admin")
        page.goto(f"{base}/dashboard")
        page.wait_for_selector("#chart-throughput canvas")
        ids = ["category", "unit", "district", "rate", "deadline", "referrals", "backlog", "throughput"]
        for chart in ids:
            box = page.locator(f"#chart-{chart} canvas").first.bounding_box()
            assert box and box["width"] > 200 and box["height"] > 100, chart
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(shots / name), full_page=True)
        assert problems == [], problems
        if width == 1920:  # a bar of the district chart opens the queue filtered to that district
            box = page.locator("#chart-district canvas").first.bounding_box()
            page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + 50)
            page.wait_for_url(lambda u: "/queue?" in u and "region=" in u, timeout=5000)
        context.close()


def test_no_horizontal_scroll_at_375px(server, browser, shots):
    base, sq = server["base"], server["sq"]
    context, page, problems = _page(browser, 375, 800)
    page.goto(f"{base}/login")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "/login"
    login(page, base, "admin")
    for path in ("/queue", f"/cases/{sq[0]}", "/referrals", "/lexicon", "/dashboard", "/audit", "/api/docs",
                 f"/cases/{sq[0]}/diff"):
        page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle")
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], (path, width)
        if path == "/queue":
            page.screenshot(path=str(shots / "queue-375.png"), full_page=False)
        if path.startswith("/cases/") and path.count("/") == 2:
            page.screenshot(path=str(shots / "case-375.png"), full_page=False)
    assert problems == [], problems
    context.close()


def test_lexicon_editor_previews_approves_with_progress_and_pages_terms(server, browser, shots):
    base, sq = server["base"], server["sq"]

    def rescore() -> None:  # stands in for the workers: every document scored again now
        from sqlalchemy import update

        from store.models import Document, utcnow

        with session_scope(server["url"]) as s:
            s.execute(update(Document).values(scored_at=utcnow()))

    server["app"].state.rescore = rescore
    context, page, problems = _page(browser)
    login(page, base, "insp")
    page.goto(f"{base}/cases/{sq[0]}")
    page.fill("#propose-term", "养老公寓")
    page.select_option("#propose-form select[name=category]", "wealth")
    page.click("#propose-form button[type=submit]")
    page.wait_for_url(f"{base}/cases/{sq[0]}")
    context.close()
    context, page, problems = _page(browser)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "editor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/lexicon")
    page.click("text=预览匹配")
    page.wait_for_selector("#preview-counts")
    assert "「养老公寓」会命中 2 件待处理案件" in page.inner_text("#preview-counts")
    form = page.locator(".approve-form").first
    form.locator("select[name=category]").select_option("pension")  # the category changed on approval
    form.locator("input[name=weight]").fill("0.65")
    form.locator("button").click()
    page.wait_for_selector("#job-progress")
    page.locator("#job-progress .job-label", has_text="重新评分完成").wait_for()  # the strict CSP forbids eval
    page.fill("#term-q", "养老公寓")
    page.click("#terms form button")
    page.wait_for_url(lambda u: "q=" in u)
    rows = page.locator("#term-table tbody tr")
    assert rows.count() == 1 and "养老投资" in rows.first.inner_text() and "0.65" in rows.first.inner_text()
    page.goto(f"{base}/lexicon?preview=保本保息")
    page.screenshot(path=str(shots / "lexicon-editor.png"), full_page=False)
    page.goto(f"{base}/lexicon")
    page.click("#terms-next")
    page.wait_for_url(lambda u: "page=2" in u)
    assert "第 2 /" in page.inner_text("#terms h2")
    assert problems == [], problems
    context.close()
