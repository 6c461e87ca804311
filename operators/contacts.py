"""WeChat IDs, QQ numbers, e-mail addresses, URLs and registered domains.

WeChat and QQ need a cue word, since an ID alone is just letters and digits: 微信 and its dodges (薇信, 威信, V信,
vx, wx, 加V, 🛰 …), QQ / 扣扣 / 企鹅. A WeChat ID follows WeChat's own rule (6–20 characters, a letter first, then
letters, digits, ``_`` or ``-``), or is a phone number; written one character at a time with spaces in between, it
is read as one ID. Domains are reduced to the registered domain with the Public Suffix List that
``publicsuffixlist`` ships (offline: no download), so www.x.com.cn and m.x.com.cn are one identifier, x.com.cn.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from operators import phones

WECHAT_CUE = (
    r"(?:微信号?|薇信|威信|徽信|維信|维信|微新|薇芯|薇锌|微心|V信|v信|weixin|wechat|WeChat|"
    r"(?<![A-Za-z])(?:VX|Vx|vX|vx|WX|Wx|wX|wx|V|v)(?![A-Za-z])|加[微薇威Vv]|薇|🛰|💚)"
)
# between the cue and the ID: 号, a colon, 是/为, spaces, hearts and stars (at most five characters)
_GAP = r"(?:同号|号码)?[ \t:：号是为\-~❤♥❥★☆✨💕♡✔→＞>（(]{0,5}"
_ID = r"(?P<id>[A-Za-z](?: [A-Za-z0-9_-]){5,19}(?![A-Za-z0-9_-])|[A-Za-z][A-Za-z0-9_-]{5,19}(?![A-Za-z0-9_-]))"
_WECHAT = re.compile(WECHAT_CUE + r"(?P<gap>" + _GAP + r")" + r"(?:" + _ID + r"|(?P<num>[0-9][0-9 \-]{9,16}[0-9]))")
_QQ = re.compile(
    r"(?:(?<![A-Za-z])(?:QQ|qq|Qq|qQ|Q|q)(?![A-Za-z])|扣扣|企鹅|抠抠)(?:群|号码|号)?[ \t:：是为]{0,3}"
    r"(?P<num>[1-9](?:[ -]?[0-9]){4,10})(?![0-9])"
)
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,12}(?![A-Za-z])")
_URL = re.compile(
    r"(?<![A-Za-z0-9@._-])(?P<url>(?P<scheme>https?://)?(?P<host>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,12})(?::[0-9]{2,5})?(?P<path>/[A-Za-z0-9._~%!$&'()*+,;=:@/?#-]*)?)(?![A-Za-z0-9@-])"
)
# bare domains (no scheme, no www.) count only under these suffixes: 9.8 or setup.py is not a site
BARE_SUFFIXES = frozenset(
    "com cn net org top xyz vip cc info io co me app shop site online club ltd wang biz tv hk com.cn net.cn org.cn "
    "gov.cn edu.cn ac.cn".split()
)


@lru_cache(maxsize=1)
def _psl():  # noqa: ANN202 - publicsuffixlist has no stubs
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList(accept_unknown=False)


@lru_cache(maxsize=65536)
def registered_domain(host: str) -> str | None:
    """``www.Xin-Rui.com.cn`` → ``xin-rui.com.cn``; None for a host under no known public suffix."""
    host = host.lower().rstrip(".")
    if not host or host.replace(".", "").isdigit():
        return None
    return _psl().privatesuffix(host)


def find_wechat(folded: str) -> Iterator[tuple[str, str, int, int]]:
    for m in _WECHAT.finditer(folded):
        cue_end = m.start("gap")
        cue = folded[m.start() : cue_end]
        if cue in ("V", "v", "薇") and not m.group("gap"):
            continue  # a lone V or 薇 needs a colon or a space after it to be a cue
        if m.group("id"):
            value = m.group("id").replace(" ", "").lower()
            yield "wechat", value, m.start("id"), m.end("id")
        else:
            num = m.group("num")
            digits = re.sub(r"[ -]", "", num)
            if len(digits) == 11 and digits[0] == "1" and phones.validate(digits):
                yield "wechat", digits, m.start("num"), m.start("num") + len(num.rstrip(" -"))


def find_qq(folded: str) -> Iterator[tuple[str, str, int, int]]:
    for m in _QQ.finditer(folded):
        digits = re.sub(r"[ -]", "", m.group("num"))
        if 5 <= len(digits) <= 11:
            yield "qq", digits, m.start("num"), m.end("num")


def find_email(folded: str) -> Iterator[tuple[str, str, int, int]]:
    for m in _EMAIL.finditer(folded):
        value = m.group().lower()
        yield "email", value, m.start(), m.end()
        local, _, domain = value.partition("@")
        if domain in ("qq.com", "vip.qq.com", "foxmail.com") and local.isdigit() and 5 <= len(local) <= 11:
            yield "qq", local, m.start(), m.start() + len(local)


def find_web(folded: str) -> Iterator[tuple[str, str, int, int]]:
    """(kind, value, start, end) for URLs (``url``: host + path, lower-case host) and their registered domains."""
    for m in _URL.finditer(folded):
        host = m.group("host")
        explicit = bool(m.group("scheme")) or host.lower().startswith("www.")
        domain = registered_domain(host)
        if domain is None:
            continue
        if not explicit:
            suffix = domain.split(".", 1)[1] if "." in domain else ""
            if suffix not in BARE_SUFFIXES:
                continue
        start, end = m.start("url"), m.end("url")
        text = m.group("url").rstrip(".,;:!?)'")
        end = start + len(text)
        path = (m.group("path") or "").rstrip(".,;:!?)'")
        if path not in ("", "/"):  # a bare host is its domain; a page on it is a URL as well
            yield "url", host.lower() + path, start, end
        yield "domain", domain, m.start("host"), m.end("host")
