"""What another server reads from us: actors, posts and collections as ActivityStreams JSON,
and the same URL as a page for people (content negotiation)."""

from __future__ import annotations

import pytest

from activitypub.context import PUBLIC
from activitypub.keys import load_public_key
from activitypub.parse_actor import parse_actor
from fediverse_intranet.models import Account, Actor, Follow, Post, Visibility
from fediverse_intranet.services import accounts, posts, profiles, social
from fediverse_intranet.services.posts import Draft
from fediverse_intranet.services.profiles import ProfileForm
from tests.conftest import BASE_URL, make_account

ACTIVITY = "application/activity+json"
LD_PROFILE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8"
AS_JSON = {"Accept": ACTIVITY}


async def get_json(client, path: str, accept: str = ACTIVITY) -> dict:
    response = await client.get(path, headers={"Accept": accept})
    assert response.status_code == 200, (path, response.status_code, response.text[:200])
    assert response.headers["content-type"].startswith(ACTIVITY)
    return response.json()


async def write(author: Account, text: str, visibility=Visibility.PUBLIC, **extra) -> Post:
    return await posts.create_post(author.actor, Draft(text, visibility=visibility, **extra))


# People


async def test_person_document(client, alice):
    await profiles.update_profile(
        alice.actor,
        ProfileForm(
            display_name="Alice de Vries",
            job_title="Beleidsadviseur",
            team="Informatiebeheer",
            location="Stadhuis",
            contact="<b>toestel</b> 1234",
            bio="Woo en archief.\nBel gerust.\n\nTweede alinea <script>",
            topics="woo archiefwet privacy",
        ),
    )
    person = await get_json(client, "/users/alice")
    assert person["@context"][:2] == [
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
    ]
    assert person["@context"][2]["knowsAbout"] == "schema:knowsAbout"
    assert person["id"] == f"{BASE_URL}/users/alice"
    assert person["type"] == "Person"
    assert person["preferredUsername"] == "alice"
    assert person["name"] == "Alice de Vries"
    assert person["url"] == f"{BASE_URL}/@alice"
    assert person["inbox"] == f"{BASE_URL}/users/alice/inbox"
    assert person["outbox"] == f"{BASE_URL}/users/alice/outbox"
    assert person["followers"] == f"{BASE_URL}/users/alice/followers"
    assert person["following"] == f"{BASE_URL}/users/alice/following"
    assert person["endpoints"] == {"sharedInbox": f"{BASE_URL}/inbox"}
    assert person["summary"] == (
        "<p>Woo en archief.<br>Bel gerust.</p><p>Tweede alinea &lt;script&gt;</p>"
    )
    assert person["attachment"] == [
        {"type": "PropertyValue", "name": "Function", "value": "Beleidsadviseur"},
        {"type": "PropertyValue", "name": "Team", "value": "Informatiebeheer"},
        {"type": "PropertyValue", "name": "Location", "value": "Stadhuis"},
        {"type": "PropertyValue", "name": "Contact", "value": "&lt;b&gt;toestel&lt;/b&gt; 1234"},
    ]
    assert person["knowsAbout"] == ["archiefwet", "privacy", "woo"]
    assert {"type": "Hashtag", "href": f"{BASE_URL}/tags/woo", "name": "#woo"} in person["tag"]
    assert person["manuallyApprovesFollowers"] is False
    assert "icon" not in person
    assert parse_actor(person).knows_about == ("archiefwet", "privacy", "woo")


async def test_person_key_is_published_loadable_and_stable(client, alice):
    first = await get_json(client, "/users/alice")
    key = first["publicKey"]
    assert key["id"] == f"{BASE_URL}/users/alice#main-key"
    assert key["owner"] == f"{BASE_URL}/users/alice"
    load_public_key(key["publicKeyPem"])
    stored = await Actor.get(id=alice.actor.id)
    assert stored.public_key_pem == key["publicKeyPem"] and stored.private_key_pem
    again = await get_json(client, "/users/alice")
    assert again["publicKey"] == key
    assert "PRIVATE" not in str(again)


