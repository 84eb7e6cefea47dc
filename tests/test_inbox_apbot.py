"""What activitypub.bot sends, in process: the shapes its JSON-LD compaction gives activities
(an ``Update`` naming its post by id only, ``"to": "as:Public"`` as a bare string, an ``Add``
to its own collections around each Accept) and the order in which a member's post and its
group's ``Announce`` may arrive. The remote server is the one of ``tests/test_inbox.py``;
``tests/federation/test_apbot.py`` runs the real bot.
"""

from __future__ import annotations

from typing import Any

import pytest

from fediverse_intranet.models import (
    Actor,
    Follow,
    InboxItem,
    Post,
    PostRevision,
    Visibility,
    WorkState,
)
from fediverse_intranet.services import remote_actors
from tests import test_inbox as peer
from tests.test_group_federation import announce, create, joined, run
from tests.test_inbox import ALICE, RemotePerson, deliver
from tests.test_inbox_content import activity, note, send

settings, remote, alice, bob = peer.settings, peer.remote, peer.alice, peer.bob


def path_of(person: RemotePerson, uri: str) -> str:
    return uri.removeprefix(person.uri.split("/users/")[0])


# --- Update and Delete by id ------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["id", "id and type"])
async def test_an_update_naming_its_post_by_id_is_applied_from_its_origin(
    client, alice, remote, shape
):
    carol = remote.add("carol")
    body = note(carol, cc=[ALICE])
    await send(client, carol, activity("Create", carol, body))
    edited = {**body, "content": "<p>Bewerkt</p>"}  # activitypub.bot writes no "updated"
    remote.objects[path_of(carol, body["id"])] = edited
    obj: Any = body["id"] if shape == "id" else {"id": body["id"], "type": "Note"}

    item = await send(client, carol, activity("Update", carol, obj))

    assert (item.state, item.error) == (WorkState.DONE, "")
    post = await Post.get(uri=body["id"])
    assert post.content_html == "<p>Bewerkt</p>" and post.edited_at is not None
    assert (await PostRevision.get(post=post)).content_html == "<p>Post 1</p>"


async def test_an_update_by_id_changes_only_the_senders_own_live_post(client, alice, remote):
    carol, mallory = remote.add("carol"), remote.add("mallory")
    body = note(carol, cc=[ALICE])
    await send(client, carol, activity("Create", carol, body))
    remote.objects[path_of(carol, body["id"])] = {**body, "content": "<p>Bewerkt</p>"}

    foreign = await send(client, mallory, activity("Update", mallory, body["id"]))
    gone = await send(client, carol, activity("Update", carol, f"{carol.uri}/statuses/9"))

    assert foreign.error == "ignored: an update of a post that is not the sender's"
    assert gone.error == "ignored: an update of a post that is gone at its origin"
    assert (await Post.get(uri=body["id"])).content_html == "<p>Post 1</p>"


async def test_a_delete_with_a_tombstone_as_activitypub_bot_sends_it_deletes(client, alice, remote):
    carol = remote.add("carol")
    body = note(carol, cc=[ALICE])
    await send(client, carol, activity("Create", carol, body))
    tombstone = {"id": body["id"], "as:deleted": {"_isAMomentObject": True}, "formerType": "Note"}
    item = await send(client, carol, activity("Delete", carol, tombstone))
    assert item.error == ""
    assert (await Post.get(uri=body["id"])).deleted_at is not None


async def test_a_delete_passed_on_by_another_server_counts_when_the_post_is_gone(
    client, alice, remote
):
    carol, relay = remote.add("carol"), remote.add("relay")
    live, gone = note(carol, 1, cc=[ALICE]), note(carol, 2, cc=[ALICE])
    for body in (live, gone):
        await send(client, carol, activity("Create", carol, body))
    remote.objects[path_of(carol, live["id"])] = live  # gone["id"] answers 404 now

    kept = await send(client, relay, activity("Delete", relay, live["id"]))
    deleted = await send(client, relay, activity("Delete", relay, gone["id"]))

    assert kept.error == "ignored: only the author may delete a post"
    assert deleted.error == ""
    assert (await Post.get(uri=live["id"])).deleted_at is None
    assert (await Post.get(uri=gone["id"])).deleted_at is not None


