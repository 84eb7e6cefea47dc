"""Every kind of remote document we fetch obeys the same rules: content type, size.

Actor, key, post, WebFinger answer and expertise directory are each fetched by the service
that needs them, from a static peer on 127.0.0.1 (tests/static_peer.py) over real HTTP.
An ActivityStreams document is believed only when served as ``application/activity+json``
or as ``application/ld+json`` with the ActivityStreams profile (Mastodon's rule since
CVE-2024-23832: a JSON file uploaded to the same server must never pass for an actor); a
WebFinger answer only as JRD (``application/jrd+json``, or ``application/json`` as Mastodon
takes it). Anything over 1 MiB is refused, whatever it claims to be.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from static_peer import AS, Peer, keys

from fediverse_intranet.errors import DomainError
from fediverse_intranet.services import remote_actors, remote_directory, remote_people, remote_posts
from fediverse_intranet.settings import Settings
from tests.conftest import LOOPBACK

LD_PROFILE = f'application/ld+json; profile="{AS}"'
GOOD_ACTIVITY = [
    "application/activity+json",
    "application/activity+json; charset=utf-8",
    LD_PROFILE,
    f'Application/LD+JSON; charset="UTF-8"; Profile="{AS}"',
]
BAD_ACTIVITY = [
    "application/json",  # what an uploaded .json file is served as
    "application/ld+json",
    'application/ld+json; profile="https://example.org/other"',
    "text/html; charset=utf-8",
    "text/plain",
    "application/jrd+json",
]
GOOD_JRD = ["application/jrd+json", "application/jrd+json; charset=utf-8", "application/json"]
BAD_JRD = ["text/html", "text/plain", "application/xrd+xml"]
TOO_BIG = "x" * (2 << 20)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, federation_private_networks=LOOPBACK)


@pytest.fixture
async def peer(app: Any) -> AsyncIterator[Peer]:
    server = Peer()
    await server.start()
    yield server
    await server.stop()


def person(peer: Peer, **extra: Any) -> dict[str, Any]:
    """ann, whose key is a document of its own (as GoToSocial publishes keys)."""
    key_id = peer.url("/keys/ann")
    document = peer.add_person("ann")
    document["publicKey"] = {**document["publicKey"], "id": key_id}
    document.update(extra)
    peer.serve("/users/ann", document)
    return document


async def fetch_actor(peer: Peer, media_type: str, pad: str) -> bool:
    document = person(peer, summary=pad or "Adviseur")
    peer.serve("/users/ann", document, media_type=media_type)
    try:
        await remote_actors.resolve_actor(document["id"])
    except remote_actors.RemoteActorError:
        return False
    return True


async def fetch_key(peer: Peer, media_type: str, pad: str) -> bool:
    actor = person(peer)
    key = {
        "@context": [AS, "https://w3id.org/security/v1"],
        "id": peer.url("/keys/ann"),
        "type": "Key",
        "owner": actor["id"],
        "publicKeyPem": keys(0).public_pem,
        "comment": pad,
    }
    peer.serve("/keys/ann", key, media_type=media_type)
    return await remote_actors.key_owner(key["id"]) is not None


async def fetch_post(peer: Peer, media_type: str, pad: str) -> bool:
    actor = person(peer)
    note = {
        "@context": AS,
        "id": peer.url("/notes/1"),
        "type": "Note",
        "attributedTo": actor["id"],
        "to": [f"{AS}#Public"],
        "content": f"<p>Hallo {pad}</p>",
    }
    peer.serve("/notes/1", note, media_type=media_type)
    try:
        await remote_posts.fetch(note["id"])
    except remote_posts.NotTaken:
        return False
    return True


async def fetch_webfinger(peer: Peer, media_type: str, pad: str) -> bool:
    actor = person(peer)
    jrd = {
        "subject": f"acct:ann@{peer.host}",
        "aliases": [pad] if pad else [],
        "links": [{"rel": "self", "type": "application/activity+json", "href": actor["id"]}],
    }
    peer.serve(f"/.well-known/webfinger?resource=acct:ann@{peer.host}", jrd, media_type=media_type)
    try:
        await remote_people.find(f"@ann@{peer.host}")
    except DomainError:
        return False
    return True


async def fetch_directory(peer: Peer, media_type: str, pad: str) -> bool:
    actor = person(peer, indexable=True)
    directory = {
        "@context": AS,
        "id": peer.url("/directory"),
        "type": "OrderedCollection",
        "summary": pad,
        "orderedItems": [actor["id"]],
    }
    peer.serve("/directory", directory, media_type=media_type)
    try:
        return await remote_directory.connect(peer.host) == 1
    except DomainError:
        return False


Fetch = Callable[[Peer, str, str], Awaitable[bool]]
ACTIVITY_KINDS: dict[str, Fetch] = {
    "actor": fetch_actor,
    "key": fetch_key,
    "post": fetch_post,
    "directory": fetch_directory,
}
EVERY_KIND: dict[str, tuple[Fetch, str]] = {
    **{name: (fetch, "application/activity+json") for name, fetch in ACTIVITY_KINDS.items()},
    "webfinger": (fetch_webfinger, "application/jrd+json"),
}


@pytest.mark.parametrize("media_type", GOOD_ACTIVITY)
@pytest.mark.parametrize("kind", ACTIVITY_KINDS)
async def test_activitystreams_content_types_are_accepted(kind: str, media_type: str, peer: Peer):
    assert await ACTIVITY_KINDS[kind](peer, media_type, "")


@pytest.mark.parametrize("media_type", BAD_ACTIVITY)
@pytest.mark.parametrize("kind", ACTIVITY_KINDS)
async def test_other_content_types_are_refused(kind: str, media_type: str, peer: Peer):
    assert not await ACTIVITY_KINDS[kind](peer, media_type, "")


@pytest.mark.parametrize("media_type", GOOD_JRD)
async def test_webfinger_takes_jrd(media_type: str, peer: Peer):
    assert await fetch_webfinger(peer, media_type, "")


@pytest.mark.parametrize("media_type", BAD_JRD)
async def test_webfinger_refuses_anything_else(media_type: str, peer: Peer):
    assert not await fetch_webfinger(peer, media_type, "")


@pytest.mark.parametrize("kind", EVERY_KIND)
async def test_a_document_over_a_mebibyte_is_refused(kind: str, peer: Peer):
    fetch, media_type = EVERY_KIND[kind]
    assert not await fetch(peer, media_type, TOO_BIG)
