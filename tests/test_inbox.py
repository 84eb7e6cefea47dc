"""The inbox as a remote server sees it, and the inbound queue step by step.

A real remote server runs on 127.0.0.1 in the test (aiohttp.web): it serves actor documents
with real RSA keys and counts how often each is fetched. Requests to our inbox are signed
with ``activitypub.signatures`` exactly as a peer would sign them, and our app is driven in
process over ASGI. Handlers run only when the test runs the processor.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from activitypub.keys import KeyPair, generate_rsa_key_pair, load_public_key
from activitypub.parse_activity import Activity
from activitypub.signatures import sign_request, sign_request_rfc9421, verify_request
from fediverse_intranet import urls
from fediverse_intranet.models import (
    Account,
    Actor,
    Delivery,
    Follow,
    InboxItem,
    Notification,
    NotificationKind,
    Role,
    WorkState,
)
from fediverse_intranet.services import federation_policy, remote_actors, remote_client
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.remote_actors import RemoteActorError
from fediverse_intranet.settings import Settings
from inbox import processor
from inbox.verify import FOREIGN_ID, MAX_BODY, InboxRefusal, check_origin
from tests.conftest import BASE_URL, LOOPBACK

ROOT = Path(__file__).resolve().parent.parent
AS = "https://www.w3.org/ns/activitystreams"
ALICE = f"{BASE_URL}/users/alice"


@cache
def key_pair(n: int) -> KeyPair:
    """A few RSA key pairs, made once per run (about 0.1 s each)."""
    return generate_rsa_key_pair()


# --- the remote server --------------------------------------------------------------------


@dataclass
class RemotePerson:
    name: str
    uri: str
    keys: KeyPair
    key_id: str
    document: dict[str, Any] | None = None  # served instead of the usual one when set


@dataclass
class RemoteServer:
    """A fediverse server on 127.0.0.1 that serves its people's actor documents."""

    port: int = 0
    people: dict[str, RemotePerson] = field(default_factory=dict)
    gets: Counter[str] = field(default_factory=Counter)
    requests: list[web.Request] = field(default_factory=list)  # every GET, to check signatures
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> served JSON
    gone: set[str] = field(default_factory=set)  # actor names answered 410 (deleted)
    runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(
        self, name: str, keys: KeyPair | None = None, key_path: str = "#main-key"
    ) -> RemotePerson:
        uri = self.url(f"/users/{name}")
        person = RemotePerson(name, uri, keys or key_pair(len(self.people)), uri + key_path)
        self.people[name] = person
        return person

    def actor_document(self, person: RemotePerson) -> dict[str, Any]:
        return person.document or {
            "@context": [AS, "https://w3id.org/security/v1"],
            "id": person.uri,
            "type": "Person",
            "preferredUsername": person.name,
            "name": person.name.title(),
            "summary": "<p>Policy advisor</p><script>alert(1)</script>",
            "inbox": person.uri + "/inbox",
            "outbox": person.uri + "/outbox",
            "followers": person.uri + "/followers",
            "endpoints": {"sharedInbox": self.url("/inbox")},
            "publicKey": {
                "id": person.key_id,
                "owner": person.uri,
                "publicKeyPem": person.keys.public_pem,
            },
        }

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/users/{name}", self._actor)
        app.router.add_get("/users/{name}/main-key", self._key_stub)
        app.router.add_get("/{path:.+}", self._object)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _actor(self, request: web.Request) -> web.Response:
        self.gets[request.path] += 1
        self.requests.append(request)
        name = request.match_info["name"]
        if name in self.gone:
            return web.json_response({"error": "gone"}, status=410)
        person = self.people.get(name)
        if person is None:
            return web.json_response({"error": "not found"}, status=404)
        return _activity_json(self.actor_document(person))

    async def _object(self, request: web.Request) -> web.Response:
        """Any other document the test put in ``objects`` (posts, mostly)."""
        self.gets[request.path] += 1
        self.requests.append(request)
        document = self.objects.get(request.path)
        if document is None:
            return web.json_response({"error": "not found"}, status=404)
        return _activity_json(document)

    async def _key_stub(self, request: web.Request) -> web.Response:
        """GoToSocial's key document: a stub of the actor with only its public key."""
        self.gets[request.path] += 1
        person = self.people[request.match_info["name"]]
        document = self.actor_document(person)
        stub = {k: document[k] for k in ("@context", "id", "type", "preferredUsername")}
        return _activity_json({**stub, "publicKey": document["publicKey"]})


