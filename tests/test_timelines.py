"""Home timeline: what you follow, keyset pages, and mutes that keep noise out."""

from __future__ import annotations

import pytest

from fediverse_intranet.models import Actor, Attachment, Follow, MuteKind, Post
from fediverse_intranet.services import boosts, posts, social, timelines
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


# Boosts in the home timeline


async def test_home_shows_what_followed_people_boost_where_they_boosted_it(alice, bob):
    carol = await make_account("carol")
    dave = await make_account("dave")
    await social.follow(alice.actor, bob.actor)
    old = await posts.create_post(carol.actor, posts.Draft("old but good"))
    await posts.create_post(bob.actor, posts.Draft("bob's own"))
    await boosts.set_boost(old.id, bob.actor, boosted=True)
    stranger = await posts.create_post(carol.actor, posts.Draft("boosted by a stranger"))
    await boosts.set_boost(stranger.id, dave.actor, boosted=True)
    items = (await timelines.home(alice.actor)).items
    assert [(v.post.source, v.boosted_by and v.boosted_by.username) for v in items] == [
        ("old but good", "bob"),
        ("bob's own", None),
    ]
    await boosts.set_boost(stranger.id, alice.actor, boosted=True)  # your own boosts show too
    items = (await timelines.home(alice.actor)).items
    assert items[0].post.id == stranger.id and items[0].boosted


async def test_keyset_pages_with_boosts_cover_every_post_and_boost_once(alice, bob):
    carol = await make_account("carol")
    dave = await make_account("dave")
    await social.follow(alice.actor, bob.actor)
    await social.follow(alice.actor, carol.actor)
    daves = [(await posts.create_post(dave.actor, posts.Draft(f"dave {n}"))).id for n in range(12)]
    expected: list[str] = []
    for n in range(30):
        await posts.create_post(bob.actor, posts.Draft(f"bob {n}"))
        expected.append(f"bob {n}")
        if n % 3 == 0:  # carol boosts dave's posts, oldest first, in between bob's posts
            await boosts.set_boost(daves[n // 3], carol.actor, boosted=True)
            expected.append(f"dave {n // 3} boosted")
    seen: list[str] = []
    page = await timelines.home(alice.actor)
    while True:
        seen += [v.post.source + (" boosted" if v.boosted_by else "") for v in page.items]
        if page.next_before is None:
            break
        assert len(page.items) == timelines.PAGE_SIZE
        page = await timelines.home(alice.actor, page.next_before)
    assert seen == expected[::-1]


async def test_a_muted_booster_and_a_deleted_boosted_post_stay_out(alice, bob):
    carol = await make_account("carol")
    await social.follow(alice.actor, bob.actor)
    await social.follow(alice.actor, carol.actor)
    first = await posts.create_post(alice.actor, posts.Draft("mine, boosted by bob"))
    gone = await posts.create_post(carol.actor, posts.Draft("soon gone"))
    await boosts.set_boost(first.id, bob.actor, boosted=True)
    await boosts.set_boost(gone.id, bob.actor, boosted=True)
    await posts.delete_post(gone.id, carol)
    assert [v.boosted_by is not None for v in (await timelines.home(alice.actor)).items] == [True]
    await social.add_mute(alice.actor, MuteKind.ACTOR, "bob")
    assert [v.boosted_by for v in (await timelines.home(alice.actor)).items] == [None]


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("", None),
        ("12_7", timelines.HomeCursor(12, 7)),
        ("12", timelines.HomeCursor(12, timelines.NEWEST)),
        ("99999999999_1", timelines.HomeCursor(timelines.NEWEST, 1)),
        ("1_2_3", None),
        ("-1", None),
        ("１２", None),
        ("a_b", None),
    ],
)
def test_home_cursor_from_a_url(raw, expected):
    assert timelines.HomeCursor.parse(raw) == expected


async def test_home_page_links_the_next_page_with_both_cursors(browser, alice, bob):
    await social.follow(alice.actor, bob.actor)
    for n in range(21):
        await posts.create_post(bob.actor, posts.Draft(f"n {n}"))
    await boosts.set_boost((await Post.first()).id, bob.actor, boosted=True)
    person = await browser(alice)
    page = (await person.get("/")).text
    cursor = (await timelines.home(alice.actor)).next_before
    assert f'href="/?before={cursor.posts}_{cursor.boosts}"' in page
    older = await person.get(f"/?before={cursor}")
    assert older.status_code == 200 and "n 1<" in older.text and "n 20<" not in older.text
    assert (await person.get("/?before=rubbish")).status_code == 400


async def test_remote_post_card_shows_warning_origin_and_images_from_here(browser, alice):
    bea = await Actor.create(
        username="bea", domain="gov-b.example", uri="https://gov-b.example/users/bea"
    )
    await Follow.create(follower=alice.actor, followee=bea, accepted=True)
    post = await Post.create(
        uri="https://gov-b.example/users/bea/statuses/1",
        url="https://gov-b.example/@bea/1",
        author=bea,
        content_html="<p>spoiler inside</p>",
        summary="Over de begroting",
    )
    await Attachment.create(
        post=post,
        uploader=bea,
        filename="",
        remote_url="https://gov-b.example/media/chart.png",
        media_type="image/png",
        alt_text="Grafiek van de uitgaven",
        width=0,
        height=0,
    )
    await Attachment.create(
        post=post,
        uploader=bea,
        filename="",
        remote_url="javascript:alert(1)",
        media_type="image/png",
        width=0,
        height=0,
    )
    page = (await (await browser(alice)).get("/")).text
    warning = page.index('<details class="content-warning">')
    assert page.index("Over de begroting") > warning
    assert warning < page.index("spoiler inside") < page.index("</details>", warning)
    assert 'href="https://gov-b.example/@bea/1"' in page and "View at its origin" in page
    image = await Attachment.get(remote_url="https://gov-b.example/media/chart.png")
    assert f'src="/remote-media/{image.id}" alt="Grafiek van de uitgaven"' in page
    assert "gov-b.example/media" not in page  # never hot-linked
    assert "javascript:" not in page


async def test_a_local_posts_topics_are_linked_in_its_text_and_not_repeated_below(alice):
    """Our Markdown links topics with absolute URLs; the hashtag bar is for tags a text lacks."""
    post = await posts.create_post(alice.actor, posts.Draft("Over #paspoorten en #Wonen"))
    [view] = await timelines.hydrate([post.id], alice.actor)
    assert sorted(view.tags) == ["paspoorten", "wonen"] and view.unlinked_tags == []