async def test_person_photo_is_the_icon(client, alice):
    await Actor.filter(id=alice.actor.id).update(photo="abc123.png")
    person = await get_json(client, "/users/alice")
    assert person["icon"] == {
        "type": "Image",
        "mediaType": "image/png",
        "url": f"{BASE_URL}/media/abc123.png",
    }


async def test_deactivated_person_is_served_as_suspended(client, alice, bob):
    await profiles.update_profile(bob.actor, ProfileForm(job_title="Jurist", topics="awb"))
    await accounts.set_active(alice, bob.id, False)
    person = await get_json(client, "/users/bob")
    assert person["suspended"] is True
    assert person["attachment"] == [] and "knowsAbout" not in person
    load_public_key(person["publicKey"]["publicKeyPem"])
    assert (await client.get("/users/bob/outbox", headers=AS_JSON)).status_code == 404


async def test_featured_tags_are_the_expertise_topics(client, alice):
    await profiles.update_profile(alice.actor, ProfileForm(topics="woo privacy"))
    tags = await get_json(client, "/users/alice/collections/tags")
    assert tags["totalItems"] == 2
    assert [t["name"] for t in tags["items"]] == ["#privacy", "#woo"]
    featured = await get_json(client, "/users/alice/collections/featured")
    assert featured["type"] == "OrderedCollection" and featured["totalItems"] == 0


# Content negotiation


async def test_same_url_is_a_page_for_browsers_and_json_for_servers(client, browser, alice):
    to_browser = await client.get("/users/alice", headers={"Accept": BROWSER})
    assert to_browser.status_code == 303
    assert to_browser.headers["location"] == "/@alice"
    assert "Accept" in to_browser.headers["vary"]
    as_json = await get_json(client, "/users/alice")
    as_ld = await get_json(client, "/users/alice", accept=LD_PROFILE)
    assert as_json == as_ld
    assert "Accept" in (await client.get("/users/alice", headers=AS_JSON)).headers["vary"]
    head = await client.head("/users/alice", headers=AS_JSON)
    assert head.status_code == 200 and head.headers["content-type"].startswith(ACTIVITY)
    via_profile = await get_json(client, "/@alice")
    assert via_profile["id"] == f"{BASE_URL}/users/alice"
    signed_in = await browser(alice)
    page = await signed_in.get("/@alice", headers={"Accept": BROWSER})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "accept", ["", "*/*", "application/json", "application/activity+json;q=0", BROWSER]
)
async def test_vague_accept_gets_no_json(client, alice, accept):
    response = await client.get("/users/alice", headers={"Accept": accept})
    assert response.status_code == 303


async def test_post_url_is_the_thread_page_for_people_and_a_note_for_servers(
    client, browser, alice
):
    post = await write(alice, "Hallo #woo")
    note = await get_json(client, f"/posts/{post.id}")
    assert note["id"] == post.uri == f"{BASE_URL}/posts/{post.id}"
    signed_in = await browser(alice)
    page = await signed_in.get(f"/posts/{post.id}", headers={"Accept": BROWSER})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Hallo" in page.text
    anonymous = await client.get(f"/posts/{post.id}", headers={"Accept": BROWSER})
    assert anonymous.status_code in (302, 303)  # the web page still needs a sign-in


# Posts