def _activity_json(document: dict[str, Any]) -> web.Response:
    return web.json_response(document, content_type="application/activity+json")


# --- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """conftest's settings, allowed to reach 127.0.0.0/8 (where the remote server runs)."""
    return dataclasses.replace(settings, federation_private_networks=LOOPBACK)


async def local_person(username: str, role: Role = Role.MEMBER) -> Account:
    """A person of this instance, made directly (an account would cost an argon2 hash) and
    with a key pair already (generating one costs about 0.1 s)."""
    keys = key_pair(9)
    actor = await Actor.create(
        username=username,
        uri=urls.actor_uri(username),
        display_name=username.title(),
        public_key_pem=keys.public_pem,
        private_key_pem=keys.private_pem,
    )
    account = await Account.create(
        actor=actor, email=f"{username}@gemeente-x.nl", password_hash="!", role=role
    )
    await account.fetch_related("actor")
    return account


@pytest.fixture
async def alice(app) -> Account:
    return await local_person("alice", Role.ADMIN)


@pytest.fixture
async def bob(app) -> Account:
    return await local_person("bob")


@pytest.fixture
async def remote() -> AsyncIterator[RemoteServer]:
    server = RemoteServer()
    await server.start()
    yield server
    await server.stop()


def follow_of(person: RemotePerson, target: str = ALICE, n: int = 1) -> dict[str, Any]:
    return {
        "@context": AS,
        "id": f"{person.uri}/follows/{n}",
        "type": "Follow",
        "actor": person.uri,
        "object": target,
    }


