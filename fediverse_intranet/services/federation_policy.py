"""Which servers this instance federates with: everyone, everyone but a blocklist, or only an
allowlist (a government intranet often federates with partner bodies only).

Kept in the instance settings (``federation_mode``, ``federation_domains``) so an admin can
change it in the browser without a restart. A listed domain covers its subdomains, as in
Mastodon's domain blocks: blocking ``example.org`` also blocks ``social.example.org``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from activitypub.addresses import UnsafeURL, ascii_host
from fediverse_intranet.errors import InvalidInput, PermissionDenied
from fediverse_intranet.models import Account
from fediverse_intranet.services import settings_store

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


async def current() -> Policy:
    """The policy in force; an unreadable stored mode counts as open (and is fixed by saving)."""
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
    await settings_store.put(MODE_KEY, chosen.value)
    await settings_store.put(DOMAINS_KEY, " ".join(domains))
    return Policy(chosen, tuple(domains))


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
