"""Signing keys of local people: made when first needed, RSA-2048 as Mastodon expects."""

from __future__ import annotations

import asyncio

from activitypub.keys import generate_rsa_key_pair
from fediverse_intranet.models import Actor


async def ensure_keys(actor: Actor) -> Actor:
    """Give a local actor a key pair once; generation runs in a thread (it takes ~50 ms)."""
    if actor.public_key_pem or not actor.is_local:
        return actor
    pair = await asyncio.to_thread(generate_rsa_key_pair)
    # Only the first of two racing requests writes its key; both then read the stored one.
    await Actor.filter(id=actor.id, public_key_pem="").update(
        public_key_pem=pair.public_pem, private_key_pem=pair.private_pem
    )
    await actor.refresh_from_db(fields=["public_key_pem", "private_key_pem"])
    return actor
