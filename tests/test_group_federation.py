"""Groups across servers (FEP-1b12) in process: a remote server on 127.0.0.1 (the one of
``tests/test_inbox.py``) signs its requests with real keys, our app answers over ASGI, and
the delivery rows are read back as the worker would send them.

Our groups: the Group actor, WebFinger, joining by Follow/Accept/Reject, members' posts
announced by the group, closed and secret groups that never leak. Groups elsewhere: found,
joined, and what they announce taken only from them and only when verifiable.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest

from activitypub.context import PUBLIC
from activitypub.signatures import sign_request
from fediverse_intranet.errors import PermissionDenied
from fediverse_intranet.models import (
    Actor,
    Delivery,
    Group,
    GroupAccess,
    InboxItem,
    MemberRole,
    Membership,
    MemberState,
    Post,
    Visibility,
)
from fediverse_intranet.services import group_posts, groups, memberships, posts, remote_groups
from fediverse_intranet.services.groups import GroupForm
from fediverse_intranet.services.posts import Draft
from inbox import processor
from outbox import worker
from tests import test_inbox as peer
from tests.conftest import BASE_URL
from tests.test_fanout import remote as remote_actor_at
from tests.test_groups import make_group
from tests.test_inbox import AS, RemotePerson, RemoteServer, deliver, follow_of

settings, remote, alice, bob = peer.settings, peer.remote, peer.alice, peer.bob

GROUP = f"{BASE_URL}/users/omgevingswet"
AP = {"Accept": "application/activity+json"}


async def run() -> None:
    while await processor.process_pending_once():
        pass


async def outcome(activity_id: str) -> str:
    return (await InboxItem.get(activity_id=activity_id)).error


async def sent(kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(inbox, activity) of every queued delivery of one type."""
    rows = await Delivery.all().order_by("id")
    found = [(row.inbox_url, json.loads(row.body)) for row in rows]
    return [(inbox, body) for inbox, body in found if body["type"] == kind]


def follow(person: RemotePerson, target: str = GROUP) -> dict[str, Any]:
    return follow_of(person, target)


def create(person: RemotePerson, n: int = 1, *, group: str = GROUP, **note: Any) -> dict:
    """A member's post as Lemmy sends it into a group: audience and the group in to/cc."""
    obj = {
        "id": f"{person.uri}/notes/{n}",
        "type": "Note",
        "attributedTo": person.uri,
        "to": [group, PUBLIC],
        "cc": [f"{group}/followers"],
        "audience": group,
        "content": f"<p>Bericht {n}</p>",
        "published": "2025-05-01T10:00:00Z",
        **note,
    }
    return {
        "@context": AS,
        "id": f"{obj['id']}/activity",
        "type": "Create",
        "actor": person.uri,
        "to": obj["to"],
        "cc": obj["cc"],
        "audience": group,
        "object": obj,
    }


async def member(group: Group, person: RemotePerson) -> Actor:
    """A remote person who joined through a Follow already."""
    actor = await remote_groups.remote_actors.resolve_actor(person.uri)
    await Membership.create(group=group, actor=actor, state=MemberState.MEMBER, uri="x")
    return actor


async def signed_get(client, path: str, person: RemotePerson | None = None):
    headers = dict(AP)
    if person is not None:
        headers = sign_request(
            "GET", BASE_URL + path, AP, None, person.key_id, person.keys.private_pem
        )
    return await client.get(path, headers=headers)


# --- the Group actor -----------------------------------------------------------------------


async def test_an_open_group_is_a_group_actor_with_its_moderators_and_webfinger(client, bob):
    await make_group(bob, topics="omgevingswet")

    response = await client.get("/groups/omgevingswet", headers=AP)
    assert response.status_code == 200
    doc = response.json()
    assert (doc["type"], doc["id"], doc["preferredUsername"]) == ("Group", GROUP, "omgevingswet")
    assert doc["attributedTo"] == f"{GROUP}/moderators"
    assert doc["manuallyApprovesFollowers"] is False
    assert doc["postingRestrictedToMods"] is False
    assert doc["inbox"] == f"{GROUP}/inbox" and doc["endpoints"]["sharedInbox"]
    assert (
        doc["publicKey"]["owner"] == GROUP
        and "BEGIN PUBLIC KEY" in doc["publicKey"]["publicKeyPem"]
    )
    assert doc["knowsAbout"] == ["omgevingswet"]
    assert (await client.get("/users/omgevingswet", headers=AP)).json()["id"] == GROUP

    moderators = (await client.get("/users/omgevingswet/moderators", headers=AP)).json()
    assert moderators["orderedItems"] == [bob.actor.uri]

    finger = await client.get(
        "/.well-known/webfinger", params={"resource": "acct:omgevingswet@intranet.test"}
    )
    assert finger.status_code == 200
    assert {"rel": "self", "type": "application/activity+json", "href": GROUP} in [
        {k: link.get(k) for k in ("rel", "type", "href")} for link in finger.json()["links"]
    ]


