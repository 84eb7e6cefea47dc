"""Which servers this instance federates with: everyone, everyone but a blocklist, or only an
allowlist (a government intranet often federates with partner bodies only).

Kept in the instance settings (``federation_mode``, ``federation_domains``) so an admin can
change it in the browser without a restart. A listed domain covers its subdomains, as in
Mastodon's domain blocks: blocking ``example.org`` also blocks ``social.example.org``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from tortoise.functions import Count

from activitypub.addresses import UnsafeURL, ascii_host
from fediverse_intranet.errors import InvalidInput, PermissionDenied
from fediverse_intranet.models import Account, Actor, Delivery, DeliveryHost, WorkState
from fediverse_intranet.services import settings_store
from fediverse_intranet.services.clock import now

MAX_DOMAINS = 5_000
KNOWN_SERVERS_SHOWN = 200
MODE_KEY = "federation_mode"
DOMAINS_KEY = "federation_domains"
_DOMAIN = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


class FederationMode(StrEnum):
    OPEN = "open"
    BLOCKLIST = "blocklist"
    ALLOWLIST = "allowlist"


@dataclass(frozen=True)
class Policy:
    mode: FederationMode
    domains: tuple[str, ...]

    def allows_host(self, host: str) -> bool:
        """``host`` is a host name, with or without ``:port`` (the port does not matter)."""
        name = _host_name(host)
        if self.mode == FederationMode.OPEN:
            return True
        listed = bool(name) and any(name == d or name.endswith("." + d) for d in self.domains)
        return listed if self.mode == FederationMode.ALLOWLIST else not listed

    def allows_url(self, url: str) -> bool:
        try:
            return self.allows_host(urlsplit(url).hostname or "")
        except ValueError:
            return False


CACHE_SECONDS = 5.0  # a change made in another process takes effect here within this time
_cached: tuple[float, Policy] | None = None


async def current() -> Policy:
    """The policy in force. Read on every inbox request, so kept in memory for a few
    seconds; saving it here takes effect at once."""
    global _cached
    if _cached is not None and time.monotonic() - _cached[0] < CACHE_SECONDS:
        return _cached[1]
    policy = await _stored()
    _cached = (time.monotonic(), policy)
    return policy


async def _stored() -> Policy:
    """An unreadable stored mode counts as open (and is fixed by saving)."""
    raw_mode = await settings_store.get(MODE_KEY, FederationMode.OPEN.value)
    try:
        mode = FederationMode(raw_mode)
    except ValueError:
        mode = FederationMode.OPEN
    domains = tuple((await settings_store.get(DOMAINS_KEY)).split())
    return Policy(mode, domains)


async def allows_url(url: str) -> bool:
    """Whether we may accept activities from, and talk to, the server of ``url``."""
    return (await current()).allows_url(url)


async def set_policy(admin: Account, mode: str, domains_text: str) -> Policy:
    """Admins only. Domains are separated by spaces, commas or new lines."""
    if not admin.is_admin:
        raise PermissionDenied("Only administrators may change who this instance federates with.")
    try:
        chosen = FederationMode(mode)
    except ValueError:
        raise InvalidInput("Choose open, blocklist or allowlist.", field="mode") from None
    domains: list[str] = []
    for part in re.split(r"[\s,;]+", domains_text.strip().lower()):
        raw = part.removeprefix("@").strip(".")
        if not raw:
            continue
        name = _host_name(raw)
        if not name or not _DOMAIN.fullmatch(name):
            raise InvalidInput("%(domain)s is not a domain name.", field="domains", domain=raw)
        if name not in domains:
            domains.append(name)
    if len(domains) > MAX_DOMAINS:
        raise InvalidInput("List at most %(max)s domains.", field="domains", max=MAX_DOMAINS)
    await settings_store.put(MODE_KEY, chosen.value)
    await settings_store.put(DOMAINS_KEY, " ".join(domains))
    forget()
    return Policy(chosen, tuple(domains))


def forget() -> None:
    """Read the stored policy again next time (after saving it; between tests)."""
    global _cached
    _cached = None


@dataclass(frozen=True)
class KnownServer:
    """A server we know people of, or deliver to, with how delivering to it goes."""

    host: str
    people: int
    pending: int
    failures: int
    resting_until: datetime | None
    last_success_at: datetime | None
    allowed: bool

    @property
    def troubled(self) -> bool:
        return self.failures > 0 or self.resting_until is not None


async def known_servers(limit: int = KNOWN_SERVERS_SHOWN) -> tuple[list[KnownServer], int]:
    """Servers seen in stored actors or deliveries, those in trouble first, then by name;
    and how many there are in all (only ``limit`` are listed)."""
    people = await _counts(Actor.filter(domain__not=""), "domain")
    pending = await _counts(Delivery.filter(state=WorkState.PENDING), "host")
    health = {row.host: row for row in await DeliveryHost.all()}
    policy = await current()
    current_time = now()
    servers = []
    for host in set(people) | set(pending) | set(health):
        row = health.get(host)
        until = row.unavailable_until if row else None
        servers.append(
            KnownServer(
                host=host,
                people=people.get(host, 0),
                pending=pending.get(host, 0),
                failures=row.failures if row else 0,
                resting_until=until if until and until > current_time else None,
                last_success_at=row.last_success_at if row else None,
                allowed=policy.allows_host(host),
            )
        )
    servers.sort(key=lambda s: (not s.troubled, s.host))
    return servers[:limit], len(servers)


async def _counts(query: Any, column: str) -> dict[str, int]:
    rows = await query.annotate(n=Count("id")).group_by(column).values(column, "n")
    return {row[column]: row["n"] for row in rows}


def _host_name(host: str) -> str:
    """Lower-case ASCII host without the port; empty when it is not a host name."""
    name = host.strip().lower()
    if name.startswith("["):  # an IPv6 literal, perhaps with a port
        name = name[1:].split("]", 1)[0]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    try:
        return ascii_host(name)
    except UnsafeURL:
        return ""
