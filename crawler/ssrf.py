"""SSRF guard: a crawl profile must not turn the crawler against the bureau's own network."""

from __future__ import annotations

import ipaddress
import socket


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
