"""Finding people on other servers: from ``@bob@gov-b.example`` or a profile URL to an Actor.

A handle goes through WebFinger on its own host (RFC 7033, ``activitypub.webfinger``), a URL
through WebFinger with the URL as resource (Mastodon answers that for profile pages) and,
failing that, is fetched as an actor itself. Either way the actor document is read and
stored by ``remote_actors.resolve_actor``, which checks that it speaks only for its own
server. Every failure becomes a :class:`DomainError` a person can read beside the search
field: a handle we cannot read, a server we do not federate with, nobody by that name, or a
server that cannot be reached.

The profile page also shows what we do not store (photo link, profile fields, topics): those
are read from the actor document when the page is shown, kept in memory for a while, and
simply left out when the server does not answer in time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from activitypub import webfinger
from activitypub.context import VocabularyError
from activitypub.fetch import JRD, FetchError
from activitypub.parse_actor import RemoteActor, parse_actor
from activitypub.values import is_http_uri
from activitypub.webfinger import WebFingerError
from fediverse_intranet import instance
from fediverse_intranet.content import normalise_tag, sanitize_html
from fediverse_intranet.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unreachable,
)
from fediverse_intranet.models import Actor
from fediverse_intranet.services import federation_policy, remote_actors, remote_client
from fediverse_intranet.services.remote_actors import RemoteActorError

log = logging.getLogger(__name__)

FIELD = "q"
DETAILS_FOR = 600.0  # seconds a remote profile's extras are kept in memory
DETAILS_TIMEOUT = 3.0  # seconds a profile page waits for them
MAX_FIELDS = 8
MAX_TOPICS = 30
_MEMORY = 1000


@dataclass(frozen=True)
class RemoteDetails:
    """What a remote profile page shows beyond the stored Actor row."""

    icon_url: str = ""
    fields: tuple[tuple[str, str], ...] = ()  # (name, sanitised HTML value)
    topics: tuple[str, ...] = ()


# Actor URI -> (time.monotonic() when read, what was read); per process.
_details: OrderedDict[str, tuple[float, RemoteDetails]] = OrderedDict()


def looks_remote(text: str) -> bool:
    """Whether a directory search is a handle or an address rather than words to match."""
    value = text.strip()
    if value.lower().startswith(("http://", "https://")):
        return True
    user, at, host = value.removeprefix("@").rpartition("@")
    return bool(at and user and host and " " not in value)


async def find(text: str) -> Actor:
    """The person a handle or profile address names, fetched and stored when new."""
    value = text.strip()
    if value.lower().startswith(("http://", "https://")):
        return await _find_by_url(value)
    try:
        handle = webfinger.parse_handle(value)
    except WebFingerError:
        raise InvalidInput(
            "Enter a name like @bob@gemeente-y.nl or the address of a profile.", field=FIELD
        ) from None
    if handle.host == webfinger.normalise_host(instance.current().domain):
        return await _local(handle.user)
    await _check_policy(handle.host)
    try:
        jrd = await remote_client.fetcher().get_json(
            webfinger.webfinger_url(handle, scheme=remote_client.scheme()), expect=JRD
        )
        actor_url = webfinger.parse_jrd(jrd).actor_url()
    except FetchError as exc:
        if exc.status in (404, 410):
            raise _nobody(str(handle), handle.host) from None
        raise _unreachable(handle.host, exc) from None
    except WebFingerError as exc:
        log.info("unusable WebFinger answer for %s: %s", handle, exc.reason)
        raise _nobody(str(handle), handle.host) from None
    return await _resolve(actor_url, str(handle))


async def details(actor: Actor) -> RemoteDetails:
    """Photo link, profile fields and topics of a remote person, or nothing if not to be had."""
    if actor.is_local:
        return RemoteDetails()
    cached = _details.get(actor.uri)
    if cached is not None and time.monotonic() - cached[0] < DETAILS_FOR:
        return cached[1]
    found = RemoteDetails()
    try:
        if await federation_policy.allows_url(actor.uri):
            async with asyncio.timeout(DETAILS_TIMEOUT):
                fetched = await remote_client.signed_fetch(actor.uri)
            found = _details_of(parse_actor(fetched.document), fetched.url)
    except (TimeoutError, FetchError, VocabularyError) as exc:
        log.info("no profile details for %s: %s", actor.uri, exc)
    _details[actor.uri] = (time.monotonic(), found)
    while len(_details) > _MEMORY:
        _details.popitem(last=False)
    return found


def forget() -> None:
    """Drop the remembered profile details: for tests."""
    _details.clear()


# Internals


def _details_of(doc: RemoteActor, fetched_url: str) -> RemoteDetails:
    if doc.id != fetched_url:  # a document speaks only for the URL it came from
        return RemoteDetails()
    topics: list[str] = []
    for name in (*doc.knows_about, *doc.hashtags):
        tag = normalise_tag(name.lstrip("#"))
        if tag and tag not in topics:
            topics.append(tag)
    icon = doc.icon_url or ""
    return RemoteDetails(
        icon_url=icon if is_http_uri(icon) else "",
        fields=tuple(
            (" ".join(f.name.split())[:100], sanitize_html(f.value[:2000]))
            for f in doc.fields[:MAX_FIELDS]
        ),
        topics=tuple(topics[:MAX_TOPICS]),
    )


async def _find_by_url(url: str) -> Actor:
    if not is_http_uri(url):
        raise InvalidInput(
            "Enter a name like @bob@gemeente-y.nl or the address of a profile.", field=FIELD
        )
    host = urlsplit(url).netloc.lower()
    base = instance.current().base_url
    if url == base or url.startswith(base + "/"):
        name = urlsplit(url).path.rstrip("/").rpartition("/")[2].removeprefix("@")
        return await _local(name)
    await _check_policy(host)
    resource = quote(url, safe="")
    try:
        jrd = await remote_client.fetcher().get_json(
            f"{remote_client.scheme()}://{host}/.well-known/webfinger?resource={resource}",
            expect=JRD,
        )
        actor_url = webfinger.parse_jrd(jrd).actor_url()
    except (FetchError, WebFingerError) as exc:
        log.info("no WebFinger answer for %s (%s); fetching it as an actor", url, exc)
        actor_url = url
    return await _resolve(actor_url, url)


async def _resolve(actor_url: str, asked: str) -> Actor:
    host = urlsplit(actor_url).netloc.lower()
    await _check_policy(host)
    try:
        return await remote_actors.resolve_actor(actor_url)
    except RemoteActorError as exc:
        log.info("cannot use actor %s for %s: %s", actor_url, asked, exc.reason)
        if exc.retry:
            raise _unreachable(host, exc) from None
        raise _nobody(asked, host) from None


async def _local(username: str) -> Actor:
    actor = await Actor.filter(
        username=username.lower(), domain="", account__is_active=True
    ).first()
    if actor is None:
        raise NotFound("Nobody with this name is known here.", field=FIELD)
    return actor


async def _check_policy(host: str) -> None:
    if not (await federation_policy.current()).allows_host(host):
        raise PermissionDenied(
            "This instance does not federate with %(host)s.", field=FIELD, host=host
        )


def _nobody(asked: str, host: str) -> NotFound:
    return NotFound(
        "Nobody called %(name)s is known at %(host)s.", field=FIELD, name=asked, host=host
    )


def _unreachable(host: str, exc: Exception) -> Unreachable:
    log.info("%s could not be reached: %s", host, exc)
    return Unreachable(
        "%(host)s could not be reached or gave no usable answer. Try again later.",
        field=FIELD,
        host=host,
    )
