"""Discovery as a peer sees it: WebFinger, NodeInfo and host-meta over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from activitypub.webfinger import parse_jrd
from fediverse_intranet.models import Account, Visibility
from fediverse_intranet.services import accounts, posts
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.posts import Draft
from tests.conftest import BASE_URL
from tests.test_groups import make_group

ACTIVITY = "application/activity+json"
PROFILE_PAGE = "http://webfinger.net/rel/profile-page"


async def finger(client, resource: str | None):
    params = {} if resource is None else {"resource": resource}
    return await client.get("/.well-known/webfinger", params=params)


async def test_webfinger_for_a_person(client, alice):
    response = await finger(client, "acct:alice@intranet.test")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jrd+json"
    jrd = response.json()
    assert jrd["subject"] == "acct:alice@intranet.test"
    links = {link["rel"]: link for link in jrd["links"]}
    assert links["self"] == {"rel": "self", "type": ACTIVITY, "href": f"{BASE_URL}/users/alice"}
    assert links[PROFILE_PAGE]["href"] == f"{BASE_URL}/@alice"
    assert links[PROFILE_PAGE]["type"] == "text/html"
    assert parse_jrd(jrd).actor_url() == f"{BASE_URL}/users/alice"


@pytest.mark.parametrize(
    "resource",
    ["alice@intranet.test", "@alice@intranet.test", "acct:Alice@INTRANET.test"],
)
async def test_webfinger_handles_as_people_type_them(client, alice, resource):
    response = await finger(client, resource)
    assert response.status_code == 200
    assert response.json()["subject"] == "acct:alice@intranet.test"


@pytest.mark.parametrize("path", ["/users/alice", "/@alice", "/users/alice/"])
async def test_webfinger_resource_as_url(client, alice, path):
    response = await finger(client, f"{BASE_URL}{path}")
    assert response.status_code == 200
    assert response.json()["subject"] == "acct:alice@intranet.test"


@pytest.mark.parametrize(
    "resource",
    [
        "acct:nobody@intranet.test",
        "acct:alice@elsewhere.example",  # another server's person
        "https://elsewhere.example/users/alice",
        "https://intranet.test/users/alice",  # another scheme: another origin
        f"{BASE_URL}/posts/1",
        f"{BASE_URL}/users/alice/outbox",
        "acct:instance@intranet.test",
    ],
)
async def test_webfinger_unknown_is_404_json(client, alice, resource):
    response = await finger(client, resource)
    assert response.status_code == 404
    assert response.json()["error"]


async def test_webfinger_for_a_deactivated_person_is_404(client, alice, bob):
    assert (await finger(client, "acct:bob@intranet.test")).status_code == 200
    await accounts.set_active(alice, bob.id, False)
    response = await finger(client, "acct:bob@intranet.test")
    assert response.status_code == 404
    assert response.json() == {"error": "no such person here"}
    assert (await finger(client, f"{BASE_URL}/users/bob")).status_code == 404


@pytest.mark.parametrize(
    "resource",
    [
        None,
        "",
        "acct:",
        "alice",
        "acct:@intranet.test",
        "acct:al ice@intranet.test",
        "acct:alice@",
        "acct:alice@bad host",
        "x" * 400,
        "http://[::1",
    ],
)
async def test_webfinger_malformed_resource_is_400(client, alice, resource):
    response = await finger(client, resource)
    assert response.status_code == 400
    assert response.json()["error"]


async def test_webfinger_odd_user_names_are_not_a_server_error(client, alice):
    for resource in ["acct:%00@intranet.test", "acct:a\x00b@intranet.test", f"{BASE_URL}/@%00"]:
        response = await finger(client, resource)
        assert response.status_code in (400, 404), resource


@pytest.mark.parametrize(
    "resource", [f"{BASE_URL}/", BASE_URL, f"{BASE_URL}/actor", "acct:instance_actor@intranet.test"]
)
async def test_webfinger_finds_the_instance_actor(client, resource):
    """FEP-d556: the server's own URL leads to its server-level actor."""
    response = await finger(client, resource)
    assert response.status_code == 200
    jrd = response.json()
    assert jrd["subject"] == resource
    assert parse_jrd(jrd).actor_url() == f"{BASE_URL}/actor"
    rels = {link["rel"] for link in jrd["links"]}
    assert "https://www.w3.org/ns/activitystreams#Service" in rels
    actor = await client.get(f"{BASE_URL}/actor")
    assert actor.json()["preferredUsername"] == "instance_actor"


async def test_nodeinfo_discovery(client):
    response = await client.get("/.well-known/nodeinfo")
    assert response.status_code == 200
    assert response.json() == {
        "links": [
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                "href": f"{BASE_URL}/nodeinfo/2.1",
            }
        ]
    }


async def test_nodeinfo_document_counts(client, alice, bob, app):
    carol = await accounts.create_account("carol", "carol@gemeente-x.nl", "correct horse battery")
    gone = await accounts.create_account("gone", "gone@gemeente-x.nl", "correct horse battery")
    await accounts.set_active(alice, gone.id, False)
    long_ago = now() - timedelta(days=100)
    await Account.filter(id=alice.id).update(last_login_at=now() - timedelta(days=2))
    await Account.filter(id=bob.id).update(last_login_at=long_ago)
    await accounts.start_session(carol)  # in use today, never signed in with a password
    await Account.filter(id=gone.id).update(last_login_at=now())
    closed = await make_group(alice, access="closed")  # members-only posts live in groups
    for visibility in Visibility:
        group = closed if visibility == Visibility.MEMBERS else None
        await posts.create_post(alice.actor, Draft("hallo", visibility=visibility), group=group)
    deleted = await posts.create_post(bob.actor, Draft("weg"))
    await posts.delete_post(deleted.id, bob)
    await posts.create_post(bob.actor, Draft("nog een"))

    response = await client.get("/nodeinfo/2.1")
    assert response.status_code == 200
    assert response.headers["content-type"] == (
        'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'
    )
    document = response.json()
    assert document["version"] == "2.1"
    assert document["software"]["name"] == "fediverse-intranet"
    assert document["software"]["version"]
    assert document["protocols"] == ["activitypub"]
    assert document["usage"] == {
        "users": {"total": 3, "activeMonth": 2, "activeHalfyear": 3},
        "localPosts": 2,  # public and not deleted
    }
    assert document["openRegistrations"] is False
    assert document["metadata"] == {"nodeName": "intranet.test"}


async def test_nodeinfo_open_registrations_follow_the_sign_up_domains(client, alice):
    await accounts.set_signup_domains(alice, "gemeente-x.nl")
    assert (await client.get("/nodeinfo/2.1")).json()["openRegistrations"] is True
    await accounts.set_signup_domains(alice, "")
    assert (await client.get("/nodeinfo/2.1")).json()["openRegistrations"] is False


async def test_host_meta(client):
    response = await client.get("/.well-known/host-meta")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xrd+xml")
    assert f'template="{BASE_URL}/.well-known/webfinger?resource={{uri}}"' in response.text
    assert 'rel="lrdd"' in response.text
    as_json = await client.get("/.well-known/host-meta", headers={"Accept": "application/json"})
    assert as_json.json()["links"][0]["template"].startswith(f"{BASE_URL}/.well-known/webfinger")
