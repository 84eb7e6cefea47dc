"""Posts in groups: who may post, who may see, where they show, and moderation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fediverse_intranet.errors import InvalidInput, NotFound, PermissionDenied
from fediverse_intranet.models import (
    Follow,
    Group,
    Mention,
    Notification,
    Post,
    Role,
    Tag,
    TagFollow,
    Visibility,
)
from fediverse_intranet.services import group_posts, groups, memberships, posts, timelines
from fediverse_intranet.services.visibility import can_view
from tests.conftest import make_account
from tests.test_groups import make_group


def ids(page) -> list[int]:
    return [view.post.id for view in page.items]


async def test_closed_group_posts_are_for_members_only_by_every_route(alice, bob):
    carol = await make_account("carol", Role.ADMIN)
    closed = await make_group(alice, handle="stadhuis", access="closed")
    await memberships.join(closed, bob.actor)
    await memberships.approve(closed, alice.actor, bob.actor)
    await Follow.create(follower=carol.actor, followee=alice.actor, accepted=True)
    await TagFollow.create(actor=carol.actor, tag=(await Tag.get_or_create(name="geheim"))[0])
    draft = posts.Draft("Plannen #geheim voor @carol", visibility=Visibility.PUBLIC)
    post = await posts.create_post(alice.actor, draft, group=closed)
    assert post.visibility == Visibility.MEMBERS  # forced, whatever the form said
    assert not await Mention.filter(post=post).exists()  # carol is no member
    assert not await Notification.filter(recipient_id=carol.actor_id).exists()

    assert await can_view(post, bob.actor)
    assert not await can_view(post, carol.actor)
    assert not await can_view(post, None)
    assert post.id in ids(await timelines.home(bob.actor))
    assert post.id in ids(await timelines.group(bob.actor, closed.id))
    for page in (
        await timelines.home(carol.actor),
        await timelines.organisation(carol.actor),
        await timelines.tagged(carol.actor, "geheim"),
        await timelines.person(carol.actor, alice.actor),
        await timelines.group(carol.actor, closed.id),
    ):
        assert post.id not in ids(page)
    with pytest.raises(NotFound):
        await posts.visible_post(post.id, carol.actor)
    with pytest.raises(NotFound):
        await posts.create_post(carol.actor, posts.Draft("hoi"), in_reply_to=post.id)


async def test_only_members_post_and_open_groups_post_publicly(alice, bob):
    group = await make_group(alice)
    with pytest.raises(PermissionDenied):
        await posts.create_post(bob.actor, posts.Draft("hoi"), group=group)
    await memberships.join(group, bob.actor)
    draft = posts.Draft("hoi", visibility=Visibility.FOLLOWERS)
    post = await posts.create_post(bob.actor, draft, group=group)
    assert (post.visibility, post.group_id) == (Visibility.PUBLIC, group.id)
    reply = await posts.create_post(alice.actor, posts.Draft("ja"), in_reply_to=post.id)
    assert reply.group_id == group.id
    await memberships.ban(group, alice.actor, bob.actor)
    with pytest.raises(PermissionDenied):
        await posts.create_post(bob.actor, posts.Draft("nog eens"), group=group)
    with pytest.raises(PermissionDenied):
        await posts.create_post(bob.actor, posts.Draft("nog eens"), in_reply_to=post.id)
    with pytest.raises(InvalidInput):
        await posts.create_post(alice.actor, posts.Draft("x", visibility=Visibility.MEMBERS))


async def test_archived_groups_take_no_posts_replies_or_edits(alice):
    ends = (groups.today() + timedelta(days=1)).isoformat()
    project = await make_group(alice, handle="stadhuis", kind="project", ends_on=ends)
    post = await posts.create_post(alice.actor, posts.Draft("start"), group=project)
    await Group.filter(id=project.id).update(ends_on=groups.today() - timedelta(days=1))
    with pytest.raises(PermissionDenied):
        await posts.create_post(alice.actor, posts.Draft("later"), in_reply_to=post.id)
    with pytest.raises(PermissionDenied):
        await posts.edit_post(post.id, alice, "changed")
    assert (await Group.get(id=project.id)).archived_at is not None


async def test_moderators_pin_lock_and_remove(alice, bob):
    group = await make_group(alice)
    await memberships.join(group, bob.actor)
    first = await posts.create_post(bob.actor, posts.Draft("eerste"), group=group)
    second = await posts.create_post(bob.actor, posts.Draft("tweede"), group=group)
    reply = await posts.create_post(alice.actor, posts.Draft("antwoord"), in_reply_to=first.id)
    with pytest.raises(PermissionDenied):
        await group_posts.set_pinned(group, bob.actor, first.id, True)
    await group_posts.set_pinned(group, alice.actor, first.id, True)
    with pytest.raises(InvalidInput):
        await group_posts.set_pinned(group, alice.actor, reply.id, True)
    assert [v.post.id for v in await timelines.pinned(bob.actor, group.id)] == [first.id]
    assert ids(await timelines.group(bob.actor, group.id)) == [second.id]

    locked = await group_posts.set_locked(group, alice.actor, reply.id, True)
    assert locked.id == first.id  # a thread locks at its first post
    for parent in (first.id, reply.id):
        with pytest.raises(PermissionDenied):
            await posts.create_post(bob.actor, posts.Draft("nee"), in_reply_to=parent)
    await group_posts.set_locked(group, alice.actor, first.id, False)
    await posts.create_post(bob.actor, posts.Draft("weer open"), in_reply_to=reply.id)

    await group_posts.remove(group, alice.actor, second.id)
    assert (await Post.get(id=second.id)).deleted_at is not None
    other = await make_group(alice, handle="other")
    with pytest.raises(NotFound):
        await group_posts.remove(other, alice.actor, first.id)


async def test_home_shows_threads_of_my_groups_only(alice, bob):
    group = await make_group(alice)
    top = await posts.create_post(alice.actor, posts.Draft("in de groep"), group=group)
    await posts.create_post(alice.actor, posts.Draft("antwoord"), in_reply_to=top.id)
    assert top.id not in ids(await timelines.home(bob.actor))
    await memberships.join(group, bob.actor)
    assert ids(await timelines.home(bob.actor)) == [top.id]


async def test_a_post_that_mentions_one_of_my_groups_goes_into_it(alice, bob):
    open_group = await make_group(alice)
    closed = await make_group(alice, handle="stadhuis", access="closed")
    await make_group(bob, handle="elders")  # alice is no member of this one

    public = await posts.create_post(alice.actor, posts.Draft("Vraag aan @omgevingswet"))
    assert (public.group_id, public.visibility) == (open_group.id, Visibility.PUBLIC)
    members = await posts.create_post(
        alice.actor, posts.Draft("Intern, @stadhuis@intranet.test"), group=None
    )
    assert (members.group_id, members.visibility) == (closed.id, Visibility.MEMBERS)
    assert not await Notification.exists()  # a group is not told like a person

    # Not a member, two groups at once, or a narrower choice of the author: stays outside.
    for text, visibility in [
        ("Hallo @elders", Visibility.PUBLIC),
        ("@omgevingswet en @stadhuis", Visibility.PUBLIC),
        ("Voor volgers, @omgevingswet", Visibility.FOLLOWERS),
        ("Alleen hier, @stadhuis", Visibility.ORGANISATION),
    ]:
        post = await posts.create_post(alice.actor, posts.Draft(text, visibility=visibility))
        assert post.group_id is None and post.visibility == visibility, text

    # A reply stays where its thread is; an archived group takes nothing.
    reply = await posts.create_post(
        alice.actor,
        posts.Draft("@omgevingswet"),
        in_reply_to=(await Post.get(source="Hallo @elders")).id,
    )
    assert reply.group_id is None
    await Group.filter(id=open_group.id).update(archived_at=open_group.created_at)
    later = await posts.create_post(alice.actor, posts.Draft("Nog eens @omgevingswet"))
    assert later.group_id is None and later.visibility == Visibility.PUBLIC