# --- as:Public and Add ------------------------------------------------------------------------


async def test_as_public_written_as_a_bare_string_is_public(client, alice, remote):
    carol = remote.add("carol")
    author = await remote_actors.resolve_actor(carol.uri)
    await Follow.create(follower=alice.actor, followee=author, accepted=True)
    body = note(carol, to="as:Public", cc=carol.uri + "/followers")
    remote.objects[path_of(carol, body["id"])] = body
    create_activity = activity("Create", carol, body["id"])
    create_activity.update(to="as:Public", cc=carol.uri + "/followers")

    item = await send(client, carol, create_activity)

    assert item.error == ""
    assert (await Post.get(uri=body["id"])).visibility == Visibility.PUBLIC


@pytest.mark.parametrize("collection", ["followers", "following"])
async def test_an_add_to_the_senders_own_collection_is_done_cleanly(
    client, alice, remote, collection
):
    carol = remote.add("carol")
    add = activity("Add", carol, ALICE)
    add.update(target=f"{carol.uri}/{collection}", to=["as:Public", ALICE])
    item = await send(client, carol, add)
    assert (item.state, item.error) == (WorkState.DONE, "")


async def test_an_add_to_a_collection_elsewhere_is_ignored(client, alice, remote):
    carol = remote.add("carol")
    add = activity("Add", carol, ALICE)
    add.update(target="https://elsewhere.example/users/x/followers")
    item = await send(client, carol, add)
    assert item.error == "ignored: an Add to a collection that is not handled"


# --- a member's post and its group's Announce, in either order ----------------------------------


@pytest.mark.parametrize("addressing", ["to the group", "mentioning its profile page"])
async def test_a_post_that_arrives_before_its_groups_announce_ends_up_in_the_group(
    client, alice, remote, addressing
):
    raad, group = await joined(client, alice, remote)
    profile = raad.uri.replace("/users/", "/profile/")
    raad.document = {**(raad.document or {}), "url": profile}
    await Actor.filter(id=group.actor_id).update(profile_url=profile)  # its page, as known here
    dana = remote.add("dana")
    author = await remote_actors.resolve_actor(dana.uri)
    await Follow.create(follower=alice.actor, followee=author, accepted=True)
    direct = create(dana, group=raad.uri)
    if addressing != "to the group":  # activitypub.bot: a Mention whose href is the page
        direct["object"].update(
            to=["as:Public"],
            cc=[dana.uri + "/followers"],
            tag=[{"type": "Mention", "href": profile, "name": "@raad"}],
        )
        direct["object"].pop("audience")
        direct.pop("audience")
    post_id = direct["object"]["id"]
    remote.objects[path_of(dana, post_id)] = direct["object"]

    await deliver(client, dana, direct, "/inbox")  # straight from the author, who we follow
    await run()
    assert (await Post.get(uri=post_id)).group_id is None
    boosted = announce(raad, post_id)  # the group bot announces the post by its id
    await deliver(client, raad, boosted, "/inbox")
    await run()

    post = await Post.get(uri=post_id)
    assert post.group_id == group.id and post.visibility == Visibility.PUBLIC
    assert (await InboxItem.get(activity_id=boosted["id"])).error == ""


async def test_a_post_announced_by_its_group_first_stays_in_it(client, alice, remote):
    raad, group = await joined(client, alice, remote)
    dana = remote.add("dana")
    author = await remote_actors.resolve_actor(dana.uri)
    await Follow.create(follower=alice.actor, followee=author, accepted=True)
    direct = create(dana, group=raad.uri)
    await deliver(client, raad, announce(raad, direct), "/inbox")
    await run()
    await deliver(client, dana, direct, "/inbox")
    await run()
    assert (await Post.get(uri=direct["object"]["id"])).group_id == group.id
