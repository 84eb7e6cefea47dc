"""Inbound interactions: Like, Announce, Block and their Undo, Flag, and a remote person's
Update and Delete of themselves, each as a remote server sends them, then processed."""

from __future__ import annotations

import json
from typing import Any

from fediverse_intranet.models import (
    Account,
    Actor,
    Block,
    Boost,
    Follow,
    InboxItem,
    Like,
    Notification,
    NotificationKind,
    Post,
    Report,
    Visibility,
    WorkState,
)
from fediverse_intranet.services import posts, remote_actors
from tests import test_inbox as peer
from tests.conftest import BASE_URL
from tests.test_inbox import ALICE, RemotePerson, RemoteServer, deliver
from tests.test_inbox_content import activity, note, run_again, send, snapshot

settings, remote, alice, bob = peer.settings, peer.remote, peer.alice, peer.bob


async def local_post(account: Account, visibility: Visibility = Visibility.PUBLIC) -> Post:
    post = await posts.create_post(account.actor, posts.Draft("Hallo", visibility=visibility))
    return await Post.get(id=post.id).select_related("author")


async def counts(post: Post) -> tuple[int, int, int]:
    fresh = await Post.get(id=post.id)
    return fresh.like_count, fresh.boost_count, fresh.reply_count


async def interactions() -> dict[str, Any]:
    return {
        **await snapshot(),
        "likes": await Like.all().order_by("id").values("uri", "actor_id", "post_id"),
        "boosts": await Boost.all().order_by("id").values("uri", "actor_id", "post_id"),
        "blocks": await Block.all().order_by("id").values("uri", "blocker_id", "target_id"),
        "reports": await Report.all().count(),
    }


# --- Like ---------------------------------------------------------------------------------


async def test_a_like_of_our_post_is_counted_notified_and_undone(client, alice, remote):
    carol = remote.add("carol")
    post = await local_post(alice)
    like = activity("Like", carol, post.uri)
    await send(client, carol, like)

    stored = await Like.get(post=post).select_related("actor")
    assert (stored.uri, stored.actor.uri) == (like["id"], carol.uri)
    assert await counts(post) == (1, 0, 0)
    told = await Notification.get(recipient=alice.actor)
    assert (told.kind, told.post_id) == (NotificationKind.LIKE, post.id)

    before = await interactions()
    item = await send(client, carol, activity("Like", carol, post.uri))  # a second Like
    assert item.error == "ignored: liked already"
    await run_again()
    assert await interactions() == before

    await send(client, carol, activity("Undo", carol, {**like, "@context": None}))
    assert await counts(post) == (0, 0, 0) and not await Like.exists()

    like_again = activity("Like", carol, post.uri)
    await send(client, carol, like_again)
    assert await counts(post) == (1, 0, 0)
    assert await Notification.filter(kind=NotificationKind.LIKE).count() == 1  # no news
    await send(client, carol, activity("Undo", carol, like_again["id"]))  # by id only
    assert await counts(post) == (0, 0, 0)


async def test_likes_that_are_not_for_us_change_nothing(client, alice, bob, remote):
    carol, mallory = remote.add("carol"), remote.add("mallory")
    followers_only = await local_post(alice, Visibility.FOLLOWERS)
    like = activity("Like", carol, followers_only.uri)
    first = await send(client, carol, like)
    assert first.error == "ignored: a like of a post the sender cannot see"
    missing = await send(client, carol, activity("Like", carol, followers_only.uri + "0"))
    assert missing.error == "ignored: no such post here"

    public = await local_post(alice)
    await send(client, carol, activity("Like", carol, public.uri))
    carols = await Like.get()
    forged_undo = activity("Undo", mallory, {"id": carols.uri, "type": "Like", "actor": carol.uri})
    item = await send(client, mallory, forged_undo)
    assert item.error == "ignored: only its actor may undo a like"
    by_id = await send(client, mallory, activity("Undo", mallory, carols.uri))
    assert by_id.error == "ignored: nothing of the sender's has this id"
    assert await counts(public) == (1, 0, 0)


# --- Announce -------------------------------------------------------------------------------


