"""Expertise directories across servers: ours to read, theirs to connect to.

Ours: ``/directory`` (``outbox/routes.py``) is an OrderedCollection of the ids of the
people here who consent to be found beyond this instance (``Actor.indexable``, published
as Mastodon's ``indexable``, FEP-5feb). A server whose instance actor reads it with a
signature is remembered as a reader: it then hears of those people's presence
(``presence_federation``) and profile changes.

Theirs: an administrator connects this instance to another server's directory
(:func:`connect`). Every person listed there is fetched from their own server (the actor
document, never the list's word) and stored by ``remote_actors``, which keeps their topics
only when they consent. Those people are then found by the expertise finder, with their
server shown as where they work. The stored copies are fetched again when older than
``remote_actors.CACHE_FOR`` (24 hours), on a profile ``Update``, and on :func:`refresh`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from tortoise.transactions import in_transaction

from activitypub.fetch import FetchError
from activitypub.origin import same_origin
from activitypub.values import is_http_uri
from fediverse_intranet import instance, urls
from fediverse_intranet.errors import InvalidInput, PermissionDenied, Unreachable
from fediverse_intranet.models import Actor
from fediverse_intranet.services import (
    federation_policy,
    profiles,
    remote_actors,
    remote_client,
    settings_store,
)
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.remote_actors import RemoteActorError

log = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_PAGES = 40  # people read from one directory at most: MAX_PAGES * its page size
MAX_CONNECTED = 100
MAX_READERS = 500
CONNECTED_KEY = "expertise_directories"
READERS_KEY = "expertise_directory_readers"
FIELD = "domain"
_DOMAIN = re.compile(
    r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:[0-9]{1,5})?"
)


# Ours


async def listed(after: int = 0, limit: int = PAGE_SIZE) -> list[Actor]:
    """People here who consent to be found elsewhere, by id after ``after``."""
    return (
        await Actor.filter(
            domain="", kind="person", indexable=True, account__is_active=True, id__gt=after
        )
        .order_by("id")
        .limit(limit)
    )


async def listed_count() -> int:
    return await Actor.filter(
        domain="", kind="person", indexable=True, account__is_active=True
    ).count()


async def remember_reader(actor: Actor | None) -> None:
    """A server's instance actor read our directory: it hears of changes from now on."""
    if actor is None or actor.is_local:
        return
    known = await _list(READERS_KEY)
    if actor.uri not in known and len(known) < MAX_READERS:
        await settings_store.put(READERS_KEY, " ".join([*known, actor.uri]))


async def readers() -> list[Actor]:
    """The remote actors (one per server) subscribed to our directory."""
    return await Actor.filter(uri__in=await _list(READERS_KEY), domain__not="")


async def set_consent(actor: Actor, indexable: bool) -> Actor:
    """A person here chooses whether their expertise profile may be found elsewhere. The
    change reaches their followers and our directory's readers as an ``Update`` of their
    actor, so a withdrawn consent removes their topics there too."""
    if not actor.is_local or actor.is_group:
        raise InvalidInput("Only people here choose this.", field="indexable")
    if actor.indexable == indexable:
        return actor
    async with in_transaction():
        actor.indexable = indexable
        await actor.save(update_fields=["indexable"])
        await profiles.announce_profile(actor)
        await profile_changed(actor, consent_changed=True)
    return actor


async def profile_changed(actor: Actor, *, consent_changed: bool = False) -> int:
    """Queue an ``Update`` of a consenting person's actor document for our directory's
    readers (their followers hear of it through ``profiles.announce_profile``)."""
    if not (actor.indexable or consent_changed):
        return 0
    return await profiles.queue_update(actor, await readers())


# Theirs


async def connected() -> list[str]:
    return await _list(CONNECTED_KEY)


def clean_domain(raw: str) -> str:
    """``gov-b.example`` (a port allowed) from what an admin typed, or InvalidInput."""
    text = raw.strip().lower()
    if text.startswith(("https://", "http://")):
        text = urlsplit(text).netloc
    text = text.strip("/")
    if not _DOMAIN.fullmatch(text) or len(text) > 255:
        raise InvalidInput("Enter a server name such as gov-b.example.", field=FIELD)
    if text == instance.current().domain:
        raise InvalidInput("That is this server.", field=FIELD)
    return text


