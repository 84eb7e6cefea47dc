"""Remote actors: fetched once, checked, kept as Actor rows, and refreshed with restraint.

Every inbound signature needs the sender's public key, and every delivery needs an inbox, so
actor documents are cached: a row fetched less than ``CACHE_FOR`` ago is used as it is. Two
rules keep a hostile or broken server from steering us:

- No spoofing: a document must carry as ``id`` the URL it was finally served from, so a
  server can only speak for actors on itself; its inboxes and key must be on that host too.
- No hammering: a refresh (asked for when a signature fails with the cached key, which is
  what a key rotation looks like) happens at most once per ``REFRESH_COOLDOWN`` per actor,
  and a URL that could not be fetched is not tried again for ``FAILURE_COOLDOWN``. A flood
  of badly signed requests therefore costs the sender's server one GET every few minutes.

Documents are read by the one actor parser, ``activitypub.parse_actor.parse_actor``, plus
the checks only we can make (the URL it came from, our column widths); remote HTML is
sanitised before it is stored.

Each store also indexes the expertise profile when the person consents (``indexable``,
FEP-5feb): their ``knowsAbout`` and hashtags become their topics here (level 0, unsaid);
without consent (or when it is withdrawn) their topics here are removed. Their current
FEP-82f6 status (``status``) becomes their presence, expiring at its ``endTime``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urldefrag, urlsplit

from tortoise.exceptions import IntegrityError

from activitypub.context import ACTOR_TYPES, PRESENCE_TEXT, VocabularyError
from activitypub.errors import FederationError
from activitypub.fetch import Fetched, FetchError
from activitypub.keys import KeyFormatError, PublicKey, load_public_key
from activitypub.origin import same_origin
from activitypub.parse_actor import PublicKeyInfo, RemoteActor, RemoteStatus, parse_actor
from activitypub.values import MAX_URI, is_http_uri
from fediverse_intranet import instance
from fediverse_intranet.content import normalise_tag, sanitize_html
from fediverse_intranet.models import Actor, ActorTopic, Presence, Tag
from fediverse_intranet.services import expertise, federation_policy, remote_client, sql
from fediverse_intranet.services.clock import now

log = logging.getLogger(__name__)

CACHE_FOR = timedelta(hours=24)
REFRESH_COOLDOWN = timedelta(minutes=5)
FAILURE_COOLDOWN = 60.0  # seconds
MAX_SUMMARY = 20_000  # characters of remote HTML read before sanitising
MAX_TOPICS = 50  # topics kept of one remote person
MAX_NOTE = 100  # the width of Actor.presence_note
_USERNAME = re.compile(r"[^\s@/?#:%\\\"'<>]{1,64}")
_MEMORY = 10_000  # entries kept in each in-process table below

# In-process memory (per worker process; the database holds what must be shared):
# key ids that are not "<actor>#fragment" (GoToSocial's ".../main-key") -> their owner.
_key_owners: OrderedDict[str, str] = OrderedDict()
# URL -> (time.monotonic() of a failed fetch, whether trying again later may help).
_failures: OrderedDict[str, tuple[float, bool]] = OrderedDict()
# URL -> lock, so concurrent requests for one actor make one fetch.
_locks: dict[str, asyncio.Lock] = {}
# key id -> (time.monotonic() until which it holds, its owner): every inbox request needs the
# signer, and reading it from the database each time halved the inbox's rate.
_signers: OrderedDict[str, tuple[float, Actor]] = OrderedDict()
SIGNER_MEMORY = 60.0  # seconds; a key that fails verification is looked up afresh anyway


class RemoteActorError(FederationError):
    """An actor cannot be had; ``retry`` when trying again later may help."""

    def __init__(self, reason: str, *, retry: bool = False) -> None:
        super().__init__(reason, retry=retry)


async def resolve_actor(uri: str, *, refresh: bool = False) -> Actor:
    """The Actor row for ``uri``, fetched and stored when unknown or older than CACHE_FOR.

    ``refresh`` asks for a fresh copy, granted when the last fetch is older than
    REFRESH_COOLDOWN. When a fetch fails but a stored copy exists, the stored copy is returned:
    a stale key or inbox is more useful than none. Raises :class:`RemoteActorError`.
    """
    if not is_http_uri(uri):
        raise RemoteActorError("not an http(s) URL")
    if is_local_uri(uri):
        local = await Actor.filter(uri=uri, domain="").first()
        if local is None:
            raise RemoteActorError("no such actor on this instance")
        return local
    if not await federation_policy.allows_url(uri):
        raise RemoteActorError("this server is blocked here")
    lock = _locks.setdefault(uri, asyncio.Lock())
    try:
        async with lock:
            return await _resolve(uri, refresh)
    finally:
        if not lock.locked():
            _locks.pop(uri, None)


async def key_owner(key_id: str, *, refresh: bool = False) -> Actor | None:
    """The actor who publishes the key ``key_id``, or None when it cannot be had.

    Never raises for network or content trouble: a signature check turns None into 401.
    ``https://host/users/bob#main-key`` (Mastodon, Fedify, Misskey) names the actor
    ``https://host/users/bob``; a key id without a fragment (GoToSocial) is a document of
    its own, whose ``owner`` on the same host is the actor.
    """
    remembered = _signers.get(key_id)
    if remembered is not None and not refresh and time.monotonic() < remembered[0]:
        return remembered[1]
    try:
        owner = await _key_owner(key_id, refresh)
    except RemoteActorError as exc:
        log.info("no key %s: %s", key_id, exc.reason)
        return None
    _remember(_signers, key_id, (time.monotonic() + SIGNER_MEMORY, owner))
    return owner


def public_key_of(actor: Actor) -> PublicKey | None:
    if not actor.public_key_pem:
        return None
    try:
        return _parsed_key(actor.public_key_pem)
    except KeyFormatError:
        return None


@functools.lru_cache(maxsize=_MEMORY)
def _parsed_key(pem: str) -> PublicKey:
    """Parsing a PEM costs more than verifying a signature with it: keep parsed keys."""
    return load_public_key(pem)


def forget() -> None:
    """Drop the in-process memory (key owners, failures): for tests."""
    _key_owners.clear()
    _failures.clear()
    _locks.clear()
    _signers.clear()


def forget_signer(uri: str) -> None:
    """An actor changed or left: its remembered keys go (a few entries; a rare event)."""
    for key_id in [k for k, (_, owner) in _signers.items() if owner.uri == uri]:
        del _signers[key_id]


def read_actor(document: Mapping[str, Any], fetched_url: str) -> RemoteActor:
    """Check an actor document served from ``fetched_url`` (the final URL after redirects)
    with the one actor parser, ``activitypub.parse_actor.parse_actor``, and our own limits."""
    if document.get("id") != fetched_url:
        raise RemoteActorError("the document's id is not the URL it was served from")
    try:
        return _fits(parse_actor(document))
    except VocabularyError as exc:
        raise RemoteActorError(exc.reason) from None


async def update_from_document(actor: RemoteActor, sender: Actor) -> tuple[Actor, RemoteActor]:
    """Refresh a stored remote actor after an ``Update`` of its profile, with what its own
    server serves now; the stored row and the document it was stored from (a group's
    settings are read from the same). Raises :class:`RemoteActorError` for a document about
    anyone else.

    Two Updates of one actor can arrive in either order: a server has several deliveries in
    flight (two settings saved a moment apart), so applying each document as it arrives can
    leave the older one stored (a withdrawn consent undone). The current document cannot be
    older than either. Only when it cannot be read is the signed document taken instead: the
    request was signed by the actor, so it stands for a fetch from its own server.
    """
    if actor.id != sender.uri or sender.is_local:
        raise RemoteActorError("an actor may only update itself")
    sent = _fits(actor)
    try:
        fetched = await _fetch(sender.uri)
        current = read_actor(fetched.document, fetched.url)
    except RemoteActorError as exc:
        log.info("actor %s updated; its document now: %s", sender.uri, exc.reason)
        current = sent
    if current.id != sent.id:
        current = sent
    return await _store(current), current


def _fits(actor: RemoteActor) -> RemoteActor:
    """Our own limits on top of the parser's: column widths and a user name we can show."""
    if not is_http_uri(actor.id) or not is_http_uri(actor.inbox):
        raise RemoteActorError(f"actor id or inbox longer than {MAX_URI} characters")
    if not _USERNAME.fullmatch(actor.preferred_username):
        raise RemoteActorError("missing or invalid preferredUsername")
    return actor


