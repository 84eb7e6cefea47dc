"""The expertise finder, endorsements on profiles, topic levels in the settings and the
admin's topic links, as a person sees them through the pages."""

from __future__ import annotations

import pytest

from fediverse_intranet.models import Actor, ActorTopic, Endorsement, Tag, TopicLink
from fediverse_intranet.services import expertise, groups, posts, profiles
from tests.conftest import make_account
from tests.test_profiles import text_of


async def declare(account, topics: str, **values: str) -> Actor:
    actor = await Actor.get(id=account.actor_id)
    values.setdefault("display_name", actor.display_name)
    await profiles.update_profile(actor, profiles.ProfileForm(topics=topics, **values))
    return actor


async def test_finder_ranks_and_explains(browser, alice, bob):
    bob_actor = await declare(bob, "paspoorten", job_title="Adviseur", team="Burgerzaken")
    carol = await make_account("carol", display_name="Carol Chips")
    await declare(carol, "paspoorten reisdocumenten")
    for i in range(3):
        await posts.create_post(bob_actor, posts.Draft(f"Over #paspoorten {i}"))
    await groups.create_group(
        bob, groups.GroupForm(handle="paszaken", name="Paspoortzaken", topics="paspoorten")
    )
    await expertise.rescore(bob_actor)
    me = await browser(alice)
    await me.submit("/@bob/endorse", {"topic": "paspoorten"})

    page = await me.get("/experts?topic=paspoorten")
    assert page.status_code == 200
    words = text_of(page.text)
    assert words.index("Bob Burger") < words.index("Carol Chips")
    assert "endorsed by 1 colleague" in words
    assert "3 posts" in words
    assert "moderator of Paspoortzaken" in words
    assert "Adviseur" in words and "Burgerzaken" in words

    both = text_of((await me.get("/experts?topic=paspoorten&q=reisdocumenten")).text)
    assert both.index("Carol Chips") < both.index("Bob Burger")  # matches both topics
    assert "Matches 1 of 2 topics" in both
    assert 'value="reisdocumenten" checked' in (await me.get("/experts?q=reisdocumenten")).text


async def test_finder_filters_and_dutch(browser, alice, bob):
    await declare(bob, "privacy", team="Burgerzaken")
    carol = await make_account("carol")
    await declare(carol, "privacy", team="ICT")
    me = await browser(alice)
    page = text_of((await me.get("/experts?topic=privacy&team=ict")).text)
    assert "Carol" in page and "Bob Burger" not in page
    page = text_of((await me.get("/experts?topic=privacy&where=elsewhere")).text)
    assert "0 people found" in page
    await profiles.set_presence(await Actor.get(id=bob.actor_id), "office", "", None)
    page = text_of((await me.get("/experts?topic=privacy&present=1")).text)
    assert "Bob Burger" in page and "Carol" not in page
    dutch = await me.get("/experts?topic=privacy", headers={"Accept-Language": "nl"})
    assert dutch.status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?q=",
        '?q="paspoorten"',
        "?q=NEAR(a b)",
        "?q=pas*",
        "?q=-x ((",
        "?q=" + "a" * 10_000,
        "?topic=" + "b" * 5_000,
        "?q=a b c d e f g",
        "?topic=onbekend",
        "?where=nowhere&topic=x&present=yes",
    ],
)
async def test_finder_bad_input_gets_an_answer(browser, alice, query):
    page = await (await browser(alice)).get("/experts" + query)
    assert page.status_code == 200
    assert "Find experts" in page.text


async def test_finder_needs_sign_in(client):
    page = await client.get("/experts?topic=x")
    assert page.status_code in (302, 303)


async def test_endorse_and_withdraw_on_the_profile(browser, alice, bob):
    await declare(bob, "privacy")
    me = await browser(alice)
    page = await me.get("/@bob")
    assert "Endorse" in page.text
    answer = await me.submit("/@bob/endorse", {"topic": "privacy"})
    assert answer.status_code == 303
    page = text_of((await me.get("/@bob")).text)
    assert "endorsed by 1 colleague" in page and "Withdraw endorsement" in page
    await me.submit("/@bob/endorse", {"topic": "privacy", "action": "withdraw"})
    assert await Endorsement.all().count() == 0
    # Not oneself, not a topic they do not list, not without the CSRF token.
    bobs = await browser(bob)
    assert (await bobs.submit("/@bob/endorse", {"topic": "privacy"})).status_code == 400
    assert (await me.submit("/@bob/endorse", {"topic": "ander"})).status_code == 404
    assert (await me.post("/@bob/endorse", data={"topic": "privacy"})).status_code == 403
    assert await Endorsement.all().count() == 0


async def test_levels_in_the_settings(browser, bob):
    me = await browser(bob)
    await me.submit("/settings/profile", {"display_name": "Bob", "topics": "privacy, wob"})
    page = await me.get("/settings/profile")
    assert 'name="level_privacy"' in page.text
    answer = await me.submit(
        "/settings/profile",
        {"display_name": "Bob", "topics": "privacy, wob", "level_privacy": "3"},
    )
    assert answer.status_code == 303
    levels = dict(await ActorTopic.filter(actor_id=bob.actor_id).values_list("tag__name", "level"))
    assert levels == {"privacy": 3, "wob": 0}
    refused = await me.submit(
        "/settings/profile", {"display_name": "Bob", "topics": "privacy", "level_privacy": "7"}
    )
    assert refused.status_code == 400
    assert "Choose a level from the list." in refused.text
    assert "Expert" in text_of((await me.get("/@bob")).text)


async def test_admin_links_topics(browser, alice, bob):
    await declare(bob, "paspoort")
    admin = await browser(alice)
    assert (await admin.get("/admin/topics")).status_code == 200
    answer = await admin.submit(
        "/admin/topics", {"tag": "paspoort", "canonical": "paspoorten", "kind": "synonym"}
    )
    assert answer.status_code == 303
    found = text_of((await admin.get("/experts?topic=paspoorten")).text)
    assert "Bob Burger" in found
    for bad, status in (
        ({"tag": "a b!", "canonical": "x", "kind": "synonym"}, 400),
        ({"tag": "x", "canonical": "x", "kind": "synonym"}, 400),
        ({"tag": "x", "canonical": "y", "kind": "bogus"}, 400),
        ({"tag": "paspoort", "canonical": "paspoorten", "kind": "related"}, 409),
        ({"tag": "pas", "canonical": "paspoort", "kind": "synonym"}, 409),  # no chains
    ):
        assert (await admin.submit("/admin/topics", bad)).status_code == status, bad
    assert await TopicLink.all().count() == 1
    link = await TopicLink.get()
    member = await browser(bob)
    assert (await member.get("/admin/topics")).status_code == 403
    assert (await member.submit(f"/admin/topics/{link.id}/remove")).status_code == 403
    assert (await admin.submit("/admin/topics/99999/remove")).status_code == 404
    assert (await admin.submit("/admin/topics/abc/remove")).status_code == 404
    assert (await admin.submit(f"/admin/topics/{link.id}/remove")).status_code == 303
    assert await TopicLink.all().count() == 0
    assert "Bob Burger" not in text_of((await admin.get("/experts?topic=paspoorten")).text)
    assert await Tag.filter(name="paspoorten").exists()
