"""The domain's one port to the ActivityStreams side: the documents of our rows.

A service that causes a delivery in its own transaction (a post, a like, a profile saved)
needs the activity to queue, but the conversion of rows to ActivityStreams lives in
``outbox/documents.py``, which reads the services. So the services name what they need here,
as a :class:`Documents` protocol, and the composition root (``fediverse_intranet/
composition.py``, called by the app factory, the CLI and the background runner) installs the
outbox's implementation at start-up. Dependencies then point one way: outbox -> services.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from activitypub.docs import StatusDoc
from fediverse_intranet.models import Actor, Boost, Group, Like, Post

Document = dict[str, Any]


class Documents(Protocol):
    """What the domain asks of the ActivityStreams side (``outbox.documents`` answers)."""

    async def create_document(self, post: Post) -> Document: ...

    async def update_document(self, post: Post) -> Document: ...

    async def delete_document(self, post: Post) -> Document: ...

    def like_document(self, like: Like, actor: Actor, post: Post) -> Document: ...

    def announce_document(self, boost: Boost, actor: Actor, post: Post) -> Document: ...

    async def person_update_document(self, actor: Actor, moment: datetime) -> Document: ...

    async def group_update_document(self, group: Group, moment: datetime) -> Document: ...

    def status_of(self, actor: Actor) -> StatusDoc | None: ...


_installed: Documents | None = None


def install(documents: Documents) -> None:
    """Called by the composition root; installing again replaces (tests, several apps)."""
    global _installed
    _installed = documents


def documents() -> Documents:
    if _installed is None:
        raise RuntimeError(
            "services.as2.install() was not called: start through the app factory, the CLI"
            " or fediverse_intranet.composition.compose()"
        )
    return _installed
