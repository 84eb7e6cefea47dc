"""Home timeline: what you follow, keyset pages, and mutes that keep noise out."""

from __future__ import annotations

from fediverse_intranet.models import MuteKind, Post
from fediverse_intranet.services import posts, social, timelines
from tests.conftest import make_account


async def test_home_shows_followed_people_and_tags_only(alice, bob):
    carol = await make_account("carol")
    await posts.create_post(bob.actor, posts.Draft("from bob"))
    await posts.create_post(carol.actor, posts.Draft("carol on #paspoorten"))
    await posts.create_post(carol.actor, posts.Draft("carol elsewhere"))
    assert [v.post.source for v in (await timelines.home(alice.actor)).items] == []
    await social.follow(alice.actor, bob.actor)
    await social.follow_tag(alice.actor, "#Paspoorten")
    texts = [v.post.source for v in (await timelines.home(alice.actor)).items]
    assert texts == ["carol on #paspoorten", "from bob"]


async def test_keyset_pages_cover_everything_once(alice, bob):
    await social.follow(alice.actor, bob.actor)
    for n in range(45):
        await posts.create_post(bob.actor, posts.Draft(f"post {n}"))
    seen: list[str] = []
    before = None
    for _ in range(5):
        page = await timelines.home(alice.actor, before)
        seen += [v.post.source for v in page.items]
        before = page.next_before
        if before is None:
            break
    assert seen == [f"post {n}" for n in reversed(range(45))]


async def test_mutes_hide_words_tags_and_people_and_pages_stay_full(alice, bob):
    carol = await make_account("carol")
    await social.follow(alice.actor, bob.actor)
    await social.follow(alice.actor, carol.actor)
    for n in range(25):
        await posts.create_post(bob.actor, posts.Draft(f"Parking garage update {n}"))
    await posts.create_post(bob.actor, posts.Draft("about #voetbal"))
    await posts.create_post(carol.actor, posts.Draft("carol says hi"))
    for n in range(22):
        await posts.create_post(bob.actor, posts.Draft(f"useful note {n}"))
    await social.add_mute(alice.actor, MuteKind.WORD, "parking")
    await social.add_mute(alice.actor, MuteKind.TAG, "voetbal")
    await social.add_mute(alice.actor, MuteKind.ACTOR, "carol")
    first = await timelines.home(alice.actor)
    assert len(first.items) == 20
    rest = await timelines.home(alice.actor, first.next_before)
    texts = [v.post.source for v in first.items + rest.items]
    assert texts == [f"useful note {n}" for n in reversed(range(22))]
    assert rest.next_before is None


async def test_mutes_page_adds_and_removes(browser, alice, bob):
    person = await browser(alice)
    assert (
        await person.submit("/settings/mutes", {"kind": "word", "value": "Parking"})
    ).status_code == 303
    assert "parking" in (await person.get("/settings/mutes")).text
    unknown = await person.submit("/settings/mutes", {"kind": "actor", "value": "nobody"})
    assert unknown.status_code == 404 and "Nobody with this name" in unknown.text
    mutes = await social.mutes(alice.actor)
    await person.submit("/settings/mutes", {"remove": str(mutes[0].id)})
    assert await social.mutes(alice.actor) == []


async def test_tag_page_follow_and_unfollow(browser, alice, bob):
    await posts.create_post(bob.actor, posts.Draft("news on #Omgevingswet"))
    person = await browser(alice)
    page = await person.get("/tags/omgevingswet")
    assert page.status_code == 200 and "news on" in page.text
    await person.submit("/tags/omgevingswet/follow")
    assert await social.followed_tags(alice.actor) == ["omgevingswet"]
    await person.submit("/tags/omgevingswet/unfollow")
    assert await social.followed_tags(alice.actor) == []
    assert (await person.get("/tags/not a tag!")).status_code == 404


async def test_post_with_two_followed_tags_does_not_hide_others(alice, bob):
    carol = await make_account("carol")
    await social.follow(alice.actor, bob.actor)
    await social.follow_tag(alice.actor, "a")
    await social.follow_tag(alice.actor, "b")
    await posts.create_post(carol.actor, posts.Draft("old #a"))
    for n in range(30):
        await posts.create_post(bob.actor, posts.Draft(f"bob {n}"))
    for n in range(15):
        await posts.create_post(carol.actor, posts.Draft(f"both {n} #a #b"))
    page = await timelines.home(alice.actor)
    texts = [v.post.source for v in page.items]
    assert texts == [f"both {n} #a #b" for n in reversed(range(15))] + [
        f"bob {n}" for n in reversed(range(25, 30))
    ]
    seen = list(texts)
    while page.next_before:
        page = await timelines.home(alice.actor, page.next_before)
        seen += [v.post.source for v in page.items]
    assert len(seen) == 46 and len(set(seen)) == 46 and seen[-1] == "old #a"


async def test_organisation_merges_public_and_organisation(alice, bob):
    made = []
    for n in range(30):
        vis = [posts.Visibility.PUBLIC, posts.Visibility.ORGANISATION, posts.Visibility.FOLLOWERS][
            n % 3
        ]
        made.append((await posts.create_post(bob.actor, posts.Draft(f"o {n}", visibility=vis))).id)
    reply = await posts.create_post(alice.actor, posts.Draft("a reply"), in_reply_to=made[0])
    expected = [i for n, i in enumerate(made) if n % 3 != 2][::-1]
    page = await timelines.organisation(alice.actor)
    got = [v.post.id for v in page.items]
    assert page.next_before is None
    assert got == expected and reply.id not in got
    assert await Post.filter(id__in=got).count() == 20
