"""HTML pages of the demo classified-ad site, in the style of a local 同城分类信息网 (navigation, sidebar, footer
and tracking script around the ad), so the crawler's field selectors and main-text extraction meet realistic markup.
Pages are returned as text; the server encodes them as GBK."""

from __future__ import annotations

from html import escape
from typing import Any

from demo_site.content import PAGE_SIZE, ads, categories, category_ads, page_count, site

_TRACKER = (
    "<script>var _hmt=_hmt||[];(function(){var hm=document.createElement('script');"
    "hm.src='/static/stat.js';var s=document.getElementsByTagName('script')[0];"
    "s.parentNode.insertBefore(hm,s);})();</script>"
)


def _layout(title: str, main: str, active: str | None = None) -> str:
    s = site()
    on = ' class="on"'
    nav = "".join(
        f'<li{on if slug == active else ""}><a href="/c/{slug}/">{escape(name)}</a></li>'
        for slug, name in categories().items()
    )
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gbk">
<title>{escape(title)} - {escape(s["name"])}</title>
<meta name="keywords" content="商丘分类信息,商丘同城,免费发布信息">
<link rel="stylesheet" href="/static/site.css">
{_TRACKER}
</head>
<body>
<div class="topbar">欢迎来到{escape(s["short_name"])}！<a href="/post/">免费发布信息</a> | <a href="/admin/">商家后台</a></div>
<div class="header"><a class="logo" href="/">{escape(s["name"])}</a>
<form class="search" action="/search/"><input name="q" placeholder="搜索信息"><button>搜索</button></form></div>
<ul class="nav"><li><a href="/">首页</a></li>{nav}</ul>
<div class="wrap">
{main}
<div class="side">
<div class="box tips"><h3>安全提示</h3><p>凡是要求先交钱的都是骗子；不要轻信“高息理财”“保本保息”等承诺，谨防非法集资。</p></div>
<div class="box hot"><h3>热门分类</h3>{"".join(f'<a href="/c/{k}/">{escape(v)}</a> ' for k, v in categories().items())}</div>
</div>
</div>
<div class="footer">Copyright &copy; 2025 {escape(s["name"])} | {escape(s["icp"])} | 本站信息由网友发布，本站不对信息真实性负责<br>
违法和不良信息举报电话：0370-12345（演示）</div>
<script>document.querySelectorAll('.contact').forEach(function(e){{e.title='点击查看完整号码';}});</script>
</body>
</html>
"""


def home_page() -> str:
    counts = {slug: len(category_ads(slug)) for slug in categories()}
    blocks = "".join(
        f'<li><a class="cat" href="/c/{slug}/">{escape(name)}</a> <span class="num">({counts[slug]})</span></li>'
        for slug, name in categories().items()
    )
    latest = "".join(
        f'<li><a href="/ad/{a["id"]}.html">{escape(a["title"])}</a> <span class="date">{escape(a["posted"][:10])}</span></li>'
        for a in ads()[:10]
    )
    main = f"""<div class="main">
<div class="box"><h2>信息分类</h2><ul class="cats">{blocks}</ul></div>
<div class="box"><h2>最新信息</h2><ul class="latest">{latest}</ul></div>
</div>"""
    return _layout("首页", main)


def category_page(slug: str, page: int) -> str | None:
    """A listing page of 8 ads, newest first; ``a.next`` only while there is a next page. None if out of range."""
    name = categories().get(slug)
    if name is None:
        return None
    items = category_ads(slug)
    pages = page_count(len(items), PAGE_SIZE)
    if not 1 <= page <= pages:
        return None
    rows = "".join(
        f"""<li><a class="title" href="/ad/{a["id"]}.html">{escape(a["title"])}</a>
<div class="meta"><span class="r">{escape(a["region"])}</span> <span class="p">{escape(a["price"])}</span> <span class="d">{escape(a["posted"][:10])}</span></div></li>
"""
        for a in items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    )
    pager = [f'<span class="info">第{page}/{pages}页 共{len(items)}条</span>']
    if page > 1:
        pager.append(f'<a class="prev" href="{_cat_url(slug, page - 1)}">上一页</a>')
    for n in range(1, pages + 1):
        pager.append(
            f'<span class="cur">{n}</span>' if n == page else f'<a href="{_cat_url(slug, n)}">{n}</a>'
        )
    if page < pages:
        pager.append(f'<a class="next" href="{_cat_url(slug, page + 1)}">下一页</a>')
    main = f"""<div class="main">
<div class="crumbs"><a href="/">首页</a> &gt; <a href="/c/{slug}/">{escape(name)}</a></div>
<h2 class="cat-title">商丘{escape(name)}信息</h2>
<ul class="ads">
{rows}</ul>
<div class="pager">{" ".join(pager)}</div>
</div>"""
    return _layout(f"{name}（第{page}页）" if page > 1 else name, main, active=slug)


def _cat_url(slug: str, page: int) -> str:
    return f"/c/{slug}/" if page == 1 else f"/c/{slug}/pn{page}/"


def detail_page(ad: dict[str, Any]) -> str:
    cat = categories()[ad["category"]]
    paragraphs = "".join(
        f"<p>{escape(line.strip())}</p>\n" for line in ad["body"].splitlines() if line.strip()
    )
    pictures = "".join(  # poster ads: the pitch may be in the picture only (issue 14)
        f'<p class="pic"><img src="/img/{escape(name)}" alt="图片"></p>\n' for name in ad.get("images") or []
    )
    main = f"""<div class="main detail">
<div class="crumbs"><a href="/">首页</a> &gt; <a href="/c/{ad["category"]}/">{escape(cat)}</a></div>
<h1>{escape(ad["title"])}</h1>
<div class="info">
<dl><dt>发布时间：</dt><dd><span class="posted">{escape(ad["posted"])}</span></dd></dl>
<dl><dt>区域：</dt><dd><span class="region">{escape(ad["region"])}</span></dd></dl>
<dl><dt>价格：</dt><dd><span class="price">{escape(ad["price"])}</span></dd></dl>
<dl><dt>发布人：</dt><dd><span class="publisher">{escape(ad["publisher"])}</span></dd></dl>
<dl><dt>联系电话：</dt><dd><span class="contact">{escape(ad["contact"])}</span></dd></dl>
</div>
<div class="content">
{paragraphs}{pictures}</div>
<div class="notice">联系我时，请说是在{escape(site()["short_name"])}看到的，谢谢！信息编号：{ad["id"]}</div>
<div class="related"><h3>相关推荐</h3>{_related(ad)}</div>
</div>"""
    return _layout(ad["title"], main, active=ad["category"])


def _related(ad: dict[str, Any]) -> str:
    others = [a for a in category_ads(ad["category"]) if a["id"] != ad["id"]][:4]
    return "".join(f'<a href="/ad/{a["id"]}.html">{escape(a["title"])}</a><br>' for a in others)


def simple_page(title: str, text: str) -> str:
    return _layout(title, f'<div class="main"><h2>{escape(title)}</h2><p>{escape(text)}</p></div>')