async def connect(raw: str) -> int:
    """Connect to a server's expertise directory and read it; returns the people found."""
    domain = clean_domain(raw)
    if not (await federation_policy.current()).allows_host(domain):
        raise PermissionDenied(
            "This instance does not federate with %(host)s.", field=FIELD, host=domain
        )
    found = await _read(domain)
    domains = await connected()
    if domain not in domains:
        if len(domains) >= MAX_CONNECTED:
            raise InvalidInput("Connect at most %(max)s servers.", field=FIELD, max=MAX_CONNECTED)
        await settings_store.put(CONNECTED_KEY, " ".join([*domains, domain]))
    return found


async def refresh(domain: str) -> int:
    """Read a connected directory again (people who joined, left or changed consent)."""
    if domain not in await connected():
        raise InvalidInput("This server is not connected.", field=FIELD)
    return await _read(domain)


async def disconnect(raw: str) -> None:
    """Stop reading a server's directory. People found there stay known (others may follow
    them); their topics stay as long as they consent, refreshed as for anyone elsewhere."""
    domain = clean_domain(raw)
    await settings_store.put(CONNECTED_KEY, " ".join(d for d in await connected() if d != domain))


async def refresh_stale(limit: int = 100) -> int:
    """Fetch again the consenting people elsewhere whose copy is older than
    ``remote_actors.CACHE_FOR`` (oldest first): for the worker's housekeeping, so topics,
    consent and presence in the finder stay fresh. Returns how many were tried."""
    old = now() - remote_actors.CACHE_FOR
    stale = (
        await Actor.filter(domain__not="", kind="person", indexable=True, fetched_at__lt=old)
        .order_by("fetched_at")
        .limit(limit)
        .values_list("uri", flat=True)
    )
    for uri in stale:
        await _resolved(str(uri))
    return len(stale)


async def people_of(domain: str) -> int:
    """How many people of that server who consent to be found are known here."""
    return await Actor.filter(domain=domain, kind="person", indexable=True).count()


async def _read(domain: str) -> int:
    base = f"{remote_client.scheme()}://{domain}"
    url: str | None = f"{base}{urls.DIRECTORY_PATH}"
    found = 0
    for _ in range(MAX_PAGES + 1):
        if url is None:
            break
        document = await _fetch(domain, url)
        for item in _items(document):
            if same_origin(item, base) and await _resolved(item):
                found += 1
        url = _next(document, base)
    return found


async def _fetch(domain: str, url: str) -> Mapping[str, Any]:
    try:
        return (await remote_client.signed_fetch(url)).document
    except FetchError as exc:
        log.info("directory of %s not read: %s", domain, exc)
        raise Unreachable(
            "%(host)s could not be reached or has no expertise directory. Try again later.",
            field=FIELD,
            host=domain,
        ) from None


async def _resolved(uri: str) -> bool:
    try:
        actor = await remote_actors.resolve_actor(uri, refresh=True)
    except RemoteActorError as exc:
        log.info("directory entry %s not read: %s", uri, exc.reason)
        return False
    return actor.indexable and not actor.is_group


def _items(document: Mapping[str, Any]) -> list[str]:
    """The actor ids on a collection page (or an embedded first page)."""
    page = document.get("first") if isinstance(document.get("first"), Mapping) else document
    assert isinstance(page, Mapping)
    items = page.get("orderedItems", page.get("items"))
    if not isinstance(items, list):
        return []
    ids = [i.get("id") if isinstance(i, Mapping) else i for i in items[: PAGE_SIZE * 2]]
    return [i for i in ids if is_http_uri(i)]


def _next(document: Mapping[str, Any], base: str) -> str | None:
    """The next page: a collection's ``first`` (by id) or a page's ``next``, same server."""
    first = document.get("first")
    if isinstance(first, Mapping):
        link: object = first.get("next")
    elif document.get("type") == "OrderedCollection":
        link = first
    else:
        link = document.get("next")
    if isinstance(link, str) and is_http_uri(link):
        return link if same_origin(link, base) else None
    return None


async def _list(key: str) -> list[str]:
    return (await settings_store.get(key)).split()
