"""Who may see a post: the one rule, used by every page, timeline and federation.

Remote posts follow it as they are stored (``services.remote_posts``): a followers-only post
is seen by the author's accepted followers here and the people it mentions or addresses, a
direct post by those people only. A remote post is never organisation-only.

A members-only post (a closed or secret group's) is seen by the group's members and its
author, nobody else: not the organisation, not followers, not people it mentions.
"""

from __future__ import annotations

from fediverse_intranet.models import (
    Actor,
    Follow,
    Membership,
    MemberState,
    Mention,
    Post,
    Visibility,
)


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
