"""Signed fetch: another server GETs a post, and who signed decides whether it exists.

Public posts are for anyone; followers-only posts for a server where someone follows the
author (or is mentioned); direct posts for a server where someone is mentioned; organisation
posts for nobody elsewhere. Everyone else gets the same 404 as for a post that does not
exist. Peers are static servers on 127.0.0.1 (tests/static_peer.py) whose keys sign the
requests for real.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from static_peer import Peer, keys, signed_headers

from activitypub.signatures import sign_request_rfc9421
from fediverse_intranet import urls
from fediverse_intranet.models import Account, Actor, Follow, Mention, Post, Visibility
from fediverse_intranet.services import federation_policy, remote_actors
from fediverse_intranet.settings import Settings
from tests.conftest import BASE_URL, LOOPBACK

ACTIVITY_JSON = "application/activity+json"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, federation_private_networks=LOOPBACK)


@pytest.fixture
async def peers() -> AsyncIterator[tuple[Peer, Peer]]:
    """gov-b (carla follows alice; dora is mentioned; an instance actor) and gov-c (mallory)."""
    b, c = Peer(), Peer()
    await b.start()
    await c.start()
    b.add_person("carla", 0)
    b.add_person("dora", 1)
    b.serve(
        "/actor",
        {
            "id": b.url("/actor"),
            "type": "Application",
            "preferredUsername": "instance",
            "inbox": b.url("/inbox"),
            "publicKey": {
                "id": b.url("/actor#main-key"),
                "owner": b.url("/actor"),
                "publicKeyPem": keys(2).public_pem,
            },
        },
    )
    c.add_person("mallory", 3)
    yield b, c
    await b.stop()
    await c.stop()


@pytest.fixture
async def posts(alice, peers) -> dict[str, int]:
    """Alice's posts of each visibility; carla (gov-b) follows her, dora (gov-b) is mentioned."""
    b, _ = peers
    carla = await remote_actors.resolve_actor(b.url("/users/carla"))
    dora = await remote_actors.resolve_actor(b.url("/users/dora"))
    await Follow.create(follower=carla, followee_id=alice.actor_id, accepted=True)
    made = {}
    for visibility in Visibility:
        post = await Post.create(
            uri=f"urn:uuid:{visibility.value}",
            author_id=alice.actor_id,
            source=f"A {visibility.value} post",
            content_html=f"<p>A {visibility.value} post</p>",
            visibility=visibility,
        )
        await Post.filter(id=post.id).update(uri=urls.post_uri(post.id))
        made[visibility.value] = post.id
    await Mention.create(post_id=made["direct"], actor=dora)
    return made


async def fetch(client, path: str, signer: str | None = None, n: int = 0, **options):
    """GET as a peer: ActivityStreams JSON, signed by ``signer`` (a key id) when given."""
    headers = {"Accept": ACTIVITY_JSON}
    if signer is not None:
        headers = signed_headers("GET", BASE_URL + path, signer, n, **options)
    return await client.get(path, headers=headers)


def key(peer: Peer, name: str) -> str:
    return peer.url(f"/users/{name}#main-key")


async def test_public_post_needs_no_signature_and_says_what_it_varies_on(client, posts):
    response = await fetch(client, f"/posts/{posts['public']}")
    assert response.status_code == 200
    assert response.json()["content"] == "<p>A public post</p>"
    assert "Signature" in response.headers["vary"] and "Accept" in response.headers["vary"]
    assert "cache-control" not in response.headers


async def test_followers_only_post_for_a_follower(client, peers, posts):
    b, _ = peers
    path = f"/posts/{posts['followers']}"
    response = await fetch(client, path, key(b, "carla"), 0)
    assert response.status_code == 200
    assert response.json()["to"] == [f"{BASE_URL}/users/alice/followers"]
    assert response.headers["cache-control"] == "private, no-store"
    assert "Signature" in response.headers["vary"]


async def test_followers_only_post_for_another_actor_of_the_followers_server(client, peers, posts):
    b, _ = peers
    path = f"/posts/{posts['followers']}"
    assert (await fetch(client, path, b.url("/actor#main-key"), 2)).status_code == 200  # instance
    assert (await fetch(client, path, key(b, "dora"), 1)).status_code == 200


@pytest.mark.parametrize("kind", ["followers", "direct", "organisation"])
async def test_others_get_the_same_404_as_for_nothing(client, peers, posts, kind):
    _, c = peers
    path = f"/posts/{posts[kind]}"
    nothing = await fetch(client, "/posts/999999", key(c, "mallory"), 3)
    for response in (
        await fetch(client, path),
        await fetch(client, path, key(c, "mallory"), 3),
    ):
        assert response.status_code == 404
        assert response.json() == nothing.json() == {"error": "no such post"}


async def test_pending_follow_is_not_enough(client, alice, peers, posts):
    b, _ = peers
    await Follow.filter(followee_id=alice.actor_id).update(accepted=False)
    response = await fetch(client, f"/posts/{posts['followers']}", key(b, "carla"), 0)
    assert response.status_code == 404


async def test_direct_post_for_the_server_of_a_mentioned_person(client, peers, posts):
    b, _ = peers
    path = f"/posts/{posts['direct']}"
    assert (await fetch(client, path, key(b, "dora"), 1)).status_code == 200
    assert (await fetch(client, path, key(b, "carla"), 0)).status_code == 200  # same server


