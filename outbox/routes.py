"""What other servers read from us: discovery (WebFinger, NodeInfo, host-meta), actors,
posts and collections, as JSON.

These routes need no sign-in: they are for servers, and they serve only what may leave the
instance. Pages that also exist for people (``/users/{name}``, ``/@{name}``, ``/posts/{id}``)
are reached here through content negotiation in the app factory, which rewrites such a
request to the ``/ap`` prefix when it asks for ActivityStreams JSON.

Every refusal is a 4xx with ``{"error": reason}``; no input a peer can send makes a 500.
A signature is read only where the answer depends on who asks (groups, posts, the
directory: ``_requesting_actor``), and there the one rule of ``signed_requests``: a bad one
is ignored and the request answered as an unsigned one, a blocked server's is 403. The
actors and collections of people and the instance actor are the same for everyone, so their
signature is not read at all, the answer a bad one gets anywhere: verifying there would
fetch the signer's key, whose server would verify our signature on that fetch by fetching
our instance actor, and so on, a loop between two servers until both time out.
Posts are served to unsigned requests only when public. Followers-only and direct posts are
served to a signed request (signed fetch, :func:`_requesting_actor`) from a server that has
a follower of the author, or a mentioned person (``services.visibility``); organisation-only
posts never are.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from activitypub import build_collections, errors, nodeinfo, webfinger
from activitypub.context import ACTIVITY_JSON
from activitypub.errors import FederationError
from activitypub.values import is_http_uri
from activitypub.webfinger import WebFingerError
from fediverse_intranet import instance, urls
from fediverse_intranet.models import (
    Account,
    Actor,
    Group,
    GroupAccess,
    Post,
    Visibility,
)
from fediverse_intranet.numbers import parse_int
from fediverse_intranet.services import (
    remote_directory,
    remote_groups,
    signed_requests,
    visibility,
)
from fediverse_intranet.services.accounts import USERNAME_RE
from outbox import documents

log = logging.getLogger(__name__)

AP_PREFIX = "/ap"
SERVICE_REL = "https://www.w3.org/ns/activitystreams#Service"  # FEP-d556


class ActivityResponse(JSONResponse):
    media_type = ACTIVITY_JSON


class Refused(FederationError):
    """A request we answer with a 4xx and a reason."""

    def __init__(self, status: int, reason: str, *, retry: bool = False) -> None:
        super().__init__(reason, status, retry=retry)


def _error(refusal: FederationError) -> JSONResponse:
    """The one mapping of this module's refusals to answers (``errors.answer``)."""
    status, body, headers = errors.answer(refusal)
    return JSONResponse(body, status_code=status, headers=headers)


Handler = Callable[[Request], Awaitable[Response]]


def refusing(handler: Handler) -> Handler:
    """Map :class:`Refused` and the instance actor's one failure to JSON answers: the one
    place where this module's errors become statuses."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except Refused as refusal:
            return _error(refusal)
        except documents.InstanceActorUnavailable as exc:
            log.error("instance actor unavailable: %s", exc)
            return _error(Refused(503, "the instance actor is not available"))

    return endpoint


# Lookups shared by the handlers


def _username(raw: str) -> str:
    """A local user name as written in a URL; anything else cannot exist here."""
    name = raw.lower()
    if not USERNAME_RE.fullmatch(name):
        raise Refused(404, "no such person here")
    return name


async def _person(raw: str, *, allow_deactivated: bool = False) -> Account:
    """A local person's account, with its actor; deactivated ones only when asked."""
    account = (
        await Account.filter(actor__username=_username(raw), actor__domain="")
        .select_related("actor")
        .first()
    )
    if account is None or not (account.is_active or allow_deactivated):
        raise Refused(404, "no such person here")
    return account


def _before(request: Request) -> int | None:
    raw = request.query_params.get("before")
    if raw is None:
        return None
    before = parse_int(raw)
    if before is None:
        raise Refused(400, "before must be an id")
    return before


def _is_page(request: Request) -> bool:
    return "page" in request.query_params


_UNREAD = object()


async def _requesting_actor(request: Request) -> Actor | None:
    """The actor whose key signed this GET (draft-cavage or RFC 9421), None when unsigned or
    when the signature cannot be verified: the one rule of ``signed_requests.signer_of_get``,
    read once a request, by the routes whose answer depends on the signer. A key on a
    blocked server is 403 whatever was asked."""
    known: Actor | None | object = getattr(request.state, "signer", _UNREAD)
    if known is None or isinstance(known, Actor):
        return known
    try:
        signer = await signed_requests.signer_of_get(request.scope, strip_prefix=AP_PREFIX)
    except signed_requests.Unverified as exc:
        raise Refused(exc.status, exc.reason) from None
    request.state.signer = signer
    return signer


