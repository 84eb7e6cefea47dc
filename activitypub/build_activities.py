"""Every activity we send, built here and nowhere else: Create, Update, Delete, Follow,
Accept, Reject, Undo, Like, Announce, a group's Announce (FEP-1b12), statuses (FEP-82f6),
and group moderation as Lemmy sends it (Add, Remove, Lock, Block). Embedded objects lose
their own ``@context``: the activity's covers them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from .build_actors import actor_status
from .build_objects import group_addressing
from .context import CONTEXT, PUBLIC
from .docs import EPOCH, StatusDoc, embedded, iso, utc


def status_created(actor: str, status: StatusDoc, id: str, followers: str) -> dict[str, Any]:
    """``Create{ActorStatus}``: a new status, sent to followers (no Update of the actor).
    ``id`` must be new each time: the same presence set again is news again."""
    obj = embedded(actor_status(status, actor))
    return _activity("Create", id, actor, obj, to=[followers])


def status_removed(actor: str, status_id: str, id: str, followers: str) -> dict[str, Any]:
    """``Remove{ActorStatus}``: the current status is cleared (FEP-82f6)."""
    obj = {"id": status_id, "type": "ActorStatus", "attributedTo": actor}
    return _activity("Remove", id, actor, obj, to=[followers])


def group_announce(
    group_id: str, id: str, activity: Mapping[str, Any], *, followers: str, members_only: bool
) -> dict[str, Any]:
    """FEP-1b12: the group wraps a member's activity, unchanged (its own ``@context``
    included), in an Announce to its followers."""
    return {
        "@context": CONTEXT,
        "id": id,
        "type": "Announce",
        "actor": group_id,
        "to": group_addressing(group_id, followers, members_only),
        "cc": [followers],
        "object": dict(activity),
    }


def _activity(kind: str, id: str, actor: str, obj: Any, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"@context": CONTEXT, "id": id, "type": kind, "actor": actor}
    out.update({key: value for key, value in extra.items() if value is not None})
    out["object"] = embedded(obj) if isinstance(obj, Mapping) else obj
    return out


def _audience_of(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An activity about a post goes to the post's own audience (Mastodon copies to/cc),
    and names the post's group, if any, as its ``audience`` (FEP-1b12)."""
    return {"to": obj.get("to", [PUBLIC]), "cc": obj.get("cc", []), "audience": obj.get("audience")}


def create(actor: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """Create of a post; its id is the post's id plus ``/activity``, as Mastodon's."""
    return _activity(
        "Create",
        f"{obj['id']}/activity",
        actor,
        obj,
        published=obj.get("published"),
        **_audience_of(obj),
    )


def update(
    actor: str, obj: Mapping[str, Any], updated: datetime, *, id: str | None = None
) -> dict[str, Any]:
    """Update of a post or a profile; one id per version (to the microsecond: two edits in
    one second are two versions), so a peer never drops an edit as a repeat of the previous
    one, and the same version always gets the same id. ``id``: the caller's own shape."""
    stamp = (utc(updated) - EPOCH) // timedelta(microseconds=1)
    return _activity(
        "Update",
        id or f"{obj['id']}#updates/{stamp}",
        actor,
        obj,
        published=iso(updated),
        **_audience_of(obj),
    )


def delete(
    actor: str,
    object_id: str,
    *,
    to: Sequence[str] = (PUBLIC,),
    cc: Sequence[str] = (),
    audience: str | None = None,
) -> dict[str, Any]:
    """Delete, with a Tombstone for the object as Mastodon sends it; ``audience`` names the
    group of a group post (FEP-1b12)."""
    return _activity(
        "Delete",
        f"{object_id}#delete",
        actor,
        {"id": object_id, "type": "Tombstone"},
        to=list(to),
        cc=list(cc),
        audience=audience,
    )


def follow(actor: str, target: str, id: str) -> dict[str, Any]:
    return _activity("Follow", id, actor, target)


def accept(actor: str, follow_activity: Mapping[str, Any]) -> dict[str, Any]:
    """Accept of a Follow, embedding it; the id is derived from the Follow's, so answering
    the same Follow twice sends the same Accept."""
    return _answer("Accept", actor, follow_activity)


def reject(actor: str, follow_activity: Mapping[str, Any]) -> dict[str, Any]:
    return _answer("Reject", actor, follow_activity)


def _answer(kind: str, actor: str, follow_activity: Mapping[str, Any]) -> dict[str, Any]:
    digest = hashlib.sha256(str(follow_activity.get("id", "")).encode()).hexdigest()[:24]
    follower = follow_activity.get("actor")
    return _activity(
        kind,
        f"{actor}#{kind.lower()}s/follows/{digest}",
        actor,
        follow_activity,
        to=[follower] if isinstance(follower, str) else None,
    )


def undo(actor: str, activity: Mapping[str, Any]) -> dict[str, Any]:
    """Undo of one of our own activities (a Follow, Like or Announce), embedding it."""
    return _activity(
        "Undo",
        f"{activity['id']}/undo",
        actor,
        activity,
        to=activity.get("to"),
        cc=activity.get("cc"),
    )


def like(actor: str, object_id: str, id: str, *, audience: str | None = None) -> dict[str, Any]:
    return _activity("Like", id, actor, object_id, audience=audience)


def announce(
    actor: str,
    object_id: str,
    id: str,
    *,
    followers: str,
    object_author: str | None = None,
    published: datetime | None = None,
) -> dict[str, Any]:
    """A boost: public, to the booster's followers and the author, as Mastodon sends it."""
    cc = [followers] + ([object_author] if object_author else [])
    return _activity(
        "Announce",
        id,
        actor,
        object_id,
        published=iso(published) if published else None,
        to=[PUBLIC],
        cc=cc,
    )


def _moderation(
    kind: str, id: str, actor: str, obj: Any, *, group: str, followers: str, **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"@context": CONTEXT, "actor": actor, "audience": group}
    out.update(to=[group], cc=[followers], id=id, type=kind)
    out["object"] = embedded(obj) if isinstance(obj, Mapping) else obj
    out.update(extra)
    return out


def add(
    actor: str, object_id: str, target: str, id: str, *, group: str, followers: str
) -> dict[str, Any]:
    """A post pinned: Add to the group's featured collection."""
    return _moderation("Add", id, actor, object_id, group=group, followers=followers, target=target)


def remove(
    actor: str, object_id: str, target: str, id: str, *, group: str, followers: str
) -> dict[str, Any]:
    """A post unpinned: Remove from the group's featured collection."""
    return _moderation(
        "Remove", id, actor, object_id, group=group, followers=followers, target=target
    )


def lock(actor: str, object_id: str, id: str, *, group: str, followers: str) -> dict[str, Any]:
    """A thread closed to replies."""
    return _moderation("Lock", id, actor, object_id, group=group, followers=followers)


def undo_moderation(actor: str, activity: Mapping[str, Any]) -> dict[str, Any]:
    """Undo of a Lock (or another moderation), addressed the same way, embedding it."""
    group, followers = activity["audience"], activity["cc"][0]
    return _moderation(
        "Undo", f"{activity['id']}/undo", actor, activity, group=group, followers=followers
    )


def block(actor: str, person: str, id: str, *, group: str, followers: str) -> dict[str, Any]:
    """Lemmy's ban from a community: a Block of the person with the group as target."""
    return {
        "@context": CONTEXT,
        "id": id,
        "type": "Block",
        "actor": actor,
        "object": person,
        "target": group,
        "audience": group,
        "to": [group],
        "cc": [followers],
    }
