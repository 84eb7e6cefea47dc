"""Two instances, end to end through the web pages: follow a person on another server, and
see posts, replies, appreciations, boosts, edits, deletions and profile changes travel."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

import httpx

from activitypub.signatures import sign_request
from tests.federation.conftest import Federation
from tests.federation.instances import Instance
from tests.federation.people import Person, eventually, text_of

SignIn = Callable[[Instance, str], Awaitable[Person]]
ACTIVITY = "application/activity+json"


def marker() -> str:
    """A word no other test writes, to find one post among many."""
    return f"m{secrets.token_hex(4)}"


async def mutual_followers(
    federation: Federation, sign_in: SignIn, on_a: str, on_b: str
) -> tuple[Person, Person]:
    """A person on gov-a and one on gov-b who follow each other, signed in."""
    federation.accounts((federation.a, on_a), (federation.b, on_b))
    x, y = await sign_in(federation.a, on_a), await sign_in(federation.b, on_b)
    await x.follow(y.handle)
    await y.follow(x.handle)
    await x.wait_following(y.handle)
    await y.wait_following(x.handle)
    return x, y


async def fetch_as(
    federation: Federation, url: str, signer: tuple[Instance, str] | None
) -> httpx.Response:
    """GET an ActivityStreams document, signed with the key of ``signer`` (an instance and an
    actor URI there, the key read from its database) or unsigned."""
    headers = {"Accept": ACTIVITY}
    if signer is not None:
        instance, uri = signer
        (pem,) = instance.query("SELECT private_key_pem FROM actor WHERE uri = ?", uri)[0]
        assert pem, f"{uri} has no key yet"
        headers = sign_request("GET", url, headers, None, f"{uri}#main-key", pem)
    async with httpx.AsyncClient(verify=federation.ca.client_context(), timeout=20) as peer:
        return await peer.get(url, headers=headers)


async def test_follow_through_search_is_accepted(federation: Federation, sign_in: SignIn) -> None:
    a, b = federation.a, federation.b
    federation.accounts((a, "alice"), (b, "bob"))
    alice = await sign_in(a, "alice")

    profile = await alice.follow("bob@gov-b.test")
    assert profile == "/@bob@gov-b.test"
    shown = text_of(await alice.page(profile))
    assert "Requested" in shown or "You follow" in shown  # the Accept may already be in
    await alice.wait_following("bob@gov-b.test")
    followers = await fetch_as(federation, f"{b.url}/users/bob/followers", None)
    assert followers.json()["totalItems"] == 1
    following = await fetch_as(federation, f"{a.url}/users/alice/following", None)
    assert following.json()["totalItems"] == 1


async def test_posts_reach_followers_and_nobody_else(
    federation: Federation, sign_in: SignIn
) -> None:
    a, b, c = federation.a, federation.b, federation.c
    federation.accounts((a, "alice"), (b, "bob"), (c, "carol"))
    alice, bob = await sign_in(a, "alice"), await sign_in(b, "bob")
    await alice.ensure_following(bob.handle)

    public, private = marker(), marker()
    public_id = await bob.write(f"Public news from gov-b {public}")
    private_id = await bob.write(f"Only for followers {private}", "followers")
    await alice.wait_for_post(public)
    await alice.wait_for_post(private)

    # The followers-only post: not for gov-c, signed or not; the public one is for anyone.
    private_url, public_url = f"{b.url}/posts/{private_id}", f"{b.url}/posts/{public_id}"
    assert (await fetch_as(federation, public_url, None)).status_code == 200
    assert (await fetch_as(federation, private_url, None)).status_code in {401, 403, 404}
    # Serving their actor documents gives gov-c's instance actor and carol their keys.
    (await fetch_as(federation, f"{c.url}/users/carol", None)).raise_for_status()
    (await fetch_as(federation, f"{c.url}/actor", None)).raise_for_status()
    for uri in (f"{c.url}/actor", f"{c.url}/users/carol"):
        refused = await fetch_as(federation, private_url, (c, uri))
        assert refused.status_code in {401, 403, 404}, f"{uri} got {refused.status_code}"
        assert private not in refused.text
    # ... but alice, a follower, may fetch it with a signed request.
    allowed = await fetch_as(federation, private_url, (a, alice.actor_id))
    assert allowed.status_code == 200 and private in allowed.text
    # It was delivered to gov-a only.
    inboxes = b.query("SELECT inbox_url FROM delivery WHERE body LIKE ?", f"%{private}%")
    assert inboxes == [("https://gov-a.test/inbox",)]


async def _reply_appreciate_boost(author: Person, reader: Person) -> None:
    """``reader`` appreciates, boosts and answers a post of ``author``, who sees all three."""
    topic, answer = marker(), marker()
    original = await author.write(f"What do you think of {topic}?")
    seen = await reader.wait_for_post(topic)
    await reader.act_on(seen, "like")
    await reader.act_on(seen, "boost")
    await reader.write(f"I like it {answer}", reply_to=seen)

    async def counted() -> bool:
        shown = text_of(await author.card(f"/posts/{original}", topic) or "")
        return "1 appreciation" in shown and "1 boost" in shown

    await eventually(counted, f"{author.handle} sees the appreciation and the boost")
    await author.wait_for_post(answer, f"/posts/{original}")


async def test_replies_appreciations_and_boosts_travel_both_ways(
    federation: Federation, sign_in: SignIn
) -> None:
    amber, bert = await mutual_followers(federation, sign_in, "amber", "bert")
    await _reply_appreciate_boost(bert, amber)
    await _reply_appreciate_boost(amber, bert)


async def _edit_delete_rename(author: Person, reader: Person) -> None:
    """``author`` edits a post, deletes another and changes their name; ``reader`` sees it."""
    first, edited, doomed = marker(), marker(), marker()
    post = await author.write(f"First draft {first}")
    gone = await author.write(f"A mistake {doomed}")
    seen = await reader.wait_for_post(first)
    await reader.wait_for_post(doomed)

    await author.edit(post, f"Second draft {edited}")
    await author.delete(gone)
    await reader.wait_for_post(edited, f"/posts/{seen}")

    async def deleted() -> bool:
        return await reader.find_post(doomed) is None

    await eventually(deleted, f"the deleted post is gone from {reader.handle}'s timeline")

    new_name = f"Renamed {marker()}"
    answer = await author.submit("/settings/profile", "/settings/profile", display_name=new_name)
    assert answer.status_code == 303

    async def renamed() -> bool:
        return new_name in text_of(await reader.page(f"/@{author.handle}"))

    await eventually(renamed, f"{reader.handle} sees the new name of {author.handle}")


async def test_edits_deletions_and_profile_changes_travel(
    federation: Federation, sign_in: SignIn
) -> None:
    anna, boris = await mutual_followers(federation, sign_in, "anna", "boris")
    await _edit_delete_rename(boris, anna)
    await _edit_delete_rename(anna, boris)
