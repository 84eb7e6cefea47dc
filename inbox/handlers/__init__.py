"""What an inbox handler is given: an activity read once into typed values
(:mod:`activitypub.parse_activity`), its verified sender, and the recipient; and the two
ways a handler ends without acting (:class:`Ignored`, :class:`HandlerError`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from activitypub.errors import FederationError
from activitypub.parse_activity import Activity
from fediverse_intranet.models import Actor
from fediverse_intranet.services.remote_posts import NotTaken

# ``remove(sender, uri=activity id)`` or ``remove(sender, about=object id)``: True if removed.
Remove = Callable[..., Awaitable[bool]]


class Ignored(Exception):
    """A handler chose not to act (not for us, not from the right actor): the item is done."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HandlerError(FederationError):
    """A handler could not act; ``retry`` says whether trying again later may help."""

    def __init__(self, reason: str, *, retry: bool = False) -> None:
        super().__init__(reason, retry=retry)


@dataclass(frozen=True)
class Inbound:
    """What a handler gets: the activity, its verified sender (a stored remote Actor), and
    the local person whose personal inbox it came to (None for the shared inbox)."""

    activity: Activity
    sender: Actor
    recipient: Actor | None


@contextmanager
def taken() -> Iterator[None]:
    """A service's :class:`NotTaken` as the processor reads it: retried later when it may
    help (a server did not answer), otherwise done and ignored, with the reason kept."""
    try:
        yield
    except NotTaken as exc:
        if exc.retry:
            raise HandlerError(exc.reason, retry=True) from None
        raise Ignored(exc.reason) from None


async def undo_own(inbound: Inbound, noun: str, remove: Remove) -> None:
    """Undo one of the sender's own activities (a like, boost or block): named by its id,
    embedded or alone, else by what an embedded copy was about. Only its actor may undo it."""
    ref, sender = inbound.activity.object, inbound.sender
    if ref is None:
        raise Ignored("nothing to undo")
    if ref.actor is not None and ref.actor != sender.uri:
        raise Ignored(f"only its actor may undo a {noun}")
    removed = bool(ref.id) and await remove(sender, uri=ref.id)
    if not removed and ref.object is not None:
        removed = await remove(sender, about=ref.object)
    if not removed:
        raise Ignored(f"no such {noun}")
