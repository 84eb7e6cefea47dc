"""The visibility rule's four faces agree, for every visibility, group access and relation of
the viewer: who may see a post (``can_view`` and its SQL twin ``visible_sql``), who it is sent
to (``delivery_audience``), who on another server may fetch it (``may_fetch``) and what a
public collection lists (``LISTED``, and the outbox itself).

Runs on SQLite and, with ``scripts/with-postgres.sh``, on PostgreSQL: the SQL twins are SQL.
"""

from __future__ import annotations

import itertools

import pytest

from fediverse_intranet.errors import NotFound, PermissionDenied
from fediverse_intranet.models import (
    Actor,
    Follow,
    Membership,
    MemberState,
    Mention,
    MuteKind,
    Post,
    Visibility,
)
from fediverse_intranet.services import (
    groups,
    memberships,
    posts,
    social,
    sql,
    timelines,
    visibility,
)
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.groups import GroupForm
from fediverse_intranet.services.visibility import can_view, visible_sql
from tests.conftest import BASE_URL, make_account
from tests.test_fanout import remote
from tests.test_groups import make_group

_serial = itertools.count(1)


async def _post(author: Actor, visibility_: Visibility, group=None, **extra) -> Post:
    n = next(_serial)
    return await Post.create(
        uri=f"{BASE_URL}/posts/twin-{n}",
        author=author,
        content_html=f"<p>{visibility_.value} {n}</p>",
        visibility=visibility_,
        group=group,
        **extra,
    )


async def _sql_visible(viewer: Actor) -> set[int]:
    found = await sql.ids(
        f"SELECT p.id AS id FROM post p WHERE {visible_sql('p')}",  # noqa: S608
        viewer=viewer.id,
    )
    return set(found)


async def test_view_sql_audience_fetch_and_collections_agree_for_every_combination(client, alice):
    author = alice.actor
    open_group = await make_group(alice, handle="open")
    closed_group = await make_group(alice, handle="closed", access="closed")
    secret_group = await make_group(alice, handle="secret", access="secret")

    # Viewers here and elsewhere (each on a server of their own), one per relation.
    relations = ("stranger", "follower", "pending", "mentioned", "member")
    local = {r: (await make_account(f"l{r}")).actor for r in relations}
    far = {r: await remote(f"r{r}", f"{r}.example") for r in relations}
    for people in (local, far):
        await Follow.create(follower=people["follower"], followee=author, accepted=True)
        await Follow.create(follower=people["pending"], followee=author, accepted=False)
        for group in (open_group, closed_group, secret_group):
            await Membership.create(group=group, actor=people["member"], state=MemberState.MEMBER)

    posts = [await _post(author, v) for v in Visibility if v != Visibility.MEMBERS]
    posts.append(await _post(author, Visibility.PUBLIC, open_group))
    posts.append(await _post(author, Visibility.MEMBERS, closed_group))
    posts.append(await _post(author, Visibility.MEMBERS, secret_group))
    posts.append(await _post(author, Visibility.PUBLIC, deleted_at=now()))
    parent = await _post(far["stranger"], Visibility.PUBLIC)
    posts.append(await _post(author, Visibility.FOLLOWERS, in_reply_to=parent))
    posts.append(await _post(author, Visibility.PUBLIC, in_reply_to=parent))
    for post in posts:  # mentions grant nothing in a members-only post
        for people in (local, far):
            await Mention.create(post=post, actor=people["mentioned"])

    listed = {p.id for p in await Post.filter(visibility.LISTED)}
    sql_sees = {r: await _sql_visible(local[r]) for r in relations}
    ids = [p.id for p in posts]
    for post in posts:
        await post.fetch_related("author")
        what = f"{post.visibility.value} post in {post.group_id} (deleted: {post.deleted_at})"
        anyone = await can_view(post, None)
        assert await visibility.may_fetch(post, None) == anyone, what
        # A public collection lists what nobody could be refused.
        if post.id in listed:
            assert anyone, what
        assert (post.id in listed) == (anyone and post.author.is_local), what
        for r in relations:
            seen = await can_view(post, local[r])
            assert (post.id in sql_sees[r]) == seen, (what, r)
            assert (post.id in await visibility.visible_ids(ids, local[r])) == seen, (what, r)
            assert await visibility.may_fetch(post, local[r]) == (
                seen and post.visibility != Visibility.ORGANISATION
            ), (what, r)
        if post.deleted_at is not None:
            assert not any([await can_view(post, v) for v in [*local.values(), *far.values()]])
            continue
        audience = {a.id for a in await visibility.delivery_audience(post)}
        for r in relations:
            seen = await can_view(post, far[r])
            assert await visibility.may_fetch(post, far[r]) == seen, (what, r)
            if far[r].id in audience:
                assert seen, f"{what} is sent to r{r}, who may not see it"
            if seen and post.visibility != Visibility.PUBLIC:
                assert far[r].id in audience, f"r{r} may see {what} but is not sent it"
        if post.group_id is not None:
            assert audience == {far["member"].id}, what  # the group announces it to members
        elif post.visibility in (Visibility.PUBLIC, Visibility.FOLLOWERS):
            expected = {far["follower"].id, far["mentioned"].id}
            if post.visibility == Visibility.PUBLIC and post.in_reply_to_id:
                expected.add(far["stranger"].id)  # the author of the post it answers
            assert audience == expected, what

    # The outbox, the collection other servers read, lists exactly those posts.
    response = await client.get(
        "/users/alice/outbox?page=true", headers={"Accept": "application/activity+json"}
    )
    shown = {item["object"]["id"] for item in response.json()["orderedItems"]}
    assert shown == {p.uri for p in posts if p.id in listed}
    for handle, group in (("open", open_group), ("closed", closed_group)):
        response = await client.get(
            f"/users/{handle}/outbox", headers={"Accept": "application/activity+json"}
        )
        shown = {item["object"]["id"] for item in response.json()["orderedItems"]}
        assert shown == {p.uri for p in posts if p.id in listed and p.group_id == group.id}