async def test_a_closed_group_approves_by_hand_and_lists_no_members(client, bob):
    group = await make_group(bob, access="closed")
    await posts.create_post(bob.actor, Draft("Alleen voor leden"), group=group)

    doc = (await client.get("/groups/omgevingswet", headers=AP)).json()
    assert doc["manuallyApprovesFollowers"] is True
    followers = (await client.get("/users/omgevingswet/followers", headers=AP)).json()
    assert followers["totalItems"] == 1 and "orderedItems" not in followers
    outbox = (await client.get("/users/omgevingswet/outbox", headers=AP)).json()
    assert outbox["totalItems"] == 0 and outbox["orderedItems"] == []


async def test_a_secret_group_exists_only_for_servers_with_someone_in_it(client, bob, remote):
    group = await make_group(bob, handle="geheim", access="secret")
    stranger, invited = remote.add("stranger"), remote.add("invited")

    finger = await client.get(
        "/.well-known/webfinger", params={"resource": "acct:geheim@intranet.test"}
    )
    assert finger.status_code == 404
    assert (await signed_get(client, "/users/geheim")).status_code == 404
    assert (await signed_get(client, "/users/geheim", stranger)).status_code == 404
    # A Follow from a server nobody invited gets no answer at all: no Reject tells it exists.
    body = follow(stranger, f"{BASE_URL}/users/geheim")
    assert (await deliver(client, stranger, body, "/users/geheim/inbox")).status_code == 404

    actor = await remote_groups.remote_actors.resolve_actor(invited.uri)
    await Membership.create(group=group, actor=actor, state=MemberState.INVITED)
    assert (await signed_get(client, "/users/geheim", invited)).status_code == 200


# --- joining our groups from elsewhere ------------------------------------------------------


async def test_a_follow_joins_an_open_group_at_once_and_the_group_accepts(client, bob, remote):
    await make_group(bob)
    carol = remote.add("carol")
    body = follow(carol)

    assert (await deliver(client, carol, body, "/users/omgevingswet/inbox")).status_code == 202
    await run()

    row = await Membership.get(actor__uri=carol.uri)
    assert (row.state, row.uri) == (MemberState.MEMBER, body["id"])
    ((inbox, accept),) = await sent("Accept")
    assert inbox == carol.uri + "/inbox" and accept["actor"] == GROUP
    assert accept["object"]["id"] == body["id"]
    assert (await Delivery.get()).signer_id == (await Group.get()).actor_id

    undo = {"@context": AS, "id": f"{carol.uri}/undos/1", "type": "Undo", "actor": carol.uri}
    undo["object"] = {k: v for k, v in body.items() if k != "@context"}
    await deliver(client, carol, undo, "/inbox")
    await run()
    assert not await Membership.filter(actor__uri=carol.uri).exists()


async def test_a_closed_group_waits_for_a_moderator_who_is_warned_of_a_new_server(
    client, bob, remote
):
    group = await make_group(bob, access="closed")
    carol = remote.add("carol")
    body = follow(carol)
    await deliver(client, carol, body, "/inbox")
    await run()

    row = await Membership.get(actor__uri=carol.uri).select_related("actor")
    assert row.state == MemberState.PENDING and not await Delivery.exists()
    assert await remote_groups.first_from_server(group, row.actor)  # shown on the request

    await group.fetch_related("actor")
    await memberships.approve(group, bob.actor, row.actor)  # the Accept is queued with it
    ((inbox, accept),) = await sent("Accept")
    assert accept["object"]["id"] == body["id"] and inbox == carol.uri + "/inbox"
    assert not await remote_groups.first_from_server(group, row.actor)


async def test_a_banned_person_is_rejected(client, bob, remote):
    group = await make_group(bob)
    carol = remote.add("carol")
    actor = await remote_groups.remote_actors.resolve_actor(carol.uri)
    await Membership.create(group=group, actor=actor, state=MemberState.BANNED)

    body = follow(carol)
    await deliver(client, carol, body, "/inbox")
    await run()

    assert "refused" in await outcome(body["id"])
    ((_, reject),) = await sent("Reject")
    assert reject["actor"] == GROUP
    assert (await Membership.get(actor=actor)).state == MemberState.BANNED


