"""Who may see a post, who it is sent to, what a public collection lists, and who may know of
a group: the one module where these rules live, used by every page, list, timeline,
collection and delivery.

Remote posts follow it as they are stored (``services.remote_posts``): a followers-only post
is seen by the author's accepted followers here and the people it mentions or addresses, a
direct post by those people only. A remote post is never organisation-only.

A members-only post (a closed or secret group's) is seen by the group's members and its
author, nobody else: not the organisation, not followers, not people it mentions.

The rule has four faces, which ``tests/test_visibility.py`` checks against each other
for every visibility, group access and relation of the viewer:

- :func:`can_view` for one post and one viewer (local, remote or nobody), and
  :func:`visible_sql`, its SQL twin for lists shown to people here;
- :func:`delivery_audience`: the remote people a local post is sent to, each of whom
  :func:`can_view` lets see it;
- :func:`may_fetch`: who on another server may fetch one post (by server, as peers sign
  with any key of theirs);
- :data:`LISTED`: what a public collection (an outbox, a
  group's outbox or featured posts) lists to anyone, signed or not: public posts of this
  instance outside members-only groups, nothing a single reader could not see.

A secret group exists only for its members and invited people (:func:`may_know_group`);
for anyone else it is a name nobody has. A closed or secret group's members and
moderators are listed to its members only (:func:`may_list_members`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from tortoise.expressions import Q

from fediverse_intranet.models import (
    Actor,
    Block,
    Follow,
    Group,
    GroupAccess,
    Membership,
    MemberState,
    Mention,
    Post,
    Visibility,
)
from fediverse_intranet.services import sql

# Seeing one post


async def can_view(post: Post, viewer: Actor | None) -> bool:
    if post.deleted_at is not None:
        return False
    if viewer is not None and viewer.id == post.author_id:
        return True
    if post.visibility == Visibility.PUBLIC:
        return True
    if viewer is None:
        return False
    if post.visibility == Visibility.ORGANISATION:
        return viewer.is_local
    if post.visibility == Visibility.MEMBERS:
        return (
            post.group_id is not None
            and await Membership.filter(
                group_id=post.group_id, actor_id=viewer.id, state=MemberState.MEMBER
            ).exists()
        )
    if await Mention.filter(post_id=post.id, actor_id=viewer.id).exists():
        return True
    if post.visibility == Visibility.FOLLOWERS:
        return await Follow.filter(
            follower_id=viewer.id, followee_id=post.author_id, accepted=True
        ).exists()
    return False


def visible_sql(alias: str = "p") -> str:
    """The rule of ``can_view`` as SQL on ``:viewer``, for list queries.

    Only for viewers of this instance (the web UI): organisation posts are visible to all of them.
    """
    return (
        f"({alias}.deleted_at IS NULL AND ({alias}.author_id = :viewer"  # noqa: S608
        f" OR {alias}.visibility IN ('public', 'organisation')"
        f" OR ({alias}.visibility <> 'members' AND EXISTS (SELECT 1 FROM mention vm"
        f" WHERE vm.post_id = {alias}.id AND vm.actor_id = :viewer))"
        f" OR ({alias}.visibility = 'members' AND EXISTS (SELECT 1 FROM membership vg"
        f" WHERE vg.group_id = {alias}.group_id AND vg.actor_id = :viewer"
        f" AND vg.state = 'member'))"
        f" OR ({alias}.visibility = 'followers' AND EXISTS (SELECT 1 FROM follow vf"
        f" WHERE vf.follower_id = :viewer AND vf.followee_id = {alias}.author_id"
        f" AND vf.accepted))))"
    )


def of_group_posts(group: Group) -> Visibility:
    """The visibility of every post in a group: public in an open group, members only in a
    closed or secret one (local and remote posts alike)."""
    return Visibility.PUBLIC if group.access == GroupAccess.OPEN else Visibility.MEMBERS


# Lists of posts: every list a person here sees passes these (``timelines.hydrate``)


async def visible_ids(ids: Iterable[int], viewer: Actor) -> set[int]:
    """Which of these posts a person here may see, in one query: the last gate of every
    list, whatever query chose the candidates (pinned posts, news, boosts, timelines)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return set()
    found = await sql.ids(
        f"SELECT p.id AS id FROM post p WHERE p.id IN (:ids) AND {visible_sql('p')}",  # noqa: S608
        ids=wanted,
        viewer=viewer.id,
    )
    return set(found)


