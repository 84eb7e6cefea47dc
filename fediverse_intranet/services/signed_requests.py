"""Who signed a request to us: one reading of HTTP signatures for inbox POSTs (a bad one is
refused) and for signed GETs of our documents (a bad one is ignored, :func:`signer_of_get`).

The federation policy is asked before a key is looked up, so a blocked server's key is never
fetched; the key's owner comes from ``remote_actors`` (remembered, refreshed once when a
signature fails with the remembered key, for key rotation).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from activitypub.errors import FederationError
from activitypub.keys import PublicKey
from activitypub.signatures import SignatureError, verify_request
from fediverse_intranet import instance
from fediverse_intranet.models import Actor
from fediverse_intranet.services import federation_policy, remote_actors
from fediverse_intranet.services.federation_policy import Policy

log = logging.getLogger(__name__)

BLOCKED = "this server is blocked here"


class Unverified(FederationError):
    """No acceptable signature: ``status`` 401 (missing, bad, unknown key) or 403 (blocked)."""

    status: int  # always set, unlike a FederationError's

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason, status, retry=False)


async def signer_of(
    scope: Mapping[str, Any], body: bytes | None, policy: Policy, *, strip_prefix: str = ""
) -> Actor:
    """The actor whose key signed this ASGI request. ``strip_prefix`` is a path prefix our
    own routing added (content negotiation's ``/ap``) that the peer did not sign."""
    owners: dict[str, Actor] = {}

    async def lookup(key_id: str, refresh: bool) -> PublicKey | None:
        if not policy.allows_url(key_id):
            raise Unverified(403, BLOCKED)
        owner = await remote_actors.key_owner(key_id, refresh=refresh)
        if owner is None:
            return None
        owners[key_id] = owner
        return remote_actors.public_key_of(owner)

    headers = [
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]
    ]
    try:
        verified = await verify_request(
            scope["method"],
            request_target(scope, strip_prefix),
            headers,
            body,
            lookup,
            scheme=urlsplit(instance.current().base_url).scheme,
        )
    except SignatureError as exc:
        raise Unverified(401, exc.reason) from None
    return owners[verified.key_id]


async def signer_of_get(scope: Mapping[str, Any], *, strip_prefix: str = "") -> Actor | None:
    """Who signed a GET of one of our documents (an actor, a post, a collection, a file): the
    one rule for every such route. None when it is unsigned, and also when the signature
    cannot be verified (bad, stale, an unknown or unreachable key): a GET is then answered
    as an unsigned one is, as Mastodon answers it when authorized fetch is off. That tells
    nothing an unsigned request would not (what is not public is the same 404 as what does
    not exist) and no route answers a bad signature differently. A key on a blocked server
    raises :class:`Unverified` (403), whatever was asked, and is never fetched."""
    names = {name for name, _value in scope["headers"]}
    if b"signature" not in names and b"signature-input" not in names:
        return None
    policy = await federation_policy.current()
    try:
        return await signer_of(scope, None, policy, strip_prefix=strip_prefix)
    except Unverified as exc:
        if exc.status == 403:
            raise
        log.info("signed GET %s answered as unsigned: %s", scope.get("path"), exc.reason)
        return None


def request_target(scope: Mapping[str, Any], strip_prefix: str = "") -> str:
    """The path and query exactly as the peer sent (and signed) them."""
    raw: bytes = scope.get("raw_path") or quote(scope["path"]).encode("ascii")
    prefix = strip_prefix.encode()
    if prefix and raw.startswith(prefix + b"/"):
        raw = raw[len(prefix) :]
    if scope.get("query_string"):
        raw += b"?" + scope["query_string"]
    return raw.decode("latin-1")