# --- moderators' decisions reach the person's server ---------------------------------------


async def requester(group: Group, name: str, host: str, state=MemberState.PENDING) -> Actor:
    """Someone elsewhere whose Follow (``{uri}/follows/1``) made them pending or a member."""
    actor = await remote_actor_at(name, host)
    uri = f"{actor.uri}/follows/1"
    await Membership.create(group=group, actor=actor, state=state, uri=uri)
    return actor


async def test_approve_and_refuse_answer_the_follow_they_decide(bob):
    group = await make_group(bob, access="closed")
    carol = await requester(group, "carol", "gov-b.example")
    dirk = await requester(group, "dirk", "gov-c.example")

    await memberships.approve(group, bob.actor, carol)
    await memberships.refuse(group, bob.actor, dirk)

    ((to_carol, accept),) = await sent("Accept")
    ((to_dirk, reject),) = await sent("Reject")
    assert to_carol == carol.inbox_url and accept["actor"] == GROUP
    assert accept["object"]["id"] == f"{carol.uri}/follows/1"
    assert to_dirk == dirk.inbox_url and reject["object"]["id"] == f"{dirk.uri}/follows/1"
    assert all(d.signer_id == group.actor_id for d in await Delivery.all())


async def test_an_invitation_lets_a_waiting_request_in_with_an_accept(bob):
    group = await make_group(bob, access="closed")
    carol = await requester(group, "carol", "gov-b.example")
    await memberships.invite(group, bob.actor, carol)
    ((_, accept),) = await sent("Accept")
    assert accept["object"]["id"] == f"{carol.uri}/follows/1"


async def test_remove_ban_and_unban_are_told_to_the_person_and_the_members(bob):
    group = await make_group(bob)
    carol = await requester(group, "carol", "gov-b.example", MemberState.MEMBER)
    dirk = await requester(group, "dirk", "gov-c.example", MemberState.MEMBER)
    await requester(group, "erik", "gov-d.example", MemberState.MEMBER)

    await memberships.remove(group, bob.actor, carol)
    ((inbox, reject),) = await sent("Reject")
    assert inbox == carol.inbox_url and reject["object"]["id"] == f"{carol.uri}/follows/1"

    await Delivery.all().delete()
    await memberships.ban(group, bob.actor, dirk)
    ((inbox, reject),) = await sent("Reject")
    assert inbox == dirk.inbox_url
    blocks = await sent("Announce")
    # The members' servers, and the banned person's own, which must stop taking their posts.
    assert {inbox for inbox, _ in blocks} == {
        "https://gov-d.example/inbox",
        "https://gov-c.example/inbox",
    }
    block = blocks[0][1]["object"]
    assert (block["type"], block["object"], block["target"]) == ("Block", dirk.uri, GROUP)
    assert block["actor"] == bob.actor.uri

    await Delivery.all().delete()
    await memberships.unban(group, bob.actor, dirk)
    undos = await sent("Announce")
    assert {inbox for inbox, _ in undos} == {
        "https://gov-d.example/inbox",
        "https://gov-c.example/inbox",
    }
    undo = undos[0][1]
    assert undo["object"]["type"] == "Undo" and undo["object"]["object"]["type"] == "Block"
    assert not await sent("Reject")


async def test_changes_of_our_own_people_and_refused_changes_send_nothing(alice, bob):
    group = await make_group(bob, access="closed")
    await memberships.join(group, alice.actor)
    await memberships.approve(group, bob.actor, alice.actor)
    await memberships.remove(group, bob.actor, alice.actor)
    carol = await requester(group, "carol", "gov-b.example")
    with pytest.raises(PermissionDenied):
        await memberships.approve(group, alice.actor, carol)  # not a moderator
    assert not await Delivery.exists()
    assert (await Membership.get(actor=carol)).state == MemberState.PENDING


async def test_a_group_elsewhere_is_not_moderated_here(alice):
    raad = await remote_actor_at("raad", "gov-b.example")
    raad.kind = "group"
    await raad.save(update_fields=["kind"])
    group = await Group.create(actor=raad, access=GroupAccess.OPEN)
    await Membership.create(
        group=group, actor=alice.actor, state=MemberState.MEMBER, role=MemberRole.MODERATOR
    )
    carol = await requester(group, "carol", "gov-c.example", MemberState.MEMBER)
    assert not await memberships.can_moderate(group, alice.actor)
    with pytest.raises(PermissionDenied):
        await memberships.ban(group, alice.actor, carol)
    assert (await Membership.get(actor=carol)).state == MemberState.MEMBER
    assert not await Delivery.exists()