# Internals


async def _resolve(uri: str, refresh: bool) -> Actor:
    # Asked for every sender of every round of the inbox worker: the bare query costs a
    # quarter of the ORM's.
    found = await sql.instances(Actor, "SELECT * FROM actor WHERE uri = :uri", uri=uri)
    stored = found[0] if found else None
    if stored is not None and stored.fetched_at is not None:
        age = now() - stored.fetched_at
        if age < (REFRESH_COOLDOWN if refresh else CACHE_FOR):
            return stored
    try:
        fetched = await _fetch(uri)
        document = read_actor(fetched.document, fetched.url)
    except RemoteActorError as exc:
        if stored is not None:
            log.info("keeping the stored copy of %s: %s", uri, exc.reason)
            return stored
        raise
    if document.id != uri:  # redirected to another id: the caller asked for something else
        raise RemoteActorError("the actor's id is not the URL asked for")
    return await _store(document)


async def _key_owner(key_id: str, refresh: bool) -> Actor:
    if not is_http_uri(key_id):
        raise RemoteActorError("the key id is not an http(s) URL")
    owner = _key_owners.get(key_id)
    without_fragment = urldefrag(key_id).url
    if owner is None and without_fragment != key_id:
        owner = without_fragment
    if owner is None:
        fetched = await _fetch(key_id)
        document = fetched.document
        if document.get("id") == fetched.url and _is_actor(document):
            owner = fetched.url  # the key id is the actor's own URL
        else:
            owner = _declared_owner(document, key_id)
        _remember(_key_owners, key_id, owner)
    if not same_origin(owner, key_id):
        raise RemoteActorError("the key's owner is on another server")
    return await resolve_actor(owner, refresh=refresh)


