"""Inbound posts: Create, Update and Delete of notes and articles, as a remote server sends
them (signed requests against the app, then the processor), and each refusal.

The remote server is the one of ``tests/test_inbox.py``: real HTTP on 127.0.0.1 serving
actor documents and, from ``objects``, posts to be fetched from their origin.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from fediverse_intranet.models import (
    Account,
    Actor,
    Attachment,
    Follow,
    InboxItem,
    Mention,
    Notification,
    NotificationKind,
    Post,
    PostKind,
    PostRevision,
    PostTag,
    Visibility,
    WorkState,
)
from fediverse_intranet.services import posts, remote_actors, sql
from fediverse_intranet.services.visibility import can_view, visible_sql
from inbox import processor
from tests import test_inbox as peer
from tests.conftest import BASE_URL
from tests.test_inbox import ALICE, AS, RemotePerson, RemoteServer, deliver

# The inbox tests' fixtures: a remote server on 127.0.0.1 and local people with keys.
settings, remote, alice, bob = peer.settings, peer.remote, peer.alice, peer.bob

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
BOB_HERE = f"{BASE_URL}/users/bob"


def note(person: RemotePerson, n: int = 1, **changes: Any) -> dict[str, Any]:
    """A public note as Mastodon writes it."""
    return {
        "id": f"{person.uri}/statuses/{n}",
        "type": "Note",
        "attributedTo": person.uri,
        "to": [PUBLIC],
        "cc": [person.uri + "/followers"],
        "content": f"<p>Post {n}</p>",
        "published": "2025-03-04T12:30:45Z",
        **changes,
    }


_serial = itertools.count(1)


def activity(kind: str, person: RemotePerson, obj: Any) -> dict[str, Any]:
    """An activity with an id of its own (each call is a new activity)."""
    return {
        "@context": AS,
        "id": f"{person.uri}/{kind.lower()}s/{next(_serial)}",
        "type": kind,
        "actor": person.uri,
        "object": obj,
    }


async def send(client, person: RemotePerson, body: dict[str, Any]) -> InboxItem:
    """Deliver to the shared inbox and process; returns the item with its outcome."""
    response = await deliver(client, person, body, "/inbox")
    assert response.status_code == 202, response.text
    while await processor.process_pending_once():
        pass
    return await InboxItem.get(activity_id=body["id"])


async def snapshot() -> dict[str, Any]:
    """Everything a handler may change, to show that running it again changes nothing."""
    rows = (
        await Post.all()
        .order_by("id")
        .values("uri", "content_html", "deleted_at", "like_count", "reply_count", "boost_count")
    )
    counts = {
        model.__name__: await model.all().count()
        for model in (Mention, PostTag, Notification, Attachment, PostRevision, Follow)
    }
    return {"posts": rows, **counts}


async def run_again() -> None:
    """Processing is at least once: make every item pending again and process it."""
    await InboxItem.all().update(
        state=WorkState.PENDING, processed_at=None, next_attempt_at=None, attempts=0
    )
    while await processor.process_pending_once():
        pass


async def visible_to(viewer: Actor) -> list[str]:
    """Post URIs the SQL twin of ``can_view`` lets ``viewer`` list."""
    found = await sql.rows(
        f"SELECT p.uri FROM post p WHERE {visible_sql('p')} ORDER BY p.id",  # noqa: S608
        viewer=viewer.id,
    )
    return [row["uri"] for row in found]


# --- Create ----------------------------------------------------------------------------------


async def test_a_post_mentioning_someone_here_is_stored_sanitised_with_everything(
    client, alice: Account, remote: RemoteServer
):
    carol = remote.add("carol")
    body = note(
        carol,
        content='<p>Hoi <a href="x">@alice</a> #Paspoorten</p><script>alert(1)</script>'
        '<img src=x onerror="alert(2)">',
        summary="<b>Let op</b>: begroting",
        url="https://remote.example/@carol/1",
        tag=[
            {"type": "Mention", "href": ALICE, "name": "@alice"},
            {"type": "Hashtag", "name": "#Paspoorten"},
            {"type": "Hashtag", "name": "#bad tag!"},
        ],
        attachment=[
            {
                "type": "Document",
                "mediaType": "image/png",
                "url": "https://files.remote.example/a.png",
                "name": "Een  grafiek",
                "width": 640,
                "height": 480,
            },
            {"type": "Document", "mediaType": "video/mp4", "url": "https://f.example/v.mp4"},
            {"type": "Image", "mediaType": "image/jpeg", "url": "https://f.example/b.jpg"},
        ],
    )
    item = await send(client, carol, activity("Create", carol, body))

    assert (item.state, item.error) == (WorkState.DONE, "")
    post = await Post.get(uri=body["id"]).select_related("author")
    assert post.author.uri == carol.uri and post.visibility == Visibility.PUBLIC
    assert "<script" not in post.content_html and "onerror" not in post.content_html
    assert "Hoi" in post.content_html
    assert post.summary == "Let op: begroting"
    assert post.url == "https://remote.example/@carol/1"
    assert post.created_at.year == 2025 and post.source == ""
    tags = await PostTag.filter(post=post).values_list("tag__name", flat=True)
    assert tags == ["paspoorten"]
    assert await Mention.filter(post=post).values_list("actor__uri", flat=True) == [ALICE]
    mention = await Notification.get(recipient=alice.actor)
    assert (mention.kind, mention.post_id) == (NotificationKind.MENTION, post.id)
    files = (
        await Attachment.filter(post=post)
        .order_by("id")
        .values("filename", "remote_url", "alt_text", "width", "height", "media_type", "kind")
    )
    assert files == [
        {
            "filename": "",
            "remote_url": "https://files.remote.example/a.png",
            "alt_text": "Een grafiek",
            "width": 640,
            "height": 480,
            "media_type": "image/png",
            "kind": "image",
        },
        {
            "filename": "",
            "remote_url": "https://f.example/v.mp4",
            "alt_text": "",
            "width": 0,
            "height": 0,
            "media_type": "video/mp4",
            "kind": "video",
        },
        {
            "filename": "",
            "remote_url": "https://f.example/b.jpg",
            "alt_text": "",
            "width": 0,
            "height": 0,
            "media_type": "image/jpeg",
            "kind": "image",
        },
    ]

    before = await snapshot()
    again = activity("Create", carol, body)  # another id, the same post
    await send(client, carol, again)
    await run_again()
    assert await snapshot() == before


async def test_an_article_keeps_its_title_as_plain_text(client, alice, remote):
    carol = remote.add("carol")
    body = note(carol, type="Article", name="<i>Handreiking</i>", cc=[ALICE])
    await send(client, carol, activity("Create", carol, body))
    post = await Post.get(uri=body["id"])
    assert (post.kind, post.title) == (PostKind.ARTICLE, "Handreiking")


async def test_a_post_that_concerns_nobody_here_is_not_stored(client, alice, remote):
    carol = remote.add("carol")
    item = await send(client, carol, activity("Create", carol, note(carol)))
    assert item.error == "ignored: concerns nobody here"
    assert not await Post.exists()


async def test_posts_of_a_followed_author_by_audience(client, alice: Account, bob: Account, remote):
    """Public and followers-only posts of someone alice follows are stored; followers-only
    ones are seen by accepted followers only, direct ones by the addressed only."""
    carol = remote.add("carol")
    carol_actor = await remote_actors.resolve_actor(carol.uri)
    await Follow.create(follower=alice.actor, followee=carol_actor, accepted=True)
    await Follow.create(follower=bob.actor, followee=carol_actor, accepted=False)  # pending
    followers_only = note(carol, 2, to=[carol.uri + "/followers"], cc=[])
    direct = note(carol, 3, to=[BOB_HERE], cc=[])
    unaddressed_direct = note(carol, 4, to=["https://x.example/users/y"], cc=[])
    for body in (note(carol, 1), followers_only, direct, unaddressed_direct):
        await send(client, carol, activity("Create", carol, body))

    stored = {p.uri: p for p in await Post.all()}
    assert stored[note(carol, 1)["id"]].visibility == Visibility.PUBLIC
    assert stored[followers_only["id"]].visibility == Visibility.FOLLOWERS
    assert stored[direct["id"]].visibility == Visibility.DIRECT
    assert unaddressed_direct["id"] not in stored  # nobody here could see it

    assert await can_view(stored[followers_only["id"]], alice.actor)
    assert not await can_view(stored[followers_only["id"]], bob.actor)
    assert not await can_view(stored[direct["id"]], alice.actor)
    assert await can_view(stored[direct["id"]], bob.actor)
    assert await visible_to(alice.actor) == [note(carol, 1)["id"], followers_only["id"]]
    assert await visible_to(bob.actor) == [note(carol, 1)["id"], direct["id"]]
    notified = await Notification.filter(recipient=bob.actor).values_list("kind", flat=True)
    assert notified == [NotificationKind.MENTION]  # a direct message addressed to bob


async def test_a_reply_to_a_local_post_counts_and_notifies_its_author(client, alice, remote):
    carol = remote.add("carol")
    ours = await posts.create_post(alice.actor, posts.Draft("Vraag over #subsidies"))
    reply = note(carol, inReplyTo=ours.uri, cc=[ALICE])
    await send(client, carol, activity("Create", carol, reply))

    stored = await Post.get(uri=reply["id"])
    assert (stored.in_reply_to_id, stored.thread_root_id) == (ours.id, ours.id)
    assert (await Post.get(id=ours.id)).reply_count == 1
    kinds = await Notification.filter(recipient=alice.actor).values_list("kind", flat=True)
    assert kinds == [NotificationKind.REPLY]  # not a second one for the mention
    before = await snapshot()
    await run_again()
    assert await snapshot() == before


async def test_a_reply_that_arrives_before_its_parent_is_linked_when_the_parent_comes(
    client, alice, remote
):
    carol = remote.add("carol")
    parent = note(carol, 1, cc=[ALICE], tag=[{"type": "Mention", "href": ALICE}])
    reply = note(carol, 2, inReplyTo=parent["id"], cc=[ALICE])
    await send(client, carol, activity("Create", carol, reply))
    orphan = await Post.get(uri=reply["id"])
    assert orphan.in_reply_to_id is None and orphan.in_reply_to_uri == parent["id"]

    await send(client, carol, activity("Create", carol, parent))
    stored_parent = await Post.get(uri=parent["id"])
    await orphan.refresh_from_db()
    assert orphan.in_reply_to_id == stored_parent.id and orphan.in_reply_to_uri == ""
    assert orphan.thread_root_id == stored_parent.id
    assert stored_parent.reply_count == 1


# --- origin rules ---------------------------------------------------------------------------


async def test_a_post_whose_id_is_on_another_server_is_refused(client, alice, remote):
    carol = remote.add("carol")
    body = note(carol, cc=[ALICE], id="https://elsewhere.example/statuses/1")
    item = await send(client, carol, activity("Create", carol, body))
    assert item.error == "ignored: the post's id is not on the sender's server"
    assert not await Post.exists()


@pytest.mark.parametrize(
    ("author", "reason"),
    [
        ("carol", "the post is not attributed to the sender"),
        (ALICE, "the post's author is on another server"),
    ],
)
async def test_a_spoofed_author_is_checked_at_the_origin_and_refused(
    client, alice, remote, author, reason
):
    """mallory embeds a post she says carol (or alice, here) wrote; we fetch it from its
    origin: it is not mallory's, so it is refused, and nothing is stored."""
    carol, mallory = remote.add("carol"), remote.add("mallory")
    author_uri = carol.uri if author == "carol" else ALICE
    forged = note(mallory, attributedTo=author_uri, cc=[ALICE])
    remote.objects["/users/mallory/statuses/1"] = forged  # as its origin serves it
    item = await send(client, mallory, activity("Create", mallory, forged))
    assert (item.state, item.error) == (WorkState.DONE, f"ignored: {reason}")
    assert not await Post.exists()
    assert remote.gets["/users/mallory/statuses/1"] == 1


