"""SSRF guard: a crawl profile must not turn the crawler against the bureau's own network."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from scrapy.resolver import CachingHostnameResolver


def forbidden_ip(address: str) -> bool:
    """True for loopback, private, link-local, CGNAT, multicast, reserved and unspecified addresses."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_host(host: str, port: int | None = None) -> str | None:
    """Why ``host`` may not be fetched (``None`` when every address it resolves to is public)."""
    if not host:
        return "no host"
    try:
        infos = socket.getaddrinfo(host, port or 80, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return None  # unresolvable: the download fails on its own and is recorded as dns_error
    bad = sorted({info[4][0] for info in infos if forbidden_ip(info[4][0])})
    return f"{host} resolves to non-public address {', '.join(bad)}" if bad else None


# Hosts whose every address the connection-time resolver refused, with why: the errback reports these as
# ``ssrf_blocked`` rather than as a plain DNS failure (a crawl runs in a process of its own, so this is per crawl).
REFUSED_AT_CONNECT: dict[str, str] = {}


class _PublicOnly:
    """Passes on the public addresses of a resolution and drops (and remembers) the others."""

    def __init__(self, receiver: Any, host: str) -> None:
        self._receiver = receiver
        self._host = host
        self._passed = 0
        self._dropped: list[str] = []

    def resolutionBegan(self, resolution: Any) -> None:  # noqa: N802 - Twisted's IResolutionReceiver
        self._receiver.resolutionBegan(resolution)

    def addressResolved(self, address: Any) -> None:  # noqa: N802
        host = getattr(address, "host", "")
        try:
            refused = bool(host) and forbidden_ip(host)
        except ValueError:  # not an IP address at all: nothing to connect to that we could vouch for
            refused = True
        if refused:
            self._dropped.append(host)
            return
        self._passed += 1
        self._receiver.addressResolved(address)

    def resolutionComplete(self) -> None:  # noqa: N802
        if self._dropped and not self._passed:
            REFUSED_AT_CONNECT[self._host] = (
                f"{self._host} resolved to non-public address {', '.join(sorted(set(self._dropped)))} "
                "when connecting"
            )
        self._receiver.resolutionComplete()


class GuardedHostnameResolver(CachingHostnameResolver):
    """The downloader's own name resolution, minus non-public addresses (unless the profile allows them).

    Why: :class:`~crawler.middlewares.SSRFGuardMiddleware` resolves a host before the request is sent, and the
    downloader resolves it again to connect; a hostile DNS server can answer with a public address the first time
    and 127.0.0.1 the second (DNS rebinding). Checking the addresses the connection will actually use closes that
    window; the middleware stays as the early, cheap refusal that keeps even robots.txt from being fetched.
    Installed through Scrapy's ``TWISTED_DNS_RESOLVER`` setting, with ``ADSCREEN_ALLOW_PRIVATE`` from the profile.
    """

    def __init__(self, reactor: Any, cache_size: int, allow_private: bool = False) -> None:
        super().__init__(reactor, cache_size)
        self.allow_private = allow_private

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> GuardedHostnameResolver:
        resolver = super().from_crawler(crawler, reactor)  # Scrapy's cache settings
        resolver.allow_private = crawler.settings.getbool("ADSCREEN_ALLOW_PRIVATE")
        return resolver

    def resolveHostName(  # noqa: N802 - Twisted's IHostnameResolver
        self,
        resolutionReceiver: Any,  # noqa: N803
        hostName: str,  # noqa: N803
        portNumber: int = 0,  # noqa: N803
        addressTypes: Any = None,  # noqa: N803
        transportSemantics: str = "TCP",  # noqa: N803
    ) -> Any:
        if not self.allow_private:
            resolutionReceiver = _PublicOnly(resolutionReceiver, hostName)
        return super().resolveHostName(
            resolutionReceiver, hostName, portNumber, addressTypes, transportSemantics
        )
