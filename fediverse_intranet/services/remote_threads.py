"""The posts around a remote post: the posts above a reply and the post it quotes, fetched
from their origins so the thread and the quote show (:func:`fetch_context`).

A reply to a post we do not have is stored first (``remote_posts.store``, its own
transaction, so nothing that follows can lose it), with the parent's id kept as
``in_reply_to_uri``. Then :func:`fetch_ancestors` walks up: the parent, its parent, and so
on, each fetched signed from its own origin through the safe fetcher
(``remote_posts.fetch``: federation policy, private-network rule, size cap, timeout, the
author on the post's server). The walk stops at a post we have, a post already seen in
this walk (a loop), ``MAX_ANCESTORS`` posts, ``BUDGET`` seconds, or the first post that
cannot be fetched (404, a blocked server, a private address, not a post): bounded work,
and no retry, because the reply itself is stored and a missing ancestor only means the
thread starts lower. The fetched posts are then stored oldest first, each as context (the
parent of a reply someone here has is wanted, as a boosted post is) with its own audience;
storing one adopts the reply below it (``remote_posts._adopt_replies``).

A quoted post we do not have (``Post.quote_uri``) is fetched the same way, one post, within
the same budget, so its card shows instead of a bare link (Mastodon fetches it too). Posts
fetched for context notify nobody: an old post is no news.

The walk runs inside the inbox item's handling, so at least once: a worker killed during it
leaves the item leased, and the next worker stores the reply (already there: nothing
changes) and walks again.
"""

from __future__ import annotations

import asyncio
import logging

from activitypub.parse_object import RemoteObject
from fediverse_intranet.models import Actor, Post
from fediverse_intranet.services import remote_posts
from fediverse_intranet.services.remote_posts import NotTaken

log = logging.getLogger(__name__)

MAX_ANCESTORS = 20  # posts fetched above one reply; Mastodon fetches fewer
BUDGET = 20.0  # seconds for the whole walk, whatever each fetch's own timeout


async def fetch_context(post: Post) -> int:
    """The posts above ``post`` and the post it quotes, those we lack, fetched and stored;
    returns how many were stored. Never raises for what a remote server does."""
    return await fetch_ancestors(post) + await fetch_quoted(post)


async def fetch_quoted(post: Post) -> int:
    """Fetch and store the post ``post`` quotes when we do not have it: 1 if stored."""
    uri = post.quote_uri
    if not uri or uri == post.uri or await Post.filter(uri=uri).exists():
        return 0
    try:
        async with asyncio.timeout(BUDGET):
            quoted, author = await remote_posts.fetch(uri)
            stored = await remote_posts.store(quoted, author, context=True)
    except TimeoutError:
        log.info("quote of %s: %s not fetched in %s s", post.uri, uri, BUDGET)
        return 0
    except NotTaken as exc:
        log.info("quote of %s: %s not stored: %s", post.uri, uri, exc.reason)
        return 0
    return 1 if stored is not None else 0


async def fetch_ancestors(reply: Post) -> int:
    """Fetch and store the posts above ``reply`` that we do not have; returns how many were
    stored. Never raises for what a remote server does: the reply stays as it is."""
    uri = reply.in_reply_to_uri
    if reply.in_reply_to_id is not None or not uri:
        return 0
    chain: list[tuple[RemoteObject, Actor]] = []
    seen = {reply.uri}
    try:
        async with asyncio.timeout(BUDGET):
            while uri and uri not in seen and len(chain) < MAX_ANCESTORS:
                seen.add(uri)
                if await Post.filter(uri=uri).exists():
                    break
                try:
                    found = await remote_posts.fetch(uri)
                except NotTaken as exc:
                    log.info("thread of %s stops at %s: %s", reply.uri, uri, exc.reason)
                    break
                chain.append(found)
                uri = found[0].in_reply_to
    except TimeoutError:
        log.info("thread of %s: stopped after %s s", reply.uri, BUDGET)
    stored = 0
    for post, author in reversed(chain):  # oldest first: each finds its parent stored
        try:
            if await remote_posts.store(post, author, context=True) is not None:
                stored += 1
        except NotTaken as exc:
            log.info("ancestor %s of %s not stored: %s", post.id, reply.uri, exc.reason)
    return stored
