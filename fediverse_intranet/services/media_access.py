"""Who may fetch an uploaded file (``/media/{name}``): whoever may see what it belongs to.

Other servers read the images our AS2 documents name (photos as ``icon``, post images as
``attachment``) without signing in, so the file of a public post or a public profile is
public. The image of a post that is not public is for whoever may see that post: the
signed-in viewer (``visibility.can_view``) or a server allowed to fetch the post
(``visibility.may_fetch``, the rule of the signed fetches of posts). A file that
belongs to nothing the asker may see does not exist for them (404, never 403).

A remote post's file (``/remote-media/{attachment}``, served through our own cache) follows
the same rule for the people of this instance: whoever may see the post. Other servers
have no use for it (they fetch from its origin), so a signature gives nothing there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fediverse_intranet.models import Actor, Attachment, Group, GroupAccess, Post
from fediverse_intranet.services import remote_groups, visibility
from fediverse_intranet.services.visibility import can_view


class Access(StrEnum):
    PUBLIC = "public"  # anyone, and any cache
    PRIVATE = "private"  # this asker only: never from a shared cache


async def access(filename: str, viewer: Actor | None, signer: Actor | None) -> Access | None:
    """How the file may be served to this viewer (signed in here) or signer (a server's
    key on a signed GET), or None when it is not theirs to see."""
    found: Access | None = None
    for attachment in await Attachment.filter(filename=filename, post_id__not_isnull=True):
        post = await Post.get_or_none(id=attachment.post_id)
        if post is None or post.deleted_at is not None:
            continue
        if await can_view(post, None):
            return Access.PUBLIC
        if await _may_see_post(post, viewer, signer):
            found = Access.PRIVATE
    for actor in await Actor.filter(photo=filename, domain=""):
        group = await Group.get_or_none(actor_id=actor.id) if actor.is_group else None
        if group is None or group.access != GroupAccess.SECRET:
            return Access.PUBLIC  # a person's or a listed group's photo: in its actor document
        if await visibility.may_know_group(group, viewer) or await visibility.may_know_group(
            group, signer
        ):
            found = Access.PRIVATE
    return found


async def _may_see_post(post: Post, viewer: Actor | None, signer: Actor | None) -> bool:
    if viewer is not None and await can_view(post, viewer):
        return True
    return signer is not None and await visibility.may_fetch(
        post, signer, ask_group=remote_groups.group_vouches
    )


SHOWN_KINDS = ("image", "video", "audio")


@dataclass(frozen=True)
class RemoteFile:
    """A remote post's file a reader may open: where it is, what it should be, and how."""

    url: str
    kind: str
    access: Access


async def remote_file(
    attachment_id: int, viewer: Actor | None, *, still: bool
) -> RemoteFile | None:
    """The file (or, ``still``, a video's still) of a remote post's attachment, when the
    viewer may see the post; None otherwise, and for files we only link to (documents)."""
    attachment = await Attachment.get_or_none(id=attachment_id, filename="")
    if attachment is None or attachment.post_id is None:
        return None
    url, kind = (
        (attachment.preview_url, "image") if still else (attachment.remote_url, attachment.kind)
    )
    if not url or kind not in SHOWN_KINDS:
        return None
    post = await Post.get_or_none(id=attachment.post_id)
    if post is None or not await can_view(post, viewer):
        return None
    public = await can_view(post, None)
    return RemoteFile(url, kind, Access.PUBLIC if public else Access.PRIVATE)
