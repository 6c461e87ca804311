"""The demo site as a crawler sees it: served on a free loopback port, GBK pages, finite pagination, a finite API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import parsel
import pytest

from demo_site import crawl_profiles
from demo_site.content import API_PAGE_SIZE, ads, categories, listings
from demo_site.server import start_in_thread


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server, url = start_in_thread("127.0.0.1", 0)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def html(url: str) -> parsel.Selector:
    status, headers, body = fetch(url)
    assert status == 200, url
    assert headers["Content-Type"] == "text/html; charset=gbk"
    return parsel.Selector(text=body.decode("gbk"))


def test_starts_on_a_free_port_and_serves_gbk_home(base_url: str) -> None:
    assert urlsplit(base_url).port not in (None, 0)
    status, headers, body = fetch(base_url + "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=gbk"
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")  # really GBK bytes, not UTF-8 with a GBK label
    sel = parsel.Selector(text=body.decode("gbk"))
    assert set(categories().values()) <= set(sel.css("ul.cats a.cat::text").getall())


def test_robots_allows_everything_but_admin(base_url: str) -> None:
    status, _, body = fetch(base_url + "/robots.txt")
    assert status == 200
    rp = RobotFileParser()
    rp.parse(body.decode().splitlines())
    assert rp.can_fetch("adscreen", base_url + "/c/licai/")
    assert rp.can_fetch("adscreen", base_url + "/ad/10001.html")
    assert not rp.can_fetch("adscreen", base_url + "/admin/login")


def test_crawl_with_profile_selectors_reaches_every_ad_and_ends(base_url: str) -> None:
    """Follow the html profile exactly as the crawler would: pagination ends and every ad is reached once."""
    profile = next(p for p in crawl_profiles(base_url) if p["kind"] == "html")
    listing_pages, detail_urls = 0, []
    for start in profile["start_urls"]:
        url, seen = start, set()
        while url:
            assert url not in seen, f"pagination loops at {url}"
            seen.add(url)
            sel = html(url)
            listing_pages += 1
            links = sel.css(profile["list"]["detail_link"]).getall()
            assert 1 <= len(links) <= 8
            detail_urls += [urljoin(url, h) for h in links]
            nxt = sel.css(profile["list"]["next_page"]).get()
            url = urljoin(url, nxt) if nxt else None
    assert len(detail_urls) == len(set(detail_urls)) == len(ads())
    assert listing_pages + len(detail_urls) + len(listings()) + 10 < 250  # the whole site stays small

    by_id = {a["id"]: a for a in ads()}
    for url in detail_urls[::7]:  # spot-check field selectors on a spread of detail pages
        ad = by_id[int(urlsplit(url).path.split("/")[-1].split(".")[0])]
        sel = html(url)
        got = {k: sel.css(css).getall() for k, css in profile["fields"].items()}
        assert got["title"] == [ad["title"]]
        assert got["publisher"] == [ad["publisher"]]
        assert got["contact"] == [ad["contact"]]
        assert got["posted_at"] == [ad["posted"]]
        assert got["region"] == [ad["region"]]
        assert got["price"] == [ad["price"]]
        assert got["category"] == [categories()[ad["category"]]]
        body_text = "".join(parsel.Selector(text=got["body"][0]).css("::text").getall())
        assert ad["body"].splitlines()[0].strip() in body_text
        assert "安全提示" not in body_text  # sidebar boilerplate stays outside div.content


def test_last_page_has_no_next_and_out_of_range_is_404(base_url: str) -> None:
    sel = html(base_url + "/c/licai/pn3/")
    assert sel.css("a.next").get() is None
    assert sel.css("a.prev::attr(href)").get() == "/c/licai/pn2/"
    assert fetch(base_url + "/c/licai/pn4/")[0] == 404
    assert fetch(base_url + "/c/nosuch/")[0] == 404
    assert fetch(base_url + "/ad/99999.html")[0] == 404


def test_conditional_get_returns_304_for_unchanged_page(base_url: str) -> None:
    status, headers, _ = fetch(base_url + "/ad/10101.html")
    assert status == 200 and headers.get("ETag") and headers.get("Last-Modified")
    status, _, body = fetch(base_url + "/ad/10101.html", {"If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""
    assert fetch(base_url + "/ad/10101.html", {"If-None-Match": '"stale"'})[0] == 200


def test_api_pages_end_with_has_more_false(base_url: str) -> None:
    profile = next(p for p in crawl_profiles(base_url) if p["kind"] == "json_api")
    page, items = profile["api"]["first_page"], []
    while True:
        status, headers, body = fetch(profile["api"]["url"].format(page=page))
        assert status == 200 and headers["Content-Type"].startswith("application/json")
        data = json.loads(body.decode("utf-8"))["data"]
        assert data["page"] == page
        items += data["items"]
        if not data["has_more"]:
            break
        assert len(data["items"]) == API_PAGE_SIZE
        page += 1
        assert page <= profile["max_pages"]
    assert len(items) == len(listings()) == len({i["id"] for i in items})
    assert page == -(-len(listings()) // API_PAGE_SIZE)
    beyond = json.loads(fetch(profile["api"]["url"].format(page=page + 1))[2])["data"]
    assert beyond["items"] == [] and beyond["has_more"] is False
    assert fetch(base_url + "/api/listings?page=x")[0] == 400
    for item in items:
        assert {
            "id",
            "url",
            "title",
            "description",
            "seller",
            "city",
            "price",
            "category",
            "created_at",
        } <= set(item)
        assert "expected" not in item and "subtype" not in item  # labels never leak to the crawler
        assert set(item["seller"]) == {"name", "phone"}


def test_api_detail_url_points_at_the_running_server(base_url: str) -> None:
    first = json.loads(fetch(base_url + "/api/listings?page=1")[2])["data"]["items"][0]
    assert first["url"].startswith(base_url + "/api/item/")
    status, headers, body = fetch(first["url"])
    assert status == 200 and headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body) == first
    assert fetch(base_url + "/api/item/1")[0] == 404