def signed(
    person: RemotePerson,
    activity: dict[str, Any],
    path: str = "/users/alice/inbox",
    *,
    private_pem: str | None = None,
    date: datetime | None = None,
    rfc9421: bool = False,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers a peer sends: signed as Mastodon does, or per RFC 9421."""
    body = json.dumps(activity).encode()
    sign = sign_request_rfc9421 if rfc9421 else sign_request
    headers = sign(
        "POST",
        BASE_URL + path,
        {"Content-Type": "application/activity+json"},
        body,
        person.key_id,
        private_pem or person.keys.private_pem,
        now=date,
    )
    return body, headers


async def deliver(
    client: httpx.AsyncClient,
    person: RemotePerson,
    activity: dict[str, Any],
    path: str = "/users/alice/inbox",
    **options: Any,
) -> httpx.Response:
    body, headers = signed(person, activity, path, **options)
    return await client.post(path, content=body, headers=headers)


async def remote_actor(person: RemotePerson) -> Actor:
    return await Actor.get(uri=person.uri)


async def following(follower: RemotePerson, followee_uri: str = ALICE) -> bool:
    return await Follow.filter(follower__uri=follower.uri, followee__uri=followee_uri).exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- accepted and processed -----------------------------------------------------------------


async def test_signed_follow_is_stored_then_processed_into_follow_notification_and_accept(
    client, alice: Account, remote: RemoteServer
):
    bob = remote.add("bob")
    activity = follow_of(bob)

    response = await deliver(client, bob, activity)

    assert response.status_code == 202
    item = await InboxItem.get(activity_id=activity["id"])
    assert (item.activity_type, item.actor_uri, item.state) == ("Follow", bob.uri, "pending")
    assert item.recipient_id == alice.actor.id
    assert not await Follow.exists()  # the request never runs handlers

    assert await processor.process_pending_once() == 1

    follow = await Follow.get(follower__uri=bob.uri).select_related("followee")
    assert follow.followee.uri == ALICE and follow.accepted
    note = await Notification.get(recipient=alice.actor).select_related("actor")
    assert note.kind == NotificationKind.FOLLOW and note.actor.uri == bob.uri
    delivery = await Delivery.get()
    assert delivery.inbox_url == bob.uri + "/inbox"  # the follower's own inbox
    assert delivery.signer_id == alice.actor.id
    accept = json.loads(delivery.body)
    assert accept["type"] == "Accept" and accept["actor"] == ALICE
    assert accept["object"]["id"] == activity["id"]
    assert accept["object"]["actor"] == bob.uri and accept["object"]["object"] == ALICE
    await item.refresh_from_db()
    assert (item.state, item.error) == (WorkState.DONE, "")

    stored = await remote_actor(bob)
    assert stored.domain == f"127.0.0.1:{remote.port}" and stored.username == "bob"
    assert stored.shared_inbox_url == remote.url("/inbox")
    assert stored.bio == "<p>Policy advisor</p>"  # remote HTML is sanitised before storing


async def test_rfc9421_signature_on_the_shared_inbox(client, alice, remote):
    bob = remote.add("bob")
    response = await deliver(client, bob, follow_of(bob), "/inbox", rfc9421=True)
    assert response.status_code == 202
    item = await InboxItem.get()
    assert item.recipient_id is None
    await processor.process_pending_once()
    assert await following(bob)


async def test_a_duplicate_is_answered_202_and_stored_once(client, alice, remote):
    bob = remote.add("bob")
    first = await deliver(client, bob, follow_of(bob))
    again = await deliver(client, bob, follow_of(bob), "/inbox")
    assert (first.status_code, again.status_code) == (202, 202)
    assert await InboxItem.all().count() == 1


async def test_deliveries_at_once_are_stored_together_each_once(client, alice, remote):
    """Twenty peers' POSTs at the same moment (one of them twice): one row each, stamped."""
    people = [remote.add(f"p{n}") for n in range(20)]
    answers = await asyncio.gather(
        *(deliver(client, person, follow_of(person)) for person in people),
        deliver(client, people[0], follow_of(people[0]), "/inbox"),
    )
    assert [a.status_code for a in answers] == [202] * 21
    items = await InboxItem.all()
    assert sorted(i.actor_uri for i in items) == sorted(p.uri for p in people)
    assert all(i.received_at is not None and i.state == "pending" for i in items)


async def test_a_database_that_cannot_store_gives_503_to_retry(client, alice, remote):
    """Not accepted unless stored: the peer is told to come back, never given a 500."""
    from tortoise import connections

    bob = remote.add("bob")
    await deliver(client, bob, follow_of(bob, n=1))  # the key is fetched and kept
    await connections.get("default").execute_script("ALTER TABLE inbox_item RENAME TO gone")
    try:
        response = await deliver(client, bob, follow_of(bob, n=2))
    finally:
        await connections.get("default").execute_script("ALTER TABLE gone RENAME TO inbox_item")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "60"
    assert "try again" in response.json()["error"]
    assert await InboxItem.all().count() == 1


async def test_key_id_without_fragment_names_a_key_document_with_an_owner(client, alice, remote):
    bob = remote.add("bob", key_path="/main-key")  # as GoToSocial does
    assert (await deliver(client, bob, follow_of(bob))).status_code == 202
    assert remote.gets == {"/users/bob/main-key": 1, "/users/bob": 1}


# --- refused ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unsigned", "missing signature"),
        ("wrong key", "bad signature"),
        ("body changed", "digest does not match the body"),
        ("date too old", "date outside the allowed window"),
    ],
)
async def test_a_bad_signature_is_refused_401_and_nothing_is_stored(
    client, alice, remote, case, reason
):
    bob = remote.add("bob")
    activity = follow_of(bob)
    options: dict[str, Any] = {}
    if case == "wrong key":
        options["private_pem"] = key_pair(5).private_pem
    if case == "date too old":
        options["date"] = datetime.now(UTC) - timedelta(hours=2)
    body, headers = signed(bob, activity, **options)
    if case == "unsigned":
        headers = {"Content-Type": "application/activity+json"}
    if case == "body changed":
        body = json.dumps({**activity, "object": f"{BASE_URL}/users/bob"}).encode()

    response = await client.post("/users/alice/inbox", content=body, headers=headers)

    assert response.status_code == 401
    assert response.json() == {"error": reason}
    assert not await InboxItem.exists()


