"""Flag: another server reports one of our people (and some of their posts) to our
moderators. The report goes into the queue (``services.reports``); only posts that are ours
are kept with it, and the comment is kept as plain text."""

from __future__ import annotations

from fediverse_intranet.content import plain_text
from fediverse_intranet.models import Actor, Post
from fediverse_intranet.services import reports
from fediverse_intranet.services.remote_actors import is_local_uri
from inbox.handlers import Ignored, Inbound


async def handle_flag(inbound: Inbound) -> None:
    activity, sender = inbound.activity, inbound.sender
    ours = [uri for uri in activity.objects if is_local_uri(uri)]
    target = await Actor.filter(uri__in=ours, domain="", account__id__not_isnull=True).first()
    if target is None:  # a Flag naming only posts reports their author
        post = await Post.filter(uri__in=ours, author__domain="").select_related("author").first()
        target = post.author if post is not None else None
    if target is None:
        raise Ignored("reports nobody here")
    await reports.record_flag(
        uri=activity.id,
        reporter=sender,
        origin=sender.domain,
        target=target,
        post_uris=ours,
        comment=plain_text(activity.content) if activity.content else "",
    )