async def test_the_members_page_warns_of_a_first_member_from_a_new_server(browser, bob):
    group = await make_group(bob, access="closed")
    await requester(group, "carol", "gov-b.example", MemberState.MEMBER)
    await requester(group, "chris", "gov-b.example")  # gov-b has a member already
    await requester(group, "dirk", "gov-c.example")  # nobody from gov-c yet

    page = (await (await browser(bob)).get("/groups/omgevingswet/members")).text
    assert page.count("First member from") == 1
    assert "First member from gov-c.example:" in page
    assert "administrators could read along" in page


async def test_pins_and_locks_are_announced_to_the_members_servers(bob):
    group = await make_group(bob)
    await requester(group, "carol", "gov-b.example", MemberState.MEMBER)
    post = await posts.create_post(bob.actor, Draft("Lees dit eerst"), group=group)
    await Delivery.all().delete()

    await group_posts.set_pinned(group, bob.actor, post.id, True)
    await group_posts.set_pinned(group, bob.actor, post.id, True)  # again: nothing new
    await group_posts.set_locked(group, bob.actor, post.id, True)
    await group_posts.set_locked(group, bob.actor, post.id, False)
    await group_posts.set_pinned(group, bob.actor, post.id, False)

    announced = await sent("Announce")
    assert {inbox for inbox, _ in announced} == {"https://gov-b.example/inbox"}
    inner = [a["object"] for _, a in announced]
    assert [a["type"] for a in inner] == ["Add", "Lock", "Undo", "Remove"]
    assert inner[0]["target"] == f"{GROUP}/collections/featured" and inner[0]["object"] == post.uri
    assert inner[1]["object"] == post.uri and inner[2]["object"]["type"] == "Lock"
    assert all(a["actor"] == bob.actor.uri and a["audience"] == GROUP for a in inner)
    assert all(a["actor"] == GROUP for _, a in announced)


async def test_a_project_past_its_end_is_archived_by_the_worker_and_members_servers_hear(
    bob,
):
    end = (groups.today() + timedelta(days=30)).isoformat()
    group = await make_group(bob, handle="stadhuis", kind="project", ends_on=end)
    await requester(group, "carol", "gov-b.example", MemberState.MEMBER)
    await Delivery.all().delete()
    await Group.filter(id=group.id).update(ends_on=groups.today() - timedelta(days=1))

    assert (await worker.housekeeping())["groups_archived"] == 1
    assert (await Group.get(id=group.id)).archived_at is not None
    ((inbox, announce_activity),) = await sent("Announce")
    update = announce_activity["object"]
    assert inbox == "https://gov-b.example/inbox" and update["type"] == "Update"
    assert update["actor"] == f"{BASE_URL}/users/stadhuis"
    assert update["object"]["type"] == "Group" and update["object"]["postingRestrictedToMods"]
    assert (await worker.housekeeping())["groups_archived"] == 0  # once

    await Delivery.all().delete()
    await groups.set_archived(
        await Group.get(id=group.id).select_related("actor"), bob.actor, False, end
    )
    ((_, reopened),) = await sent("Announce")
    assert reopened["object"]["object"]["postingRestrictedToMods"] is False

    await Delivery.all().delete()
    form = GroupForm(name="Nieuw stadhuis", kind="project", access="closed", ends_on=end)
    await groups.update_group(await Group.get(id=group.id).select_related("actor"), bob.actor, form)
    ((_, changed),) = await sent("Announce")
    assert changed["object"]["object"]["name"] == "Nieuw stadhuis"
    assert changed["object"]["object"]["manuallyApprovesFollowers"] is True


# --- posts into our groups ----------------------------------------------------------------


async def test_a_members_post_is_stored_in_the_group_and_announced_unchanged(client, bob, remote):
    group = await make_group(bob)
    carol = remote.add("carol")
    await member(group, carol)
    elsewhere = await remote_actor_at("dirk", "other.example")
    await Membership.create(group=group, actor=elsewhere, state=MemberState.MEMBER)
    body = create(carol)

    await deliver(client, carol, body, "/users/omgevingswet/inbox")
    await run()

    post = await Post.get(uri=body["object"]["id"])
    assert post.group_id == group.id and post.visibility == Visibility.PUBLIC
    wrapped = await sent("Announce")
    inboxes = {inbox for inbox, _ in wrapped}
    assert inboxes == {remote.url("/inbox"), "https://other.example/inbox"}
    fep = [a for _, a in wrapped if isinstance(a["object"], dict)]
    assert fep and all(a["object"] == body and a["actor"] == GROUP for a in fep)
    assert fep[0]["to"] == [GROUP, PUBLIC] and fep[0]["cc"] == [f"{GROUP}/followers"]
    plain = [a for _, a in wrapped if a["object"] == post.uri]  # for Mastodon: a boost
    assert len(plain) == 2

    await InboxItem.all().update(state="pending", processed_at=None, attempts=0)
    await run()  # again: nothing new
    assert await Post.filter(group=group).count() == 1 and len(await sent("Announce")) == 4