async def _local_group(raw: str, signer: Actor | None) -> Group:
    """A group of ours by handle. A secret group exists only for a signer on a server
    where someone is in it or invited to it; for anyone else it is the 404 of no group."""
    name = raw.lower()
    group = None
    if USERNAME_RE.fullmatch(name):
        group = (
            await Group.filter(actor__username=name, actor__domain="")
            .select_related("actor")
            .first()
        )
    if group is None:
        raise Refused(404, "no such person here")
    if not await visibility.may_know_group(group, signer):
        raise Refused(404, "no such person here")
    return group


async def _may_fetch(post: Post, signer: Actor | None) -> bool:
    """The rule of ``services.visibility.may_fetch``; a group elsewhere is asked whether
    the signer's server has a member (the member's server where the post was written is
    asked by the other members' servers, which check it there)."""
    return await visibility.may_fetch(post, signer, ask_group=remote_groups.group_vouches)


# Discovery


@refusing
async def webfinger_lookup(request: Request) -> Response:
    """``acct:user@domain``, a person's actor or profile URL, or the instance's own URL
    (FEP-d556, for the instance actor)."""
    resource = request.query_params.get("resource", "").strip()
    if not resource:
        raise Refused(400, "resource is missing")
    if resource.lower().startswith(("http://", "https://")):
        jrd = await _jrd_for_url(resource)
    else:
        jrd = await _jrd_for_handle(resource)
    return JSONResponse(
        jrd,
        media_type=webfinger.JRD_MEDIA_TYPE,
        headers={"Access-Control-Allow-Origin": "*"},
    )


async def _jrd_for_handle(resource: str) -> dict[str, Any]:
    try:
        webfinger.parse_handle(resource)
    except WebFingerError as exc:
        raise Refused(400, exc.reason) from None
    try:
        username = webfinger.local_username(resource, instance.current().domain)
    except WebFingerError:
        raise Refused(404, "not a user of this server") from None
    if username.lower() == documents.INSTANCE_ACTOR_USERNAME:
        return await _instance_jrd(f"acct:{username.lower()}@{instance.current().domain}")
    return await _person_jrd(username)


async def _jrd_for_url(resource: str) -> dict[str, Any]:
    base = urlsplit(instance.current().base_url)
    try:
        asked = urlsplit(resource)
        same_host = (asked.scheme.lower(), asked.netloc.lower()) == (
            base.scheme.lower(),
            base.netloc.lower(),
        )
    except ValueError:
        raise Refused(400, "resource is not a URL") from None
    if not same_host:
        raise Refused(404, "not a resource of this server")
    path = asked.path.rstrip("/")
    if path in ("", "/actor"):
        return await _instance_jrd(resource)
    match = re.fullmatch(r"/(?:users/|@|groups/)([^/]+)", path)
    if match is None:
        raise Refused(404, "not a person of this server")
    return await _person_jrd(match.group(1))


async def _person_jrd(raw: str) -> dict[str, Any]:
    """A person, or a group (they share the handle space); secret groups are not found."""
    try:
        actor = (await _person(raw)).actor
    except Refused:
        group = await _local_group(raw, None)
        return webfinger.build_jrd(
            username=group.actor.username,
            host=instance.current().domain,
            actor_url=group.actor.uri,
            profile_url=urls.group_page(group.actor),
        )
    return webfinger.build_jrd(
        username=actor.username,
        host=instance.current().domain,
        actor_url=actor.uri,
        profile_url=urls.endpoints(actor).profile,
    )


async def _instance_jrd(subject: str) -> dict[str, Any]:
    actor_url = urls.instance_actor_uri()
    link = {"type": webfinger.ACTIVITY_JSON, "href": actor_url}
    return {
        "subject": subject,
        "aliases": [actor_url],
        "links": [{"rel": "self", **link}, {"rel": SERVICE_REL, **link}],
    }


async def host_meta(request: Request) -> Response:
    """The XRD that points old clients to WebFinger (JSON when that is what is asked)."""
    template = urls.webfinger_template()
    headers = {"Access-Control-Allow-Origin": "*"}
    accept = request.headers.get("accept", "")
    if "json" in accept and "xml" not in accept:
        return JSONResponse(
            {"links": [{"rel": "lrdd", "template": template}]},
            media_type=webfinger.JRD_MEDIA_TYPE,
            headers=headers,
        )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template={quoteattr(template)}/>\n'
        "</XRD>\n"
    )
    return Response(xml, media_type="application/xrd+xml", headers=headers)


