"""The one HTTP client this process uses to talk to other servers, made from the settings,
and the instance actor it signs its fetches with.

Every GET of a remote object or actor is signed (draft-cavage ``rsa-sha256`` over
``(request-target) host date accept``) with the instance actor's key, as Mastodon signs its
fetches: servers in authorized-fetch mode answer only signed GETs, and a followers-only post
is served only to a signer the author's server can place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError

from activitypub.fetch import ACTIVITY, Expect, Fetched, Fetcher
from activitypub.signatures import sign_request
from fediverse_intranet import instance, urls
from fediverse_intranet.models import Actor
from fediverse_intranet.services import keys

INSTANCE_ACTOR_USERNAME = "instance_actor"

_fetcher: Fetcher | None = None


class InstanceActorUnavailable(Exception):
    """The instance actor cannot be made: a person holds its user name."""


def fetcher() -> Fetcher:
    global _fetcher
    if _fetcher is None:
        settings = instance.current()
        _fetcher = Fetcher(
            settings.base_url,
            allowed_networks=settings.federation_private_networks,
            extra_ca_file=settings.extra_ca_file or None,
        )
    return _fetcher


def scheme() -> str:
    """The scheme for URLs we make ourselves (WebFinger, directories): https, as every real
    server; plain http only where private networks are listed (local tests) and this
    instance itself runs on http."""
    settings = instance.current()
    if settings.federation_private_networks:
        return urlsplit(settings.base_url).scheme
    return "https"


async def close() -> None:
    global _fetcher
    if _fetcher is not None:
        await _fetcher.close()
        _fetcher = None


async def signed_fetch(url: str, *, expect: Expect | None = None) -> Fetched:
    """GET a document signed by the instance actor; raises ``activitypub.fetch.FetchError``."""
    try:
        actor = await instance_actor()
    except InstanceActorUnavailable:  # misconfigured instance: fetch unsigned, as before
        return await fetcher().fetch(url, expect=expect or ACTIVITY)
    key_id, private_pem = urls.key_id(actor), actor.private_key_pem

    async def sign(method: str, target: str, headers: Mapping[str, str], body: bytes) -> dict:
        # RSA signing holds the event loop for about a millisecond: run it in a thread.
        return await asyncio.to_thread(
            sign_request, method, target, headers, None, key_id, private_pem
        )

    return await fetcher().fetch(url, signed_by=sign, expect=expect or ACTIVITY)


async def instance_actor() -> Actor:
    """The instance's own actor, made (with its key pair) the first time it is needed.

    Found by its URI, never by user name, so a person who took the name is never mistaken
    for it. It has no Account, so it never signs in and is not in the people directory.
    """
    uri = urls.instance_actor_uri()
    actor = await Actor.filter(uri=uri).first()
    if actor is None:
        settings = instance.current()
        try:
            actor = await Actor.create(
                username=INSTANCE_ACTOR_USERNAME,
                domain="",
                uri=uri,
                display_name=(settings.instance_name or settings.domain)[:100],
            )
        except IntegrityError:
            actor = await Actor.filter(uri=uri).first()  # made by a concurrent request
            if actor is None:
                raise InstanceActorUnavailable(
                    f"the user name {INSTANCE_ACTOR_USERNAME!r} belongs to a person"
                ) from None
    return await keys.ensure_keys(actor)
