"""SSRF guard: a crawl profile must not turn the crawler against the bureau's own network.

Two rules, applied both before a request is sent (``SSRFGuardMiddleware``) and to the addresses the downloader
actually connects to (``GuardedHostnameResolver``):

- A non-public address (loopback, private, CGNAT, reserved, …) is refused, unless the profile sets
  ``allow_private`` AND the host is one the profile names (its start URLs' or API URL's hosts, ``allowed_hosts``):
  a demo or intranet site may be crawled, but a link or redirect on it cannot reach another internal host.
- Link-local and cloud-metadata addresses (169.254.0.0/16, fe80::/10, 100.100.100.200, fd00:ec2::254, …),
  unspecified and multicast addresses are refused always, ``allow_private`` or not: nothing legitimate is there,
  and the metadata service hands out credentials.

An IPv6 address that carries an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, NAT64
``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo ``2001::/32``) is judged by that IPv4 address too, since the packets
end up there: ``64:ff9b::7f00:1`` is 127.0.0.1 behind a NAT64 gateway.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from scrapy.resolver import CachingHostnameResolver

IP = ipaddress.IPv4Address | ipaddress.IPv6Address

NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215 local-use NAT64: the embedding varies, refuse
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# Refused even with allow_private: link-local (where the metadata services of most clouds live), the metadata
# addresses outside it, unspecified (0.0.0.0 reaches the local host on Linux), broadcast and multicast.
ALWAYS_REFUSED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "169.254.0.0/16",  # link-local; AWS/GCP/Azure/OCI/Huawei/Baidu 169.254.169.254, Tencent 169.254.0.23
        "fe80::/10",  # IPv6 link-local
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "fd00:ec2::254/128",  # AWS IMDS over IPv6
        "192.0.0.192/32",  # Oracle Cloud Classic metadata
        "0.0.0.0/8",
        "::/128",
        "255.255.255.255/32",
        "224.0.0.0/4",
        "ff00::/8",
    )
)


def parse_ip(address: str | IP) -> IP:
    """An address without its IPv6 zone (``fe80::1%eth0``); ``ValueError`` when it is not an IP address."""
    if isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return address
    return ipaddress.ip_address(str(address).split("%", 1)[0])


def embedded_ipv4(ip: IP) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo client), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64 or (ip in IPV4_COMPATIBLE and int(ip) > 1):  # ::/96 minus :: and ::1 (judged as themselves)
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client, de-obfuscated
    return None


def _forms(address: str | IP) -> list[IP]:
    ip = parse_ip(address)
    inner = embedded_ipv4(ip)
    return [ip] if inner is None else [ip, inner]


def always_refused(address: str | IP) -> bool:
    """Link-local, metadata, unspecified, broadcast or multicast, directly or embedded in an IPv6 address."""
    return any(ip in net for ip in _forms(address) for net in ALWAYS_REFUSED if ip.version == net.version)


def forbidden_ip(address: str | IP) -> bool:
    """True for any address that is not public: loopback, private, link-local, CGNAT, multicast, reserved,
    unspecified, and IPv6 addresses whose embedded IPv4 address is one of those."""
    ip = parse_ip(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip in NAT64_LOCAL:
        return True
    return any(not form.is_global or form.is_multicast for form in _forms(ip))


def normal_host(host: str) -> str:
    """Host as compared with the profile's: lower case, no trailing dot, IP literals in canonical form."""
    host = host.strip().strip("[]").rstrip(".").lower()
    try:
        return parse_ip(host).compressed
    except ValueError:
        return host


def profile_hosts(urls: Iterable[str], extra: Iterable[str] = ()) -> frozenset[str]:
    """The hosts a profile names: those of its start / API URLs plus its ``allowed_hosts``."""
    hosts = {urlsplit(u).hostname or "" for u in urls} | set(extra)
    return frozenset(normal_host(h) for h in hosts if h)