async def nodeinfo_links(request: Request) -> Response:
    return JSONResponse(
        nodeinfo.discovery(instance.current().base_url),
        headers={"Access-Control-Allow-Origin": "*"},
    )


async def nodeinfo_21(request: Request) -> Response:
    document = await documents.nodeinfo_document(_version())
    return JSONResponse(
        document,
        media_type=nodeinfo.CONTENT_TYPE_21,
        headers={"Access-Control-Allow-Origin": "*"},
    )


def _version() -> str:
    try:
        return metadata.version(documents.SOFTWARE_NAME)
    except metadata.PackageNotFoundError:
        return "unknown"


# Actors and collections


@refusing
async def person(request: Request) -> Response:
    """A person's actor; a deactivated person as a suspended actor (Mastodon's shape), so
    peers can still check signatures of what they sent before. A group's handle gives the
    group (``/users/{handle}`` is its id, as for people)."""
    try:
        account = await _person(request.path_params["username"], allow_deactivated=True)
    except Refused:
        return await group_actor(request)
    return ActivityResponse(
        await documents.person_document(account.actor, suspended=not account.is_active)
    )


@refusing
async def instance_actor(request: Request) -> Response:
    return ActivityResponse(await documents.instance_actor_document())


@refusing
async def instance_outbox(request: Request) -> Response:
    """The instance actor posts nothing; an actor must still have an outbox."""
    actor = await documents.instance_actor()
    return ActivityResponse(build_collections.ordered_collection(urls.endpoints(actor).outbox, 0))


@refusing
async def group_actor(request: Request) -> Response:
    group = await _local_group(request.path_params["username"], await _requesting_actor(request))
    return _private(await documents.group_document(group), group)


def _private(document: dict[str, Any], group: Group) -> Response:
    """What a members-only group serves depends on who signed: never from a shared cache."""
    headers = {"Vary": "Accept, Signature, Signature-Input"}
    if group.access != GroupAccess.OPEN:
        headers["Cache-Control"] = "private, no-store"
    return ActivityResponse(document, headers=headers)


def _group_collection(which: str) -> Handler:
    """A group's followers (a count), outbox, featured posts or moderators (of a closed
    group listed only to signed fetches from its members' servers, empty to anyone else)."""

    @refusing
    async def endpoint(request: Request) -> Response:
        signer = await _requesting_actor(request)
        group = await _local_group(request.path_params["username"], signer)
        asked = request.query_params.get("is_follower")
        if which == "followers" and asked is not None:
            return await _is_follower(group, signer, asked)
        if which == "moderators":
            listed = await visibility.may_list_members(group, signer)
            return _private(await documents.group_moderators_document(group, listed), group)
        return _private(await documents.group_collection_document(group, which), group)

    return endpoint


async def _is_follower(group: Group, signer: Actor | None, asked: str) -> Response:
    """Whether someone on the server of ``asked`` is a member: how a member's server, asked
    for a members-only post by another server, learns whether to serve it (as Lemmy's
    ``?is_follower=`` for private communities). Answered only to a server with a member,
    so the member list does not leak."""
    if not await visibility.server_has_member(group, signer):
        raise Refused(404, "no such person here")
    host = urlsplit(asked).netloc.lower() if is_http_uri(asked) else ""
    member = bool(host) and await visibility.host_has_member(group, host)
    document = {"id": urls.followers_of(group.actor), "isFollower": member}
    return _private(document, group)


def _person_or_group(person_handler: Handler, which: str) -> Handler:
    """``/users/{name}/...`` of a person, else of the group with that handle."""
    group_handler = _group_collection(which)

    async def endpoint(request: Request) -> Response:
        name = request.path_params["username"].lower()
        is_group = USERNAME_RE.fullmatch(name) is not None and (
            await Actor.filter(username=name, domain="", kind="group").exists()
        )
        return await (group_handler if is_group else person_handler)(request)

    return endpoint


@refusing
async def outbox(request: Request) -> Response:
    actor = (await _person(request.path_params["username"])).actor
    return ActivityResponse(
        await documents.outbox_document(actor, _is_page(request), _before(request))
    )


@refusing
async def followers(request: Request) -> Response:
    actor = (await _person(request.path_params["username"])).actor
    return ActivityResponse(
        await documents.follows_document(actor, True, _is_page(request), _before(request))
    )


@refusing
async def following(request: Request) -> Response:
    actor = (await _person(request.path_params["username"])).actor
    return ActivityResponse(
        await documents.follows_document(actor, False, _is_page(request), _before(request))
    )


