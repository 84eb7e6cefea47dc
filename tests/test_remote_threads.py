"""Remote threads: a reply to a post we do not have fetches the posts above it from their
origin, so a reader here sees the thread; every form of ``inReplyTo`` the Fediverse Pasture
catalogue sends keeps it; bad chains (1,000 deep, a loop, a 404, a private address, a
blocked server) end with bounded work and the reply stored.

Real HTTP: the remote server of ``tests/test_inbox.py`` serves the posts, the inbox takes
the signed Create, the processor handles it, and a signed-in browser reads the page.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from fediverse_intranet.models import Account, Notification, Post, Visibility, WorkState
from fediverse_intranet.services import federation_policy, remote_threads
from tests import test_inbox as peer
from tests.test_inbox import ALICE, RemotePerson, RemoteServer
from tests.test_inbox_content import activity, note, send

settings, remote, alice, bob = peer.settings, peer.remote, peer.alice, peer.bob


def reply(person: RemotePerson, n: int, in_reply_to: Any, **changes: Any) -> dict[str, Any]:
    """A public reply addressed to alice (so it concerns someone here)."""
    return note(
        person,
        n,
        inReplyTo=in_reply_to,
        cc=[ALICE],
        content=f"<p>Reply {n}</p>",
        tag=[{"type": "Mention", "href": ALICE}],
        **changes,
    )


def serve_chain(remote: RemoteServer, person: RemotePerson, depth: int) -> None:
    """Posts 1..depth at the origin, each answering the one before (1 is the top)."""
    for n in range(1, depth + 1):
        above = f"{person.uri}/statuses/{n - 1}" if n > 1 else None
        remote.objects[f"/users/{person.name}/statuses/{n}"] = note(
            person, n, inReplyTo=above, content=f"<p>Ancestor {n}</p>"
        )


async def page_of(browser, account: Account, uri: str) -> str:
    post = await Post.get(uri=uri)
    reader = await browser(account)
    response = await reader.get(f"/posts/{post.id}")
    assert response.status_code == 200
    return response.text


def parent_forms(parent: str) -> dict[str, Any]:
    """``inReplyTo`` as the catalogue's in_reply_to input sends it (inputs/in_reply_to.py)."""
    return {
        "string": parent,
        "link": {"type": "Link", "href": parent},
        "embedded": {"type": "Note", "id": parent, "content": "not believed"},
        "one-item list": [parent],
        "two-item list": [parent, parent + "/other"],
        "collection": {"type": "Collection", "items": [parent]},
        "ordered collection": {"type": "OrderedCollection", "orderedItems": [parent]},
    }


@pytest.mark.parametrize("form", list(parent_forms("x")))
async def test_a_reply_to_a_post_we_lack_shows_its_parent_in_every_form(
    client, browser, alice, remote, form
):
    carol = remote.add("carol")
    serve_chain(remote, carol, 1)
    parent = f"{carol.uri}/statuses/1"
    body = reply(carol, 2, parent_forms(parent)[form])
    item = await send(client, carol, activity("Create", carol, body))
    assert (item.state, item.error) == (WorkState.DONE, "")

    text = await page_of(browser, alice, body["id"])
    assert "Ancestor 1" in text and "Reply 2" in text
    stored_parent = await Post.get(uri=parent)
    assert (await Post.get(uri=body["id"])).in_reply_to_id == stored_parent.id
    # and the parent's page lists the reply below it, though the reply came first
    assert "Reply 2" in await page_of(browser, alice, parent)
    assert "not believed" not in text  # the embedded copy is not trusted, the origin is


async def test_the_ancestors_are_fetched_and_the_whole_thread_shows(client, browser, alice, remote):
    carol = remote.add("carol")
    serve_chain(remote, carol, 3)
    body = reply(carol, 4, f"{carol.uri}/statuses/3")
    await send(client, carol, activity("Create", carol, body))

    text = await page_of(browser, alice, body["id"])
    positions = [text.index(f"Ancestor {n}") for n in (1, 2, 3)]
    assert positions == sorted(positions) and positions[-1] < text.index("Reply 4")
    top = await Post.get(uri=f"{carol.uri}/statuses/1")
    rows = await Post.filter(uri__startswith=carol.uri).order_by("id")
    assert {p.thread_root_id for p in rows if p.id != top.id} == {top.id}
    assert "Reply 4" in await page_of(browser, alice, top.uri)