async def test_an_unreachable_key_is_refused_401(client, alice, remote):
    ghost = remote.add("ghost")
    ghost.uri = f"http://127.0.0.1:{free_port()}/users/ghost"  # nobody listens there
    ghost.key_id = ghost.uri + "#main-key"
    response = await deliver(client, ghost, follow_of(ghost))
    assert response.status_code == 401
    assert response.json() == {"error": "unknown key"}


async def test_the_signer_must_be_the_activity_actor(client, alice, remote):
    bob, mallory = remote.add("bob"), remote.add("mallory")
    response = await deliver(client, mallory, follow_of(bob))  # mallory signs bob's Follow
    assert response.status_code == 403
    assert response.json() == {"error": "actor does not match the signature"}
    assert not await InboxItem.exists()


async def test_the_activity_id_must_be_on_the_actor_host(client, alice, remote):
    bob = remote.add("bob")
    activity = {**follow_of(bob), "id": "https://elsewhere.example/follows/1"}
    response = await deliver(client, bob, activity)
    assert response.status_code == 403
    assert response.json() == {"error": "activity id not on the actor's host"}
    assert not await InboxItem.exists()


async def test_an_oversized_body_is_refused_413_even_without_content_length(client, alice):
    big = b'{"padding": "' + b"x" * MAX_BODY + b'"}'
    headers = {"Content-Type": "application/activity+json"}
    response = await client.post("/inbox", content=big, headers=headers)
    assert response.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length to trust
        for start in range(0, len(big), 16384):
            yield big[start : start + 16384]

    response = await client.post("/inbox", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert not await InboxItem.exists()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "invalid JSON"),
        (b"[1, 2]", "not an object"),
        (b'{"a":' * 40 + b"{}" + b"}" * 40, "nested deeper than 32"),
        (json.dumps({"type": "Follow", "actor": ALICE}).encode(), "missing id"),
        (json.dumps({"id": "x:y", "type": "Follow", "actor": ALICE}).encode(), "id is not"),
        (json.dumps({"id": ALICE + "/1", "actor": ALICE}).encode(), "invalid type"),
        (json.dumps({"id": ALICE + "/1", "type": "Follow"}).encode(), "missing actor"),
    ],
)
async def test_a_body_that_is_not_an_activity_is_refused_400(client, alice, body, reason):
    response = await client.post(
        "/users/alice/inbox", content=body, headers={"Content-Type": "application/activity+json"}
    )
    assert response.status_code == 400
    assert reason in response.json()["error"]


@pytest.mark.parametrize("content_type", ["text/html", "application/x-www-form-urlencoded", ""])
async def test_a_body_that_is_not_json_is_refused_415(client, alice, remote, content_type):
    bob = remote.add("bob")
    body, headers = signed(bob, follow_of(bob))
    headers["Content-Type"] = content_type
    response = await client.post("/users/alice/inbox", content=body, headers=headers)
    assert response.status_code == 415
    assert "error" in response.json()