async def test_an_embedded_post_not_attributed_to_the_sender_is_taken_from_its_origin(
    client, alice, remote
):
    """The embedded copy says carol wrote it; the origin says mallory did, with other
    content: the origin's copy is the one stored."""
    remote.add("carol")
    mallory = remote.add("mallory")
    origin_copy = note(mallory, cc=[ALICE], content="<p>the real text</p>")
    remote.objects["/users/mallory/statuses/1"] = origin_copy
    embedded = {**origin_copy, "attributedTo": remote.url("/users/carol"), "content": "fake"}
    await send(client, mallory, activity("Create", mallory, embedded))
    post = await Post.get(uri=origin_copy["id"]).select_related("author")
    assert post.author.uri == mallory.uri and post.content_html == "<p>the real text</p>"
    request = next(r for r in remote.requests if r.path == "/users/mallory/statuses/1")
    assert 'keyId="' + BASE_URL + '/actor#main-key"' in request.headers["Signature"]


async def test_a_create_naming_its_post_by_id_only_is_fetched(client, alice, remote):
    carol = remote.add("carol")
    body = note(carol, cc=[ALICE])
    remote.objects["/users/carol/statuses/1"] = body
    await send(client, carol, activity("Create", carol, body["id"]))
    assert await Post.filter(uri=body["id"]).exists()


