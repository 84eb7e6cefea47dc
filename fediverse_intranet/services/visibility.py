"""Who may see a post: the one rule, used by every page, timeline and federation.

Remote posts follow it as they are stored (``services.remote_posts``): a followers-only post
is seen by the author's accepted followers here and the people it mentions or addresses, a
direct post by those people only. A remote post is never organisation-only.
"""

from __future__ import annotations

from fediverse_intranet.models import Actor, Follow, Mention, Post, Visibility


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
        f" OR EXISTS (SELECT 1 FROM mention vm WHERE vm.post_id = {alias}.id"
        f" AND vm.actor_id = :viewer)"
        f" OR ({alias}.visibility = 'followers' AND EXISTS (SELECT 1 FROM follow vf"
        f" WHERE vf.follower_id = :viewer AND vf.followee_id = {alias}.author_id"
        f" AND vf.accepted))))"
    )