async def test_a_boost_of_our_post_is_recorded_and_undone(client, alice, remote):
    carol = remote.add("carol")
    post = await local_post(alice)
    announce = activity("Announce", carol, post.uri)
    await send(client, carol, announce)

    boost = await Boost.get(post=post)
    assert boost.uri == announce["id"]
    assert await counts(post) == (0, 1, 0)
    told = await Notification.get(recipient=alice.actor)
    assert told.kind == NotificationKind.BOOST
    before = await interactions()
    await run_again()
    assert await interactions() == before

    undo = activity("Undo", carol, {"id": announce["id"], "type": "Announce", "actor": carol.uri})
    await send(client, carol, undo)
    assert await counts(post) == (0, 0, 0) and not await Boost.exists()


async def test_only_public_posts_of_ours_can_be_boosted(client, alice, remote):
    carol = remote.add("carol")
    post = await local_post(alice, Visibility.FOLLOWERS)
    item = await send(client, carol, activity("Announce", carol, post.uri))
    assert item.error == "ignored: only public posts can be boosted"
    assert not await Boost.exists()


async def test_a_boost_by_someone_followed_here_brings_the_post_from_its_origin(
    client, alice, remote
):
    carol, dave = remote.add("carol"), remote.add("dave")
    original = note(dave, content="<p>Van dave</p>")
    remote.objects["/users/dave/statuses/1"] = original
    announce = activity("Announce", carol, original["id"])

    nobody = await send(client, carol, announce)
    assert nobody.error == "ignored: nobody here follows the booster or is addressed"
    assert "/users/dave/statuses/1" not in remote.gets  # not even fetched

    carol_actor = await remote_actors.resolve_actor(carol.uri)
    await Follow.create(follower=alice.actor, followee=carol_actor)
    again = activity("Announce", carol, original["id"])
    await send(client, carol, again)
    post = await Post.get(uri=original["id"]).select_related("author")
    assert post.author.uri == dave.uri and post.content_html == "<p>Van dave</p>"
    boost = await Boost.get().select_related("actor")
    assert (boost.actor.uri, boost.post_id, boost.uri) == (carol.uri, post.id, again["id"])
    assert await counts(post) == (0, 1, 0)

    await send(client, carol, activity("Undo", carol, again["id"]))
    assert not await Boost.exists() and await counts(post) == (0, 0, 0)


async def test_a_boost_of_a_followers_only_post_elsewhere_is_refused(client, alice, remote):
    carol, dave = remote.add("carol"), remote.add("dave")
    private = note(dave, to=[dave.uri + "/followers"], cc=[])
    remote.objects["/users/dave/statuses/1"] = private
    await Follow.create(follower=alice.actor, followee=await remote_actors.resolve_actor(carol.uri))
    item = await send(client, carol, activity("Announce", carol, private["id"]))
    assert item.error == "ignored: only public posts can be boosted"
    assert not await Boost.exists()


# --- Block ----------------------------------------------------------------------------------


async def test_a_block_ends_follows_both_ways_until_undone(client, alice, bob, remote):
    carol = remote.add("carol")
    carol_actor = await remote_actors.resolve_actor(carol.uri)
    await Follow.create(follower=alice.actor, followee=carol_actor)
    await Follow.create(follower=carol_actor, followee=alice.actor)
    await Follow.create(follower=carol_actor, followee=bob.actor)
    block = activity("Block", carol, ALICE)
    await send(client, carol, block)

    stored = await Block.get().select_related("blocker", "target")
    assert (stored.blocker.uri, stored.target.uri, stored.uri) == (carol.uri, ALICE, block["id"])
    remaining = await Follow.all().values_list("follower__username", "followee__username")
    assert remaining == [("carol", "bob")]
    before = await interactions()
    await run_again()
    assert await interactions() == before

    nobody = await send(client, carol, activity("Block", carol, ALICE + "x"))
    assert nobody.error == "ignored: not a block of a person here"
    await send(client, carol, activity("Undo", carol, {**block, "@context": None}))
    assert not await Block.exists()


# --- Flag -----------------------------------------------------------------------------------


