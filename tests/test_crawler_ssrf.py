"""SSRF rules: IPv4 addresses embedded in IPv6, the addresses refused even with allow_private, and the hosts a
profile names (both for the early check and for the connection-time resolver)."""

from __future__ import annotations

import ipaddress

import pytest
from twisted.internet.address import IPv4Address, IPv6Address

from crawler.ssrf import (
    REFUSED_AT_CONNECT,
    SSRFPolicy,
    _Allowed,
    always_refused,
    embedded_ipv4,
    forbidden_ip,
    normal_host,
    profile_hosts,
)

# (IPv6 form, the IPv4 address it carries)
EMBEDDED = [
    ("64:ff9b::7f00:1", "127.0.0.1"),  # NAT64
    ("64:ff9b::a00:1", "10.0.0.1"),
    ("2002:7f00:1::", "127.0.0.1"),  # 6to4
    ("2002:c0a8:101::1", "192.168.1.1"),
    ("::127.0.0.1", "127.0.0.1"),  # IPv4-compatible
    ("::10.1.2.3", "10.1.2.3"),
    ("::ffff:127.0.0.1", "127.0.0.1"),  # IPv4-mapped
    ("::ffff:10.0.0.1", "10.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"),  # Teredo, client obfuscated
]


@pytest.mark.parametrize(("v6", "v4"), EMBEDDED)
def test_ipv4_embedded_in_ipv6_is_found_and_refused(v6: str, v4: str) -> None:
    assert embedded_ipv4(ipaddress.ip_address(v6)) == ipaddress.ip_address(v4)
    assert forbidden_ip(v6)
    assert SSRFPolicy().refusal("evil.example", v6)


@pytest.mark.parametrize(
    "v6", ["64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "::169.254.169.254", "::ffff:169.254.169.254",
           "::ffff:100.100.100.200", "64:ff9b::6464:64c8"],
)  # fmt: skip
def test_metadata_embedded_in_ipv6_is_refused_even_with_allow_private(v6: str) -> None:
    assert always_refused(v6)
    assert SSRFPolicy(True, frozenset({"evil.example"})).refusal("evil.example", v6)


@pytest.mark.parametrize("v6", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8", "2001:4860:4860::8888"])
def test_public_ipv4_behind_ipv6_stays_allowed(v6: str) -> None:
    assert not forbidden_ip(v6) and SSRFPolicy().refusal("example.com", v6) is None


def test_local_use_nat64_prefix_is_refused() -> None:
    assert forbidden_ip("64:ff9b:1::808:808")


@pytest.mark.parametrize(
    "ip", ["169.254.169.254", "169.254.0.23", "169.254.170.2", "100.100.100.200", "fd00:ec2::254", "fe80::1",
           "fe80::1%eth0", "192.0.0.192", "0.0.0.0", "::", "224.0.0.1", "ff02::1", "255.255.255.255"],
)  # fmt: skip
def test_link_local_and_metadata_refused_even_for_a_named_host(ip: str) -> None:
    policy = SSRFPolicy(allow_private=True, private_hosts=frozenset({"intranet.local"}))
    assert always_refused(ip)
    assert policy.refusal("intranet.local", ip)


def test_allow_private_admits_only_the_hosts_the_profile_names() -> None:
    hosts = profile_hosts(["http://127.0.0.1:8765/c/licai/", "http://Intranet.Local./list"], ["[::1]"])
    assert hosts == {"127.0.0.1", "intranet.local", "::1"}
    policy = SSRFPolicy(allow_private=True, private_hosts=hosts)
    assert policy.refusal("127.0.0.1", "127.0.0.1") is None
    assert policy.refusal("INTRANET.local", "10.0.0.5") is None
    assert policy.refusal("::1", "::1") is None
    refused = policy.refusal("localhost", "127.0.0.1")  # another name for the same machine: not named
    assert refused and "not a host the profile names" in refused
    assert policy.refusal("redis.internal", "10.0.0.7")
    assert policy.refusal("example.com", "93.184.215.14") is None  # public stays public for any host
    assert SSRFPolicy().refusal("127.0.0.1", "127.0.0.1")  # without allow_private, naming it is not enough


def test_policy_check_host_resolves() -> None:
    named = SSRFPolicy(True, frozenset({"127.0.0.1"}))
    assert named.check_host("127.0.0.1") is None
    assert "127.0.0.1" in (SSRFPolicy().check_host("127.0.0.1") or "")
    assert named.check_host("localhost")  # resolves to loopback, but the profile named 127.0.0.1 only
    assert SSRFPolicy(True, frozenset({"169.254.169.254"})).check_host("169.254.169.254")
    assert normal_host("[::FFFF:7f00:1]") == "::ffff:7f00:1"


class _Receiver:
    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.began = self.completed = False

    def resolutionBegan(self, resolution: object) -> None:  # noqa: N802
        self.began = True

    def addressResolved(self, address: object) -> None:  # noqa: N802
        self.addresses.append(address.host)  # type: ignore[attr-defined]

    def resolutionComplete(self) -> None:  # noqa: N802
        self.completed = True


@pytest.mark.parametrize(
    ("policy", "host", "answers", "passed"),
    [
        (SSRFPolicy(), "rebind.example", ["93.184.215.14", "127.0.0.1"], ["93.184.215.14"]),
        (SSRFPolicy(), "nat64.example", ["64:ff9b::7f00:1"], []),
        (SSRFPolicy(True, frozenset({"127.0.0.1"})), "127.0.0.1", ["127.0.0.1"], ["127.0.0.1"]),
        (SSRFPolicy(True, frozenset({"127.0.0.1"})), "localhost", ["127.0.0.1", "::1"], []),
        (SSRFPolicy(True, frozenset({"meta.example"})), "meta.example", ["169.254.169.254", "fd00:ec2::254"], []),
    ],
)
def test_connection_time_resolver_applies_the_same_policy(
    policy: SSRFPolicy, host: str, answers: list[str], passed: list[str]
) -> None:
    receiver = _Receiver()
    guarded = _Allowed(receiver, host, policy)
    guarded.resolutionBegan(object())
    for answer in answers:
        cls = IPv6Address if ":" in answer else IPv4Address
        guarded.addressResolved(cls("TCP", answer, 80))
    guarded.resolutionComplete()
    assert receiver.began and receiver.completed and receiver.addresses == passed
    if not passed:
        assert host in REFUSED_AT_CONNECT and REFUSED_AT_CONNECT[host].endswith("when connecting")
