"""Boosting: sharing someone's public post with your own followers (an ``Announce``).

Only public posts can be boosted: a boost shows the post to people its author did not
address, so anything narrower would leak. The Boost row, the count, the author's
notification and the deliveries commit together.
"""

from __future__ import annotations

from fediverse_intranet.errors import InvalidInput
from fediverse_intranet.models import Actor, Boost, NotificationKind, Post, Visibility
from fediverse_intranet.services import fanout
from fediverse_intranet.services.posts import Reaction, react, visible_post
from fediverse_intranet.urls import boost_uri

BOOST = Reaction(
    Boost, "boost_count", NotificationKind.BOOST, boost_uri, fanout.boosted, fanout.unboosted
)


async def set_boost(post_id: int, actor: Actor, boosted: bool) -> Post:
    """Boost a post or take the boost back; doing either twice changes nothing more."""
    post = await visible_post(post_id, actor)
    if boosted and post.visibility != Visibility.PUBLIC:
        raise InvalidInput("Only public posts can be boosted.")
    return await react(BOOST, post, actor, boosted)