def _declared_owner(document: Mapping[str, Any], key_id: str) -> str:
    """The owner a key document names: a Key (``owner``) or an actor stub (``publicKey``)."""
    key = document.get("publicKey") if "owner" not in document else document
    if isinstance(key, Mapping) and key.get("id") == key_id and is_http_uri(key.get("owner")):
        return str(key["owner"])
    raise RemoteActorError("the key document names no owner")


async def _fetch(url: str) -> Fetched:
    failed = _failures.get(url)
    if failed is not None and time.monotonic() - failed[0] < FAILURE_COOLDOWN:
        raise RemoteActorError("failed a moment ago; not trying again yet", retry=failed[1])
    try:
        return await remote_client.signed_fetch(urldefrag(url).url)
    except FetchError as exc:
        _remember(_failures, url, (time.monotonic(), exc.retry))
        raise RemoteActorError(str(exc), retry=exc.retry) from exc


async def _store(document: RemoteActor) -> Actor:
    """Insert or update the row; two processes fetching one new actor both end up updating."""
    forget_signer(document.id)
    key = _usable_key(document)
    if key is not None and urldefrag(key.id).url != document.id:
        _remember(_key_owners, key.id, document.id)
    summary = document.summary[:MAX_SUMMARY]
    values = {
        "username": document.preferred_username.lower(),
        "domain": urlsplit(document.id).netloc.lower(),
        "display_name": _plain(document.name)[:100],
        "bio": sanitize_html(summary) if summary else "",
        "inbox_url": document.inbox,
        "shared_inbox_url": _optional_uri(document.shared_inbox),
        "outbox_url": _optional_uri(document.outbox),
        "followers_url": _optional_uri(document.followers),
        "profile_url": _optional_uri(document.url),
        "public_key_pem": key.pem.strip() + "\n" if key else "",
        "fetched_at": now(),
        "indexable": document.indexable and not document.suspended,
        **presence_values(document.status),
    }
    for _ in range(2):
        try:
            if await Actor.filter(uri=document.id).update(**values):
                return await _indexed(await Actor.get(uri=document.id), document)
            return await _indexed(await Actor.create(uri=document.id, **values), document)
        except IntegrityError:
            if (
                await Actor.filter(username=values["username"], domain=values["domain"])
                .exclude(uri=document.id)
                .exists()
            ):
                # Lemmy has /u/x and /c/x; one name per server is all the table holds.
                raise RemoteActorError("another actor of that server has the same name") from None
            # Otherwise another request created the row in the meantime: update it.
    raise RemoteActorError("the actor could not be stored", retry=True)