@pytest.mark.parametrize(
    "content_type",
    ['application/ld+json; profile="https://www.w3.org/ns/activitystreams"', "application/json"],
)
async def test_other_json_media_types_are_accepted(client, alice, remote, content_type):
    bob = remote.add("bob")
    body, _ = signed(bob, follow_of(bob))
    headers = sign_request(
        "POST",
        BASE_URL + "/inbox",
        {"Content-Type": content_type},
        body,
        bob.key_id,
        bob.keys.private_pem,
    )
    assert (await client.post("/inbox", content=body, headers=headers)).status_code == 202


async def test_an_inbox_takes_only_post_and_answers_json_with_security_headers(client, alice):
    for path in ("/inbox", "/users/alice/inbox", "/groups/omgevingswet/inbox"):
        response = await client.get(path)
        assert response.status_code == 405, path
        assert response.headers["allow"] == "POST"
        assert response.json() == {"error": "an inbox takes POST"}
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_an_unknown_or_deactivated_person_is_404(client, alice, bob, remote):
    mallory = remote.add("mallory")
    response = await deliver(client, mallory, follow_of(mallory), "/users/nobody/inbox")
    assert response.status_code == 404
    assert response.json() == {"error": "no such person here"}
    bob.is_active = False
    await bob.save()
    response = await deliver(client, mallory, follow_of(mallory), "/users/bob/inbox")
    assert response.status_code == 404
    assert not await InboxItem.exists()


@pytest.mark.parametrize(
    ("mode", "domains"), [("blocklist", "127.0.0.1"), ("allowlist", "partner.example")]
)
async def test_a_server_outside_the_federation_policy_is_refused_403_unfetched(
    client, alice: Account, remote, mode, domains
):
    bob = remote.add("bob")
    await federation_policy.set_policy(alice, mode, domains)
    response = await deliver(client, bob, follow_of(bob))
    assert response.status_code == 403
    assert response.json() == {"error": "this server is blocked here"}
    assert not await InboxItem.exists()
    assert sum(remote.gets.values()) == 0  # we did not even fetch its key
    unsigned = await client.post(
        "/inbox",
        content=json.dumps(follow_of(bob)),
        headers={"Content-Type": "application/activity+json"},
    )
    assert unsigned.status_code == 403  # refused for its server before its signature

    await federation_policy.set_policy(alice, "allowlist", "127.0.0.1 partner.example")
    assert (await deliver(client, bob, follow_of(bob))).status_code == 202


async def test_an_activity_waiting_when_its_server_is_blocked_is_not_handled(client, alice, remote):
    bob = remote.add("bob")
    assert (await deliver(client, bob, follow_of(bob))).status_code == 202
    await federation_policy.set_policy(alice, "blocklist", "127.0.0.1")
    await processor.process_pending_once()
    assert not await following(bob)
    assert (await InboxItem.get()).error == "ignored: this server is blocked here"


async def test_a_key_on_a_blocked_server_is_not_fetched(client, alice, remote):
    bob = remote.add("bob")
    bob.key_id = f"http://localhost:{remote.port}/users/bob#main-key"  # another host name
    await federation_policy.set_policy(alice, "blocklist", "localhost")
    response = await deliver(client, bob, follow_of(bob))
    assert response.status_code == 403
    assert sum(remote.gets.values()) == 0


async def test_policy_domains_cover_subdomains_and_are_checked():
    policy = federation_policy.Policy(federation_policy.FederationMode.BLOCKLIST, ("evil.org",))
    assert not policy.allows_url("https://social.evil.org/users/x")
    assert not policy.allows_host("evil.org:8443")
    assert policy.allows_url("https://notevil.org/users/x")


# --- key rotation and the actor cache -----------------------------------------------------


