"""Groups as services see them: creating, joining, requests, invitations, roles, bans,
archive, directory and suggestions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fediverse_intranet.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from fediverse_intranet.models import (
    Actor,
    ActorTopic,
    Group,
    GroupAccess,
    GroupKind,
    MemberRole,
    Membership,
    MemberState,
    Notification,
    NotificationKind,
    Role,
    Tag,
)
from fediverse_intranet.services import groups, memberships, visibility
from fediverse_intranet.services.groups import GroupForm
from tests.conftest import make_account


async def make_group(owner, handle="omgevingswet", access="open", kind="theme", **values):
    form = GroupForm(handle=handle, name=values.pop("name", handle.title()), kind=kind)
    form.access = access
    for name, value in values.items():
        setattr(form, name, value)
    return await groups.create_group(owner, form)


async def test_create_makes_a_group_actor_with_its_creator_as_owner(bob):
    group = await make_group(
        bob, description="Over de *Omgevingswet*", topics="omgevingswet, Ruimte"
    )
    actor = await Actor.get(id=group.actor_id)
    assert (actor.kind, actor.username, actor.domain) == ("group", "omgevingswet", "")
    assert actor.uri == "http://intranet.test/users/omgevingswet"
    assert "<em>Omgevingswet</em>" in groups.description_html(actor)
    assert await groups.topics_of(group) == ["omgevingswet", "ruimte"]
    owner = await Membership.get(group=group)
    assert (owner.actor_id, owner.role, owner.state) == (
        bob.actor_id,
        MemberRole.OWNER,
        MemberState.MEMBER,
    )


async def test_handles_are_shared_with_people_and_validated(bob):
    with pytest.raises(Conflict):
        await make_group(bob, handle="bob")
    with pytest.raises(InvalidInput) as bad:
        await make_group(bob, handle="Not valid!")
    assert bad.value.field == "handle"
    with pytest.raises(InvalidInput):
        await make_group(bob, handle="new")
    await make_group(bob, handle="team_a")
    with pytest.raises(Conflict):
        await make_account("team_a")
    assert await Group.all().count() == 1


async def test_units_only_by_admins_and_communications_and_projects_need_an_end(bob):
    with pytest.raises(PermissionDenied):
        await make_group(bob, handle="burgerzaken", kind="unit")
    comms = await make_account("comms", Role.COMMUNICATIONS)
    unit = await make_group(comms, handle="burgerzaken", kind="unit")
    assert unit.kind == GroupKind.UNIT
    with pytest.raises(InvalidInput) as missing:
        await make_group(bob, handle="stadhuis", kind="project")
    assert missing.value.field == "ends_on"
    past = (groups.today() - timedelta(days=1)).isoformat()
    with pytest.raises(InvalidInput):
        await make_group(bob, handle="stadhuis", kind="project", ends_on=past)
    with pytest.raises(InvalidInput):
        await make_group(bob, handle="stadhuis", kind="project", ends_on="31-12-2030")
    with pytest.raises(InvalidInput):
        await make_group(bob, handle="stadhuis", access="hidden")
    assert await Group.all().count() == 1


async def test_open_join_closed_request_secret_by_invitation_only(alice, bob):
    carol = (await make_account("carol")).actor
    open_group = await make_group(alice, handle="open_g")
    closed = await make_group(alice, handle="closed_g", access="closed")
    secret = await make_group(alice, handle="secret_g", access="secret")

    change = await memberships.join(open_group, carol)
    assert (change.before, change.after, change.changed) == (None, MemberState.MEMBER, True)
    assert not (await memberships.join(open_group, carol)).changed

    change = await memberships.join(closed, carol)
    assert change.after == MemberState.PENDING
    assert not await memberships.is_member(closed, carol)
    assert (
        await Notification.filter(
            recipient_id=alice.actor_id, kind=NotificationKind.GROUP_REQUEST
        ).count()
        == 1
    )
    approved = await memberships.approve(closed, alice.actor, carol)
    assert (approved.before, approved.after) == (MemberState.PENDING, MemberState.MEMBER)

    with pytest.raises(NotFound):
        await memberships.join(secret, carol)
    assert not await visibility.may_know_group(secret, carol)
    with pytest.raises(NotFound):  # an outsider learns nothing of a secret group
        await memberships.invite(secret, carol, bob.actor)
    with pytest.raises(PermissionDenied):
        await memberships.approve(open_group, carol, bob.actor)  # a member, no moderator
    invited = await memberships.invite(secret, alice.actor, carol)
    assert invited.after == MemberState.INVITED
    assert await visibility.may_know_group(secret, carol)
    assert await Notification.filter(
        recipient_id=carol.id, kind=NotificationKind.GROUP_INVITE
    ).exists()
    accepted = await memberships.join(secret, carol)  # what "Accept the invitation" does
    assert (accepted.before, accepted.after) == (MemberState.INVITED, MemberState.MEMBER)


async def test_refuse_decline_and_leave_remove_the_row(alice, bob):
    closed = await make_group(alice, handle="closed_g", access="closed")
    await memberships.join(closed, bob.actor)
    refused = await memberships.refuse(closed, alice.actor, bob.actor)
    assert (refused.before, refused.after) == (MemberState.PENDING, None)
    with pytest.raises(Conflict):
        await memberships.approve(closed, alice.actor, bob.actor)
    await memberships.invite(closed, alice.actor, bob.actor)
    declined = await memberships.leave(closed, bob.actor)  # what "Decline" does
    assert declined.after is None
    await memberships.join(closed, bob.actor)
    withdrawn = await memberships.leave(closed, bob.actor)
    assert (withdrawn.before, withdrawn.after) == (MemberState.PENDING, None)
    assert await Membership.filter(group=closed).count() == 1


async def test_a_flood_of_requests_is_told_once_until_read(alice):
    closed = await make_group(alice, handle="closed_g", access="closed")
    for name in ("p1", "p2", "p3"):
        await memberships.join(closed, (await make_account(name)).actor)
    assert await Notification.filter(recipient_id=alice.actor_id).count() == 1


async def test_roles_keep_an_owner_and_moderators_cannot_touch_owners(alice, bob):
    group = await make_group(alice)
    await memberships.join(group, bob.actor)
    with pytest.raises(PermissionDenied):
        await memberships.leave(group, alice.actor)  # the last owner
    with pytest.raises(PermissionDenied):
        await memberships.set_role(group, bob.actor, bob.actor, MemberRole.OWNER)
    change = await memberships.set_role(group, alice.actor, bob.actor, MemberRole.MODERATOR)
    assert (change.role_before, change.role_after) == (MemberRole.MEMBER, MemberRole.MODERATOR)
    with pytest.raises(PermissionDenied):
        await memberships.ban(group, bob.actor, alice.actor)
    with pytest.raises(PermissionDenied):
        await memberships.set_role(group, alice.actor, alice.actor, MemberRole.MEMBER)
    await memberships.set_role(group, alice.actor, bob.actor, MemberRole.OWNER)
    await memberships.set_role(group, alice.actor, alice.actor, MemberRole.MEMBER)
    assert (await memberships.leave(group, alice.actor)).after is None


async def test_ban_keeps_out_and_unban_lets_join_again(alice, bob):
    group = await make_group(alice)
    await memberships.join(group, bob.actor)
    banned = await memberships.ban(group, alice.actor, bob.actor)
    assert (banned.before, banned.after) == (MemberState.MEMBER, MemberState.BANNED)
    with pytest.raises(PermissionDenied):
        await memberships.join(group, bob.actor)
    assert (await memberships.leave(group, bob.actor)).after == MemberState.BANNED
    with pytest.raises(Conflict):
        await memberships.invite(group, alice.actor, bob.actor)
    await memberships.unban(group, alice.actor, bob.actor)
    assert (await memberships.join(group, bob.actor)).after == MemberState.MEMBER
    removed = await memberships.remove(group, alice.actor, bob.actor)
    assert removed.after is None
    with pytest.raises(InvalidInput):
        await memberships.ban(group, alice.actor, alice.actor)


async def test_a_remote_follow_joins_with_its_uri(alice):
    remote = await Actor.create(
        username="dana", domain="gov-b.example", uri="https://gov-b.example/users/dana"
    )
    group = await make_group(alice)
    change = await memberships.join(group, remote, follow_uri="https://gov-b.example/f/1")
    assert change.after == MemberState.MEMBER
    assert change.membership.uri == "https://gov-b.example/f/1"


async def test_projects_archive_after_their_end_and_reopen_with_a_new_one(alice, bob):
    ends = (groups.today() + timedelta(days=3)).isoformat()
    project = await make_group(alice, handle="stadhuis", kind="project", ends_on=ends)
    await Group.filter(id=project.id).update(ends_on=groups.today() - timedelta(days=1))
    found = await groups.find("stadhuis")
    assert found.archived_at is not None
    with pytest.raises(PermissionDenied):
        await memberships.join(found, bob.actor)
    with pytest.raises(InvalidInput):
        await groups.set_archived(found, alice.actor, archived=False)
    reopened = await groups.set_archived(found, alice.actor, archived=False, ends_on=ends)
    assert reopened.archived_at is None
    assert (await groups.find("stadhuis")).archived_at is None
    theme = await make_group(alice)
    with pytest.raises(PermissionDenied):
        await groups.set_archived(theme, bob.actor, archived=True)
    assert (await groups.set_archived(theme, alice.actor, archived=True)).archived_at


async def test_directory_search_hides_secret_groups_from_outsiders(alice, bob):
    await make_group(alice, handle="omgevingswet", topics="ruimte", description="Wet en regels")
    secret = await make_group(alice, handle="geheim", access="secret", name="Geheim overleg")
    names = [g.actor.username for g in await groups.directory(bob.actor)]
    assert names == ["omgevingswet"]
    for query in ("omgevings", "regels", "#ruimte", "Ruimte"):
        assert [g.actor.username for g in await groups.directory(bob.actor, query)] == [
            "omgevingswet"
        ], query
    assert await groups.directory(bob.actor, "geheim") == []
    assert [g.actor.username for g in await groups.directory(alice.actor, "geheim")] == ["geheim"]
    with pytest.raises(NotFound):
        await groups.visible_group("geheim", bob.actor)
    await memberships.invite(secret, alice.actor, bob.actor)
    assert (await groups.visible_group("geheim", bob.actor)).id == secret.id
    assert await groups.directory(bob.actor, kind="unit") == []
    with pytest.raises(InvalidInput):
        await groups.directory(bob.actor, kind="nonsense")


async def test_suggestions_follow_expertise_topics(alice, bob):
    for name in ("omgevingswet", "ruimte"):
        tag, _ = await Tag.get_or_create(name=name)
        await ActorTopic.create(actor_id=bob.actor_id, tag=tag)
    both = await make_group(alice, handle="both", topics="omgevingswet ruimte")
    await make_group(alice, handle="one", topics="ruimte")
    await make_group(alice, handle="none", topics="sport")
    await make_group(alice, handle="hidden", access="secret", topics="ruimte")
    found = await groups.suggestions(bob.actor)
    assert [(s.group.actor.username, s.shared_topics) for s in found] == [
        ("both", ["omgevingswet", "ruimte"]),
        ("one", ["ruimte"]),
    ]
    await memberships.join(both, bob.actor)
    assert [s.group.actor.username for s in await groups.suggestions(bob.actor)] == ["one"]


async def test_closing_an_open_group_makes_its_posts_members_only(alice, bob):
    from fediverse_intranet.models import Post, Visibility
    from fediverse_intranet.services import posts

    group = await make_group(alice)
    post = await posts.create_post(alice.actor, posts.Draft("hallo"), group=group)
    assert post.visibility == Visibility.PUBLIC
    group = await groups.find("omgevingswet")
    form = GroupForm(name="Omgevingswet", access=GroupAccess.CLOSED.value)
    with pytest.raises(PermissionDenied):
        await groups.update_group(group, bob.actor, form)
    await groups.update_group(group, alice.actor, form)
    assert (await Post.get(id=post.id)).visibility == Visibility.MEMBERS
    assert (await Group.get(id=group.id)).kind == GroupKind.THEME