async def test_public_note(client, alice, bob):
    await Account.filter(id=alice.id).update(locale="nl")
    parent = await write(bob, "Vraag over de Woo")
    post = await posts.create_post(
        alice.actor, Draft("Antwoord voor @bob over #woo"), in_reply_to=parent.id
    )
    note = await get_json(client, f"/posts/{post.id}")
    assert note["type"] == "Note"
    assert note["attributedTo"] == f"{BASE_URL}/users/alice"
    assert note["to"] == [PUBLIC]
    assert note["cc"] == [f"{BASE_URL}/users/alice/followers", f"{BASE_URL}/users/bob"]
    assert note["inReplyTo"] == parent.uri
    assert note["url"] == post.uri
    assert note["content"] == post.content_html
    assert note["contentMap"] == {"nl": post.content_html}
    assert note["published"].endswith("Z")
    assert {
        "type": "Mention",
        "href": f"{BASE_URL}/users/bob",
        "name": "@bob@intranet.test",
    } in note["tag"]
    assert {"type": "Hashtag", "href": f"{BASE_URL}/tags/woo", "name": "#woo"} in note["tag"]
    activity = await get_json(client, f"/posts/{post.id}/activity")
    assert activity["type"] == "Create" and activity["object"]["id"] == post.uri


async def test_article(client, alice):
    post = await write(alice, "Lange tekst", kind="article", title="Woo-verzoeken in 2025")
    note = await get_json(client, f"/posts/{post.id}")
    assert note["type"] == "Article"
    assert note["name"] == "Woo-verzoeken in 2025"


async def test_only_public_posts_are_served_to_unsigned_requests(client, alice, bob):
    shown = await write(alice, "voor iedereen")
    assert (await client.get(f"/posts/{shown.id}", headers=AS_JSON)).status_code == 200
    for visibility in (Visibility.FOLLOWERS, Visibility.DIRECT, Visibility.ORGANISATION):
        hidden = await write(alice, f"niet voor buiten @bob ({visibility})", visibility)
        for path in (f"/posts/{hidden.id}", f"/posts/{hidden.id}/activity"):
            response = await client.get(path, headers=AS_JSON)
            assert response.status_code == 404, (visibility, path)
            assert response.json() == {"error": "no such post"}
            assert "niet voor buiten" not in response.text


async def test_deleted_post_is_404_as_in_mastodon(client, alice):
    post = await write(alice, "even later weg")
    assert (await client.get(f"/posts/{post.id}", headers=AS_JSON)).status_code == 200
    await posts.delete_post(post.id, alice)
    response = await client.get(f"/posts/{post.id}", headers=AS_JSON)
    assert response.status_code == 404
    assert response.json() == {"error": "no such post"}


async def test_posts_of_a_deactivated_person_are_not_served(client, alice, bob):
    post = await write(bob, "van bob")
    assert (await client.get(f"/posts/{post.id}", headers=AS_JSON)).status_code == 200
    await accounts.set_active(alice, bob.id, False)
    assert (await client.get(f"/posts/{post.id}", headers=AS_JSON)).status_code == 404


# Collections


async def test_outbox_counts_and_lists_public_posts_only(client, alice):
    public = [await write(alice, f"openbaar {i}") for i in range(21)]
    for visibility in (Visibility.FOLLOWERS, Visibility.DIRECT, Visibility.ORGANISATION):
        await write(alice, "binnen", visibility)
    gone = await write(alice, "verwijderd")
    await posts.delete_post(gone.id, alice)

    outbox = await get_json(client, "/users/alice/outbox")
    assert outbox["type"] == "OrderedCollection"
    assert outbox["totalItems"] == 21
    assert outbox["first"] == f"{BASE_URL}/users/alice/outbox?page=true"
    first = await get_json(client, outbox["first"])
    assert first["type"] == "OrderedCollectionPage"
    assert first["partOf"] == f"{BASE_URL}/users/alice/outbox"
    items = first["orderedItems"]
    assert len(items) == 20
    assert all(item["type"] == "Create" for item in items)
    assert [item["object"]["id"] for item in items] == [p.uri for p in reversed(public)][:20]
    assert all(item["object"]["to"] == [PUBLIC] for item in items)
    second = await get_json(client, first["next"])
    assert [item["object"]["id"] for item in second["orderedItems"]] == [public[0].uri]
    assert "next" not in second


