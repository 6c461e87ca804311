"""A small local classified-ad site with hostile pages, for the crawler tests and the crawl benchmark.

GBK pages with ETag/Last-Modified (answering 304), a paged JSON API, and the pages a hostile or broken site
serves: GBK labelled as UTF-8 (and, on /list/charsets, Big5 and UTF-8 labelled GBK, GBK labelled Big5), a 20 MB body, binary bodies, scripts and zero-width characters in the text, an
empty page, a 404, a robots.txt-forbidden page, on
/list/limits a gzip bomb and a page slower than a short download timeout, a tracking-parameter duplicate and endless pagination.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SLOW_SECONDS = 3
LAST_MODIFIED = "Mon, 06 May 2024 08:00:00 GMT"
ROBOTS = b"User-agent: *\nDisallow: /private/\n"
PITCHES = [
    "高收益理财项目，年化收益18%，保本保息，稳赚不赔，名额有限，速来咨询！",
    "养老公寓预售，投资十万元每月返利，到期全额返还本金，政府背景，安全可靠。",
    "农业合作社入股分红，每股一千元，年底分红百分之二十，欢迎乡亲们踊跃参与。",
    "出租两室一厅，家电齐全，拎包入住，月租两千五百元，押一付三，非诚勿扰。",
    "招聘餐厅服务员若干名，包吃包住，月薪四千元起，有意者请电话联系店长。",
]
HOSTILE = ["/ad/mislabelled", "/ad/huge", "/ad/binary", "/ad/png", "/ad/script", "/ad/zw", "/ad/empty",
           "/ad/missing", "/private/ad", "/ad/1?utm_source=wechat"]  # fmt: skip
# Mislabelled charsets that the label decodes "strictly" into garble (GB18030 decodes almost any byte string), listed
# on /list/charsets only: path -> (text, real encoding, label)
CHARSET_PAGES = {
    "/charset/big5-as-gbk": ("保證保本保息，穩賺不賠，月月返利。", "big5", "gbk"),
    "/charset/utf8-as-gbk": ("承诺年化收益15%、保本付息，", "utf-8", "gbk"),
    "/charset/gbk-as-big5": ("到期保本退出。", "gbk", "big5"),
}


REDIRECTS = {
    "/redirect/self": "/redirect/self",
    "/redirect/loop-a": "/redirect/loop-b",
    "/redirect/loop-b": "/redirect/loop-a",
    "/redirect/seen": "/ad/1",  # already requested from the same listing page
}
# One listing page with bad records between good ones: each bad one is a rejection, the good ones are stored.
MIXED_GOOD = {"/item/m1": "保本保息，月月返利。", "/item/m2": "年化收益百分之十八。", "/item/m3": "稳赚不赔，\ud800速来。"}
MIXED_BAD = {  # index in the page -> what the rejection says
    1: "Invalid IPv6 URL",
    3: "record is int",
    4: "url is dict",
    5: "not an http(s) URL",
    7: "record has no URL",
}
MIXED_API = (
    '{"data": {"items": ['
    '{"url": "/item/m1", "title": "好1", "description": "保本保息，月月返利。"},'
    '{"url": "http://[oops/item/x", "title": "坏1", "description": "坏"},'
    '{"url": "/item/m2", "title": "好2", "description": "年化收益百分之十八。"},'
    "42,"
    '{"url": {"href": "/item/x"}, "title": "坏3", "description": "坏"},'
    '{"url": "javascript:alert(1)", "title": "坏4", "description": "坏"},'
    '{"url": "/item/m3", "title": "好3", "description": "稳赚不赔，\\ud800速来。"},'
    '{"title": "坏5", "description": "坏"}'
    '], "has_more": false}}'
).encode()


def detail_html(n: int, body: str | None = None, title: str | None = None) -> str:
    body = body if body is not None else PITCHES[n % len(PITCHES)] + f"（编号{n}）"
    title = title if title is not None else f"第{n}号广告：{PITCHES[n % len(PITCHES)][:8]}"
    return (
        '<html><head><meta charset="gbk"><title>本地分类信息网</title><style>.x{color:red}</style></head><body>'
        '<nav>首页 | 投资理财 | 房产</nav><div class="crumbs"><a href="/">首页</a> &gt; <a href="/c/licai/">投资理财</a></div>'
        f'<h1>{title}</h1><div class="content"><p>{body}</p><p>详情请来电咨询。</p></div>'
        f'<span class="publisher">张经理{n}</span><span class="contact">联系电话：1380000{n:04d}</span>'
        f'<span class="posted">发布时间：2024年5月{1 + n % 28}日 10:3{n % 10}</span>'
        f'<span class="region">浙江省杭州市</span><span class="price">面议</span>'
        "<footer>版权所有 本地分类信息网</footer></body></html>"
    )


def charset_page(path: str) -> tuple[int, dict[str, str], bytes]:
    text, real, label = CHARSET_PAGES[path]
    html = (
        f'<html><head><meta charset="{label}"><title>{text}</title></head><body><h1>{text}</h1>'
        f'<div class="content"><p>{text}</p></div></body></html>'
    )
    return 200, {"Content-Type": f"text/html; charset={label}"}, html.encode(real)


def listing_html(page: int, links: list[str], next_url: str | None) -> str:
    items = "".join(f'<li><a class="title" href="{u}">广告{i}</a></li>' for i, u in enumerate(links))
    nxt = f'<a class="next" href="{next_url}">下一页</a>' if next_url else ""
    return (
        f"<html><head><title>列表{page}</title></head><body><ul class='ads'>{items}</ul>{nxt}</body></html>"
    )


class Site:
    """Serves ``pages`` listing pages of ``per_page`` ads each; hostile pages and endless loop are optional."""

    def __init__(self, pages: int = 3, per_page: int = 5, hostile: bool = True, endless: bool = True) -> None:
        self.pages, self.per_page, self.hostile, self.endless = pages, per_page, hostile, endless
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.huge = b"<html><body>" + b"a" * (20 * 1024 * 1024) + b"</body></html>"
        self.bomb = gzip.compress(b"<html><body>" + b"0" * (40 * 1024 * 1024) + b"</body></html>", 9)
        self.server: ThreadingHTTPServer | None = None

    # --- content ---------------------------------------------------------------------------------------
    def ad_ids(self) -> list[int]:
        return list(range(1, self.pages * self.per_page + 1))

    def detail_urls(self) -> list[str]:
        return [f"/ad/{n}" for n in self.ad_ids()] + (HOSTILE if self.hostile else [])

    def listing(self, page: int) -> tuple[int, dict[str, str], bytes]:
        start = (page - 1) * self.per_page + 1
        links = [f"/ad/{n}" for n in range(start, start + self.per_page)]
        nxt = f"/list/{page + 1}" if page < self.pages else None
        if page == self.pages:
            links += HOSTILE if self.hostile else []
            nxt = "/loop/1" if self.endless else None
        body = listing_html(page, links, nxt).encode("gbk")
        return 200, {"Content-Type": "text/html; charset=gbk"}, body

    def route(
        self, path: str, query: dict[str, list[str]], headers: Any
    ) -> tuple[int, dict[str, str], bytes]:
        html_gbk = {"Content-Type": "text/html; charset=gbk"}
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, ROBOTS
        if path == "/list/charsets":
            return 200, html_gbk, listing_html(1, list(CHARSET_PAGES), None).encode("gbk")
        if path in CHARSET_PAGES:
            return charset_page(path)
        if path == "/list/limits":
            return 200, html_gbk, listing_html(1, ["/ad/bomb", "/ad/slow", "/ad/3"], None).encode("gbk")
        if path == "/ad/bomb":  # 40 KB on the wire, 40 MB once inflated
            return 200, {**html_gbk, "Content-Encoding": "gzip"}, self.bomb
        if path == "/ad/slow":  # slower than the test's DOWNLOAD_TIMEOUT
            time.sleep(SLOW_SECONDS)
            return self.detail(4, headers)
        if path == "/list/redirects":  # each of these yields no document of its own; none may vanish
            links = ["/ad/1", "/ad/1", "/redirect/self", "/redirect/loop-a", "/redirect/seen", "/redirect/far/1"]
            return 200, html_gbk, listing_html(1, links, None).encode("gbk")
        if path in REDIRECTS:
            return 302, {"Location": REDIRECTS[path]}, b""
        if path.startswith("/redirect/far/"):  # an endless chain of distinct URLs
            return 302, {"Location": f"/redirect/far/{int(path.rsplit('/', 1)[1]) + 1}"}, b""
        if path == "/list/ssrf":  # on a profile that names 127.0.0.1 with allow_private: none may be fetched
            port = self.server.server_address[1] if self.server else 0
            links = ["/redirect/metadata", "/redirect/elsewhere", f"http://localhost:{port}/ad/2"]
            return 200, html_gbk, listing_html(1, links, None).encode("gbk")
        if path == "/redirect/metadata":
            return 302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""
        if path == "/redirect/elsewhere":  # the same server under a name the profile does not give
            port = self.server.server_address[1] if self.server else 0
            return 302, {"Location": f"http://localhost:{port}/ad/1"}, b""
        if path.startswith("/list/"):
            return self.listing(int(path.rsplit("/", 1)[1]))
        if path.startswith("/loop/"):  # endless pagination: every page links to the next one
            n = int(path.rsplit("/", 1)[1])
            return 200, html_gbk, listing_html(n, [], f"/loop/{n + 1}").encode("gbk")
        if path == "/api/mixed":
            return 200, {"Content-Type": "application/json; charset=utf-8"}, MIXED_API
        if path.startswith("/api/listings"):
            return self.api(int(query.get("page", ["1"])[0]))
        if path == "/ad/mislabelled":
            body = detail_html(900, body="GBK编码却标成UTF-8的页面：保本高息，月月返利。").encode("gbk")
            return 200, {"Content-Type": "text/html; charset=utf-8"}, body
        if path == "/ad/huge":
            return 200, html_gbk, self.huge
        if path == "/ad/binary":
            return 200, {"Content-Type": "application/octet-stream"}, bytes(range(256)) * 64
        if path == "/ad/png":  # binary body served as HTML
            return 200, html_gbk, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16
        if path == "/ad/script":
            body = "招商加盟<script>var secret='SCRIPT_SHOULD_NOT_APPEAR';</script>，稳赚不赔。<style>p{}</style>"
            return 200, html_gbk, detail_html(901, body=body).encode("gbk")
        if path == "/ad/zw":
            body = "保\u200b本\u200c保\u200d息\ufeff，年\u2060化\u200b二十。"
            return (
                200,
                {"Content-Type": "text/html; charset=utf-8"},
                detail_html(902, body=body).encode("utf-8"),
            )
        if path == "/ad/empty":
            return 200, html_gbk, b"<html><head><title></title></head><body>  \n </body></html>"
        if path.startswith("/ad/"):
            tail = path.rsplit("/", 1)[1]
            if tail.isdigit() and int(tail) in self.ad_ids():
                return self.detail(int(tail), headers)
        return 404, {"Content-Type": "text/html"}, b"<html><body>not found</body></html>"

    def detail(self, n: int, headers: Any) -> tuple[int, dict[str, str], bytes]:
        body = detail_html(n).encode("gbk")
        etag = '"' + hashlib.md5(body).hexdigest() + '"'
        meta = {"Content-Type": "text/html; charset=gbk", "ETag": etag, "Last-Modified": LAST_MODIFIED}
        if headers.get("If-None-Match") == etag:
            return 304, {"ETag": etag}, b""
        return 200, meta, body

    def api(self, page: int) -> tuple[int, dict[str, str], bytes]:
        items: list[Any] = []
        if page <= 2:
            for k in range(4):
                n = (page - 1) * 4 + k + 1
                items.append(
                    {
                        "id": n,
                        "url": f"/item/{n}",
                        "title": f"平台商品{n}",
                        "description": f"<p>{PITCHES[n % len(PITCHES)]}</p><script>evil()</script>",
                        "seller": {"name": f"商家{n}", "phone": f"1390000{n:04d}"},
                        "created_at": "2024-05-02T09:00:00+08:00",
                        "city": "杭州",
                        "price": 100 * n,
                        "category": "理财",
                    }
                )
            if page == 2:
                items.append({"id": 99, "title": "no url"})  # neither url nor a template field: bad_record
                items.append({"id": 100, "url": "/item/100", "title": "空", "description": ""})  # empty_text
        data = {"code": 0, "data": {"items": items, "has_more": page < 3}}
        return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(data).encode("utf-8")

    # --- serving -----------------------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                parts = urlsplit(self.path)
                with site.lock:
                    site.hits[self.path] += 1
                status, headers, body = site.route(parts.path, parse_qs(parts.query), self.headers)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the crawler aborts oversized downloads

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://{host}:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def html_profile(base_url: str, name: str = "test-site", **extra: Any) -> dict[str, Any]:
    profile = {
        "name": name,
        "kind": "html",
        "platform": "本地分类信息网",
        "start_urls": [f"{base_url}/list/1"],
        "allow_private": True,
        "interval_seconds": 3600,
        "encoding": None,
        "max_pages": 10,
        "list": {"detail_link": "ul.ads li a.title::attr(href)", "next_page": "a.next::attr(href)"},
        "fields": {
            "title": "h1::text",
            "body": "div.content",
            "publisher": ".publisher::text",
            "contact": ".contact::text",
            "posted_at": ".posted::text",
            "region": ".region::text",
            "price": ".price::text",
            "category": ".crumbs a:last-child::text",
        },
    }
    profile.update(extra)
    return profile


def api_profile(base_url: str, name: str = "test-api", **extra: Any) -> dict[str, Any]:
    profile = {
        "name": name,
        "kind": "json_api",
        "platform": "某生活服务平台",
        "allow_private": True,
        "max_pages": 50,
        "api": {
            "url": f"{base_url}/api/listings?page={{page}}",
            "first_page": 1,
            "items_path": "data.items",
            "has_more_path": "data.has_more",
            "detail_url_field": "url",
            "fields": {
                "title": "title",
                "body": "description",
                "publisher": "seller.name",
                "contact": "seller.phone",
                "posted_at": "created_at",
                "region": "city",
                "price": "price",
                "category": "category",
            },
        },
    }
    profile.update(extra)
    return profile
