"""Loopback HTTP server for the demo site and platform API, standard library only (no extra service to run).

Routes: ``/`` home, ``/c/<slug>/`` and ``/c/<slug>/pn<N>/`` category listings, ``/ad/<id>.html`` detail pages (all
GBK HTML), ``/robots.txt`` (everything allowed except ``/admin/``), ``/api/listings?page=N`` and
``/api/item/<id>`` (UTF-8 JSON), ``/img/<name>.png`` (the poster ads' pictures). Responses carry ETag/Last-Modified
so re-crawls can be conditional.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from demo_site import api, render
from demo_site.content import ad_by_id

HTML_TYPE = "text/html; charset=gbk"
JSON_TYPE = "application/json; charset=utf-8"
ROBOTS = "User-agent: *\nDisallow: /admin/\n"
_SITE_TZ = timezone(timedelta(hours=8))

_CATEGORY = re.compile(r"^/c/([a-z]+)/(?:pn(\d+)/)?$")
_DETAIL = re.compile(r"^/ad/(\d+)\.html$")
_API_ITEM = re.compile(r"^/api/item/(\d+)$")
_IMAGE = re.compile(r"^/img/([a-z0-9-]+\.png)$")
POSTERS = Path(__file__).resolve().parent / "data" / "posters"


class DemoSiteHandler(BaseHTTPRequestHandler):
    """Serves one request; every route is computed from the bundled data (read-only, so thread-safe)."""

    server_version = "DemoSite/1.0"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._handle(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle(send_body=False)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Silent: a crawl makes hundreds of requests and the CLI prints its own progress."""

    def _handle(self, send_body: bool) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        status, ctype, body, modified = self._route(path, query)
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if status == HTTPStatus.OK and self.headers.get("If-None-Match") == etag:
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if status == HTTPStatus.OK:
            self.send_header("ETag", etag)
            if modified is not None:
                self.send_header("Last-Modified", format_datetime(modified.astimezone(UTC), usegmt=True))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _route(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes, datetime | None]:
        if path == "/":
            return self._html(render.home_page())
        if path == "/robots.txt":
            return HTTPStatus.OK, "text/plain; charset=utf-8", ROBOTS.encode(), None
        if m := _CATEGORY.match(path):
            page = render.category_page(m.group(1), int(m.group(2) or 1))
            return self._html(page) if page is not None else self._not_found()
        if m := _DETAIL.match(path):
            ad = ad_by_id(int(m.group(1)))
            if ad is None:
                return self._not_found()
            posted = datetime.strptime(ad["posted"], "%Y-%m-%d %H:%M").replace(tzinfo=_SITE_TZ)
            status, ctype, body, _ = self._html(render.detail_page(ad))
            return status, ctype, body, posted
        if m := _IMAGE.match(path):
            poster = POSTERS / m.group(1)
            if not poster.is_file():
                return self._not_found()
            return HTTPStatus.OK, "image/png", poster.read_bytes(), None
        if path == "/api/listings":
            try:
                page = int(query.get("page", ["1"])[0])
            except ValueError:
                return self._json(
                    {"code": 400, "msg": "page must be an integer", "data": None}, HTTPStatus.BAD_REQUEST
                )
            return self._json(api.listings_page(page, self._base_url()))
        if m := _API_ITEM.match(path):
            item = api.item_detail(int(m.group(1)), self._base_url())
            if item is None:
                return self._json({"code": 404, "msg": "not found", "data": None}, HTTPStatus.NOT_FOUND)
            return self._json(item)
        if path.startswith("/admin/"):
            return self._html(
                render.simple_page("商家后台登录", "请使用商家账号登录。"), HTTPStatus.FORBIDDEN
            )
        return self._not_found()

    def _base_url(self) -> str:
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return f"http://{host}"

    @staticmethod
    def _html(text: str, status: int = HTTPStatus.OK) -> tuple[int, str, bytes, datetime | None]:
        return status, HTML_TYPE, text.encode("gbk"), None

    @staticmethod
    def _json(data: object, status: int = HTTPStatus.OK) -> tuple[int, str, bytes, datetime | None]:
        return status, JSON_TYPE, json.dumps(data, ensure_ascii=False).encode("utf-8"), None

    def _not_found(self) -> tuple[int, str, bytes, datetime | None]:
        return self._html(
            render.simple_page("页面不存在", "您访问的信息已删除或不存在。"), HTTPStatus.NOT_FOUND
        )


def make_server(host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), DemoSiteHandler)
    server.daemon_threads = True
    return server


def serve(host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve until interrupted (``adscreen demo-site``)."""
    server = make_server(host, port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def start_in_thread(host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Serve in a daemon thread; port 0 picks a free port. Returns the server (call ``shutdown()``) and base URL."""
    server = make_server(host, port)
    thread = threading.Thread(target=server.serve_forever, name="demo-site", daemon=True)
    thread.start()
    real_host, real_port = server.server_address[:2]
    return server, f"http://{real_host}:{real_port}"