async def test_followers_and_following(client, alice, bob):
    carol = await accounts.create_account("carol", "carol@gemeente-x.nl", "correct horse battery")
    await carol.fetch_related("actor")
    remote = await Actor.create(
        username="dirk", domain="ministerie.example", uri="https://ministerie.example/users/dirk"
    )
    await social.follow(bob.actor, alice.actor)
    await social.follow(carol.actor, alice.actor)
    await Follow.create(follower=remote, followee=alice.actor)
    await accounts.set_active(alice, carol.id, False)
    await social.follow(alice.actor, bob.actor)

    followers = await get_json(client, "/users/alice/followers")
    assert followers["type"] == "OrderedCollection"
    assert followers["totalItems"] == 3
    page = await get_json(client, followers["first"])
    assert page["orderedItems"] == [f"{BASE_URL}/users/bob"]  # colleagues only, active only
    following = await get_json(client, "/users/alice/following")
    assert following["totalItems"] == 1
    assert (await get_json(client, following["first"]))["orderedItems"] == [f"{BASE_URL}/users/bob"]


# The instance actor


async def test_instance_actor(client):
    actor = await get_json(client, "/actor")
    assert actor["type"] == "Application"
    assert actor["id"] == f"{BASE_URL}/actor"
    assert actor["publicKey"]["id"] == f"{BASE_URL}/actor#main-key"
    assert actor["publicKey"]["owner"] == f"{BASE_URL}/actor"
    load_public_key(actor["publicKey"]["publicKeyPem"])
    assert (await get_json(client, "/actor"))["publicKey"] == actor["publicKey"]
    row = await Actor.get(uri=f"{BASE_URL}/actor")
    assert row.username == "instance_actor" and row.domain == ""
    assert not await Account.filter(actor=row).exists()
    outbox = await get_json(client, actor["outbox"])
    assert outbox["totalItems"] == 0
    assert (await client.get("/users/instance_actor", headers=AS_JSON)).status_code == 404


async def test_a_person_holding_the_instance_actors_name_gets_a_clear_refusal(client):
    """Until accounts reserve the name, a person called instance_actor blocks the instance
    actor; /actor then says so (503 with a reason) and the person stays a person."""
    await make_account("instance_actor")
    response = await client.get("/actor", headers=AS_JSON)
    assert response.status_code == 503
    assert response.json() == {"error": "the instance actor is not available"}
    person = await get_json(client, "/users/instance_actor")
    assert person["type"] == "Person"


# Odd input never makes a server error


@pytest.mark.parametrize(
    "path",
    [
        "/users/%00",
        "/users/nobody",
        "/users/a%20b",
        "/users/" + "x" * 500,
        "/@%00",
        "/@bob@elsewhere.example",
        "/posts/abc",
        "/posts/-1",
        "/posts/0",
        "/posts/99999999999999999999999",
        "/posts/2147483648",
        "/posts/%00",
        "/posts/1%2F2",
        "/posts/999/activity",
        "/users/%00/outbox",
        "/users/nobody/followers",
    ],
)
async def test_odd_paths_are_json_404(client, alice, path):
    response = await client.get(path, headers=AS_JSON)
    assert response.status_code == 404, path
    assert response.json()["error"]


@pytest.mark.parametrize(
    "path", ["/users/%00", "/users/a%20b", "/users/" + "x" * 500, "/posts/%00", "/@%00"]
)
async def test_odd_paths_for_browsers_are_not_a_server_error(client, alice, path):
    response = await client.get(path, headers={"Accept": BROWSER})
    assert response.status_code < 500, path


@pytest.mark.parametrize(
    "query", ["before=abc", "before=-1", "before=99999999999", "before=2147483648", "before="]
)
async def test_bad_cursor_is_400(client, alice, query):
    response = await client.get(f"/users/alice/outbox?page=true&{query}", headers=AS_JSON)
    assert response.status_code == 400
    assert response.json() == {"error": "before must be an id"}


async def test_user_names_are_case_insensitive(client, alice):
    person = await get_json(client, "/users/ALICE")
    assert person["id"] == f"{BASE_URL}/users/alice"