async def test_a_post_that_cannot_be_fetched_is_not_retried_when_it_is_gone(client, alice, remote):
    carol, mallory = remote.add("carol"), remote.add("mallory")
    embedded = note(mallory, attributedTo=carol.uri, cc=[ALICE])  # not served: 404
    item = await send(client, mallory, activity("Create", mallory, embedded))
    assert item.state == WorkState.DONE and "fetching the post failed" in item.error


# --- Update ---------------------------------------------------------------------------------


async def test_an_edit_by_the_author_keeps_a_revision_and_renders_again(client, alice, bob, remote):
    carol = remote.add("carol")
    body = note(carol, cc=[ALICE], tag=[{"type": "Hashtag", "name": "#oud"}])
    await send(client, carol, activity("Create", carol, body))
    edited = {
        **body,
        "content": "<p>Nieuw <script>x</script></p>",
        "cc": [ALICE, BOB_HERE],
        "tag": [{"type": "Hashtag", "name": "#nieuw"}, {"type": "Mention", "href": BOB_HERE}],
        "updated": "2025-03-05T10:00:00Z",
    }
    item = await send(client, carol, activity("Update", carol, edited))
    assert item.error == ""
    post = await Post.get(uri=body["id"])
    assert post.content_html == "<p>Nieuw </p>" and post.edited_at is not None
    revision = await PostRevision.get(post=post)
    assert revision.content_html == "<p>Post 1</p>"
    assert await PostTag.filter(post=post).values_list("tag__name", flat=True) == ["nieuw"]
    mentioned = await Mention.filter(post=post).order_by("actor_id")
    assert [m.actor_id for m in mentioned] == [alice.actor.id, bob.actor.id]
    assert await Notification.filter(recipient=bob.actor, kind="mention").count() == 1

    before = await snapshot()
    again = await send(client, carol, activity("Update", carol, edited))
    assert again.error == "ignored: an older or the same version"
    older = {**edited, "content": "<p>stale</p>", "updated": "2025-03-05T09:00:00Z"}
    await send(client, carol, activity("Update", carol, older))
    await run_again()
    assert await snapshot() == before