async def visible_reply_counts(ids: Iterable[int], viewer: Actor) -> dict[int, int]:
    """How many replies to each post a person here may see: a count of replies they may
    not read tells them those exist (a members-only answer under a public question)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    found = await sql.rows(
        "SELECT p.in_reply_to_id AS parent, COUNT(*) AS n FROM post p"  # noqa: S608
        f" WHERE p.in_reply_to_id IN (:ids) AND {visible_sql('p')} GROUP BY p.in_reply_to_id",
        ids=wanted,
        viewer=viewer.id,
    )
    counts = dict.fromkeys(wanted, 0)
    counts.update({row["parent"]: int(row["n"]) for row in found})
    return counts


async def visible_posts(posts: list[Post], viewer: Actor) -> list[Post]:
    """The posts of a list the viewer may see, in order, each with the replies it shows
    counted as the viewer may see them."""
    shown = await visible_ids([p.id for p in posts], viewer)
    kept = [p for p in posts if p.id in shown]
    counts = await visible_reply_counts([p.id for p in kept], viewer)
    for post in kept:
        post.reply_count = counts.get(post.id, 0)
    return kept


# Groups: who may know of one, and who may see who is in it


async def _in_group(group: Group, viewer: Actor, states: list[MemberState]) -> bool:
    """A person here by their own row; someone elsewhere by their server (a peer reads
    with whichever key it likes, and serves its own members)."""
    rows = Membership.filter(group_id=group.id, state__in=states)
    if viewer.is_local:
        return await rows.filter(actor_id=viewer.id).exists()
    return await rows.filter(actor__domain=viewer.domain).exists()


async def may_know_group(group: Group, viewer: Actor | None) -> bool:
    """A secret group exists only for its members and the people invited to it (and for
    their servers); for anyone else it is a name nobody has, everywhere: pages, profile
    redirects, mentions, WebFinger, actor documents, collections and inboxes."""
    if group.access != GroupAccess.SECRET:
        return True
    return viewer is not None and await _in_group(
        group, viewer, [MemberState.MEMBER, MemberState.INVITED]
    )


def may_name_group(group: Group, post_group_id: int | None) -> bool:
    """Whether a post in ``post_group_id`` (None: in no group) may link a mention of the
    group. A secret group only in its own posts: anyone else a post reaches (its readers,
    their servers, the Mention tag) would learn that the group exists."""
    return group.access != GroupAccess.SECRET or group.id == post_group_id


async def server_has_member(group: Group, signer: Actor | None) -> bool:
    """Whether the signer of a request is, or shares a server with, a member of the group."""
    return signer is not None and await _in_group(group, signer, [MemberState.MEMBER])


async def host_has_member(group: Group, host: str) -> bool:
    return await Membership.filter(
        group_id=group.id, state=MemberState.MEMBER, actor__domain=host
    ).exists()


async def may_list_members(group: Group, viewer: Actor | None) -> bool:
    """An open group's members and moderators are public; a closed or secret group's are
    for its members (and their servers) only, on the web and in collections."""
    return group.access == GroupAccess.OPEN or await server_has_member(group, viewer)


# Who a local post is sent to


async def remote_followers(actor: Actor) -> list[Actor]:
    rows = await Follow.filter(
        followee_id=actor.id, accepted=True, follower__domain__not=""
    ).select_related("follower")
    return [row.follower for row in rows]


async def unblocked(sender: Actor, people: Iterable[Actor]) -> list[Actor]:
    """Remote people, once each, leaving out those who blocked ``sender``."""
    blockers = set(await Block.filter(target_id=sender.id).values_list("blocker_id", flat=True))
    chosen: dict[int, Actor] = {}
    for person in people:
        if not person.is_local and person.id not in blockers:
            chosen.setdefault(person.id, person)
    return list(chosen.values())


async def group_members_elsewhere(group: Group) -> list[Actor]:
    """A group's members on other servers: where its announces go (never anyone else)."""
    rows = await Membership.filter(
        group_id=group.id, state=MemberState.MEMBER, actor__domain__not=""
    ).select_related("actor")
    return [row.actor for row in rows]