async def test_a_mastodon_post_that_mentions_our_group_is_posted_in_it(client, bob, remote):
    group = await make_group(bob)
    carol = remote.add("carol")
    await member(group, carol)
    mention = {"type": "Mention", "href": GROUP, "name": "@omgevingswet@intranet.test"}
    body = create(carol, to=[PUBLIC], cc=[f"{carol.uri}/followers"], tag=[mention])
    body["object"].pop("audience")
    body.pop("audience")

    await deliver(client, carol, body, "/inbox")
    await run()

    post = await Post.get(uri=body["object"]["id"])
    assert post.group_id == group.id and post.visibility == Visibility.PUBLIC
    assert await sent("Announce")


@pytest.mark.parametrize("case", ["stranger", "banned", "archived", "closed-public"])
async def test_posts_the_group_refuses_change_nothing(client, bob, remote, case):
    group = await make_group(bob, access="closed" if case == "closed-public" else "open")
    carol = remote.add("carol")
    if case != "stranger":
        actor = await member(group, carol)
    if case == "banned":
        await Membership.filter(actor=actor).update(state=MemberState.BANNED)
    if case == "archived":
        await Group.filter(id=group.id).update(archived_at=group.created_at)
    body = create(carol)

    await deliver(client, carol, body, "/inbox")
    await run()

    reason = await outcome(body["id"])
    expected = {
        "stranger": "not a member",
        "banned": "banned",
        "archived": "archived",
        "closed-public": "must not be addressed to the public",
    }[case]
    assert reason.startswith("ignored:") and expected in reason
    assert not await Post.filter(uri=body["object"]["id"]).exists()
    assert not await Delivery.exists()


async def test_a_closed_groups_posts_stay_with_its_members_servers(client, bob, remote):
    group = await make_group(bob, access="closed")
    carol = remote.add("carol")
    await member(group, carol)
    follower = await remote_actor_at("fan", "fans.example")
    from fediverse_intranet.models import Follow

    await Follow.create(follower=follower, followee=bob.actor, accepted=True)

    body = create(carol, to=[GROUP, f"{GROUP}/followers"], cc=[])
    await deliver(client, carol, body, "/inbox")
    await run()
    assert (await Post.get(uri=body["object"]["id"])).visibility == Visibility.MEMBERS

    await Delivery.all().delete()
    local = await posts.create_post(bob.actor, Draft("Vertrouwelijk"), group=group)
    deliveries = await Delivery.all()
    assert {d.inbox_url for d in deliveries} == {remote.url("/inbox")}  # not fans.example
    for row in deliveries:
        assert PUBLIC not in row.body and "as:Public" not in row.body
    ((_, announce),) = await sent("Announce")  # no plain boost of a members-only post
    assert announce["object"]["object"]["id"] == local.uri
    assert announce["to"] == [GROUP, f"{GROUP}/followers"]
    assert announce["object"]["object"]["audience"] == GROUP

    path = f"/posts/{local.id}"
    assert (await signed_get(client, path, carol)).status_code == 200  # a member's server
    stranger_server = RemoteServer()
    await stranger_server.start()
    try:
        eve = stranger_server.add("eve")
        assert (await signed_get(client, path, eve)).status_code == 404
    finally:
        await stranger_server.stop()
    assert (await signed_get(client, path)).status_code == 404


# --- groups elsewhere ---------------------------------------------------------------------


def remote_group(server: RemoteServer, name: str = "raad", **extra: Any) -> RemotePerson:
    """A Lemmy-style community on the remote server, with its moderators collection."""
    group = server.add(name)
    doc = server.actor_document(group)
    doc.update(
        {
            "type": "Group",
            "attributedTo": group.uri + "/moderators",
            "manuallyApprovesFollowers": False,
        },
        **extra,
    )
    group.document = doc
    server.objects[f"/users/{name}/moderators"] = {
        "id": group.uri + "/moderators",
        "type": "OrderedCollection",
        "orderedItems": [],
    }
    return group


