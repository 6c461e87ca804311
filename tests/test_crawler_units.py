"""Unit tests of the crawler's pure parts: charset detection, text cleaning, selectors, SSRF and URL rules."""

from __future__ import annotations

import codecs
import gzip
from datetime import datetime

import pytest
from parsel import Selector
from scrapy import Request
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import HtmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from crawler.encoding import TRUST, DecodeError, decode_body, header_charset, plausibility
from crawler.extract import (
    clean_text,
    dotted,
    main_text,
    parse_datetime,
    select_links,
    select_text,
    text_from_markup,
)
from crawler.rejections import SSRFBlocked, classify_failure
from crawler.ssrf import check_host, forbidden_ip
from crawler.urls import canonical_url
from crawler.validation import binary_reason, size_reason
from tests.testsite import CHARSET_PAGES

ZH = "本公司推出高收益理财产品，年化收益率百分之十八，保本保息，稳赚不赔，欢迎投资咨询。联系人王经理。"
ZH_TW = "本公司推出高收益理財產品，年化收益率百分之十八，保本保息，穩賺不賠，歡迎投資諮詢。聯系人王經理。"


@pytest.mark.parametrize("declared", ["gbk", "utf-8", None, "iso-8859-1"])
def test_gbk_body_decodes_whatever_the_label(declared: str | None) -> None:
    text, codec = decode_body(ZH.encode("gbk"), declared)
    assert text == ZH
    assert codec == "gb18030"


def test_big5_detected_when_mislabelled() -> None:
    text, codec = decode_body(ZH_TW.encode("big5"), "utf-8")
    assert text == ZH_TW and codec == "big5hkscs"


@pytest.mark.parametrize(
    ("text", "real", "label"),
    [(text, real, label) for text, real, label in CHARSET_PAGES.values()]
    + [(ZH_TW, "big5", "gbk"), (ZH_TW, "big5", "gb2312"), (ZH, "gbk", "big5"), (ZH_TW, "utf-8", "gbk")],
)
def test_declared_charset_that_decodes_into_garble_is_not_trusted(text: str, real: str, label: str) -> None:
    body = f'<html><head><meta charset="{label}"></head><body><p>{text}</p></body></html>'.encode(real)
    got, codec = decode_body(body, label)
    assert f"<p>{text}</p>" in got, got
    assert codec == {"big5": "big5hkscs", "gbk": "gb18030", "utf-8": "utf-8"}[real]


def test_plausibility_separates_chinese_from_garble() -> None:
    assert plausibility(ZH) == plausibility(ZH_TW) == plausibility("plain ASCII") == 1.0
    assert plausibility(ZH_TW.encode("big5").decode("gb18030")) < 0.5
    assert plausibility("到期保本退出。".encode("gbk").decode("big5")) < TRUST


def test_gb18030_only_characters_and_meta_charset() -> None:
    body = b'<meta charset="gb2312">' + "㐀㐁€".encode("gb18030")
    assert decode_body(body)[0].endswith("㐀㐁€")


def test_utf8_bom_and_override() -> None:
    assert decode_body(codecs.BOM_UTF8 + ZH.encode("utf-8"), "gbk") == (ZH, "utf-8-sig")
    text, codec = decode_body(ZH.encode("gbk"), "utf-8", override="gbk")
    assert text == ZH and codec == "gb18030"
    with pytest.raises(DecodeError):
        decode_body(b"x", override="no-such-charset")


def test_header_charset() -> None:
    assert header_charset('text/html; charset="GBK"') == "GBK"
    assert header_charset("text/html") is None


def test_clean_text_removes_invisible_and_collapses_space() -> None:
    raw = "保\u200b本\u200c保\u200d息\ufeff \t\u3000 年化\u00ad\n\n\n  二十 \x07"
    assert clean_text(raw) == "保本保息 年化\n二十"


def test_clean_text_drops_lone_surrogates() -> None:
    assert clean_text("稳赚\ud800不赔\udfff") == "稳赚不赔"
    assert text_from_markup("<p>保本\udc00保息</p>") == "保本保息"


def test_main_text_has_no_script_style_or_markup() -> None:
    html = (
        "<html><head><style>p{}</style></head><body><nav>菜单</nav><div class='c'><p>保本<b>高息</b></p>"
        "<script>var x='SECRET';</script><!-- comment --><p>月月返利</p></div><footer>版权</footer></body></html>"
    )
    sel = Selector(text=html)
    text, fallback = main_text(sel, "div.c")
    assert text == "保本高息\n月月返利" and not fallback
    text, fallback = main_text(sel, "div.missing")
    assert fallback and "SECRET" not in text and "菜单" not in text and "保本高息" in text
    assert "<" not in text


def test_select_text_css_xpath_and_links() -> None:
    sel = Selector(
        text="<h1> 标题 <i>一</i></h1><a class='n' href='/p2'>下</a><ul><li><a href='/a'>x</a></li></ul>"
    )
    assert select_text(sel, "h1") == "标题 一"
    assert select_text(sel, "h1::text") == "标题"
    assert select_text(sel, "xpath://h1/i/text()") == "一"
    assert select_text(sel, ".absent::text") is None
    assert select_links(sel, "a.n::attr(href)") == ["/p2"]
    assert select_links(sel, "ul a") == ["/a"]


def test_text_from_markup_strips_html_from_json_fields() -> None:
    assert text_from_markup("<p>保本</p><script>evil()</script>") == "保本"
    assert text_from_markup("年化 5% < 10%") == "年化 5% < 10%"
    assert text_from_markup(None) == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("发布时间：2024年5月1日 10:30", "2024-05-01T10:30:00+08:00"),
        ("2024-05-01", "2024-05-01T00:00:00+08:00"),
        ("2024-05-02T09:00:00+08:00", "2024-05-02T09:00:00+08:00"),
        (1714521600, "2024-05-01T00:00:00+00:00"),
        (1714521600000, "2024-05-01T00:00:00+00:00"),
    ],
)
def test_parse_datetime(value: object, expected: str) -> None:
    parsed = parse_datetime(value)
    assert parsed is not None and parsed == datetime.fromisoformat(expected)