async def test_a_flag_goes_into_the_report_queue_with_only_our_posts(client, alice, bob, remote):
    carol = remote.add("carol")
    post = await local_post(bob)
    flag = {
        **activity("Flag", carol, None),
        "object": [f"{BASE_URL}/users/bob", post.uri, remote.url("/users/x/statuses/1")],
        "content": "Spam <script>alert(1)</script><b>echt</b>",
    }
    await send(client, carol, flag)
    report = await Report.get().select_related("reporter", "target")
    assert (report.reporter.uri, report.target.uri) == (carol.uri, f"{BASE_URL}/users/bob")
    assert report.origin == f"127.0.0.1:{remote.port}" and report.uri == flag["id"]
    assert json.loads(report.post_uris) == [post.uri]
    assert report.comment == "Spam echt"
    await run_again()
    assert await Report.all().count() == 1

    only_posts = {**activity("Flag", carol, None), "object": post.uri}
    await send(client, carol, only_posts)
    assert await Report.filter(target=bob.actor).count() == 2  # the post's author
    nobody = {**activity("Flag", carol, None), "object": [remote.url("/users/x")]}
    assert (await send(client, carol, nobody)).error == "ignored: reports nobody here"


# --- a remote person updates or deletes themselves ----------------------------------------------


async def test_update_of_a_person_refreshes_the_stored_actor_through_the_parser(
    client, alice, remote
):
    carol = remote.add("carol")
    await remote_actors.resolve_actor(carol.uri)
    document = {
        **remote.actor_document(carol),
        "name": "Carol de Vries",
        "summary": "<p>Nieuw</p><script>alert(1)</script>",
    }
    carol.document = document  # her server serves the new version too
    await send(client, carol, activity("Update", carol, document))
    stored = await Actor.get(uri=carol.uri)
    assert (stored.display_name, stored.bio) == ("Carol de Vries", "<p>Nieuw</p>")

    mallory = remote.add("mallory")
    forged = {**document, "name": "Hacked"}  # mallory updates carol
    item = await send(client, mallory, activity("Update", mallory, forged))
    assert item.state == WorkState.DONE and item.error.startswith("ignored")
    unusable = {**remote.actor_document(carol), "inbox": "https://elsewhere.example/inbox"}
    item = await send(client, carol, activity("Update", carol, unusable))
    assert item.error == "ignored: not an actor document we can read"
    assert (await Actor.get(uri=carol.uri)).display_name == "Carol de Vries"


async def test_delete_of_a_person_removes_them_and_everything_of_theirs(client, alice, remote):
    carol = remote.add("carol")
    post = await local_post(alice)
    await send(client, carol, activity("Like", carol, post.uri))
    await send(client, carol, activity("Announce", carol, post.uri))
    reply = note(carol, inReplyTo=post.uri, cc=[ALICE])
    await send(client, carol, activity("Create", carol, reply))
    carol_actor = await Actor.get(uri=carol.uri)
    await Follow.create(follower=alice.actor, followee=carol_actor)
    await Follow.create(follower=carol_actor, followee=alice.actor)
    assert await counts(post) == (1, 1, 1)

    remote.gone.add("carol")  # her server answers 410 for her from now on
    item = await send(client, carol, activity("Delete", carol, carol.uri))
    assert (item.state, item.error) == (WorkState.DONE, "")
    assert not await Actor.filter(uri=carol.uri).exists()
    assert not await Follow.exists() and not await Post.filter(uri=reply["id"]).exists()
    assert await counts(post) == (0, 0, 0)
    await run_again()  # her activities again: she is gone (410), so they fail at once
    assert await counts(post) == (0, 0, 0)
    assert await InboxItem.filter(state=WorkState.PENDING).count() == 0


async def test_delete_from_an_unknown_gone_actor_is_answered_202_and_not_stored(
    client, alice, remote: RemoteServer
):
    """Its key answers 410, so the signature cannot be checked; there is nothing of theirs
    here anyway. Mastodon answers these 202 too, so the sender does not retry for days."""
    ghost: RemotePerson = remote.add("ghost")
    remote.gone.add("ghost")
    response = await deliver(client, ghost, activity("Delete", ghost, ghost.uri), "/inbox")
    assert response.status_code == 202
    assert not await InboxItem.exists() and sum(remote.gets.values()) == 0

    # Anything else from it is refused with a clear 401, as any unverifiable request is.
    other = activity("Delete", ghost, ghost.uri + "/statuses/1")
    response = await deliver(client, ghost, other, "/inbox")
    assert response.status_code == 401 and not await InboxItem.exists()