def presence_values(status: RemoteStatus | None) -> dict[str, Any]:
    """Actor presence columns from a remote status; none (or one already over) clears them.
    A status that is not one of our presences is kept as "elsewhere" with its text."""
    if status is None or (status.end_time is not None and status.end_time <= now()):
        return {"presence": Presence.UNSET, "presence_note": "", "presence_until": None}
    note = _plain(status.content)
    kind = Presence(status.presence) if status.presence else Presence.ELSEWHERE
    if note == PRESENCE_TEXT.get(status.presence):
        note = ""  # only the fallback text of the presence itself
    return {"presence": kind, "presence_note": note[:MAX_NOTE], "presence_until": status.end_time}


async def _indexed(row: Actor, document: RemoteActor) -> Actor:
    """Keep a person's topics (and scores) when they consent to be indexed; else none."""
    if row.is_group:
        return row
    if not row.indexable:
        await ActorTopic.filter(actor_id=row.id).delete()
        await expertise.rescore(row)
        return row
    names: list[str] = []
    for raw in (*document.knows_about, *document.hashtags):
        name = normalise_tag(raw)
        if name is not None and name not in names:
            names.append(name)
    names = names[:MAX_TOPICS]
    known: set[str] = set()
    for held in await ActorTopic.filter(actor_id=row.id).select_related("tag"):
        if held.tag.name in names:
            known.add(held.tag.name)
        else:
            await held.delete()
    for name in names:
        if name not in known:
            tag, _ = await Tag.get_or_create(name=name)
            await ActorTopic.get_or_create(actor_id=row.id, tag_id=tag.id)
    await expertise.rescore(row)
    return row


def _usable_key(document: RemoteActor) -> PublicKeyInfo | None:
    """The first published key we can verify with (the parser kept only the actor's own)."""
    for key in document.public_keys:
        try:
            load_public_key(key.pem)
        except KeyFormatError:
            continue
        return key
    return None


def _is_actor(document: Mapping[str, Any]) -> bool:
    kinds = document.get("type")
    return any(k in ACTOR_TYPES for k in (kinds if isinstance(kinds, list) else [kinds]))


def _optional_uri(value: object) -> str:
    return value if isinstance(value, str) and is_http_uri(value) else ""


def _plain(text: str) -> str:
    """A display name is text: control characters and surrounding space go."""
    return "".join(ch for ch in text if ch.isprintable()).strip()


def is_local_uri(uri: str) -> bool:
    """Whether a URI is under this instance's base URL (ours, never fetched)."""
    base = instance.current().base_url
    return uri == base or uri.startswith(base + "/")


def _remember(table: OrderedDict[str, Any], key: str, value: Any) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > _MEMORY:
        table.popitem(last=False)