async def test_a_rotated_key_is_refetched_but_not_more_than_once_per_cooldown(
    client, alice, remote
):
    bob = remote.add("bob")
    assert (await deliver(client, bob, follow_of(bob))).status_code == 202
    assert remote.gets["/users/bob"] == 1
    bob.keys = key_pair(7)  # the remote server rotates bob's key

    # Fetched a moment ago: a failing signature does not make us fetch again (a flood of
    # bad signatures costs the remote server nothing).
    for n in (2, 3):
        response = await deliver(client, bob, follow_of(bob, n=n))
        assert response.status_code == 401
    assert remote.gets["/users/bob"] == 1

    # Some minutes later: our cached key fails once, we refetch, the new key verifies.
    stale = now() - remote_actors.REFRESH_COOLDOWN - timedelta(seconds=1)
    await Actor.filter(uri=bob.uri).update(fetched_at=stale)
    assert (await deliver(client, bob, follow_of(bob, n=4))).status_code == 202
    assert remote.gets["/users/bob"] == 2
    assert (await remote_actor(bob)).public_key_pem.strip() == bob.keys.public_pem.strip()


async def test_an_actor_is_cached_for_a_day(app, remote):
    bob = remote.add("bob")
    await remote_actors.resolve_actor(bob.uri)
    await remote_actors.resolve_actor(bob.uri)
    await remote_actors.resolve_actor(bob.uri, refresh=True)  # within the cooldown
    assert remote.gets["/users/bob"] == 1
    await Actor.filter(uri=bob.uri).update(fetched_at=now() - timedelta(hours=25))
    await remote_actors.resolve_actor(bob.uri)
    assert remote.gets["/users/bob"] == 2


async def test_actor_fetches_are_signed_by_the_instance_actor(app, remote):
    """As Mastodon does, so that servers in authorized-fetch mode answer us."""
    bob = remote.add("bob")
    await remote_actors.resolve_actor(bob.uri)
    request = remote.requests[-1]
    assert 'algorithm="rsa-sha256"' in request.headers["Signature"]
    assert "(request-target) host date" in request.headers["Signature"]
    ours = await remote_client.instance_actor()
    assert ours.uri == f"{BASE_URL}/actor"

    async def our_key(key_id: str, refresh: bool) -> Any:
        assert key_id == f"{BASE_URL}/actor#main-key"
        return load_public_key(ours.public_key_pem)

    verified = await verify_request(
        "GET", request.path_qs, list(request.headers.items()), b"", our_key, scheme="http"
    )
    assert verified.key_id == f"{BASE_URL}/actor#main-key"


async def test_a_document_cannot_claim_an_id_on_another_host(app, remote):
    eve = remote.add("eve")
    eve.document = {**remote.actor_document(eve), "id": "https://ministry.example/users/eve"}
    with pytest.raises(RemoteActorError, match="not the URL it was served from"):
        await remote_actors.resolve_actor(eve.uri)
    assert not await Actor.filter(domain__not="").exists()


async def test_a_document_cannot_put_its_inbox_on_another_host(app, remote):
    eve = remote.add("eve")
    eve.document = {**remote.actor_document(eve), "inbox": "https://victim.example/inbox"}
    with pytest.raises(RemoteActorError, match="inbox"):
        await remote_actors.resolve_actor(eve.uri)


# --- handlers -----------------------------------------------------------------------------


async def test_undo_of_a_follow_by_someone_else_does_not_remove_it(client, alice, remote):
    bob, mallory = remote.add("bob"), remote.add("mallory")
    follow = follow_of(bob)
    await deliver(client, bob, follow)
    await processor.process_pending_once()
    assert await following(bob)

    forged = {
        "@context": AS,
        "id": mallory.uri + "/undo/1",
        "type": "Undo",
        "actor": mallory.uri,
        "object": follow,  # bob's Follow, undone by mallory
    }
    assert (await deliver(client, mallory, forged)).status_code == 202
    await processor.process_pending_once()
    assert await following(bob)
    item = await InboxItem.get(activity_id=forged["id"])
    assert item.state == WorkState.DONE
    assert item.error == "ignored: only the follower may undo a follow"

    undo = {**forged, "id": bob.uri + "/undo/1", "actor": bob.uri}
    assert (await deliver(client, bob, undo)).status_code == 202
    await processor.process_pending_once()
    assert not await following(bob)