async def test_a_chain_1000_deep_stops_at_the_bound_and_keeps_the_reply(
    client, browser, alice, remote
):
    carol = remote.add("carol")
    serve_chain(remote, carol, 1000)
    body = reply(carol, 1001, f"{carol.uri}/statuses/1000")
    item = await send(client, carol, activity("Create", carol, body))

    assert (item.state, item.error) == (WorkState.DONE, "")
    fetched = [p for p in remote.gets if p.startswith("/users/carol/statuses/")]
    assert len(fetched) == remote_threads.MAX_ANCESTORS
    assert await Post.filter(uri__startswith=carol.uri).count() == 1 + remote_threads.MAX_ANCESTORS
    text = await page_of(browser, alice, body["id"])
    assert "Ancestor 1000" in text and "Ancestor 981" in text and "Ancestor 980" not in text


async def test_a_loop_ends_and_makes_no_circular_thread(client, browser, alice, remote):
    """A answers B, and B (at its origin) answers A: B is fetched once, and stored under A."""
    carol = remote.add("carol")
    a, b = f"{carol.uri}/statuses/1", f"{carol.uri}/statuses/2"
    remote.objects["/users/carol/statuses/2"] = note(carol, 2, inReplyTo=a, content="<p>Post B</p>")
    body = reply(carol, 1, b)
    item = await send(client, carol, activity("Create", carol, body))

    assert (item.state, item.error) == (WorkState.DONE, "")
    assert remote.gets["/users/carol/statuses/2"] == 1
    assert remote.gets["/users/carol/statuses/1"] == 0
    stored_a, stored_b = await Post.get(uri=a), await Post.get(uri=b)
    assert stored_b.in_reply_to_id == stored_a.id and stored_a.in_reply_to_id is None
    assert "Post B" in await page_of(browser, alice, a)


async def test_a_loop_between_two_replies_that_arrive_is_not_closed(client, alice, remote):
    """The same loop, both posts sent: the second does not adopt the first as its child."""
    carol = remote.add("carol")
    a, b = reply(carol, 1, f"{carol.uri}/statuses/2"), reply(carol, 2, f"{carol.uri}/statuses/1")
    await send(client, carol, activity("Create", carol, a))
    await send(client, carol, activity("Create", carol, b))
    stored_a, stored_b = await Post.get(uri=a["id"]), await Post.get(uri=b["id"])
    assert not (stored_a.in_reply_to_id == stored_b.id and stored_b.in_reply_to_id == stored_a.id)


@pytest.mark.parametrize("where", ["404", "private address", "blocked server", "not a post"])
async def test_a_parent_that_cannot_be_had_leaves_the_reply_stored_and_is_not_retried(
    client, browser, alice, remote, where
):
    carol = remote.add("carol")
    parent = {
        "404": f"{carol.uri}/statuses/404",
        "private address": "http://10.1.2.3/statuses/1",
        "blocked server": "https://blocked.example/statuses/1",
        "not a post": carol.uri,  # the catalogue's Collection names an actor
    }[where]
    if where == "blocked server":
        await federation_policy.set_policy(alice, "blocklist", "blocked.example")
    body = reply(carol, 2, parent)
    item = await send(client, carol, activity("Create", carol, body))

    assert (item.state, item.error) == (WorkState.DONE, "")
    stored = await Post.get(uri=body["id"])
    assert stored.in_reply_to_id is None and stored.in_reply_to_uri == parent
    assert "Reply 2" in await page_of(browser, alice, body["id"])
    if where == "404":
        assert remote.gets["/users/carol/statuses/404"] == 1


async def test_a_followers_only_parent_keeps_its_own_audience(client, browser, alice, bob, remote):
    carol = remote.add("carol")
    parent = note(carol, 1, to=[carol.uri + "/followers"], cc=[], content="<p>Only followers</p>")
    remote.objects["/users/carol/statuses/1"] = parent
    body = reply(carol, 2, parent["id"])
    await send(client, carol, activity("Create", carol, body))

    assert (await Post.get(uri=parent["id"])).visibility == Visibility.FOLLOWERS
    assert "Only followers" not in await page_of(browser, alice, body["id"])  # no follower here