async def test_organisation_post_never_leaves_even_for_followers(client, peers, posts):
    b, _ = peers
    response = await fetch(client, f"/posts/{posts['organisation']}", key(b, "carla"), 0)
    assert response.status_code == 404


async def test_the_create_activity_is_served_to_the_same_audience(client, peers, posts):
    b, c = peers
    path = f"/posts/{posts['followers']}/activity"
    allowed = await fetch(client, path, key(b, "carla"), 0)
    assert allowed.status_code == 200 and allowed.json()["type"] == "Create"
    assert (await fetch(client, path, key(c, "mallory"), 3)).status_code == 404


async def test_rfc9421_signature(client, peers, posts):
    b, _ = peers
    path = f"/posts/{posts['followers']}"
    headers = sign_request_rfc9421(
        "GET",
        BASE_URL + path,
        {"Accept": ACTIVITY_JSON},
        None,
        key(b, "carla"),
        keys(0).private_pem,
    )
    assert (await client.get(path, headers=headers)).status_code == 200


@pytest.mark.parametrize("case", ["wrong key", "other path", "too old", "unknown key"])
async def test_a_bad_signature_is_answered_as_an_unsigned_request(client, peers, posts, case):
    """Mastodon's rule when authorized fetch is off: a signature we cannot verify is
    ignored. The public post is served; any other is the 404 of a post that does not exist,
    as to an unsigned request, so nothing is told either way."""
    b, _ = peers
    paths = [f"/posts/{posts[v]}" for v in ("public", "followers", "direct")] + ["/posts/999999"]
    for path in paths:
        signed_for = path.replace("/posts/", "/posts/1") if case == "other path" else path
        signer = key(b, "nobody" if case == "unknown key" else "carla")
        headers = signed_headers(
            "GET", BASE_URL + signed_for, signer, 4 if case == "wrong key" else 0
        )
        if case == "too old":
            old = datetime.now(UTC) - timedelta(hours=2)
            headers = signed_headers("GET", BASE_URL + path, signer, 0, now=old)
        response = await client.get(path, headers=headers)
        unsigned = await fetch(client, path)
        assert (response.status_code, response.json()) == (
            unsigned.status_code,
            unsigned.json(),
        ), (case, path)
    assert (await fetch(client, paths[0])).status_code == 200


async def test_a_blocked_server_is_refused_without_being_contacted(client, alice, peers, posts):
    _, c = peers
    await federation_policy.set_policy(alice, "blocklist", "127.0.0.1\nexample.org")
    c.seen.clear()
    response = await fetch(client, f"/posts/{posts['public']}", key(c, "mallory"), 3)
    assert response.status_code == 403
    assert response.json() == {"error": "this server is blocked here"}
    assert c.seen == []


async def test_the_signer_is_stored_as_a_remote_actor(client, peers, posts):
    _, c = peers
    await fetch(client, f"/posts/{posts['public']}", key(c, "mallory"), 3)
    stored = await Actor.get(uri=c.url("/users/mallory"))
    assert stored.domain == c.host


@pytest.fixture
async def open_group(alice):
    from fediverse_intranet.services import groups

    account = await Account.get(actor_id=alice.actor_id)
    return await groups.create_group(account, groups.GroupForm(handle="beleid", name="Beleid"))


DOCUMENTS = [
    "/users/alice",
    "/users/alice/outbox",
    "/users/alice/followers",
    "/users/alice/following",
    "/users/alice/collections/featured",
    "/users/beleid",
    "/groups/beleid",
    "/users/beleid/outbox",
    "/users/beleid/followers",
    "/users/beleid/moderators",
    "/posts/{public}",
    "/posts/{public}/activity",
    "/actor",
    "/users/nobody",
]


@pytest.mark.parametrize("path", DOCUMENTS)
async def test_every_document_answers_a_bad_signature_as_an_unsigned_request(
    client, peers, posts, open_group, path
):
    """A person's and a group's documents, collections and posts: the one rule of
    ``signed_requests.signer_of_get`` everywhere (before, a person's actor answered 200 and
    a group's 401 to the same bad signature)."""
    b, c = peers
    path = path.format(**posts)
    unsigned = await fetch(client, path)
    assert unsigned.status_code in (200, 404)
    bad = await fetch(client, path, key(b, "carla"), 4)  # signed with another key
    assert (bad.status_code, bad.json()) == (unsigned.status_code, unsigned.json())


@pytest.mark.parametrize(
    "path",
    [
        "/users/beleid",
        "/groups/beleid",
        "/users/beleid/outbox",
        "/users/beleid/moderators",
        "/posts/{public}",
        "/posts/{public}/activity",
    ],
)
async def test_every_document_that_reads_the_signer_refuses_a_blocked_server(
    client, alice, peers, posts, open_group, path
):
    _, c = peers
    await federation_policy.set_policy(alice, "blocklist", "127.0.0.1")
    c.seen.clear()
    response = await fetch(client, path.format(**posts), key(c, "mallory"), 3)
    assert response.status_code == 403
    assert response.json() == {"error": "this server is blocked here"}
    assert c.seen == []