async def test_updates_of_posts_the_sender_does_not_own_change_nothing(client, alice, remote):
    carol, mallory = remote.add("carol"), remote.add("mallory")
    body = note(carol, cc=[ALICE])
    await send(client, carol, activity("Create", carol, body))
    ours = await posts.create_post(alice.actor, posts.Draft("Van ons"))
    before = await snapshot()

    as_carol = {**body, "content": "<p>hacked</p>"}  # mallory updates carol's post
    first = await send(client, mallory, activity("Update", mallory, as_carol))
    as_mallory = {**as_carol, "attributedTo": mallory.uri}  # ... claiming it as hers
    second = await send(client, mallory, activity("Update", mallory, as_mallory))
    local = note(mallory, id=ours.uri, content="<p>hacked</p>")  # ... or one of ours
    third = await send(client, mallory, activity("Update", mallory, local))

    assert first.error == "ignored: an update of a post that is not the sender's"
    assert second.error == "ignored: only the author may edit a post"
    assert third.error == "ignored: an update of a post that is not the sender's"
    assert await snapshot() == before


# --- Delete ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["id", "tombstone", "note"])
async def test_a_delete_by_the_author_deletes_as_a_local_delete_does(client, alice, remote, shape):
    carol = remote.add("carol")
    ours = await posts.create_post(alice.actor, posts.Draft("Vraag"))
    body = note(
        carol,
        cc=[ALICE],
        inReplyTo=ours.uri,
        tag=[{"type": "Hashtag", "name": "#x"}, {"type": "Mention", "href": ALICE}],
        attachment=[{"type": "Image", "mediaType": "image/png", "url": "https://f.example/a"}],
    )
    await send(client, carol, activity("Create", carol, body))
    assert (await Post.get(id=ours.id)).reply_count == 1
    tombstone = {"id": body["id"], "type": "Tombstone"}
    obj: Any = {"id": body["id"], "tombstone": tombstone, "note": body}[shape]
    await send(client, carol, activity("Delete", carol, obj))

    post = await Post.get(uri=body["id"])
    assert post.deleted_at is not None and post.content_html == "" and post.summary == ""
    for model in (PostTag, Mention, Attachment):
        assert not await model.filter(post=post).exists()
    assert (await Post.get(id=ours.id)).reply_count == 0
    before = await snapshot()
    await run_again()
    assert await snapshot() == before


async def test_a_delete_of_someone_elses_post_changes_nothing(client, alice, remote):
    carol, mallory = remote.add("carol"), remote.add("mallory")
    body = note(carol, cc=[ALICE])
    await send(client, carol, activity("Create", carol, body))
    remote.objects["/users/carol/statuses/1"] = body  # still there at its origin
    ours = await posts.create_post(alice.actor, posts.Draft("Van ons"))
    before = await snapshot()
    first = await send(client, mallory, activity("Delete", mallory, body["id"]))
    second = await send(client, mallory, activity("Delete", mallory, ours.uri))
    assert first.error == second.error == "ignored: only the author may delete a post"
    assert await snapshot() == before