async def joined(client, alice, server: RemoteServer) -> tuple[RemotePerson, Group]:
    """Alice finds the remote group by its address, asks to join, and is accepted."""
    raad = remote_group(server)
    group = await remote_groups.find(raad.uri)
    row = await remote_groups.join(alice.actor, group)
    ((inbox, follow_activity),) = await sent("Follow")
    assert inbox == raad.uri + "/inbox" and follow_activity["object"] == raad.uri
    assert row.state == MemberState.PENDING
    accept = {
        "@context": AS,
        "id": raad.uri + "/accepts/1",
        "type": "Accept",
        "actor": raad.uri,
        "object": follow_activity,
    }
    await deliver(client, raad, accept, "/inbox")
    await run()
    assert (await Membership.get(id=row.id)).state == MemberState.MEMBER
    return raad, group


def announce(group: RemotePerson, inner: dict[str, Any], n: int = 1) -> dict[str, Any]:
    return {
        "@context": AS,
        "id": f"{group.uri}/announces/{n}",
        "type": "Announce",
        "actor": group.uri,
        "to": [PUBLIC],
        "cc": [group.uri + "/followers"],
        "object": inner,
    }


async def test_a_remote_group_is_found_joined_and_its_posts_arrive(client, alice, remote):
    raad, group = await joined(client, alice, remote)
    assert (await Actor.get(uri=raad.uri)).kind == "group"
    assert group.access == GroupAccess.OPEN
    dana = remote.add("dana")
    inner = create(dana, group=raad.uri)

    await deliver(client, raad, announce(raad, inner), "/inbox")
    await run()

    post = await Post.get(uri=inner["object"]["id"])
    assert post.group_id == group.id and post.visibility == Visibility.PUBLIC

    await Delivery.all().delete()
    mine = await posts.create_post(alice.actor, Draft("Mijn bijdrage"), group=group)
    ((inbox, activity),) = await sent("Create")
    assert inbox == raad.uri + "/inbox"  # to the group, which announces it
    assert activity["object"]["audience"] == raad.uri and raad.uri in activity["object"]["to"]
    assert mine.group_id == group.id


async def test_a_post_mentioning_a_group_elsewhere_goes_to_its_inbox(client, alice, remote):
    raad, group = await joined(client, alice, remote)
    await Delivery.all().delete()
    # A handle's host has no port: the test server's group gets a plain name here.
    await Actor.filter(id=group.actor_id).update(domain="gov-b.example")

    mine = await posts.create_post(alice.actor, Draft("Vraag aan @raad@gov-b.example"))

    assert mine.group_id == group.id and mine.visibility == Visibility.PUBLIC
    ((inbox, activity),) = await sent("Create")
    assert inbox == raad.uri + "/inbox" and activity["object"]["audience"] == raad.uri


async def test_what_a_remote_group_may_not_announce_is_refused(client, alice, remote):
    raad, group = await joined(client, alice, remote)
    dana = remote.add("dana")

    # A post that was never sent to the group.
    stray = create(dana, 7, group=raad.uri, to=[PUBLIC], cc=[], audience=None)
    stray["object"].pop("audience")
    await deliver(client, raad, announce(raad, stray, 7), "/inbox")
    # Someone pretending to be the group: signed by dana, naming the group as actor.
    fake = announce(raad, create(dana, 8, group=raad.uri), 8)
    refused = await deliver(client, dana, fake, "/inbox")
    # An Update of the group by someone elsewhere who is not its moderator (people of the
    # group's own server count as its administrators, as FEP-1b12 allows).
    elsewhere = RemoteServer()
    await elsewhere.start()
    try:
        eve = elsewhere.add("eve")
        document = dict(raad.document or {}, name="Gekaapt")
        update = {"@context": AS, "id": eve.uri + "/updates/1", "type": "Update"}
        update.update({"actor": eve.uri, "object": document})
        await deliver(client, raad, announce(raad, update, 9), "/inbox")
        await run()
    finally:
        await elsewhere.stop()

    assert refused.status_code == 403
    assert "did not receive" in await outcome(raad.uri + "/announces/7")
    assert "not its moderator" in await outcome(raad.uri + "/announces/9")
    assert not await Post.filter(group=group).exists()
    assert (await Actor.get(uri=raad.uri)).display_name != "Gekaapt"