class SlowServer(RemoteServer):
    """A server that takes ``delay`` seconds for every post (its actors come at once)."""

    delay = 0.4

    async def _object(self, request):  # type: ignore[no-untyped-def]
        await asyncio.sleep(self.delay)
        return await super()._object(request)


async def test_a_slow_chain_stops_at_the_time_budget(client, alice, monkeypatch):
    """Each ancestor takes 0.4 s; the walk is given 1.5 s: it stops after a few, the reply
    and the ancestors fetched so far are stored, and the item is done."""
    monkeypatch.setattr(remote_threads, "BUDGET", 1.5)
    slow = SlowServer()
    await slow.start()
    try:
        carol = slow.add("carol")
        serve_chain(slow, carol, 50)
        body = reply(carol, 51, f"{carol.uri}/statuses/50")
        started = time.monotonic()
        item = await send(client, carol, activity("Create", carol, body))
        took = time.monotonic() - started
    finally:
        await slow.stop()
    assert (item.state, item.error) == (WorkState.DONE, "")
    fetched = sum(1 for p in slow.gets if p.startswith("/users/carol/statuses/"))
    assert 2 <= fetched <= 5 and took < 4
    stored = await Post.filter(uri__startswith=carol.uri).count()
    assert stored == 1 + fetched - 1  # the one cut off mid-fetch is not stored


async def test_a_parent_that_comes_later_takes_the_replies_below_its_reply_too(
    client, browser, alice, remote
):
    """2 answers 1 (not to be had yet), 3 answers 2; then 1 arrives: the thread page of 1
    shows both, not only its direct reply."""
    carol = remote.add("carol")
    two = reply(carol, 2, f"{carol.uri}/statuses/1")
    three = reply(carol, 3, two["id"])
    await send(client, carol, activity("Create", carol, two))
    await send(client, carol, activity("Create", carol, three))
    one = note(carol, 1, cc=[ALICE], content="<p>Top post</p>")
    await send(client, carol, activity("Create", carol, one))

    text = await page_of(browser, alice, one["id"])
    assert "Reply 2" in text and "Reply 3" in text
    top = await Post.get(uri=one["id"])
    assert {p.thread_root_id for p in await Post.filter(id__not=top.id)} == {top.id}


async def test_posts_fetched_for_context_notify_nobody(client, alice, remote):
    """An old post above a reply, or a quoted post, is stored to show the thread or the
    quote; that it mentions or answers alice is no news, unlike the reply itself."""
    carol = remote.add("carol")
    mentioning = {"cc": [ALICE], "tag": [{"type": "Mention", "href": ALICE}]}
    remote.objects["/users/carol/statuses/1"] = note(carol, 1, content="<p>Old</p>", **mentioning)
    remote.objects["/users/carol/statuses/5"] = note(
        carol, 5, content="<p>Quoted</p>", **mentioning
    )
    body = reply(carol, 2, f"{carol.uri}/statuses/1", quote=f"{carol.uri}/statuses/5")
    item = await send(client, carol, activity("Create", carol, body))

    assert (item.state, item.error) == (WorkState.DONE, "")
    old, quoted = (
        await Post.get(uri=f"{carol.uri}/statuses/1"),
        await Post.get(uri=f"{carol.uri}/statuses/5"),
    )
    news = await Notification.filter(recipient_id=alice.actor_id).values_list("post_id", flat=True)
    assert list(news) == [(await Post.get(uri=body["id"])).id]
    assert old.id not in news and quoted.id not in news


async def test_a_quoted_post_we_lack_is_fetched_once_and_shown_as_a_card(
    client, browser, alice, remote
):
    carol = remote.add("carol")
    remote.objects["/users/carol/statuses/5"] = note(carol, 5, content="<p>Het citaat</p>")
    body = reply(carol, 2, None, quote=f"{carol.uri}/statuses/5")
    await send(client, carol, activity("Create", carol, body))
    again = reply(carol, 3, None, quote=f"{carol.uri}/statuses/5")
    await send(client, carol, activity("Create", carol, again))

    assert remote.gets["/users/carol/statuses/5"] == 1
    assert "Het citaat" in await page_of(browser, alice, body["id"])