# --- members-only content by every aggregate (issue 19, point 10): one test per class ------


async def _close(group, by: Actor) -> None:
    await group.fetch_related("actor")
    form = GroupForm(name=group.actor.name, kind=group.kind.value, access="closed")
    await groups.update_group(group, by, form)


async def test_pinned_news_from_a_group_that_became_closed_shows_nothing_to_outsiders(
    alice, bob, browser
):
    group = await make_group(alice, handle="raad")
    post = await posts.create_post(alice.actor, posts.Draft("Geheime begroting 2027"), group=group)
    await social.pin_announcement(alice, post.id)
    carol = await make_account("carol")
    assert "Geheime begroting" in (await (await browser(carol)).get("/")).text
    await _close(group, alice.actor)

    for path in ("/", "/organisation"):
        page = await (await browser(carol)).get(path)
        assert page.status_code == 200 and "Geheime begroting" not in page.text, path
    assert "Geheime begroting" in (await (await browser(alice)).get("/")).text  # a member


async def test_every_list_passes_the_rule_and_counts_only_visible_replies(alice, bob):
    """``timelines.hydrate`` is the gate of every list (home, news, pins, groups, tags,
    profiles, search, a thread): whatever a query chose, a post the viewer may not see is
    dropped, and the reply count says nothing of replies they may not read."""
    carol = await make_account("carol")
    question = await posts.create_post(alice.actor, posts.Draft("Wie weet dit?"))
    await posts.create_post(
        bob.actor,
        posts.Draft("Alleen voor volgers", visibility=Visibility.FOLLOWERS),
        in_reply_to=question.id,
    )
    closed = await make_group(alice, handle="raad", access="closed")
    secret = await posts.create_post(alice.actor, posts.Draft("Intern"), group=closed)

    views = await timelines.hydrate([question.id, secret.id], carol.actor)
    assert [v.post.id for v in views] == [question.id]
    assert views[0].post.reply_count == 0  # bob's reply is for his followers only
    shown = await timelines.hydrate([question.id, secret.id], alice.actor)
    assert [(v.post.id, v.post.reply_count) for v in shown] == [(question.id, 1), (secret.id, 0)]
    page = await timelines.person(carol.actor, alice.actor)
    assert [(v.post.id, v.post.reply_count) for v in page.items] == [(question.id, 0)]


async def test_a_notification_about_a_post_no_longer_visible_shows_no_text(alice, bob, browser):
    group = await make_group(alice, handle="raad")
    await posts.create_post(alice.actor, posts.Draft("Hallo @bob, geheime tekst"), group=group)
    await _close(group, alice.actor)  # bob was never a member
    page = await (await browser(bob)).get("/notifications")
    assert "mentioned you" in page.text
    assert "geheime tekst" not in page.text and "no longer available" in page.text