async def test_undo_naming_the_follow_by_id_only(client, alice, remote):
    bob = remote.add("bob")
    follow = follow_of(bob)
    await deliver(client, bob, follow)
    await processor.process_pending_once()
    undo = {"id": bob.uri + "/undo/1", "type": "Undo", "actor": bob.uri, "object": follow["id"]}
    await deliver(client, bob, undo, "/inbox")
    await processor.process_pending_once()
    assert not await following(bob)


async def test_accept_and_reject_of_our_follow_only_from_the_followee(client, alice, remote):
    bob, mallory = remote.add("bob"), remote.add("mallory")
    bob_actor = await remote_actors.resolve_actor(bob.uri)
    await Follow.create(follower=alice.actor, followee=bob_actor, accepted=False)
    our_follow = {"id": ALICE + "/follows/1", "type": "Follow", "actor": ALICE, "object": bob.uri}

    def answer(kind: str, by: RemotePerson, n: int) -> dict[str, Any]:
        return {"id": f"{by.uri}/{kind}/{n}", "type": kind, "actor": by.uri, "object": our_follow}

    await deliver(client, mallory, answer("Accept", mallory, 1))
    await processor.process_pending_once()
    assert not (await Follow.get(follower=alice.actor)).accepted
    item = await InboxItem.get(activity_id=mallory.uri + "/Accept/1")
    assert item.error == "ignored: only the followed actor may answer a follow"

    await deliver(client, bob, answer("Accept", bob, 1))
    await processor.process_pending_once()
    assert (await Follow.get(follower=alice.actor)).accepted

    await deliver(client, mallory, answer("Reject", mallory, 2))
    await processor.process_pending_once()
    assert await Follow.filter(follower=alice.actor).exists()

    await deliver(client, bob, answer("Reject", bob, 2))
    await processor.process_pending_once()
    assert not await Follow.filter(follower=alice.actor).exists()


async def test_accept_naming_our_follow_by_id_only(client, alice, bob, remote):
    carol = remote.add("carol")
    carol_actor = await remote_actors.resolve_actor(carol.uri)
    for person in (alice, bob):
        await Follow.create(follower=person.actor, followee=carol_actor, accepted=False)

    def accept(n: int, follow_id: str) -> dict[str, Any]:
        return {
            "id": f"{carol.uri}/a/{n}",
            "type": "Accept",
            "actor": carol.uri,
            "object": follow_id,
        }

    await deliver(client, carol, accept(1, ALICE + "#follows/7"), "/inbox")  # under alice's URI
    await deliver(client, carol, accept(2, BASE_URL + "/follows/8"), "/inbox")  # ambiguous
    await processor.process_pending_once()
    accepted = await Follow.filter(accepted=True).values_list("follower__username", flat=True)
    assert accepted == ["alice"]

    # With a single follow of carol left here, an id we cannot read can only mean that one.
    await Follow.filter(follower=alice.actor).delete()
    await deliver(client, carol, accept(3, BASE_URL + "/follows/8"), "/inbox")
    await processor.process_pending_once()
    assert (await Follow.get(follower=bob.actor)).accepted


async def test_an_unknown_type_is_stored_and_marked_done_as_ignored(client, alice, remote):
    bob = remote.add("bob")
    bite = {"id": bob.uri + "/bites/1", "type": "Bite", "actor": bob.uri, "object": ALICE}
    assert (await deliver(client, bob, bite)).status_code == 202
    await processor.process_pending_once()
    item = await InboxItem.get()
    assert item.state == WorkState.DONE
    assert item.error == "ignored: Bite is not handled"


# --- the processor ------------------------------------------------------------------------