async def test_a_moderators_update_of_the_group_applies_and_a_ban_reaches_us(client, alice, remote):
    raad, group = await joined(client, alice, remote)
    elsewhere = RemoteServer()  # a moderator on another server: only the collection vouches
    await elsewhere.start()
    mod = elsewhere.add("mod")
    remote.objects["/users/raad/moderators"]["orderedItems"] = [mod.uri]
    document = dict(raad.document or {}, name="Raad van State", manuallyApprovesFollowers=True)
    raad.document = document  # the group's server serves the new version too
    update = {"@context": AS, "id": mod.uri + "/updates/1", "type": "Update"}
    update.update({"actor": mod.uri, "object": document})
    ban = {"@context": AS, "id": mod.uri + "/blocks/1", "type": "Block", "actor": mod.uri}
    ban.update({"object": alice.actor.uri, "target": raad.uri})

    try:
        await deliver(client, raad, announce(raad, update, 1), "/inbox")
        await deliver(client, raad, announce(raad, ban, 2), "/inbox")
        await run()
    finally:
        await elsewhere.stop()

    assert (await Actor.get(uri=raad.uri)).display_name == "Raad van State"
    assert (await Group.get(id=group.id)).access == GroupAccess.CLOSED
    assert (await Membership.get(group=group, actor=alice.actor)).state == MemberState.BANNED


async def test_a_group_elsewhere_that_restricts_posting_is_read_only_here(client, alice, remote):
    raad, group = await joined(client, alice, remote)
    document = dict(raad.document or {}, postingRestrictedToMods=True)
    raad.document = document  # the group's server serves the new version too
    update = {"@context": AS, "id": raad.uri + "/updates/1", "type": "Update"}
    update.update({"actor": raad.uri, "object": document})
    await deliver(client, raad, announce(raad, update, 1), "/inbox")
    await run()

    group = await Group.get(id=group.id)
    assert group.archived_at is not None
    await Delivery.all().delete()
    with pytest.raises(PermissionDenied):
        await posts.create_post(alice.actor, Draft("Nog een vraag"), group=group)
    assert not await Delivery.exists()


async def test_the_page_finds_a_remote_group_to_join_and_leave(browser, alice, remote):
    raad = remote_group(remote)
    carol = remote.add("carol")
    person = await browser(alice)

    page = await person.get("/remote-groups", params={"q": raad.uri})
    assert page.status_code == 200 and "Raad" in page.text
    assert 'action="/remote-groups/join"' in page.text
    joined = await person.submit("/remote-groups/join", {"q": raad.uri})
    assert joined.status_code == 303
    assert (await Membership.get(actor=alice.actor)).state == MemberState.PENDING
    page = await person.get(joined.headers["location"])
    assert 'action="/remote-groups/leave"' in page.text

    await person.submit("/remote-groups/leave", {"q": raad.uri})
    assert not await Membership.exists()
    ((inbox, undo),) = await sent("Undo")
    assert inbox == raad.uri + "/inbox" and undo["object"]["type"] == "Follow"

    not_a_group = await person.get("/remote-groups", params={"q": carol.uri})
    assert not_a_group.status_code == 400 and 'aria-invalid="true"' in not_a_group.text
    assert not await Group.filter(actor__uri=carol.uri).exists()


async def test_the_group_page_of_a_group_elsewhere_joins_by_follow_and_posts_to_it(
    client, browser, alice, remote
):
    raad = remote_group(remote, manuallyApprovesFollowers=True)
    group = await remote_groups.find(raad.uri)
    page_url = f"/groups/raad@{group.actor.domain}"
    person = await browser(alice)

    page = (await person.get(page_url)).text
    assert "Ask to join" in page and "Post in this group" not in page
    assert (await person.submit(page_url + "/join")).status_code == 303
    row = await Membership.get(actor=alice.actor)
    assert row.state == MemberState.PENDING  # not a member until the group accepts
    ((inbox, follow_activity),) = await sent("Follow")
    assert inbox == raad.uri + "/inbox" and follow_activity["id"] == row.uri
    page = (await person.get(page_url)).text
    assert "waiting for the group to answer" in page and "Post in this group" not in page

    accept = {"@context": AS, "id": raad.uri + "/accepts/1", "type": "Accept"}
    accept.update({"actor": raad.uri, "object": follow_activity})
    await deliver(client, raad, accept, "/inbox")
    await run()
    page = (await person.get(page_url)).text
    handle = f"raad@{group.actor.domain}"
    assert "Post in this group" in page and f'name="group" value="{handle}"' in page
    assert "Manage members" not in page

    fields = {"source": "Vraag aan de raad", "group": handle}
    assert (await person.submit("/compose", {**fields, "kind": "note"})).status_code == 303
    post = await Post.get(source="Vraag aan de raad")
    assert post.group_id == group.id and post.visibility == Visibility.MEMBERS
    ((inbox, create_activity),) = await sent("Create")
    assert inbox == raad.uri + "/inbox" and create_activity["object"]["audience"] == raad.uri
    assert PUBLIC not in json.dumps(create_activity)

    assert (await person.submit(page_url + "/leave")).status_code == 303
    assert not await Membership.exists()
    ((inbox, undo),) = await sent("Undo")
    assert inbox == raad.uri + "/inbox" and undo["object"]["id"] == row.uri


