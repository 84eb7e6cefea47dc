"""Accept and Reject of a Follow one of our people sent: the follow takes effect, or goes.

Only the followed actor may answer: the (verified) sender must be the Follow's followee.
A Reject also removes a follow that was accepted before: that is how a remote person
removes one of ours from their followers (Mastodon reads it the same way). From a group
elsewhere, they answer one of ours asking to join it: member, or no longer waiting.
"""

from __future__ import annotations

from fediverse_intranet.models import Follow, Membership, MemberState
from fediverse_intranet.services import remote_groups
from inbox.handlers import Ignored, Inbound


async def handle_accept(inbound: Inbound) -> None:
    row = await _answered_join(inbound)
    if row is not None:
        if row.state == MemberState.PENDING:
            row.state = MemberState.MEMBER
            await row.save(update_fields=["state", "updated_at"])
        return
    follow = await _answered_follow(inbound)
    if not follow.accepted:
        await Follow.filter(id=follow.id).update(accepted=True)


async def handle_reject(inbound: Inbound) -> None:
    row = await _answered_join(inbound)
    if row is not None:
        if row.state != MemberState.BANNED:  # a ban stays, whatever the group says
            await row.delete()
        return
    follow = await _answered_follow(inbound)
    await Follow.filter(id=follow.id).delete()


async def _answered_join(inbound: Inbound) -> Membership | None:
    """The membership of one of ours in a group elsewhere that an answer from that group is
    about (a request to join is a Follow of the group), or None when it is about a follow."""
    ref, sender = inbound.activity.object, inbound.sender
    if ref is None or ref.type not in (None, "Follow") or not sender.is_group:
        return None
    if ref.object is not None and ref.object != sender.uri:
        raise Ignored("only the group may answer a request to join it")
    return await remote_groups.answered(sender, ref.id, ref.actor)


async def _answered_follow(inbound: Inbound) -> Follow:
    """Which of our follows of the sender this answers.

    First by the Follow's id, which we keep (``Follow.uri``) and every server echoes, bare
    or embedded. Failing that, as Mastodon and GoToSocial embed it, by its ``actor`` (one of
    our people); some servers send only an id we did not keep (a follow made before ids
    were kept): then an id under one of our people's URIs names them, and failing that, a
    single follow of the sender by any of our people is the one meant.
    """
    ref, followee = inbound.activity.object, inbound.sender
    if ref is None or ref.type not in (None, "Follow"):
        raise Ignored("not an answer to a follow")
    if ref.object is not None and ref.object != followee.uri:
        raise Ignored("only the followed actor may answer a follow")
    ours = Follow.filter(followee=followee, follower__domain="")
    matching = await ours.filter(uri=ref.id) if ref.id else []
    if not matching and ref.actor is not None:
        matching = await ours.filter(follower__uri=ref.actor)
    elif not matching:
        candidates = await ours.select_related("follower")
        matching = [f for f in candidates if ref.id and _is_under(ref.id, f.follower.uri)]
        if not matching and len(candidates) == 1:
            matching = candidates
    if len(matching) != 1:
        raise Ignored("no follow of ours that this answers")
    return matching[0]


def _is_under(url: str, prefix: str) -> bool:
    return url.startswith((prefix + "/", prefix + "#", prefix + "?"))