async def delivery_audience(post: Post) -> list[Actor]:
    """The remote people a local post reaches (``post.author`` loaded), as Mastodon reaches
    them: for public and followers-only posts the author's accepted followers elsewhere and
    the people it mentions (a public reply also the author of the post it answers); for a
    direct post the people it mentions; for an organisation-only post nobody. A post in a
    group of ours reaches the group's members elsewhere (the group announces it); one in a
    group elsewhere goes to that group. Never anyone who blocked the author."""
    if post.visibility == Visibility.ORGANISATION or not post.author.is_local:
        return []
    if post.group_id is not None:
        group = await Group.filter(id=post.group_id).select_related("actor").first()
        if group is None:
            return []
        if not group.actor.is_local:
            return [group.actor]
        return await group_members_elsewhere(group)
    people = [m.actor for m in await Mention.filter(post_id=post.id).select_related("actor")]
    if post.visibility in (Visibility.PUBLIC, Visibility.FOLLOWERS):
        people += await remote_followers(post.author)
    if post.visibility == Visibility.PUBLIC and post.in_reply_to_id:
        parent = await Post.filter(id=post.in_reply_to_id).select_related("author").first()
        if parent is not None:
            people.append(parent.author)
    return await unblocked(post.author, people)


# What other servers may fetch, and what public collections list

GroupVouches = Callable[[Group, Actor], Awaitable[bool]]


async def may_fetch(
    post: Post, signer: Actor | None, ask_group: GroupVouches | None = None
) -> bool:
    """Who on another server may fetch a post of ours: anyone for public ones; followers-only
    ones a server where someone follows the author (or is mentioned), direct ones a server
    where someone is mentioned, members-only ones a server with a member of the group.
    Organisation-only posts never leave.

    A server, not only a person: a peer fetches with whichever key it likes (Mastodon's
    authorized fetch often signs with its instance actor), and it would deliver the post to
    its followers or mentioned people anyway. ``ask_group``: how a group elsewhere is asked
    whether the signer's server has a member (it knows members we do not).
    """
    if post.deleted_at is not None or post.visibility == Visibility.ORGANISATION:
        return False
    if post.visibility == Visibility.PUBLIC:
        return True
    if signer is None:
        return False
    if signer.is_local:
        return await can_view(post, signer)
    if post.visibility == Visibility.MEMBERS:
        group = await Group.filter(id=post.group_id or 0).select_related("actor").first()
        if group is None:
            return False
        if await server_has_member(group, signer):
            return True
        return not group.actor.is_local and ask_group is not None and await ask_group(group, signer)
    mentioned = Mention.filter(post_id=post.id, actor__domain=signer.domain)
    if post.visibility == Visibility.FOLLOWERS:
        follows = Follow.filter(
            followee_id=post.author_id, accepted=True, follower__domain=signer.domain
        )
        return await follows.exists() or await mentioned.exists()
    return post.visibility == Visibility.DIRECT and await mentioned.exists()


# A public collection is read by anyone: it lists what anyone may see, whoever signed.
LISTED = Q(deleted_at=None, visibility=Visibility.PUBLIC, author__domain="") & (
    Q(group_id=None) | Q(group__access=GroupAccess.OPEN)
)