def test_parse_datetime_garbage() -> None:
    assert parse_datetime("三天前") is None
    assert parse_datetime("2024年13月45日") is None


def test_dotted() -> None:
    data = {"data": {"items": [{"a": 1}], "more": False}}
    assert dotted(data, "data.items.0.a") == 1
    assert dotted(data, "data.more") is False
    assert dotted(data, "data.x.y") is None


@pytest.mark.parametrize("ip", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.4", "169.254.169.254",
                                "100.64.0.1", "0.0.0.0", "::1", "fe80::1", "::ffff:127.0.0.1", "fc00::1"])  # fmt: skip
def test_forbidden_addresses(ip: str) -> None:
    assert forbidden_ip(ip)


def test_public_addresses_allowed() -> None:
    assert not forbidden_ip("8.8.8.8") and not forbidden_ip("2001:4860:4860::8888")
    assert check_host("localhost") is not None
    assert "127.0.0.1" in (check_host("127.0.0.1") or "")


def test_canonical_url_drops_tracking_and_fragment() -> None:
    assert (
        canonical_url("http://Example.com/ad/1?utm_source=x&b=2&a=1#top") == "http://example.com/ad/1?a=1&b=2"
    )
    assert canonical_url("http://example.com/ad/1?from_date=1") == "http://example.com/ad/1?from_date=1"


def test_validation_rules() -> None:
    assert binary_reason(b"\x89PNG\r\n\x1a\n....", "text/html")
    assert binary_reason(b"<html>", "application/octet-stream")
    assert binary_reason(b"ab\x00cd", None)
    assert binary_reason(codecs.BOM_UTF16_LE + "保本".encode("utf-16-le"), "text/html") is None
    assert binary_reason("<html>保本</html>".encode("gbk"), "text/html; charset=gbk") is None
    assert size_reason(b"x" * 11, 10) and size_reason(b"x" * 10, 10) is None


def _bomb() -> IgnoreRequest:
    """What HttpCompressionMiddleware raises when inflating passes DOWNLOAD_MAXSIZE."""
    try:
        gunzip(gzip.compress(b"0" * 100_000), max_size=1000)
    except Exception as cause:  # noqa: BLE001 - Scrapy's private _DecompressionMaxSizeExceeded
        exc = IgnoreRequest("Ignored response <200 http://example.com/a> because its body exceeded DOWNLOAD_MAXSIZE")
        exc.__cause__ = cause
        return exc
    raise AssertionError("gunzip did not stop at max_size")


def test_classify_failures() -> None:
    request = Request("http://example.com/a")
    response = HtmlResponse("http://example.com/a", status=503, body=b"down", request=request)
    cases = [
        (HttpError(response, "bad"), "http_error"),
        (SSRFBlocked("private"), "ssrf_blocked"),
        (IgnoreRequest("Forbidden by robots.txt"), "robots"),
        (
            DownloadCancelledError("Expected to receive 9 bytes which is larger than download max size"),
            "too_large",
        ),
        (ConnectionRefusedError("refused"), "network_error"),
        (DownloadTimeoutError("Getting http://example.com/a took longer than 30 seconds."), "timeout"),
        (TimeoutError("User timeout caused connection failure."), "timeout"),
        (TCPTimedOutError(), "timeout"),
        (_bomb(), "too_large"),
        (DNSLookupError("no results for hostname lookup: nowhere.test"), "dns_error"),
        (CannotResolveHostError("DNS lookup failed: nowhere.test"), "dns_error"),
    ]
    for exc, reason in cases:
        failure = Failure(exc)
        failure.request = request
        assert classify_failure(failure)[0] == reason
    assert classify_failure(Failure(HttpError(response, "bad")))[2] == 503


def test_crawler_takes_its_settings_as_arguments() -> None:
    """Only the subprocess entry point (crawler/__main__.py) may read the application settings; everything else
    gets them through the Scrapy settings built by crawler.settings.build_settings."""
    import ast
    from pathlib import Path

    import crawler

    root = Path(crawler.__file__).parent
    for path in root.rglob("*.py"):
        if path.name == "__main__.py":
            continue
        names = {n.id for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.Name)}
        assert "get_settings" not in names, path


def test_build_settings_carries_the_application_settings() -> None:
    from adscreen.settings import Settings
    from crawler.settings import build_settings
    from store.sources import parse_profile

    app = Settings(database_url="sqlite:///x.db", store_batch=7, broker_url=None, user_agent="ua/1")
    profile = parse_profile({"name": "s", "kind": "html", "start_urls": ["http://intra.example/l"],
                             "list": {"detail_link": "a"}, "allow_private": True, "allowed_hosts": ["cdn.intra"]})  # fmt: skip
    built = build_settings(app, profile)
    assert built["ADSCREEN_STORE_BATCH"] == 7 and built["ADSCREEN_EMBEDDED"] is True
    assert built["ADSCREEN_DATABASE_URL"] == "sqlite:///x.db" and built["USER_AGENT"] == "ua/1"
    assert built["ADSCREEN_ALLOW_PRIVATE"] is True and built["ADSCREEN_PRIVATE_HOSTS"] == ["cdn.intra", "intra.example"]
    trial = build_settings(app, profile, trial=True)
    assert "crawler.pipelines.StoragePipeline" not in trial["ITEM_PIPELINES"] and trial["ADSCREEN_TRIAL"]
