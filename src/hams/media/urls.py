"""URL safety guard: decides whether the server may fetch from, or post to, a user-given URL.

The guard resolves the host once and checks every address it resolves to, so that a URL cannot
make the server reach loopback, private networks or cloud metadata services (SSRF). Callers then
connect to the checked addresses themselves (see ``hams.media.fetch``), leaving no second DNS
lookup that an attacker could rebind.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from hams.errors import MediaFetchFailed, UrlRefused

if TYPE_CHECKING:
    from hams.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOSTNAME = re.compile(r"[a-z0-9_.-]+")
_IPV4_NUMBER = re.compile(r"0x[0-9a-f]*|[0-9]+")
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Checked in this order, so that the message names the most telling property.
_KINDS = (
    ("is_unspecified", "unspecified"),
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_multicast", "multicast"),
    ("is_site_local", "site-local"),
    ("is_private", "private"),
    ("is_reserved", "reserved"),
)


def _system_resolver(host: str, port: int) -> list[str]:
    """Resolve through the system, as the HTTP client would, keeping each address once."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class UrlPolicy:
    """What the guard lets through; the default refuses every non-public address."""

    allow_private: bool = False
    allowlist: frozenset[str] = frozenset()
    resolver: Callable[[str, int], list[str]] = field(default=_system_resolver)


def url_policy(settings: Settings) -> UrlPolicy:
    """The policy the settings ask for (HAMS_ALLOW_PRIVATE_URLS, HAMS_URL_ALLOWLIST): media
    URLs, webhooks and LLM endpoints are all checked by it."""
    return UrlPolicy(allow_private=settings.allow_private_urls,
                     allowlist=frozenset(settings.url_allowlist))


@dataclass(frozen=True)
class ResolvedUrl:
    """A URL that passed the guard, with the addresses the caller must connect to."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: list[str]


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """IPv4 addresses an IPv6 form routes to, since those are what the packets finally reach."""
    if ip.ipv4_mapped is not None:
        return (ip.ipv4_mapped,)
    if ip.sixtofour is not None:
        return (ip.sixtofour,)
    if ip.teredo is not None:
        return ip.teredo
    if ip in _NAT64:
        return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)
    return ()


def address_problem(ip: IPAddress) -> str | None:
    """Name what makes an address unsafe to reach from the server; None when it is public."""
    if ip.is_unspecified or ip.is_loopback:
        return "unspecified" if ip.is_unspecified else "loopback"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded:
            problems = [p for p in map(address_problem, embedded) if p]
            return problems[0] if problems else None
    for attr, kind in _KINDS:
        if getattr(ip, attr, False):
            return kind
    if ip in _CGNAT:
        return "carrier-grade NAT"
    return None if ip.is_global else "non-public"


def _ipv4_part(part: str) -> int | None:
    """Read one part of an IPv4 spelling in decimal, octal (leading 0) or hex (0x)."""
    if part.startswith("0x"):
        digits, pattern, base = part[2:], r"[0-9a-f]*", 16
    elif len(part) > 1 and part.startswith("0"):
        digits, pattern, base = part[1:], r"[0-7]+", 8
    else:
        digits, pattern, base = part, r"[0-9]+", 10
    if not re.fullmatch(pattern, digits):
        return None
    return int(digits, base) if digits else 0


def _numeric_ipv4(host: str, purpose: str) -> ipaddress.IPv4Address | None:
    """Turn '2130706433', '0x7f.1' or '0177.0.0.1' into the address browsers and libc read."""
    labels = host.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()
    if not _IPV4_NUMBER.fullmatch(labels[-1]):
        return None
    numbers = [_ipv4_part(label) for label in labels]
    invalid = UrlRefused(f"{purpose} host {host!r} is not a valid IPv4 address")
    if len(labels) > 4 or any(n is None for n in numbers):
        raise invalid
    *head, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        raise invalid
    value = last + sum(n << (8 * (3 - i)) for i, n in enumerate(head))
    return ipaddress.IPv4Address(value)


def _split_host(url: str, purpose: str) -> tuple[str, str, int, IPAddress | None]:
    """Parse scheme, normalized host, port and literal address, refusing anything ambiguous."""
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise UrlRefused(f"{purpose} must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. "http://[::1": an unclosed IPv6 bracket
        raise UrlRefused(f"{purpose} is not a valid URL ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        shown = f"{scheme!r}" if scheme else "no scheme"
        raise UrlRefused(f"{purpose} must be an http or https URL (got {shown})")
    if "@" in parts.netloc:
        raise UrlRefused(f"{purpose} must not contain credentials (user:password@)")
    if not parts.hostname:
        raise UrlRefused(f"{purpose} has no host")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise UrlRefused(f"{purpose} has an invalid port") from exc
    if ":" in parts.hostname:
        try:
            ip6 = ipaddress.IPv6Address(parts.hostname)
        except ValueError as exc:
            raise UrlRefused(f"{purpose} has an invalid IPv6 host") from exc
        return scheme, str(ip6), port, ip6
    try:
        host = parts.hostname.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise UrlRefused(f"{purpose} host {parts.hostname!r} is not a valid name") from exc
    if not _HOSTNAME.fullmatch(host):
        raise UrlRefused(f"{purpose} host {host!r} is not a valid name")
    ip4 = _numeric_ipv4(host, purpose)
    return scheme, (str(ip4) if ip4 else host), port, ip4


def _resolve(host: str, port: int, policy: UrlPolicy, purpose: str) -> list[IPAddress]:
    """Ask the policy's resolver once; a name that does not resolve is a fetch failure."""
    error = MediaFetchFailed if purpose == "mediaUrl" else UrlRefused
    failed = error(f"{purpose} host {host!r} could not be resolved")
    try:
        found = policy.resolver(host, port)
        addresses = [ipaddress.ip_address(a) for a in dict.fromkeys(found)]
    except (OSError, UnicodeError, ValueError) as exc:
        raise failed from exc
    if not addresses:
        raise failed
    return addresses


def _is_allowlisted(host: str, port: int, policy: UrlPolicy) -> bool:
    """Match 'host' or 'host:port' entries, case-blind, brackets for IPv6 hosts."""
    name = f"[{host}]" if ":" in host else host
    entries = {entry.strip().lower() for entry in policy.allowlist}
    return bool(entries & {host, name, f"{name}:{port}"})


def check_url(url: str, policy: UrlPolicy, *, purpose: str = "mediaUrl") -> ResolvedUrl:
    """Refuse URLs the server must not reach; return the checked addresses to connect to."""
    scheme, host, port, literal = _split_host(url, purpose)
    addresses = [literal] if literal is not None else _resolve(host, port, policy, purpose)
    if not (policy.allow_private or _is_allowlisted(host, port, policy)):
        for ip in addresses:
            kind = address_problem(ip)
            if kind:
                article = "an" if kind[0] in "aeiou" else "a"
                shown = f" ({ip})" if literal is not None else ""  # never map internal names
                raise UrlRefused(
                    f"{purpose} resolves to {article} {kind} address{shown}; "
                    "set HAMS_ALLOW_PRIVATE_URLS=true to allow it in development"
                )
    return ResolvedUrl(url, scheme, host, port, [str(ip) for ip in addresses])
