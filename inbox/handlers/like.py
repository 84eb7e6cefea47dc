"""Like and Undo{Like}: a remote person appreciates a post of ours, or takes it back."""

from __future__ import annotations

from fediverse_intranet.models import Post
from fediverse_intranet.services import remote_interactions
from fediverse_intranet.services.remote_actors import is_local_uri
from inbox.handlers import Ignored, Inbound, taken, undo_own


async def handle_like(inbound: Inbound) -> None:
    ref = inbound.activity.object
    uri = ref.id if ref is not None else None
    if uri is None or not is_local_uri(uri):
        raise Ignored("not a like of a post here")
    post = await Post.filter(uri=uri, deleted_at=None).first()
    if post is None:
        raise Ignored("no such post here")
    with taken():
        if not await remote_interactions.like(inbound.sender, post, inbound.activity.id):
            raise Ignored("liked already")


async def handle_undo_like(inbound: Inbound) -> None:
    await undo_own(inbound, "like", remote_interactions.unlike)