@dataclass(frozen=True)
class SSRFPolicy:
    """What one crawl may connect to (see the module docstring)."""

    allow_private: bool = False
    private_hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_settings(cls, settings: Any) -> SSRFPolicy:
        """From the Scrapy settings ``crawler.settings.build_settings`` fills in from the profile."""
        return cls(
            settings.getbool("ADSCREEN_ALLOW_PRIVATE"),
            frozenset(normal_host(h) for h in settings.getlist("ADSCREEN_PRIVATE_HOSTS")),
        )

    def refusal(self, host: str, address: str | IP) -> str | None:
        """Why ``host`` may not be reached at ``address`` (``None``: it may)."""
        try:
            if always_refused(address):
                return f"{host} resolves to link-local, metadata or multicast address {address}"
            if not forbidden_ip(address):
                return None
        except ValueError:  # not an IP address at all: nothing we could vouch for
            return f"{host} resolves to unparseable address {address!r}"
        if self.allow_private and normal_host(host) in self.private_hosts:
            return None
        if self.allow_private:
            return f"{host} resolves to non-public address {address} and is not a host the profile names"
        return f"{host} resolves to non-public address {address}"

    def check_host(self, host: str, port: int | None = None) -> str | None:
        """Why ``host`` may not be fetched (``None`` when every address it resolves to may be reached)."""
        if not host:
            return "no host"
        try:
            infos = socket.getaddrinfo(host, port or 80, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError):
            return None  # unresolvable: the download fails on its own and is recorded as dns_error
        reasons = sorted({r for info in infos if (r := self.refusal(host, info[4][0]))})
        return "; ".join(reasons) or None


def check_host(host: str, port: int | None = None, policy: SSRFPolicy | None = None) -> str | None:
    """Why ``host`` may not be fetched under ``policy`` (default: public addresses only)."""
    return (policy or SSRFPolicy()).check_host(host, port)


# Hosts whose every address the connection-time resolver refused, with why: the errback reports these as
# ``ssrf_blocked`` rather than as a plain DNS failure (a crawl runs in a process of its own, so this is per crawl).
REFUSED_AT_CONNECT: dict[str, str] = {}


class _Allowed:
    """Passes on the addresses of a resolution the policy allows and drops (and remembers) the others."""

    def __init__(self, receiver: Any, host: str, policy: SSRFPolicy) -> None:
        self._receiver = receiver
        self._host = host
        self._policy = policy
        self._passed = 0
        self._refused: list[str] = []

    def resolutionBegan(self, resolution: Any) -> None:  # noqa: N802 - Twisted's IResolutionReceiver
        self._receiver.resolutionBegan(resolution)

    def addressResolved(self, address: Any) -> None:  # noqa: N802
        reason = self._policy.refusal(self._host, getattr(address, "host", ""))
        if reason:
            self._refused.append(reason)
            return
        self._passed += 1
        self._receiver.addressResolved(address)

    def resolutionComplete(self) -> None:  # noqa: N802
        if self._refused and not self._passed:
            REFUSED_AT_CONNECT[self._host] = "; ".join(sorted(set(self._refused))) + " when connecting"
        self._receiver.resolutionComplete()


class GuardedHostnameResolver(CachingHostnameResolver):
    """The downloader's own name resolution, minus the addresses the crawl's :class:`SSRFPolicy` refuses.

    Why: :class:`~crawler.middlewares.SSRFGuardMiddleware` resolves a host before the request is sent, and the
    downloader resolves it again to connect; a hostile DNS server can answer with a public address the first time
    and 127.0.0.1 the second (DNS rebinding). Checking the addresses the connection will actually use closes that
    window; the middleware stays as the early, cheap refusal that keeps even robots.txt from being fetched.
    Installed through Scrapy's ``TWISTED_DNS_RESOLVER`` setting; the policy comes from ``ADSCREEN_ALLOW_PRIVATE``
    and ``ADSCREEN_PRIVATE_HOSTS``.
    """

    def __init__(self, reactor: Any, cache_size: int, policy: SSRFPolicy | None = None) -> None:
        super().__init__(reactor, cache_size)
        self.policy = policy or SSRFPolicy()

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> GuardedHostnameResolver:
        resolver = super().from_crawler(crawler, reactor)  # Scrapy's cache settings
        resolver.policy = SSRFPolicy.from_settings(crawler.settings)
        return resolver

    def resolveHostName(  # noqa: N802 - Twisted's IHostnameResolver
        self,
        resolutionReceiver: Any,  # noqa: N803
        hostName: str,  # noqa: N803
        portNumber: int = 0,  # noqa: N803
        addressTypes: Any = None,  # noqa: N803
        transportSemantics: str = "TCP",  # noqa: N803
    ) -> Any:
        return super().resolveHostName(
            _Allowed(resolutionReceiver, hostName, self.policy), hostName, portNumber, addressTypes,
            transportSemantics,
        )  # fmt: skip
