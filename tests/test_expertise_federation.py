"""Expertise across servers: consent (FEP-5feb ``indexable``), remote topics kept only with
consent, expertise directories, and presence as an FEP-82f6 actor status.

The other server is a static peer on 127.0.0.1 (tests/static_peer.py) reached over real
HTTP; its activities come in through our signed inbox and the processor.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from static_peer import AS, Peer, signed_headers

from activitypub import build_actors
from activitypub.context import VocabularyError
from activitypub.docs import PersonDoc, StatusDoc, iso
from activitypub.parse_actor import parse_actor, parse_status
from fediverse_intranet.models import (
    Actor,
    ActorTopic,
    Delivery,
    ExpertiseScore,
    Follow,
    InboxItem,
    Presence,
    Role,
)
from fediverse_intranet.services import (
    presence_federation,
    profiles,
    remote_actors,
    remote_directory,
)
from fediverse_intranet.services.clock import now
from fediverse_intranet.settings import Settings
from inbox import processor
from outbox import documents
from tests.conftest import BASE_URL, LOOPBACK, make_account


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, federation_private_networks=LOOPBACK)


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    server = Peer()
    await server.start()
    yield server
    await server.stop()


def status_of(peer: Peer, name: str, presence: str = "office", **extra: Any) -> dict[str, Any]:
    uri = peer.url(f"/users/{name}")
    return {
        "id": f"{uri}#status-1",
        "type": "ActorStatus",
        "attributedTo": uri,
        "content": "Loket 3",
        "presence": presence,
        "published": "2026-01-01T08:00:00Z",
        **extra,
    }


def expert(peer: Peer, indexable: bool = True, **extra: Any) -> dict[str, Any]:
    extra.setdefault("knowsAbout", ["paspoorten", "Reis documenten"])
    extra.setdefault(
        "tag", [{"type": "Hashtag", "name": "#Rijbewijzen", "href": peer.url("/tags/r")}]
    )
    return peer.add_person("petra", indexable=indexable, **extra)


async def topics(uri: str) -> list[str]:
    rows = await ActorTopic.filter(actor__uri=uri).select_related("tag")
    return sorted(row.tag.name for row in rows)


async def deliver(client, peer: Peer, activity: dict[str, Any]) -> InboxItem:
    body = json.dumps(activity).encode()
    actor = activity["actor"]
    headers = signed_headers("POST", BASE_URL + "/inbox", actor + "#main-key", 0, body)
    response = await client.post("/inbox", content=body, headers=headers)
    assert response.status_code == 202, response.text
    await processor.process_pending_once()
    return await InboxItem.get(activity_id=activity["id"])


# --- the vocabulary ---------------------------------------------------------------------------


def test_status_round_trip_through_the_person_document() -> None:
    status = StatusDoc(
        id="https://a.example/users/ann#status-1",
        content="Loket 3",
        published=now(),
        presence="busy",
        end_time=now() + timedelta(hours=2),
    )
    doc = build_actors.person(
        PersonDoc(
            id="https://a.example/users/ann",
            username="ann",
            name="Ann",
            summary="",
            url="https://a.example/@ann",
            inbox="https://a.example/users/ann/inbox",
            outbox="",
            followers="",
            following="",
            featured="",
            featured_tags="",
            shared_inbox="https://a.example/inbox",
            key_id="https://a.example/users/ann#main-key",
            public_key_pem="",
            published=now(),
            indexable=True,
            status=status,
        )
    )
    assert doc["indexable"] is True and doc["status"]["type"] == "ActorStatus"
    parsed = parse_actor(doc)
    assert parsed.indexable
    assert parsed.status is not None
    assert (parsed.status.presence, parsed.status.content) == ("busy", "Loket 3")
    assert parsed.status.end_time is not None


def test_a_status_of_someone_else_or_elsewhere_is_refused() -> None:
    actor = "https://a.example/users/ann"
    good = {"id": actor + "#s", "type": "ActorStatus", "content": "x", "attributedTo": actor}
    assert parse_status(good, actor).content == "x"
    for bad in (
        {**good, "id": "https://b.example/s/1"},
        {**good, "attributedTo": "https://a.example/users/bob"},
        {**good, "type": "Note"},
        "https://a.example/s/1",
    ):
        with pytest.raises(VocabularyError):
            parse_status(bad, actor)
    assert parse_status({**good, "presence": "asleep"}, actor).presence == ""


# --- remote profiles: topics only with consent -------------------------------------------------


async def test_an_indexable_person_elsewhere_has_topics_and_presence_here(app, peer) -> None:
    doc = expert(peer, status=status_of(peer, "petra"))
    actor = await remote_actors.resolve_actor(doc["id"])
    assert actor.indexable
    assert await topics(doc["id"]) == ["paspoorten", "rijbewijzen"]  # "Reis documenten" is no tag
    assert await ExpertiseScore.filter(actor_id=actor.id).count() == 2
    assert (actor.presence, actor.presence_note) == (Presence.OFFICE, "Loket 3")

    # Consent withdrawn, seen on the next fetch: topics go, presence follows the document.
    expert(peer, indexable=False)
    actor = await remote_actors.resolve_actor(doc["id"], refresh=True)
    await Actor.filter(id=actor.id).update(fetched_at=now() - timedelta(hours=25))
    actor = await remote_actors.resolve_actor(doc["id"])
    assert not actor.indexable
    assert await topics(doc["id"]) == []
    assert await ExpertiseScore.filter(actor_id=actor.id).count() == 0
    assert actor.presence == Presence.UNSET


async def test_stale_consenting_people_are_fetched_again(app, peer) -> None:
    doc = expert(peer)
    actor = await remote_actors.resolve_actor(doc["id"])
    assert await remote_directory.refresh_stale() == 0  # fresh
    await Actor.filter(id=actor.id).update(fetched_at=now() - timedelta(hours=25))
    expert(peer, knowsAbout=["identiteit"], tag=[])
    assert await remote_directory.refresh_stale() == 1
    assert await topics(doc["id"]) == ["identiteit"]


async def test_a_person_elsewhere_without_consent_has_no_topics_here(app, peer) -> None:
    doc = expert(peer, indexable=False)
    await remote_actors.resolve_actor(doc["id"])
    assert await topics(doc["id"]) == []


async def test_an_expired_status_is_no_presence(app, peer) -> None:
    past = iso(now() - timedelta(minutes=1))
    doc = expert(peer, status=status_of(peer, "petra", endTime=past))
    actor = await remote_actors.resolve_actor(doc["id"])
    assert actor.presence == Presence.UNSET


async def test_update_of_the_person_refreshes_topics(app, client, peer) -> None:
    doc = expert(peer)
    await remote_actors.resolve_actor(doc["id"])
    changed = {**doc, "knowsAbout": ["identiteit"], "tag": []}
    peer.serve("/users/petra", changed)  # its server serves the new version too
    update = {
        "@context": AS,
        "id": doc["id"] + "#updates/1",
        "type": "Update",
        "actor": doc["id"],
        "object": changed,
    }
    item = await deliver(client, peer, update)
    assert item.error == ""
    assert await topics(doc["id"]) == ["identiteit"]


async def test_updates_that_arrive_out_of_order_leave_the_current_profile(app, client, peer):
    """Two settings saved a moment apart are two Updates in flight; the older can arrive
    last. Before, it was applied last, and a withdrawn consent came back."""
    doc = expert(peer)
    await remote_actors.resolve_actor(doc["id"])
    withdrawn = {**doc, "indexable": False}
    peer.serve("/users/petra", withdrawn)  # what her server says now
    for n, document in ((2, withdrawn), (1, doc)):  # the newer first, the older last
        update = {
            "@context": AS,
            "id": doc["id"] + f"#updates/{n}",
            "type": "Update",
            "actor": doc["id"],
            "object": document,
        }
        item = await deliver(client, peer, update)
        assert item.error == ""
    assert await topics(doc["id"]) == []
    assert not (await Actor.get(uri=doc["id"])).indexable


# --- presence received as a status ------------------------------------------------------------


async def test_create_and_remove_of_a_status_set_and_clear_presence(app, client, peer) -> None:
    doc = expert(peer)
    uri = doc["id"]
    until = iso(now() + timedelta(hours=3))
    create = {
        "@context": AS,
        "id": uri + "#statuses/1",
        "type": "Create",
        "actor": uri,
        "object": status_of(peer, "petra", "busy", endTime=until, content="Overleg"),
    }
    item = await deliver(client, peer, create)
    assert item.error == ""
    actor = await Actor.get(uri=uri)
    assert (actor.presence, actor.presence_note) == (Presence.BUSY, "Overleg")
    assert profiles.presence_now(actor) is not None

    forged = {**create, "id": uri + "#statuses/2"}
    forged["object"] = status_of(peer, "petra", attributedTo=peer.url("/users/other"))
    item = await deliver(client, peer, forged)
    assert item.error.startswith("ignored:")
    assert (await Actor.get(uri=uri)).presence == Presence.BUSY

    remove = {
        "@context": AS,
        "id": uri + "#statuses/3",
        "type": "Remove",
        "actor": uri,
        "object": {"id": uri + "#status-1", "type": "ActorStatus"},
    }
    item = await deliver(client, peer, remove)
    assert item.error == ""
    assert (await Actor.get(uri=uri)).presence == Presence.UNSET


# --- our side: consent, directory, presence sent ----------------------------------------------


async def test_consent_is_chosen_in_settings_and_published(app, browser, peer) -> None:
    ann = await make_account("ann")
    me = await browser(ann)
    page = await me.get("/settings/federation")
    assert page.status_code == 200 and 'name="indexable"' in page.text
    before = await documents.person_document(await Actor.get(username="ann", domain=""))
    assert (before["indexable"], before["discoverable"]) == (False, False)
    assert (await me.submit("/settings/federation", {"indexable": "on"})).status_code == 303
    actor = await Actor.get(username="ann", domain="")
    assert actor.indexable
    after = await documents.person_document(actor)
    assert (after["indexable"], after["discoverable"]) == (True, True)

    listed = await me.get("/directory", headers={"Accept": "application/activity+json"})
    assert listed.json()["totalItems"] == 1
    page = (await me.get("/directory?page=true")).json()
    assert page["orderedItems"] == [actor.uri]
    assert (await me.get("/directory?page=true&after=x")).status_code == 400

    assert (await me.submit("/settings/federation", {})).status_code == 303
    assert not (await Actor.get(username="ann", domain="")).indexable
    assert (await me.get("/directory?page=true")).json()["orderedItems"] == []


async def test_presence_goes_to_followers_elsewhere_as_a_status(app, peer) -> None:
    ann = await make_account("ann")
    actor = await Actor.get(id=ann.actor_id)
    doc = expert(peer)
    follower = await remote_actors.resolve_actor(doc["id"])
    await Follow.create(follower=follower, followee=actor, accepted=True)
    await profiles.set_presence(actor, "office", "", now() + timedelta(hours=1))  # queues it
    sent = json.loads((await Delivery.get(inbox_url=peer.url("/inbox"))).body)
    assert sent["type"] == "Create" and sent["object"]["type"] == "ActorStatus"
    assert sent["object"]["presence"] == "office" and "endTime" in sent["object"]
    assert (await documents.person_document(actor))["status"]["id"] == sent["object"]["id"]

    await profiles.set_presence(actor, "", "", None)
    kinds = [json.loads(d.body)["type"] for d in await Delivery.all().order_by("id")]
    assert kinds == ["Create", "Remove"]
    assert "status" not in await documents.person_document(actor)


async def test_admin_connects_a_directory_and_finds_its_people(app, browser, peer) -> None:
    admin = await make_account("root", Role.ADMIN)
    doc = expert(peer)
    shy = peer.add_person("sam", n=1, indexable=False)
    collection = peer.url("/directory")
    peer.serve(
        "/directory",
        {"type": "OrderedCollection", "id": collection, "first": collection + "?page=true"},
    )
    peer.serve(
        "/directory?page=true",
        {
            "type": "OrderedCollectionPage",
            "orderedItems": [doc["id"], shy["id"], "https://elsewhere.example/users/x"],
        },
    )
    me = await browser(admin)
    answer = await me.submit("/admin/directories", {"op": "connect", "domain": peer.host})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].endswith("found=1")
    page = await me.get("/admin/directories")
    assert peer.host in page.text
    assert await topics(doc["id"]) == ["paspoorten", "rijbewijzen"]
    assert await topics(shy["id"]) == []
    assert await remote_directory.connected() == [peer.host]

    bad = await me.submit("/admin/directories", {"op": "connect", "domain": "not a server"})
    assert bad.status_code == 400 and "gov-b.example" in bad.text
    gone = await me.submit("/admin/directories", {"op": "connect", "domain": "127.0.0.1:1"})
    assert gone.status_code == 400
    assert await remote_directory.connected() == [peer.host]

    odd = await me.submit("/admin/directories", {"op": "explode", "domain": peer.host})
    assert odd.status_code == 400
    long = await me.submit("/admin/directories", {"op": "connect", "domain": "a." * 5000})
    assert long.status_code == 400
    answer = await me.submit("/admin/directories", {"op": "disconnect", "domain": peer.host})
    assert answer.status_code == 303
    assert await remote_directory.connected() == []


async def test_only_admins_connect_directories(app, browser) -> None:
    member = await make_account("mia")
    me = await browser(member)
    assert (await me.get("/admin/directories")).status_code == 403
    answer = await me.submit("/admin/directories", {"op": "connect", "domain": "gov-b.example"})
    assert answer.status_code == 403
    assert await remote_directory.connected() == []


async def test_directory_readers_hear_of_consenting_people_only(app, peer) -> None:
    ann = await make_account("ann")
    actor = await Actor.get(id=ann.actor_id)
    reader = await remote_actors.resolve_actor(expert(peer)["id"])
    await remote_directory.remember_reader(reader)
    await remote_directory.remember_reader(reader)  # once
    assert [r.uri for r in await remote_directory.readers()] == [reader.uri]

    await profiles.set_presence(actor, "busy", "", None)
    assert await presence_federation.fanout_presence(actor) == 0  # no consent, no followers
    await remote_directory.set_consent(actor, True)
    update = json.loads((await Delivery.get(inbox_url=peer.url("/inbox"))).body)
    assert update["type"] == "Update" and update["object"]["indexable"] is True
    assert await presence_federation.fanout_presence(actor) == 1
    await remote_directory.set_consent(actor, False)  # withdrawn: the readers are told
    kinds = [json.loads(d.body)["type"] for d in await Delivery.all().order_by("id")]
    assert kinds == ["Update", "Create", "Update"]
