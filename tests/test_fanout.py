"""Outbound fan-out: what each local change queues for other servers, and for whom.

In-process: after each action the delivery rows (inbox, signer, activity JSON) are read back
exactly as the worker would send them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from activitypub.context import PUBLIC
from fediverse_intranet.errors import InvalidInput
from fediverse_intranet.models import (
    Actor,
    Block,
    Boost,
    Delivery,
    Follow,
    Like,
    Notification,
    NotificationKind,
    Post,
    Visibility,
)
from fediverse_intranet.services import boosts, fanout, posts
from fediverse_intranet.services.posts import Draft
from tests.conftest import BASE_URL, make_account

ALICE = f"{BASE_URL}/users/alice"
FOLLOWERS = f"{ALICE}/followers"


async def remote(username: str, host: str, *, shared: bool = True) -> Actor:
    """A person on another server, as the inbox stores one after fetching their actor."""
    return await Actor.create(
        username=username,
        domain=host,
        uri=f"https://{host}/users/{username}",
        inbox_url=f"https://{host}/users/{username}/inbox",
        shared_inbox_url=f"https://{host}/inbox" if shared else "",
        followers_url=f"https://{host}/users/{username}/followers",
    )


async def followed_by(person: Actor, *followers: Actor, accepted: bool = True) -> None:
    for follower in followers:
        await Follow.create(follower=follower, followee=person, accepted=accepted)


async def remote_post(author: Actor, text: str = "hallo", **extra: Any) -> Post:
    number = await Post.all().count() + 1
    return await Post.create(
        uri=f"https://{author.domain}/statuses/{number}",
        author=author,
        content_html=f"<p>{text}</p>",
        visibility=extra.pop("visibility", Visibility.PUBLIC),
        **extra,
    )


async def sent(kind: str | None = None) -> dict[str, dict]:
    """The queued activities by inbox (one per inbox), optionally of one type only."""
    found: dict[str, dict] = {}
    for row in await Delivery.all().order_by("id"):
        body = json.loads(row.body)
        assert body["id"] == row.activity_id
        if kind is None or body["type"] == kind:
            assert row.inbox_url not in found, f"two {kind} activities for {row.inbox_url}"
            found[row.inbox_url] = body
    return found


def one(activities: dict[str, dict]) -> dict:
    """The activity every inbox got: the same one for all of them."""
    bodies = {json.dumps(body, sort_keys=True) for body in activities.values()}
    assert len(bodies) == 1, activities
    return json.loads(bodies.pop())


@pytest.fixture
async def audience(alice):
    """Alice's followers elsewhere: two on one server with a shared inbox, one on a server
    without, one whose follow is still pending; and a colleague, who is never delivered to."""
    people = {
        "ann": await remote("ann", "mastodon.example"),
        "ben": await remote("ben", "mastodon.example"),
        "cas": await remote("cas", "solo.example", shared=False),
        "pending": await remote("pending", "pending.example"),
        "mo": await remote("mo", "other.example"),
    }
    await followed_by(alice.actor, people["ann"], people["ben"], people["cas"])
    await followed_by(alice.actor, people["pending"], accepted=False)
    colleague = await make_account("carol")
    await followed_by(alice.actor, colleague.actor)
    return people


FOLLOWER_INBOXES = {"https://mastodon.example/inbox", "https://solo.example/users/cas/inbox"}
MO = "https://other.example/users/mo"


# Posts


async def test_public_post_goes_to_each_followers_server_once_and_to_the_mentioned(alice, audience):
    post = await posts.create_post(alice.actor, Draft("Hoi @mo@other.example, zie #Woo"))
    creates = await sent("Create")
    assert set(creates) == FOLLOWER_INBOXES | {"https://other.example/inbox"}
    create = one(creates)
    assert create["id"] == f"{post.uri}/activity"
    assert create["actor"] == ALICE
    assert (create["to"], create["cc"]) == ([PUBLIC], [FOLLOWERS, MO])
    note = create["object"]
    assert note["id"] == post.uri and note["type"] == "Note"
    assert (note["to"], note["cc"]) == ([PUBLIC], [FOLLOWERS, MO])
    assert "Woo" in note["content"]
    assert {"type": "Mention", "href": MO, "name": "@mo@other.example"} in note["tag"]
    assert {row.signer_id for row in await Delivery.all()} == {alice.actor_id}


async def test_followers_only_post_is_addressed_to_the_followers(alice, audience):
    await posts.create_post(
        alice.actor, Draft("voor volgers en @mo@other.example", visibility=Visibility.FOLLOWERS)
    )
    creates = await sent("Create")
    assert set(creates) == FOLLOWER_INBOXES | {"https://other.example/inbox"}
    create = one(creates)
    assert (create["to"], create["cc"]) == ([FOLLOWERS], [MO])
    assert PUBLIC not in json.dumps(create)


async def test_direct_post_reaches_only_the_mentioned_people(alice, audience):
    await posts.create_post(
        alice.actor, Draft("alleen voor @mo@other.example", visibility=Visibility.DIRECT)
    )
    creates = await sent()
    assert set(creates) == {"https://other.example/inbox"}
    create = one(creates)
    assert (create["to"], create["cc"]) == ([MO], [])
    assert (create["object"]["to"], create["object"]["cc"]) == ([MO], [])


async def test_organisation_post_never_leaves_the_instance(alice, audience):
    post = await posts.create_post(
        alice.actor,
        Draft("intern, ook voor @mo@other.example", visibility=Visibility.ORGANISATION),
    )
    await posts.edit_post(post.id, alice, "intern, gewijzigd @mo@other.example")
    await posts.delete_post(post.id, alice)
    assert await Delivery.all().count() == 0


async def test_people_who_blocked_the_author_are_sent_nothing(alice, audience):
    blocker = await remote("blocker", "blocking.example")
    await followed_by(alice.actor, blocker)
    await Block.create(blocker=blocker, target=alice.actor)
    post = await posts.create_post(alice.actor, Draft("hallo @blocker@blocking.example"))
    await posts.edit_post(post.id, alice, "hallo nogmaals @blocker@blocking.example")
    await posts.delete_post(post.id, alice)
    assert await Delivery.filter(host="blocking.example").count() == 0
    assert await Delivery.filter(host="mastodon.example").count() == 3


async def test_a_failed_transaction_queues_nothing(alice, audience, monkeypatch):
    queue = fanout.post_created

    async def queue_then_fail(post: Post) -> None:
        await queue(post)
        assert await Delivery.all().count() == 2  # queued, inside the transaction
        raise RuntimeError("disk full")

    monkeypatch.setattr(fanout, "post_created", queue_then_fail)
    with pytest.raises(RuntimeError):
        await posts.create_post(alice.actor, Draft("this never happened"))
    assert await Post.all().count() == 0
    assert await Delivery.all().count() == 0


async def test_the_same_post_is_queued_once_per_inbox(alice, audience):
    post = await posts.create_post(alice.actor, Draft("once"))
    await post.fetch_related("author")
    await fanout.post_created(post)  # a retry of the same change
    assert await Delivery.all().count() == 2


async def test_a_reply_to_a_remote_post_reaches_its_author(alice):
    author = await remote("bea", "gov-b.example")
    parent = await remote_post(author, "vraag?")
    await posts.create_post(alice.actor, Draft("antwoord"), in_reply_to=parent.id)
    create = (await sent("Create"))["https://gov-b.example/inbox"]
    assert create["object"]["inReplyTo"] == parent.uri
    assert create["cc"] == [FOLLOWERS, author.uri]


async def test_a_direct_reply_reaches_the_remote_author_only(alice, audience):
    author = await remote("bea", "gov-b.example")
    parent = await remote_post(author, "vraag?")
    await posts.create_post(
        alice.actor, Draft("alleen jij", visibility=Visibility.DIRECT), in_reply_to=parent.id
    )
    assert set(await sent()) == {"https://gov-b.example/inbox"}


# Edits and deletions


async def test_each_edit_sends_its_own_update_to_old_and_new_audience(alice, audience):
    await remote("new", "new.example")
    post = await posts.create_post(alice.actor, Draft("eerst @mo@other.example"))
    await posts.edit_post(post.id, alice, "dan @new@new.example")
    await posts.edit_post(post.id, alice, "en nog eens @new@new.example")
    updates = [
        json.loads(row.body)
        for row in await Delivery.filter(inbox_url="https://new.example/inbox").order_by("id")
    ]
    assert [u["type"] for u in updates] == ["Update", "Update"]
    assert updates[0]["id"] != updates[1]["id"]
    assert all(u["id"].startswith(f"{post.uri}#updates/") for u in updates)
    assert "en nog eens" in updates[1]["object"]["content"]
    assert updates[1]["object"]["updated"]
    # The person the first version mentioned holds it, so hears of the edit that drops them
    # (the Create and one Update); later edits go to the post's audience of that moment.
    to_mo = await Delivery.filter(inbox_url="https://other.example/inbox").count()
    assert to_mo == 2
    assert await Delivery.filter(inbox_url="https://mastodon.example/inbox").count() == 3


async def test_an_unchanged_edit_sends_nothing(alice, audience):
    post = await posts.create_post(alice.actor, Draft("zelfde"))
    await posts.edit_post(post.id, alice, "zelfde")
    assert set(await sent("Update")) == set()


async def test_delete_reaches_everyone_the_post_reached(alice, audience):
    liker = await remote("liker", "likes.example")
    booster = await remote("booster", "boosts.example")
    post = await posts.create_post(alice.actor, Draft("weg ermee @mo@other.example"))
    await Like.create(actor=liker, post=post, uri="https://likes.example/likes/1")
    await Boost.create(actor=booster, post=post, uri="https://boosts.example/announce/1")
    await remote_post(await remote("replier", "replies.example"), "ja!", in_reply_to=post)
    await posts.delete_post(post.id, alice)
    deletes = await sent("Delete")
    assert set(deletes) == FOLLOWER_INBOXES | {
        "https://other.example/inbox",
        "https://likes.example/inbox",
        "https://boosts.example/inbox",
        "https://replies.example/inbox",
    }
    delete = one(deletes)
    assert delete["id"] == f"{post.uri}#delete"
    assert delete["object"] == {"id": post.uri, "type": "Tombstone"}
    assert (delete["to"], delete["cc"]) == ([PUBLIC], [FOLLOWERS, MO])
    await post.refresh_from_db()
    assert post.boost_count == 0 and not await Boost.filter(post=post).exists()


async def test_deleting_a_direct_post_names_only_its_audience(alice, audience):
    post = await posts.create_post(
        alice.actor, Draft("@mo@other.example privé", visibility=Visibility.DIRECT)
    )
    await posts.delete_post(post.id, alice)
    delete = (await sent("Delete"))["https://other.example/inbox"]
    assert (delete["to"], delete["cc"]) == ([MO], [])
    assert set(await sent("Delete")) == {"https://other.example/inbox"}


async def test_an_admin_removing_a_remote_post_sends_nothing(alice):
    post = await remote_post(await remote("spam", "spam.example"))
    await posts.delete_post(post.id, alice)
    assert await Delivery.all().count() == 0


# Appreciation


async def test_like_and_undo_of_a_remote_post_go_to_its_author(alice):
    author = await remote("bea", "gov-b.example")
    post = await remote_post(author)
    await posts.set_like(post.id, alice.actor, liked=True)
    await posts.set_like(post.id, alice.actor, liked=True)  # a second click changes nothing
    like_row = await Like.get(post=post, actor=alice.actor)
    assert like_row.uri == f"{ALICE}#likes/{like_row.id}"
    like = (await sent("Like"))["https://gov-b.example/users/bea/inbox"]
    assert like == {
        "@context": like["@context"],
        "id": like_row.uri,
        "type": "Like",
        "actor": ALICE,
        "object": post.uri,
    }
    await posts.set_like(post.id, alice.actor, liked=False)
    undo = (await sent("Undo"))["https://gov-b.example/users/bea/inbox"]
    assert undo["id"] == f"{like_row.uri}/undo"
    assert undo["object"]["id"] == like_row.uri and undo["object"]["type"] == "Like"
    await posts.set_like(post.id, alice.actor, liked=True)  # liked again: a new activity
    assert len({row.activity_id for row in await Delivery.all()}) == 3


async def test_liking_a_local_post_is_not_delivered(alice, bob, audience):
    post = await posts.create_post(bob.actor, Draft("lokaal"))
    await posts.set_like(post.id, alice.actor, liked=True)
    assert (await Like.get(post=post)).uri.startswith(f"{ALICE}#likes/")
    assert await Delivery.all().count() == 0


async def test_a_like_is_not_sent_to_an_author_who_blocked_us(alice):
    author = await remote("bea", "gov-b.example")
    await Block.create(blocker=author, target=alice.actor)
    post = await remote_post(author)
    await posts.set_like(post.id, alice.actor, liked=True)
    assert await Delivery.all().count() == 0


# Boosts


async def test_boost_of_a_colleagues_post_goes_to_the_boosters_followers(alice, bob, audience):
    post = await posts.create_post(bob.actor, Draft("goed idee"))
    shown = await boosts.set_boost(post.id, alice.actor, boosted=True)
    await boosts.set_boost(post.id, alice.actor, boosted=True)
    assert shown.boost_count == 1
    boost = await Boost.get(post=post, actor=alice.actor)
    assert boost.uri == f"{ALICE}#boosts/{boost.id}"
    assert (
        await Notification.filter(
            recipient_id=bob.actor_id, kind=NotificationKind.BOOST, post=post
        ).count()
        == 1
    )
    announces = await sent("Announce")
    assert set(announces) == FOLLOWER_INBOXES
    announce = one(announces)
    assert announce["id"] == boost.uri and announce["object"] == post.uri
    assert (announce["to"], announce["cc"]) == ([PUBLIC], [FOLLOWERS, bob.actor.uri])

    unboosted = await boosts.set_boost(post.id, alice.actor, boosted=False)
    assert unboosted.boost_count == 0
    undo = one(await sent("Undo"))
    assert undo["id"] == f"{boost.uri}/undo" and undo["object"]["type"] == "Announce"
    assert set(await sent("Undo")) == FOLLOWER_INBOXES


async def test_boost_of_a_remote_post_also_reaches_its_author(alice, audience):
    author = await remote("bea", "gov-b.example")
    post = await remote_post(author)
    await boosts.set_boost(post.id, alice.actor, boosted=True)
    announces = await sent("Announce")
    assert set(announces) == FOLLOWER_INBOXES | {"https://gov-b.example/inbox"}
    assert one(announces)["cc"] == [FOLLOWERS, author.uri]


@pytest.mark.parametrize(
    "visibility", [Visibility.FOLLOWERS, Visibility.ORGANISATION, Visibility.DIRECT]
)
async def test_only_public_posts_can_be_boosted(alice, audience, visibility):
    post = await posts.create_post(
        alice.actor, Draft("@alice niet openbaar", visibility=visibility)
    )
    before = await Delivery.all().count()
    with pytest.raises(InvalidInput):
        await boosts.set_boost(post.id, alice.actor, boosted=True)
    assert not await Boost.exists()
    assert await Delivery.all().count() == before


async def test_undo_of_a_like_made_before_likes_had_ids_names_it_by_its_row(alice):
    author = await remote("bea", "gov-b.example")
    post = await remote_post(author)
    old = await Like.create(actor=alice.actor, post=post)  # uri "" as migrated rows have
    await posts.set_like(post.id, alice.actor, liked=False)
    undo = (await sent("Undo"))["https://gov-b.example/users/bea/inbox"]
    assert undo["object"]["id"] == f"{ALICE}#likes/{old.id}"
    assert undo["object"]["object"] == post.uri
