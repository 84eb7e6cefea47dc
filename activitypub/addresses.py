"""Whether a remote URL may be contacted at all (server-side request forgery guard).

Every URL we fetch or deliver to comes from someone else's JSON, so without this check a
remote actor could make the instance call its own admin endpoints, the cloud metadata service
(169.254.169.254) or a printer on the office network. The rules:

- only ``http`` and ``https``; no credentials in the URL; a host is required; port 0 is refused
  (any other port is fine: fediverse servers do run on odd ports);
- every address the host resolves to must be public: not private, loopback, link-local,
  multicast, reserved, unspecified, shared/CGNAT (100.64.0.0/10), unique-local IPv6, nor an
  IPv6 form that routes to one of those IPv4 addresses (IPv4-mapped, NAT64, 6to4; the
  deprecated IPv4-compatible form is refused outright). One bad address refuses the host:
  a name that mixes public and private records is an attack, not a misconfiguration
  (Fedify decides the same way);
- ``allowed_networks`` (the app's FI_FEDERATION_PRIVATE_NETWORKS) lets named networks
  through and keeps the rule for everything else: a partner body's instance on a government
  network such as Diginetwerk while 10.0.0.1 stays refused, or the local test servers on
  127.0.0.0/8. There is no switch that turns the rule off;
- some addresses are never contacted, listed or not (:data:`NEVER`): "this host"
  (0.0.0.0/8, ::), link-local (which holds the cloud metadata service 169.254.169.254),
  multicast, the reserved 240.0.0.0/4 with the broadcast address, and the IPv6 metadata
  address fd00:ec2::254. :func:`parse_networks` refuses a list that names any of them.

Checking a name and then letting the HTTP client resolve it again leaves a window for DNS
rebinding (public at check time, 127.0.0.1 at connect time). So :func:`resolve` returns the
checked addresses, and the client must connect to exactly those: ``activitypub.fetch`` plugs
it into aiohttp as the connector's resolver, so the check and the connection share one lookup.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Networks = Iterable[Network | str]

DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")

# Refused ranges with the word used in error messages. Spelled out rather than left to
# ``is_global`` alone (still checked last), whose tables differ between Python releases and
# which calls IPv4 multicast global.
_REFUSED: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.ip_network(net), name)
    for net, name in (
        ("0.0.0.0/8", "unspecified"),  # "this network"
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (CGNAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),  # includes cloud metadata services
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),  # IETF protocol assignments
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "reserved"),  # deprecated 6to4 relay anycast
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),  # includes broadcast
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "IPv4-compatible"),  # deprecated: refused whatever it embeds
        ("100::/64", "discard-only"),
        ("2001:db8::/32", "documentation"),
        ("fc00::/7", "unique-local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

# Never contacted, whatever FI_FEDERATION_PRIVATE_NETWORKS lists; a list overlapping one of
# these is refused at start. fd00:ec2::254 (AWS's IPv6 metadata) sits inside the unique-local
# range a government network may use, so only that one address is never reachable there.
_NEVER_NAMED: tuple[tuple[Network, str], ...] = tuple(
    (ipaddress.ip_network(net), name)
    for net, name in (
        ("0.0.0.0/8", "unspecified"),
        ("169.254.0.0/16", "link-local (cloud metadata)"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("fe80::/10", "link-local"),
        ("ff00::/8", "multicast"),
        ("fd00:ec2::254/128", "cloud metadata"),
    )
)
NEVER: tuple[Network, ...] = tuple(network for network, _name in _NEVER_NAMED)


class UnsafeURL(Exception):
    """The URL must not be contacted; ``reason`` says why, for logs and error answers."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """The parts of a URL that decide where a connection goes."""

    scheme: str
    host: str  # lower-case ASCII (IDNA); IPv6 literals without brackets
    port: int


@dataclass(frozen=True)
class Resolved:
    """One checked address to connect to."""

    family: int
    address: str
    port: int


def parse_target(url: str) -> Target:
    """Apply the URL rules (scheme, credentials, host, port); no lookup, no connection."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # bad port or malformed IPv6 literal
        raise UnsafeURL(f"malformed URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeURL(f"scheme {scheme!r} is not http or https")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("credentials in the URL")
    if port == 0:
        raise UnsafeURL("port 0")
    host = ascii_host(parts.hostname or "")
    if not host:
        raise UnsafeURL("no host")
    if ip_literal(host) is None and not _HOST_NAME.fullmatch(host):
        raise UnsafeURL(f"invalid host name {host!r}")
    return Target(scheme, host, port or DEFAULT_PORTS[scheme])


def ascii_host(host: str) -> str:
    """Lower-case ASCII form of a host name, IDNA-encoding international names."""
    host = host.rstrip(".")
    if host.isascii():
        return host.lower()
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise UnsafeURL(f"invalid international host name: {exc}") from None


def ip_literal(host: str) -> IPAddress | None:
    """The address if ``host`` is an IP address in canonical notation, else None.

    Legacy forms (``127.1``, ``2130706433``) are not literals here: they go to getaddrinfo,
    which turns them into addresses that are then checked like any other answer.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def refusal(address: IPAddress) -> str | None:
    """Why this address may not be contacted, or None if it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return f"{address} has a zone id"
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = refusal(embedded)
            return f"{address} maps to {embedded} ({inner})" if inner else None
    for network, name in _REFUSED:
        if address.version == network.version and address in network:
            return f"{address} is {name}"
    if not address.is_global:
        return f"{address} is not globally routable"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one routes to (IPv4-mapped, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def check_address(address: IPAddress | str, *, allowed_networks: Networks = ()) -> None:
    """Raise :class:`UnsafeURL` unless the address may be contacted.

    An IPv6 form that embeds an IPv4 address (IPv4-mapped, NAT64, 6to4) is refused when the
    embedded address is never reachable; an IPv4-mapped one (``::ffff:10.1.2.3``, the same
    host) is let through when its IPv4 address is in an allowed network.
    """
    parsed = ip_literal(address) if isinstance(address, str) else address
    if parsed is None:
        raise UnsafeURL(f"{address!r} is not an IP address")
    embedded = _embedded_ipv4(parsed) if isinstance(parsed, ipaddress.IPv6Address) else None
    for candidate in (parsed, embedded):
        for network, name in _NEVER_NAMED:
            if candidate is not None and _in(candidate, network):
                raise UnsafeURL(f"{parsed} is {name}, never reachable")
    same_host = parsed
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.scope_id:
            raise UnsafeURL(f"{parsed} has a zone id")
        same_host = parsed.ipv4_mapped or parsed
    if _inside(same_host, allowed_networks):
        return
    reason = refusal(parsed)
    if reason:
        raise UnsafeURL(reason)


def _inside(address: IPAddress, networks: Networks) -> bool:
    return any(_in(address, ipaddress.ip_network(n) if isinstance(n, str) else n) for n in networks)


def _in(address: IPAddress, network: Network) -> bool:
    """Membership without building the network again: ``ip_network()`` of a network object
    costs ~5 us, and every delivery to an address literal is checked (it was 0.1 ms each)."""
    return address.version == network.version and address in network


def parse_networks(raw: str) -> tuple[Network, ...]:
    """A comma-separated list of CIDR networks; ``ValueError`` with a reason if any is bad.

    Host bits must be zero (``10.1.2.3/8`` is a typo more often than a wish), and no network
    may overlap :data:`NEVER`: listing link-local would open the metadata service.
    """
    networks: list[Network] = []
    for item in raw.split(","):
        text = item.strip()
        if not text:
            continue
        try:
            network = ipaddress.ip_network(text)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a CIDR network ({exc})") from None
        for never in NEVER:
            if network.version == never.version and network.overlaps(never):
                raise ValueError(f"{text} overlaps {never}, which is never reachable")
        networks.append(network)
    return tuple(networks)


async def resolve(host: str, port: int, *, allowed_networks: Networks = ()) -> list[Resolved]:
    """Look the host up with the event loop's getaddrinfo and check every answer.

    The returned addresses are the ones to connect to (pinning), in resolver order. A failed
    lookup raises ``OSError`` (``socket.gaierror``), not :class:`UnsafeURL`: it is a network
    problem worth retrying, not a verdict on the URL.
    """
    literal = ip_literal(host)
    if literal is not None:
        check_address(literal, allowed_networks=allowed_networks)
        family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
        return [Resolved(family, str(literal), port)]
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[Resolved] = []
    for family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0])
        check_address(address, allowed_networks=allowed_networks)
        item = Resolved(int(family), address, int(sockaddr[1]))
        if item not in found:
            found.append(item)
    if not found:
        raise UnsafeURL(f"{host} has no address")
    return found


async def check_url(url: str, *, allowed_networks: Networks = ()) -> list[Resolved]:
    """The whole decision for one URL: URL rules, then every resolved address.

    IP literals are decided without any lookup; only host names reach getaddrinfo.
    """
    target = parse_target(url)
    return await resolve(target.host, target.port, allowed_networks=allowed_networks)
