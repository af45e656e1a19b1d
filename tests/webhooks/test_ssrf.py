"""SSRF guard: schemes, credentials, literal and resolved addresses, tricky encodings, the allowlist."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest

from webhooks.errors import UnsafeTargetError
from webhooks.ssrf import blocked_reason, check_url, parse_legacy_ipv4

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


class FakeResolver:
    """A DNS table; unknown names fail like NXDOMAIN. Records every lookup."""

    def __init__(self, table: dict[str, Sequence[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        if host not in self.table:
            raise OSError("NXDOMAIN")
        return self.table[host]


RESOLVER = FakeResolver(
    {
        "hooks.example.com": [PUBLIC_V4, PUBLIC_V6],
        "localhost": ["127.0.0.1", "::1"],
        "internal.example.com": ["10.1.2.3"],
        "mixed.example.com": [PUBLIC_V4, "192.168.1.10"],  # one bad address spoils the lot
        "mapped.example.com": ["::ffff:169.254.169.254"],
        "empty.example.com": [],
    }
)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "http://localhost:8080/hook",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.0.1/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://0.0.0.0/",
        "http://[::]/",
        "http://240.0.0.1/",
        "http://255.255.255.255/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://192.0.2.10/",
        "http://198.18.0.1/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://0x7f.0.0.1/",
        "http://0x7f000001/",
        "http://127.1/",
        "http://017700000001/",
        "http://internal.example.com/",
        "http://mixed.example.com/",
        "http://mapped.example.com/",
    ],
)
def test_internal_targets_are_blocked(url: str) -> None:
    with pytest.raises(UnsafeTargetError) as info:
        check_url(url, resolver=RESOLVER)
    assert info.value.reason == "blocked_address"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example.com/", "bad_scheme"),
        ("file:///etc/passwd", "bad_scheme"),
        ("gopher://hooks.example.com/", "bad_scheme"),
        ("hooks.example.com/path", "bad_scheme"),
        ("https://user:pw@hooks.example.com/", "credentials_in_url"),
        ("https://user@hooks.example.com/", "credentials_in_url"),
        ("https:///path", "missing_host"),
        ("https://hooks.example.com:99999/", "bad_port"),
        ("https://hooks.example.com:http/", "bad_port"),
        ("https://hooks.example.com:0/", "bad_port"),
        ("http://[::1/", "bad_url"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata_host"),
        ("http://METADATA.GOOGLE.INTERNAL./", "metadata_host"),
        ("https://nxdomain.example.com/", "unresolvable"),
        ("https://empty.example.com/", "unresolvable"),
    ],
)
def test_refusal_reasons(url: str, reason: str) -> None:
    with pytest.raises(UnsafeTargetError) as info:
        check_url(url, resolver=RESOLVER)
    assert info.value.reason == reason


def test_public_target_passes_with_every_address_checked() -> None:
    target = check_url("https://Hooks.Example.com/hs?x=1", resolver=RESOLVER)
    assert target.host == "hooks.example.com"
    assert target.port == 443
    assert target.host_header == "hooks.example.com"
    assert target.addresses == (ipaddress.ip_address(PUBLIC_V4), ipaddress.ip_address(PUBLIC_V6))


def test_non_default_port_goes_into_host_header() -> None:
    target = check_url("http://hooks.example.com:8443/", resolver=RESOLVER)
    assert (target.port, target.host_header) == (8443, "hooks.example.com:8443")


def test_literal_public_ip_is_not_resolved() -> None:
    resolver = FakeResolver({})
    target = check_url(f"https://[{PUBLIC_V6}]/", resolver=resolver)
    assert target.host_header == f"[{PUBLIC_V6}]"
    assert resolver.calls == []


def test_require_https() -> None:
    with pytest.raises(UnsafeTargetError, match="https_required"):
        check_url("http://hooks.example.com/", require_https=True, resolver=RESOLVER)
    assert check_url("https://hooks.example.com/", require_https=True, resolver=RESOLVER).scheme == "https"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5000/",
        "http://localhost/",
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://100.64.0.1/",
    ],
)
def test_allow_private_lets_internal_targets_through(url: str) -> None:
    assert check_url(url, allow_private=True, resolver=RESOLVER).addresses


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/", "http://[fd00:ec2::254]/", "http://mapped.example.com/", "http://metadata/"],
)
def test_metadata_endpoints_stay_blocked_even_when_private_allowed(url: str) -> None:
    with pytest.raises(UnsafeTargetError) as info:
        check_url(url, allow_private=True, resolver=RESOLVER)
    assert info.value.reason in {"blocked_address", "metadata_host"}


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("1.2.3.4", "1.2.3.4"),
        ("08.1.1.1", None),
        ("1.2.3.256", None),
        ("1.2.3.4.5", None),
        ("example.com", None),
        ("", None),
    ],
)
def test_parse_legacy_ipv4(host: str, expected: str | None) -> None:
    parsed = parse_legacy_ipv4(host)
    assert (str(parsed) if parsed else None) == expected


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("8.8.8.8", None),
        (PUBLIC_V6, None),
        ("100.64.0.1", "special"),  # CGNAT: neither private nor global
        ("224.0.0.1", "multicast"),  # reports is_global=True
        ("::ffff:127.0.0.1", "loopback"),  # reports is_loopback=False before unwrapping
        ("169.254.169.254", "metadata"),
    ],
)
def test_blocked_reason(address: str, reason: str | None) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) == reason