# --- Announce for someone here (issue 18 point 8) --------------------------------------------


def for_alice(person: RemotePerson, n: int = 1, **changes: Any) -> dict[str, Any]:
    """A public post that mentions alice, as Mastodon writes one."""
    return note(person, n, cc=[ALICE], tag=[{"type": "Mention", "href": ALICE}], **changes)


async def home_of(browser, account: Account) -> str:
    reader = await browser(account)
    response = await reader.get("/")
    assert response.status_code == 200
    return response.text


async def test_a_boost_of_an_embedded_post_for_someone_here_is_shown_though_nobody_follows(
    client, browser, alice, remote
):
    carol = remote.add("carol")
    post = for_alice(carol, content="<p>Boosted for alice</p>")
    item = await send(client, carol, activity("Announce", carol, post))

    assert (item.state, item.error) == (WorkState.DONE, "")
    stored = await Post.get(uri=post["id"])
    assert await Boost.filter(post=stored).exists()
    assert "Boosted for alice" in await home_of(browser, alice)
    assert "/users/carol/statuses/1" not in remote.gets  # the booster's own post: believed


async def test_a_boost_of_an_embedded_create_for_someone_here_is_shown(
    client, browser, alice, remote
):
    carol = remote.add("carol")
    post = for_alice(carol, content="<p>Created for alice</p>")
    create = {**activity("Create", carol, post), "to": post["to"], "cc": post["cc"]}
    item = await send(client, carol, activity("Announce", carol, create))

    assert (item.state, item.error) == (WorkState.DONE, "")
    assert await Boost.filter(post__uri=post["id"]).exists()
    assert "Created for alice" in await home_of(browser, alice)


async def test_a_boost_addressed_to_someone_here_brings_the_post(client, alice, remote):
    carol, dave = remote.add("carol"), remote.add("dave")
    original = note(dave, content="<p>Van dave</p>")
    remote.objects["/users/dave/statuses/1"] = original
    announce = {**activity("Announce", carol, original["id"]), "to": [ALICE]}
    item = await send(client, carol, announce)
    assert (item.state, item.error) == (WorkState.DONE, "")
    assert await Boost.filter(post__uri=original["id"]).exists()


async def test_an_embedded_post_from_another_server_is_taken_from_its_origin(
    client, browser, alice, remote
):
    """mallory (this server) boosts a post embedded as written by erin on another server,
    with words erin never wrote: erin's server is asked, and its copy is the one shown."""
    other = RemoteServer()
    await other.start()
    try:
        mallory, erin = remote.add("mallory"), other.add("erin")
        real = for_alice(erin, content="<p>What erin wrote</p>")
        other.objects["/users/erin/statuses/1"] = real
        forged = {**real, "content": "<p>Forged words</p>"}
        item = await send(client, mallory, activity("Announce", mallory, forged))
        assert (item.state, item.error) == (WorkState.DONE, "")
        assert other.gets["/users/erin/statuses/1"] == 1
        home = await home_of(browser, alice)
        assert "What erin wrote" in home and "Forged words" not in home
    finally:
        await other.stop()


async def test_an_embedded_copy_that_lies_about_its_audience_stores_nothing(client, alice, remote):
    other = RemoteServer()
    await other.start()
    try:
        mallory, erin = remote.add("mallory"), other.add("erin")
        real = note(erin, content="<p>For nobody here</p>")
        other.objects["/users/erin/statuses/1"] = real
        claimed = {**real, "cc": [ALICE]}
        item = await send(client, mallory, activity("Announce", mallory, claimed))
        assert item.error == "ignored: concerns nobody here"
        assert not await Post.filter(uri=real["id"]).exists() and not await Boost.exists()
    finally:
        await other.stop()
