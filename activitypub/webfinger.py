"""WebFinger (RFC 7033) as Mastodon uses it: from ``@user@host`` to an actor URL, and back.

Pure functions on strings and dicts, no HTTP and no web framework: the caller fetches
(``Fetcher.get_json(url, expect=JRD)``) and the web layer serves. Keeping them pure lets the
tests feed captured answers from real servers.

Client side: :func:`parse_handle` -> :func:`webfinger_url` -> fetch -> :func:`parse_jrd` ->
:meth:`JRD.actor_url`. The subject may name another host than the one asked (Mastodon's
LOCAL_DOMAIN/WEB_DOMAIN split); the caller decides whether to confirm it there.

Server side: :func:`local_username` reads the ``resource`` parameter, :func:`build_jrd` makes
the answer, served as ``application/jrd+json``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import idna

AS_PROFILE = "https://www.w3.org/ns/activitystreams"
ACTIVITY_JSON = "application/activity+json"
JRD_MEDIA_TYPE = "application/jrd+json"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"

# Usernames across Mastodon, GoToSocial, Pleroma, Lemmy, PeerTube: letters, digits and
# ``_.-``, other scripts too in some; never separators, spaces or URL syntax.
_USER = re.compile(r"[^\s@/?#:%\\\"'<>]+")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
_MAX_HANDLE = 320  # generous: a mail-address-sized handle


class WebFingerError(ValueError):
    """A handle, resource or JRD that cannot be used; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Handle:
    """``user@host``, host lower-case ASCII (IDNA), possibly with a port."""

    user: str
    host: str

    @property
    def acct(self) -> str:
        return f"acct:{self.user}@{self.host}"

    def __str__(self) -> str:
        return f"@{self.user}@{self.host}"


@dataclass(frozen=True)
class Link:
    rel: str
    type: str | None = None
    href: str | None = None
    template: str | None = None


@dataclass(frozen=True)
class JRD:
    """A validated WebFinger answer."""

    subject: str
    aliases: tuple[str, ...] = ()
    links: tuple[Link, ...] = field(default=())

    def actor_url(self) -> str:
        """The ActivityPub actor: the first ``self`` link of an ActivityStreams type whose
        href is an http(s) URL (a ``javascript:`` or relative href is skipped, not used)."""
        for link in self.links:
            if link.rel == "self" and link.href and is_activity_type(link.type):
                parts = urlsplit(link.href)
                if parts.scheme.lower() in ("http", "https") and parts.hostname:
                    return link.href
        raise WebFingerError("no self link to an application/activity+json actor")

    def subject_handle(self) -> Handle | None:
        """The subject as a handle, when it is an ``acct:`` URI (it may also be a URL)."""
        return parse_handle(self.subject) if self.subject.startswith("acct:") else None


def parse_handle(text: str) -> Handle:
    """Read ``acct:user@host``, ``@user@host`` or ``user@host`` as people type them."""
    value = text.strip()
    if len(value) > _MAX_HANDLE:
        raise WebFingerError("handle too long")
    if value[:5].lower() == "acct:":
        value = value[5:]
    elif value.startswith("@"):
        value = value[1:]
    user, at, host = value.rpartition("@")
    if not at or not user or not host:
        raise WebFingerError(f"{text!r} is not a user@host handle")
    if not _USER.fullmatch(user):
        raise WebFingerError(f"invalid user name {user!r}")
    return Handle(user, normalise_host(host))


def normalise_host(host: str) -> str:
    """Lower-case ASCII host name (IDNA for international names), optional ``:port``."""
    name, colon, port = host.partition(":")
    if colon and not (
        len(port) <= 5 and port.isascii() and port.isdigit() and 0 < int(port) < 65536
    ):
        raise WebFingerError(f"invalid port in {host!r}")
    name = name.rstrip(".")
    try:
        ascii_name = name.lower() if name.isascii() else idna.encode(name, uts46=True).decode()
    except idna.IDNAError as exc:
        raise WebFingerError(f"invalid host {host!r}: {exc}") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise WebFingerError(f"invalid host {host!r}")
    return f"{ascii_name}:{int(port)}" if colon else ascii_name


def webfinger_url(handle: Handle, *, scheme: str = "https") -> str:
    """The lookup URL on the handle's own host (https; http only for local tests)."""
    resource = quote(handle.acct, safe=":@")
    return f"{scheme}://{handle.host}/.well-known/webfinger?resource={resource}"


def is_activity_type(media_type: str | None) -> bool:
    """``application/activity+json``, or ``application/ld+json`` with the AS profile."""
    if not media_type:
        return False
    main, *params = (part.strip() for part in media_type.split(";"))
    main = main.lower()
    if main == ACTIVITY_JSON:
        return True
    if main != "application/ld+json":
        return False
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "profile" and AS_PROFILE in value.strip().strip('"').split():
            return True
    return False


def parse_jrd(data: object) -> JRD:
    """Validate a JRD as fetched JSON; unknown members are ignored, wrong shapes refused."""
    if not isinstance(data, Mapping):
        raise WebFingerError("JRD is not an object")
    subject = data.get("subject")
    if not isinstance(subject, str) or not subject:
        raise WebFingerError("JRD has no subject")
    aliases = data.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise WebFingerError("JRD aliases are not a list of strings")
    links = data.get("links", [])
    if not isinstance(links, list):
        raise WebFingerError("JRD links are not a list")
    return JRD(subject, tuple(aliases), tuple(_link(item) for item in links))


def _link(item: object) -> Link:
    if not isinstance(item, Mapping) or not isinstance(item.get("rel"), str):
        raise WebFingerError("JRD link without a rel")
    values = {}
    for key in ("type", "href", "template"):
        value = item.get(key)
        if value is not None and not isinstance(value, str):
            raise WebFingerError(f"JRD link {key} is not a string")
        values[key] = value
    return Link(rel=item["rel"], **values)


def local_username(resource: str, host: str) -> str:
    """Server side: the user name asked for by ``?resource=``, which must be on ``host``.

    Raises :class:`WebFingerError` for a malformed resource or another host (answer 400 or
    404); whether the user exists is the caller's question.
    """
    handle = parse_handle(resource)
    if handle.host != normalise_host(host):
        raise WebFingerError(f"{handle.host} is not this server")
    return handle.user


def build_jrd(
    *,
    username: str,
    host: str,
    actor_url: str,
    profile_url: str,
    aliases: Iterable[str] = (),
    subscribe_template: str | None = None,
) -> dict[str, Any]:
    """The JRD for a local actor, shaped like Mastodon's so every peer understands it."""
    links: list[dict[str, str]] = [
        {"rel": PROFILE_PAGE_REL, "type": "text/html", "href": profile_url},
        {"rel": "self", "type": ACTIVITY_JSON, "href": actor_url},
    ]
    if subscribe_template:
        links.append({"rel": SUBSCRIBE_REL, "template": subscribe_template})
    all_aliases = list(dict.fromkeys([profile_url, actor_url, *aliases]))
    return {
        "subject": f"acct:{username}@{normalise_host(host)}",
        "aliases": all_aliases,
        "links": links,
    }