@refusing
async def featured(request: Request) -> Response:
    """Pinned posts: none yet, but Mastodon fetches this collection for every new actor."""
    actor = (await _person(request.path_params["username"])).actor
    return ActivityResponse(build_collections.ordered_collection(urls.endpoints(actor).featured, 0))


@refusing
async def featured_tags(request: Request) -> Response:
    actor = (await _person(request.path_params["username"])).actor
    return ActivityResponse(await documents.featured_tags_document(actor))


# Posts


async def _served_post(request: Request) -> Post:
    """A post of a local, active person that the requester may see, else 404 telling nothing.

    A deleted post is 404, as in Mastodon: its statuses controller finds posts through
    ``default_scope { recent.kept }`` (app/models/status.rb), so a discarded one is
    ActiveRecord::RecordNotFound, which Rails answers 404. The signature is checked first,
    so a bad one is refused the same way for every id.
    """
    signer = await _requesting_actor(request)
    raw = request.path_params["post_id"]
    post_id = parse_int(raw, low=1)
    if post_id is None:
        raise Refused(404, "no such post")
    post = await Post.filter(id=post_id).select_related("author").first()
    if (
        post is None
        or post.deleted_at is not None
        or not post.author.is_local
        or post.visibility == Visibility.ORGANISATION
        or not await Account.filter(actor_id=post.author_id, is_active=True).exists()
        or not await _may_fetch(post, signer)
    ):
        raise Refused(404, "no such post")
    return post


def _post_response(post: Post, document: dict[str, Any]) -> Response:
    """Who signed decides what is served, so caches must key on it; only public posts may be
    kept by shared caches."""
    headers = {"Vary": "Accept, Signature, Signature-Input"}
    if post.visibility != Visibility.PUBLIC:
        headers["Cache-Control"] = "private, no-store"
    return ActivityResponse(document, headers=headers)


@refusing
async def post_object(request: Request) -> Response:
    post = await _served_post(request)
    return _post_response(post, await documents.note_document(post))


@refusing
async def directory(request: Request) -> Response:
    """The expertise directory: ids of the people here who consent to be found elsewhere
    (FEP-5feb ``indexable``), paged by ``?page&after=<position>``. A signed read subscribes
    the signer's server to their changes (``services.remote_directory``)."""
    signer = await _requesting_actor(request)
    raw = request.query_params.get("after", "0")
    position = parse_int(raw)
    if position is None:
        raise Refused(400, "after must be a position")
    collection = urls.directory_url()
    await remote_directory.remember_reader(signer)
    if not _is_page(request):
        total = await remote_directory.listed_count()
        return ActivityResponse(
            build_collections.ordered_collection(collection, total, f"{collection}?page=true")
        )
    people = await remote_directory.listed(position)
    after = f"&after={raw}" if raw != "0" else ""
    more = len(people) == remote_directory.PAGE_SIZE
    return ActivityResponse(
        build_collections.ordered_collection_page(
            f"{collection}?page=true{after}",
            collection,
            [person.uri for person in people],
            f"{collection}?page=true&after={people[-1].id}" if more else None,
        )
    )


@refusing
async def post_activity(request: Request) -> Response:
    post = await _served_post(request)
    return _post_response(post, await documents.create_document(post))


routes: list[BaseRoute] = [
    Route("/.well-known/webfinger", webfinger_lookup, methods=["GET"]),
    Route("/.well-known/host-meta", host_meta, methods=["GET"]),
    Route("/.well-known/nodeinfo", nodeinfo_links, methods=["GET"]),
    Route(nodeinfo.PATH_21, nodeinfo_21, methods=["GET"]),
    Route("/actor", instance_actor, methods=["GET"]),
    Route("/actor/outbox", instance_outbox, methods=["GET"]),
    Route("/users/{username}/outbox", _person_or_group(outbox, "outbox"), methods=["GET"]),
    Route(
        "/users/{username}/followers",
        _person_or_group(followers, "followers"),
        methods=["GET"],
    ),
    Route("/users/{username}/following", following, methods=["GET"]),
    Route(
        "/users/{username}/collections/featured",
        _person_or_group(featured, "featured"),
        methods=["GET"],
    ),
    Route("/users/{username}/moderators", _group_collection("moderators"), methods=["GET"]),
    Route("/users/{username}/collections/tags", featured_tags, methods=["GET"]),
    Route("/posts/{post_id}/activity", post_activity, methods=["GET"]),
    Route(urls.DIRECTORY_PATH, directory, methods=["GET"]),
    Mount(
        AP_PREFIX,
        routes=[
            Route("/users/{username}", person, methods=["GET"]),
            Route("/groups/{username}", group_actor, methods=["GET"]),
            Route("/posts/{post_id}", post_object, methods=["GET"]),
        ],
    ),
]
