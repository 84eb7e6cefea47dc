"""Activities read from untrusted JSON into typed values: the one reader of an activity.

The inbox request parses a body with :func:`read_activity` to refuse bad input with a 400
before anything is stored, and the processor parses the stored body again with the same
function before it calls a handler.

This is a small, strict reader of the few fields the handlers need; an embedded post or
actor is read by :mod:`activitypub.parse_object` and :mod:`activitypub.parse_actor` into
typed values when first asked for, or left out when it cannot be read (a handler then
fetches it from its origin, or ignores the activity).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from .context import ACTOR_TYPES, VocabularyError
from .errors import FederationError
from .fetch import FetchError, parse_json_object
from .parse_actor import RemoteActor, parse_actor
from .parse_object import NOTE_TYPES, RemoteObject, parse_object
from .values import MAX_URI, is_http_uri

T = TypeVar("T")
MAX_TYPE = 64
MAX_DEPTH = 32
MAX_OBJECTS = 50  # ids in one ``object`` list (a Flag names an actor and some posts)
MAX_CONTENT = 5000  # characters of an activity's own ``content`` (a Flag's comment)


class ActivityError(FederationError, ValueError):
    """The JSON is not an activity we can read; ``reason`` is fit for a 400 answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, 400, retry=False)


@dataclass(frozen=True)
class ObjectRef:
    """An activity's ``object``: a bare id, or an embedded object of which only these
    members matter to us: an embedded activity's actor and object (a Follow inside an
    Undo, Accept or Reject), or an embedded post or actor, read whole when first asked for
    (the inbox's accepting side needs only ids and types; reading a post costs more than
    checking the signature)."""

    id: str | None
    type: str | None = None
    actor: str | None = None
    object: str | None = None
    activity: Activity | None = None  # an embedded activity (what a group announces)
    embedded: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @cached_property
    def post(self) -> RemoteObject | None:
        """An embedded Note, Article, Question or Page."""
        if self.embedded is None or self.type not in NOTE_TYPES:
            return None
        return _embedded(parse_object, self.embedded)

    @cached_property
    def person(self) -> RemoteActor | None:
        """An embedded actor (Update of a profile)."""
        if self.embedded is None or self.type not in ACTOR_TYPES:
            return None
        return _embedded(parse_actor, self.embedded)


@dataclass(frozen=True)
class Activity:
    id: str
    type: str
    actor: str
    object: ObjectRef | None
    objects: tuple[str, ...] = ()  # every id an ``object`` list names, in order
    content: str = ""  # the activity's own text (a Flag's comment), unsanitised
    # FEP-1b12 groups: who it is addressed to, the group it belongs to (``audience``), the
    # collection it acts on (``target``), and the JSON as received, which a group announces
    # unchanged.
    recipients: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()
    target: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


def parse_activity(data: Mapping[str, Any], *, nested: int = 0) -> Activity:
    """Read ``id``, ``type``, ``actor`` and ``object``; refuse anything malformed.

    ``nested`` counts the activities this one is embedded in: a group's Announce of an Undo
    of a Like is two deep, and deeper nesting is not read."""
    activity_id = _uri(data.get("id"), "id")
    kind = data.get("type")
    if not isinstance(kind, str) or not kind or len(kind) > MAX_TYPE:
        raise ActivityError("missing or invalid type")
    actor = data.get("actor")
    if isinstance(actor, Mapping):  # some servers embed the actor; only its id counts
        actor = actor.get("id")
    value = data.get("object")
    items = value[:MAX_OBJECTS] if isinstance(value, list) else [value]
    refs = [_object_ref(item, nested) for item in items]
    content = data.get("content")
    target = data.get("target")
    if isinstance(target, Mapping):
        target = target.get("id")
    return Activity(
        activity_id,
        kind,
        _uri(actor, "actor"),
        refs[0] if refs else None,
        objects=tuple(ref.id for ref in refs if ref is not None and ref.id is not None),
        content=content[:MAX_CONTENT] if isinstance(content, str) else "",
        recipients=_ids(data.get("to")) + _ids(data.get("cc")),
        audience=_ids(data.get("audience")),
        target=target if is_http_uri(target) else None,
        raw=data,
    )


def _ids(value: object) -> tuple[str, ...]:
    """Addresses as URLs (the public collection in any spelling is kept as written)."""
    items = value[:MAX_OBJECTS] if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        if isinstance(item, Mapping):
            item = item.get("id")
        if isinstance(item, str) and (is_http_uri(item) or item in ("as:Public", "Public")):
            found.append(item)
    return tuple(found)


def read_activity(text: str | bytes) -> Activity:
    """JSON text (a request body, or one stored in the inbox queue) to an :class:`Activity`."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    try:
        return parse_activity(parse_json_object(raw, max_depth=MAX_DEPTH))
    except FetchError as exc:
        raise ActivityError(exc.reason) from None


def _uri(value: object, name: str) -> str:
    if value is None:
        raise ActivityError(f"missing {name}")
    if not is_http_uri(value):
        raise ActivityError(f"{name} is not an http(s) URL of at most {MAX_URI} characters")
    assert isinstance(value, str)
    return value


MAX_NESTED = 2  # an Announce of an Undo of a Like


def _object_ref(value: object, nested: int = 0) -> ObjectRef | None:
    if isinstance(value, str):
        return ObjectRef(value) if is_http_uri(value) else None
    if not isinstance(value, Mapping):
        return None
    inner = value.get("object")
    if isinstance(inner, Mapping):
        inner = inner.get("id")
    actor = value.get("actor")
    if isinstance(actor, Mapping):
        actor = actor.get("id")
    kind = _type_of(value.get("type"))
    return ObjectRef(
        id=value["id"] if is_http_uri(value.get("id")) else None,
        type=kind,
        actor=actor if is_http_uri(actor) else None,
        object=inner if is_http_uri(inner) else None,
        activity=_inner_activity(value, nested) if kind not in NOTE_TYPES | ACTOR_TYPES else None,
        embedded=value,
    )


def _type_of(value: object) -> str | None:
    """An object's type; of a list (``["Note", "Article"]``, as the Fediverse Pasture
    sends), the first we read as a post or an actor, else the first."""
    kinds = [k for k in (value[:8] if isinstance(value, list) else [value]) if isinstance(k, str)]
    kinds = [k for k in kinds if k and len(k) <= MAX_TYPE]
    return next((k for k in kinds if k in NOTE_TYPES | ACTOR_TYPES), kinds[0] if kinds else None)


def _inner_activity(value: Mapping[str, Any], nested: int) -> Activity | None:
    """An embedded activity with an id and an actor, read as the outer one is; None when it
    cannot be read or is nested too deep (then it is not used)."""
    if nested >= MAX_NESTED or "actor" not in value:
        return None
    try:
        return parse_activity(value, nested=nested + 1)
    except ActivityError:
        return None


def _embedded(parse: Callable[[object], T], value: Mapping[str, Any]) -> T | None:
    """An embedded post or actor, or None when it cannot be read (then it is not used)."""
    try:
        return parse(value)
    except VocabularyError:
        return None
