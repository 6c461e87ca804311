"""The crawler's images: found in the body region (``img``, lazy ``data-src``, inline ``background-image``), fetched
through the page downloader (SSRF guard, robots.txt), stored once by hash next to the snapshot, every refusal a
rejection with its reason; then the demo site crawled, scored and read end to end in the embedded mode."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from crawler.run import crawl_source
from store.db import session_scope
from store.models import Document, Flag, Rejection, StoredImage, Verdict, VersionImage
from tests.test_images_check import SVG_WITH_SCRIPT, animated_gif, png, png_bomb
from tests.testsite import html_profile

POSTER = (Path(__file__).resolve().parents[1] / "demo_site" / "data" / "posters" / "p10020-jijiying.png").read_bytes()
IMAGES: dict[str, tuple[str, bytes]] = {
    "/img/poster.png": ("image/png", POSTER),
    "/img/logo.png": ("image/png", png(30, 30, "blue")),
    "/img/bg.png": ("image/png", png(80, 40, "green")),
    "/img/lazy.png": ("image/png", png(50, 40, "yellow")),
    "/img/anim.gif": ("image/gif", animated_gif()),
    "/img/x.svg": ("image/svg+xml", SVG_WITH_SCRIPT),
    "/img/page.png": ("image/png", b"<!DOCTYPE html><html><body>Login</body></html>"),
    "/img/bomb.png": ("image/png", png_bomb()),
    "/img/cut.png": ("image/png", png(300, 200, "red")[:200]),
    "/img/poly.png": ("image/png", png() + b"<script>alert(1)</script>"),
    "/img/empty.png": ("image/png", b""),
    "/img/huge.png": ("image/png", png() + b"\x00" * 300_000),
}
EXPECTED_REFUSALS = {
    "/img/x.svg": "image_svg", "/img/page.png": "image_not_image", "/img/bomb.png": "image_too_many_pixels",
    "/img/cut.png": "image_truncated", "/img/poly.png": "image_polyglot", "/img/empty.png": "image_empty",
    "/img/huge.png": "image_too_large", "/img/missing.png": "image_http_error", "/private/secret.png": "robots",
    "http://169.254.169.254/latest/meta.png": "ssrf_blocked", "/img/extra.png": "image_too_many",
}  # fmt: skip


def _detail(title: str, images: str) -> bytes:
    return (
        f"<html><head><meta charset='utf-8'></head><body><nav><img src='/img/logo.png'></nav>"
        f"<h1>{title}</h1><div class='content'><p>本店新品上线，详情请看下方海报，欢迎来电咨询。</p>{images}</div>"
        f"<footer><img src='/img/logo.png'></footer></body></html>"
    ).encode()


PAGES = {
    "/list/1": b"<html><body><ul class='ads'><li><a class='title' href='/ad/1'>1</a></li>"
    b"<li><a class='title' href='/ad/2'>2</a></li><li><a class='title' href='/ad/3'>3</a></li></ul></body></html>",
    "/ad/1": _detail("海报一", "<img src='/img/poster.png'><div style=\"background-image: url('/img/bg.png')\">x</div>"
                     "<img class='lazy' data-src='/img/lazy.png'>"),
    "/ad/2": _detail("海报二", "<img src='/img/poster.png'>" + "".join(
        f"<img src='{u}'>" for u in ["/img/x.svg", "/img/page.png", "/img/bomb.png", "/img/cut.png", "/img/poly.png",
                                     "/img/empty.png", "/img/huge.png"])),
    "/ad/3": _detail("海报三", "".join(f"<img src='{u}'>" for u in [
        "/img/missing.png", "/private/secret.png", "http://169.254.169.254/latest/meta.png", "/img/anim.gif",
        "/img/poster.png", "/img/bg.png", "/img/lazy.png", "/img/logo.png", "/img/extra.png"])),
}  # fmt: skip


class _Site:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = urlsplit(self.path).path
                site.hits[path] += 1
                if path == "/robots.txt":
                    status, ctype, body = 200, "text/plain", b"User-agent: *\nDisallow: /private/\n"
                elif path in PAGES:
                    status, ctype, body = 200, "text/html; charset=utf-8", PAGES[path]
                elif path in IMAGES:
                    status, (ctype, body) = 200, IMAGES[path]
                else:
                    status, ctype, body = 404, "text/html", b"<html>not found</html>"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[_Site]:
    s = _Site()
    yield s
    s.stop()


def _full(base: str, url: str) -> str:
    return url if url.startswith("http") else base + url


def test_page_images_are_stored_once_and_every_refusal_is_recorded(sqlite_url, site):
    profile = html_profile(site.base, name="img-site")
    profile["start_urls"] = [f"{site.base}/list/1"]
    stats = crawl_source("img-site", sqlite_url, profile=profile,
                         settings_overrides={"ADSCREEN_MAX_IMAGES_PER_PAGE": 8, "ADSCREEN_MAX_IMAGE_BYTES": 200_000})  # fmt: skip
    assert stats.get("documents_new") == 3, stats
    assert site.hits["/img/logo.png"] == 1, "nav and footer images are outside the body region (once: in /ad/3's)"
    assert site.hits["/img/poster.png"] == 1, "the same URL is downloaded once per crawl"
    with session_scope(sqlite_url) as s:
        docs = {urlsplit(d.url).path: d for d in s.scalars(select(Document))}
        rows = {
            path: [(vi.url, vi.image_id is not None, vi.reason) for vi in s.scalars(
                select(VersionImage).where(VersionImage.version_id == d.current_version_id).order_by(VersionImage.position))]
            for path, d in docs.items()
        }  # fmt: skip
        stored = {img.first_url: img for img in s.scalars(select(StoredImage))}
        rejections = {r.url: r.reason for r in s.scalars(select(Rejection))}
    b = site.base
    assert [u for u, ok, _ in rows["/ad/1"] if ok] == [f"{b}/img/poster.png", f"{b}/img/lazy.png", f"{b}/img/bg.png"]
    assert len(stored) == 5 and stored[f"{b}/img/poster.png"].data == POSTER, "the poster of three pages stored once"
    gif = stored[f"{b}/img/anim.gif"]
    assert gif.animated and gif.content_type == "image/gif", "an animated GIF is kept (its first frame is read)"
    assert rows["/ad/2"][0] == (f"{b}/img/poster.png", True, None)
    for url, reason in EXPECTED_REFUSALS.items():
        assert rejections.get(_full(b, url)) == reason, (url, rejections.get(_full(b, url)))
    seen_on_pages = {u for r in rows.values() for u, _, _ in r}
    assert {_full(b, u) for u in EXPECTED_REFUSALS} <= seen_on_pages, "each refusal is on its version's image list"
    assert site.hits["/private/secret.png"] == 0, "robots.txt holds for images"


@pytest.mark.usefixtures("embedded")
def test_the_demo_posters_are_crawled_scored_and_read_in_the_embedded_mode(sqlite_url):
    from adscreen.settings import get_settings
    from demo_site import crawl_profiles
    from demo_site.content import expected_labels
    from demo_site.server import start_in_thread
    from scoring.engine import reset_process_scorer
    from worker.dispatch import send

    server, base = start_in_thread("127.0.0.1", 0)
    try:
        profile = next(p for p in crawl_profiles(base) if p["kind"] == "html")
        profile["start_urls"] = [f"{base}/c/{slug}/" for slug in ("licai", "yanglao", "shenghuo", "zhaopin")]
        stats = crawl_source(profile["name"], sqlite_url, profile=profile)
    finally:
        server.shutdown()
        server.server_close()
    ids = stats.get("score_deferred_ids") or []
    assert ids, stats
    for i in range(0, len(ids), 32):
        send("adscreen.score_batch", ids[i : i + 32])  # text first, then the images task, both in-process
    get_settings.cache_clear()
    reset_process_scorer()
    labels = expected_labels()
    with session_scope(sqlite_url) as s:
        by_path = {urlsplit(d.url).path: d for d in s.scalars(select(Document))}
        assert s.scalar(select(func.count(StoredImage.id))) == 4
        for ad_id, pitch in ((10020, True), (10313, True), (10514, False), (10214, False)):
            doc = by_path[f"/ad/{ad_id}.html"]
            assert (labels[f"/ad/{ad_id}.html"]["expected"] == "fundraising") is pitch
            flag = s.scalar(select(Flag).where(Flag.document_id == doc.id))
            verdicts = list(s.scalars(select(Verdict).where(Verdict.document_id == doc.id).order_by(Verdict.id)))
            assert len(verdicts) == 2 and "+ocr:" in verdicts[1].detector_versions
            assert not verdicts[0].flagged, f"the text of {ad_id} alone is clean"
            assert (flag is not None and flag.verdict_id == verdicts[1].id) is pitch, ad_id
