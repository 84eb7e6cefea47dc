"""Who on another server may fetch what is not public: one rule for signed fetches of posts
(``outbox.routes``) and of the images they carry (``/media/{name}``).

A server, not only a person: a peer fetches with whichever key it likes (Mastodon's
authorized fetch often signs with its instance actor), and it would deliver the post to its
followers or mentioned people anyway. Local signers follow ``visibility.can_view``.
"""

from __future__ import annotations

from fediverse_intranet.models import (
    Actor,
    Follow,
    Group,
    Membership,
    MemberState,
    Mention,
    Post,
    Visibility,
)
from fediverse_intranet.services import remote_groups
from fediverse_intranet.services.visibility import can_view


async def knows_secret(group: Group, signer: Actor | None) -> bool:
    """Whether a secret group exists for this signer: a server where someone is in it or
    invited to it (for anyone else it is the 404 of no group)."""
    if signer is None:
        return False
    rows = Membership.filter(group_id=group.id, state__in=[MemberState.MEMBER, MemberState.INVITED])
    if signer.is_local:
        return await rows.filter(actor_id=signer.id).exists()
    return await rows.filter(actor__domain=signer.domain).exists()


async def may_fetch(post: Post, signer: Actor | None) -> bool:
    """Who on another server may fetch a post: anyone for public ones; followers-only ones
    by a server where someone follows the author (or is mentioned), direct ones by a server
    where someone is mentioned; members-only ones by a server with a member of the group.
    Organisation-only posts by no other server. Deleted posts are the caller's to refuse.
    """
    if post.visibility == Visibility.PUBLIC:
        return True
    if signer is None:
        return False
    if signer.is_local:
        return await can_view(post, signer)
    if post.visibility == Visibility.MEMBERS:  # a closed group's: its members' servers
        group = await Group.filter(id=post.group_id or 0).select_related("actor").first()
        if group is None:
            return False
        if await remote_groups.server_has_member(group, signer):
            return True
        # A group elsewhere knows members we do not: ask it (the member's server where the
        # post was written is asked by the other members' servers, which check it there).
        return not group.actor.is_local and await remote_groups.group_vouches(group, signer)
    mentioned = Mention.filter(post_id=post.id, actor__domain=signer.domain)
    if post.visibility == Visibility.FOLLOWERS:
        follows = Follow.filter(
            followee_id=post.author_id, accepted=True, follower__domain=signer.domain
        )
        return await follows.exists() or await mentioned.exists()
    return post.visibility == Visibility.DIRECT and await mentioned.exists()