async def test_the_directory_links_to_groups_elsewhere(browser, alice):
    page = (await (await browser(alice)).get("/groups")).text
    assert 'href="/remote-groups"' in page and "Find a group on another server" in page


async def test_a_members_server_may_ask_whether_another_server_has_a_member(client, bob, remote):
    """``?is_follower=`` on a closed group's followers, asked by a server where a post in
    the group was written before it serves that post to another server: answered only to
    servers with a member, so the member list does not leak."""
    group = await make_group(bob, access="closed")
    inside, elsewhere = remote.add("lid"), RemoteServer()
    await elsewhere.start()
    try:
        outside = elsewhere.add("vreemde")
        await member(group, inside)
        path = "/users/omgevingswet/followers?is_follower="
        about_inside = await signed_get(client, path + quote(inside.uri, safe=""), inside)
        assert about_inside.status_code == 200 and about_inside.json()["isFollower"] is True
        about_outside = await signed_get(client, path + quote(outside.uri, safe=""), inside)
        assert about_outside.json()["isFollower"] is False
        asked_by_outsider = await signed_get(client, path + quote(inside.uri, safe=""), outside)
        assert asked_by_outsider.status_code == 404
        assert (await signed_get(client, path + quote(inside.uri, safe=""))).status_code == 404
    finally:
        await elsewhere.stop()


# --- what outsiders learn (issue 19, point 10) ---------------------------------------------


async def test_a_closed_groups_moderators_are_listed_only_to_its_members_servers(
    client, bob, remote
):
    group = await make_group(bob, handle="raad", access="closed")
    outsider, inside = remote.add("outsider"), remote.add("inside")
    path = "/users/raad/moderators"

    for who in (None, outsider):
        response = await signed_get(client, path, who)
        assert response.status_code == 200
        assert response.json()["orderedItems"] == [], who
        assert response.headers["cache-control"] == "private, no-store"
    await member(group, inside)
    listed = (await signed_get(client, path, inside)).json()["orderedItems"]
    assert listed == [f"{BASE_URL}/users/bob"]
    await make_group(bob, handle="open")  # an open group's stay public
    open_list = (await signed_get(client, "/users/open/moderators")).json()["orderedItems"]
    assert open_list == [f"{BASE_URL}/users/bob"]


async def test_a_secret_groups_inbox_answers_outsiders_as_a_name_nobody_has(client, bob, remote):
    """Unsigned, badly signed or well signed: the same status and body as /users/nobody."""
    await make_group(bob, handle="geheim", access="secret")
    stranger = remote.add("stranger")
    body = follow(stranger, f"{BASE_URL}/users/geheim")
    for path in ("/users/geheim/inbox", "/groups/geheim/inbox"):
        nobody = path.replace("geheim", "niemand")
        signed_well = [await deliver(client, stranger, body, p) for p in (path, nobody)]
        unsigned = [
            await client.post(
                p, content=json.dumps(body), headers={"Content-Type": "application/activity+json"}
            )
            for p in (path, nobody)
        ]
        broken = [await client.post(p, content=b"{", headers={}) for p in (path, nobody)]
        for secret, unknown in (signed_well, unsigned, broken):
            assert (secret.status_code, secret.json()) == (unknown.status_code, unknown.json())
        assert signed_well[0].status_code == 404
    assert not await InboxItem.exists()


async def test_a_banned_members_edit_from_elsewhere_is_not_taken(client, bob, remote):
    group = await make_group(bob)
    await group.fetch_related("actor")
    carol = remote.add("carol")
    actor = await member(group, carol)
    body = create(carol)
    assert (await deliver(client, carol, body, "/users/omgevingswet/inbox")).status_code == 202
    await run()
    assert await Post.filter(uri=body["object"]["id"], group_id=group.id).exists()
    await memberships.ban(group, bob.actor, actor)

    edited = {**body["object"], "content": "<p>Nu anders</p>", "updated": "2025-05-02T10:00:00Z"}
    update = {"@context": AS, "id": carol.uri + "/updates/9", "type": "Update"}
    update.update(actor=carol.uri, to=body["to"], cc=body["cc"], object=edited)
    await deliver(client, carol, update, "/users/omgevingswet/inbox")
    await run()
    assert "banned" in await outcome(update["id"])
    stored = await Post.get(uri=body["object"]["id"])
    assert stored.content_html == "<p>Bericht 1</p>"
