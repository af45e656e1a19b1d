"""SSRF guard for admin-typed webhook URLs: vet the scheme, the host and every address it resolves to.

Run it when an endpoint is saved and again right before every send (DNS can change in between). What it
cannot stop on its own is DNS rebinding between our lookup and the HTTP client's own lookup; `delivery`
narrows that by connecting to the vetted address (see `transport.PinnedAdapter`). An egress proxy such as
stripe/smokescreen remains the robust option (Standard Webhooks spec, "SSRF").
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

import idna

from webhooks.errors import UnsafeReason as U
from webhooks.errors import UnsafeTargetError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) → the address strings it resolves to. Injected in tests; `resolve_host` in production.
Resolver = Callable[[str, int], Sequence[str]]

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "metadata.goog", "instance-data"})
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)
# Extra ranges that Python's is_global misses or that are documentation/benchmark-only. fec0::/10 is IPv6
# site-local (deprecated by RFC 3879, still some networks' internal range) and 3fff::/20 documentation
# (RFC 9637): Python 3.11 calls both global (security audit 10).
_EXTRA_BLOCKED = tuple(
    ipaddress.ip_network(n)
    for n in (
        "100.64.0.0/10",
        "192.0.0.0/24",
        "198.18.0.0/15",
        "64:ff9b:1::/48",
        "2002::/16",
        "fec0::/10",
        "3fff::/20",
    )
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True, kw_only=True)
class SafeTarget:
    """A vetted URL: connect only to ``addresses`` (in order) and send ``Host: host_header``."""

    url: str
    scheme: str
    host: str
    port: int
    host_header: str
    addresses: tuple[IPAddress, ...]


def resolve_host(host: str, port: int) -> list[str]:
    """Resolve with the system resolver (all families); returns address strings without scope ids."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]).split("%", 1)[0] for info in infos]


def parse_legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Parse the inet_aton forms ("2130706433", "0177.0.0.1", "0x7f.1", "127.1") that resolvers accept."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                values.append(int(part[2:], 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            else:
                values.append(int(part, 10) if part.isdigit() else -1)
        except ValueError:
            return None
    if any(v < 0 for v in values):
        return None
    # The last part fills all remaining bytes (inet_aton semantics).
    *head, last = values
    if any(v > 255 for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    number = 0
    for v in head:
        number = number << 8 | v
    number = number << (8 * (4 - len(head))) | last
    return ipaddress.IPv4Address(number)


def blocked_reason(address: IPAddress) -> str | None:
    """Return why ``address`` must not be contacted by default, or None if it is a public unicast address."""
    ip = address
    if isinstance(ip, ipaddress.IPv6Address):
        # ::ffff:127.0.0.1 reports loopback=False: judge the embedded IPv4 address instead.
        ip = ip.ipv4_mapped or ip.sixtofour or _nat64(ip) or ip
    if ip in METADATA_ADDRESSES or address in METADATA_ADDRESSES:
        return "metadata"
    checks = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link_local", ip.is_link_local),
        ("multicast", ip.is_multicast),  # 224.0.0.1 reports is_global=True
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("special", any(ip in net for net in _EXTRA_BLOCKED if net.version == ip.version)),
        ("not_global", not ip.is_global),  # catches CGNAT 100.64/10 (neither private nor global)
    )
    return next((name for name, hit in checks if hit), None)


def _nat64(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # 64:ff9b::/96 embeds an IPv4 address that a NAT64 gateway would reach.
    if ip in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _split(url: str, require_https: bool) -> SplitResult:
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url.strip()):
        # urlsplit silently drops tabs and newlines (so does a browser), requests percent-encodes them: the
        # URL vetted, the URL stored and shown, and the URL sent would each read differently.
        raise UnsafeTargetError(U.BAD_URL, "whitespace or a control character in the URL")
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise UnsafeTargetError(U.BAD_URL, "unparseable URL") from exc
    try:
        port = parts.port  # parsed lazily: out of range or not a number raises here
    except ValueError as exc:
        raise UnsafeTargetError(U.BAD_PORT) from exc
    if port == 0:
        raise UnsafeTargetError(U.BAD_PORT)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise UnsafeTargetError(U.BAD_SCHEME, scheme or "(none)")
    if require_https and scheme != "https":
        raise UnsafeTargetError(U.HTTPS_REQUIRED)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeTargetError(U.CREDENTIALS_IN_URL)
    if not parts.hostname:
        raise UnsafeTargetError(U.MISSING_HOST)
    return parts


def _a_label(host: str) -> str:
    """The host as DNS and HTTP carry it: a Unicode name becomes its IDNA (UTS #46) A-label, so what is
    vetted, what is resolved and the Host header sent are one ASCII name. A name kept in Unicode went into
    the pinned request's Host header, which http.client encodes as Latin-1: 'https://例え.jp/' raised
    UnicodeEncodeError out of the delivery (stopping the delivery run for every workspace) and 'exämple.com'
    went out as bytes no server reads as that host. UTS #46 also folds look-alikes a resolver would fold
    anyway ('127。0。0。1', '①②⑦.0.0.1' are 127.0.0.1 here, not names). ASCII names are left as they
    are (internal names with underscores still resolve)."""
    if host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii").rstrip(".").lower()
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        raise UnsafeTargetError(U.BAD_URL, "a host name IDNA cannot encode") from exc


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return parse_legacy_ipv4(host)


def check_url(
    url: str,
    *,
    allow_private: bool = False,
    require_https: bool = False,
    resolver: Resolver = resolve_host,
) -> SafeTarget:
    """Vet ``url`` and return where to connect.

    With ``allow_private`` (tests, on-prem installs) internal addresses pass but metadata endpoints still
    do not: nothing legitimate receives our webhooks on 169.254.169.254.

    Raises:
        UnsafeTargetError: bad_url, bad_port, bad_scheme, https_required, credentials_in_url, missing_host,
            metadata_host, unresolvable or blocked_address.
    """
    parts = _split(url, require_https)
    host = _a_label((parts.hostname or "").rstrip(".").lower())
    port = parts.port or _DEFAULT_PORTS[parts.scheme.lower()]
    if host in METADATA_HOSTS:
        raise UnsafeTargetError(U.METADATA_HOST, host)
    literal = _literal(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            raw = resolver(host, port)
            addresses = [ipaddress.ip_address(a) for a in raw]
        except (OSError, ValueError, UnicodeError) as exc:
            raise UnsafeTargetError(U.UNRESOLVABLE, host) from exc
        if not addresses:
            raise UnsafeTargetError(U.UNRESOLVABLE, host)
    for address in addresses:
        reason = blocked_reason(address)
        if reason == "metadata" or (reason is not None and not allow_private):
            # The message reaches whoever typed the URL (form, API, delivery log): name the address only if
            # they typed it. A resolved one would map internal host names (or a CNAME they point at one) to
            # the addresses of our network.
            shown = address if literal is not None else host
            raise UnsafeTargetError(U.BLOCKED_ADDRESS, f"{shown} is {reason}")
    default_port = port == _DEFAULT_PORTS[parts.scheme.lower()]
    bracketed = f"[{host}]" if ":" in host else host
    return SafeTarget(
        url=url.strip(),
        scheme=parts.scheme.lower(),
        host=host,
        port=port,
        host_header=bracketed if default_port else f"{bracketed}:{port}",
        addresses=tuple(dict.fromkeys(addresses)),
    )