async def test_a_transient_failure_is_retried_then_given_up(app, alice):
    dead = f"http://127.0.0.1:{free_port()}/users/gone"  # the sender's server is down
    body = json.dumps({"id": dead + "/f/1", "type": "Follow", "actor": dead, "object": ALICE})
    item = await InboxItem.create(
        activity_id=dead + "/f/1", activity_type="Follow", actor_uri=dead, body=body
    )
    for attempt in range(1, processor.MAX_ATTEMPTS):
        assert await processor.process_pending_once() == 1
        await item.refresh_from_db()
        assert (item.state, item.attempts) == (WorkState.PENDING, attempt)
        assert item.error and item.next_attempt_at > now()  # backing off
        assert item.processed_at is None and item.claimed_until is None
        assert await processor.process_pending_once() == 0  # not due yet
        await InboxItem.filter(id=item.id).update(next_attempt_at=now() - timedelta(seconds=1))
    assert await processor.process_pending_once() == 1
    await item.refresh_from_db()
    assert (item.state, item.attempts) == (WorkState.FAILED, processor.MAX_ATTEMPTS)


async def test_an_item_that_keeps_killing_its_worker_is_given_up(app):
    # Each claim counts an attempt; a worker that died mid-item never recorded the outcome.
    item = await InboxItem.create(
        activity_id="https://a.example/1",
        activity_type="Bite",
        actor_uri="https://a.example/x",
        body="{}",
        attempts=processor.MAX_ATTEMPTS,
    )
    assert await processor.process_pending_once() == 1
    await item.refresh_from_db()
    assert item.state == WorkState.FAILED and item.error.startswith("gave up")


async def test_concurrent_claims_never_share_an_item(app):
    for n in range(30):
        await InboxItem.create(
            activity_id=f"https://a.example/{n}", activity_type="Bite", actor_uri="x", body="{}"
        )
    claimed = await asyncio.gather(*(processor.claim(8) for _ in range(5)))
    ids = [item.id for batch in claimed for item in batch]
    assert len(ids) == len(set(ids)) == 30


async def test_the_loop_survives_failing_handlers_and_stops_when_told(
    client, alice, remote, monkeypatch
):
    bob = remote.add("bob")
    await deliver(client, bob, follow_of(bob))

    async def broken(inbound: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(processor.HANDLERS, "Like", broken)
    like = {"id": bob.uri + "/likes/1", "type": "Like", "actor": bob.uri, "object": ALICE}
    await deliver(client, bob, like)
    await InboxItem.create(
        activity_id="https://a.example/garbage", activity_type="Follow", actor_uri="x", body="["
    )

    stop = asyncio.Event()
    task = asyncio.create_task(processor.run(stop, interval=0.05))
    for _ in range(500):  # up to 10 s for the loop to take every item once
        if not await InboxItem.filter(attempts=0).exists():
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 5)

    assert await following(bob)  # the good item was handled
    broken_item = await InboxItem.get(activity_type="Like")
    assert broken_item.state == WorkState.PENDING and broken_item.error == "RuntimeError: boom"
    garbage = await InboxItem.get(actor_uri="x")
    assert garbage.state == WorkState.FAILED and garbage.error.startswith("unreadable")


def test_the_inbox_refuses_an_id_on_the_same_host_under_another_scheme() -> None:
    """The inbox used its own rule (host and port, no scheme): ``http://peer:443`` passed
    for ``https://peer``. Now it is the one rule, and a foreign id is refused."""
    actor = "https://peer.example/users/ann"
    signer = Actor(uri=actor, username="ann", domain="peer.example")
    activity = Activity(id="http://peer.example:443/a/1", type="Like", actor=actor, object=None)
    with pytest.raises(InboxRefusal) as refused:
        check_origin(activity, signer)
    assert (refused.value.status, refused.value.reason) == (403, FOREIGN_ID)
    check_origin(Activity(id=f"{actor}#likes/1", type="Like", actor=actor, object=None), signer)