async def test_a_banned_member_can_neither_edit_nor_delete_and_repost_in_the_group(alice, bob):
    group = await make_group(alice, handle="raad")
    await memberships.join(group, bob.actor)
    post = await posts.create_post(bob.actor, posts.Draft("Eerste versie"), group=group)
    await group.fetch_related("actor")
    await memberships.ban(group, alice.actor, bob.actor)

    with pytest.raises(PermissionDenied):
        await posts.edit_post(post.id, bob, "Nu met iets anders")
    assert (await Post.get(id=post.id)).source == "Eerste versie"
    await posts.delete_post(post.id, bob)  # taking one's own words back stays possible
    with pytest.raises(PermissionDenied):
        await posts.create_post(bob.actor, posts.Draft("Eerste versie, opnieuw"), group=group)
    elsewhere = await posts.create_post(bob.actor, posts.Draft("Via een vermelding @raad"))
    assert elsewhere.group_id is None  # a mention of the group does not put it there
    assert not await Post.filter(group_id=group.id, deleted_at=None).exists()


async def test_a_closed_groups_member_list_is_for_members_on_the_web(alice, bob, browser):
    group = await make_group(alice, handle="raad", access="closed")
    assert group
    outsider = await browser(bob)
    page = await outsider.get("/groups/raad")
    assert page.status_code == 200 and "/@alice" not in page.text
    assert (await outsider.get("/groups/raad/members")).status_code in (403, 404)
    assert "/@alice" in (await (await browser(alice)).get("/groups/raad")).text


async def test_a_secret_group_is_a_name_nobody_has_for_outsiders(alice, bob, browser):
    await make_group(alice, handle="geheim", access="secret")
    outsider = await browser(bob)

    for path in ("/@geheim", "/@niemand"):
        page = await outsider.get(path, follow_redirects=False)
        assert page.status_code == 404, path
        assert "Nobody with this name is known here." in page.text, path
    for action in ("follow", "unfollow", "endorse"):
        secret = await outsider.submit(f"/@geheim/{action}", {"topic": "x"})
        unknown = await outsider.submit(f"/@niemand/{action}", {"topic": "x"})
        assert secret.status_code == unknown.status_code == 404, action
    assert not await Follow.filter(follower=bob.actor).exists()
    with pytest.raises(NotFound):
        await social.add_mute(bob.actor, MuteKind.ACTOR, "geheim")

    mention = await posts.create_post(bob.actor, posts.Draft("Wie kent @geheim of @niemand?"))
    assert "href" not in mention.content_html  # two unknown names, alike
    assert not await Mention.filter(post=mention).exists()
    # A member's mention is a link: the group exists for them.
    known = await posts.create_post(alice.actor, posts.Draft("Zie @geheim"))
    assert "/@geheim" in known.content_html
    assert known.group_id is not None  # it went into the group, for its members only


async def test_a_secret_group_is_named_only_in_its_own_posts(alice, bob, browser):
    """A member's post that stays outside the secret group (two groups named, or a reply)
    reaches people who are not in it: the name stays plain text there, as a name nobody
    has, with no Mention tag, no link and nothing sent to the group."""
    await make_group(alice, handle="geheim", access="secret")
    await make_group(alice, handle="raad")
    both = await posts.create_post(alice.actor, posts.Draft("Vraag @geheim en @raad"))
    assert both.group_id is None and both.visibility == Visibility.PUBLIC
    assert "/@geheim" not in both.content_html and "/@raad" in both.content_html
    named = await Mention.filter(post=both).values_list("actor__username", flat=True)
    assert list(named) == ["raad"]
    page = await (await browser(bob)).get(f"/posts/{both.id}")
    assert page.status_code == 200 and "/@geheim" not in page.text

    edited = await posts.edit_post(both.id, alice, "Alleen @geheim nu")
    assert "/@geheim" not in edited.content_html
    assert not await Mention.filter(post=edited).exists()

    parent = await posts.create_post(bob.actor, posts.Draft("Wie weet dit?"))
    reply = await posts.create_post(alice.actor, posts.Draft("@geheim weet het"), parent.id)
    assert "/@geheim" not in reply.content_html
