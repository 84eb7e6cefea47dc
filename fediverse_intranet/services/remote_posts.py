"""Posts from other servers: kept when they concern someone here, changed and removed only
by their authors.

A remote post is stored when it concerns a person of this instance: it is addressed to or
mentions them, it answers one of their posts, its author has a follower here, or someone
here follows a person who boosted it. Anything else is not stored at all: this is an
intranet, not a relay. Remote HTML is sanitised before it is stored; the audience is read
as Mastodon reads ``to``/``cc`` (``activitypub.parse_object.audience_of``), and who may then see
the post is the one rule of ``services.visibility``.

Every function here is repeatable (the inbox processes at least once): storing a post that
is already here, applying an edit already applied or deleting a deleted post changes nothing.
Who sent the activity is the caller's check; that the author is the only one who may change
or delete a post is checked here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urldefrag

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from activitypub.docs import Audience
from activitypub.errors import FederationError
from activitypub.fetch import FetchError
from activitypub.origin import same_origin
from activitypub.parse_object import RemoteObject, VocabularyError, audience_of, parse_object
from fediverse_intranet import urls
from fediverse_intranet.content import (
    drop_quote_line,
    link_emoji,
    link_hashtags,
    normalise_tag,
    plain_text,
    sanitize_html,
)
from fediverse_intranet.models import (
    Actor,
    Attachment,
    Follow,
    Group,
    Mention,
    NotificationKind,
    PollOption,
    Post,
    PostKind,
    PostRevision,
    PostVariant,
    Visibility,
)
from fediverse_intranet.services import (
    federation_policy,
    memberships,
    notifications,
    posts,
    remote_client,
    remote_media,
    sql,
    visibility,
)
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.remote_actors import (
    RemoteActorError,
    is_http_uri,
    is_local_uri,
    resolve_actor,
)

log = logging.getLogger(__name__)

VISIBILITIES = {
    Audience.PUBLIC: Visibility.PUBLIC,
    Audience.FOLLOWERS: Visibility.FOLLOWERS,
    Audience.DIRECT: Visibility.DIRECT,
}
MAX_TITLE = 200
MAX_SUMMARY = 500
MAX_MEDIA_TYPE = 32
MAX_REMOTE_URL = 1024
MAX_ALT = 1000
MAX_OPTION = 200  # characters of a poll's answer
MAX_PLACE = 300  # characters of an event's place, and of its address
GONE = (404, 410)  # what a post's origin answers once it is deleted


class NotTaken(FederationError):
    """A remote post was not stored or changed; ``reason`` says why, for the inbox's log.

    ``retry`` when trying again later may help (its server did not answer).
    """

    def __init__(self, reason: str, *, retry: bool = False) -> None:
        super().__init__(reason, retry=retry)


async def fetch(uri: str) -> tuple[RemoteObject, Actor]:
    """A post fetched from its own origin (signed), and its author.

    The document must be served from the URL that is its id, and its author must live on
    the same server: a server speaks only for itself, so what it serves is as trustworthy
    as what its actors sign.
    """
    return await _fetch(uri)


async def fetch_current(uri: str) -> tuple[RemoteObject, Actor] | None:
    """What a post's origin says of it now: the post and its author (checked as :func:`fetch`
    checks them), or None when it is gone (404, 410, or a Tombstone). An Update or Delete
    that names its post by id only is applied from this, as Mastodon does."""
    try:
        return await _fetch(uri)
    except _Gone:
        return None


class _Gone(NotTaken):
    """The post's origin says it no longer exists."""


async def _fetch(uri: str) -> tuple[RemoteObject, Actor]:
    if not is_http_uri(uri) or is_local_uri(uri):
        raise NotTaken("not a remote post id")
    if not await federation_policy.allows_url(uri):
        raise NotTaken("this server is blocked here")
    try:
        fetched = await remote_client.signed_fetch(urldefrag(uri).url)
    except FetchError as exc:
        if exc.status in GONE:
            raise _Gone(f"fetching the post failed: {exc}") from None
        raise NotTaken(f"fetching the post failed: {exc}", retry=exc.retry) from None
    if fetched.document.get("id") != fetched.url:
        raise NotTaken("the post's id is not the URL it was served from")
    if fetched.document.get("type") == "Tombstone":
        raise _Gone("the post is gone (a Tombstone)")
    try:
        post = parse_object(fetched.document)
    except VocabularyError as exc:
        raise NotTaken(exc.reason) from None
    if not same_origin(post.attributed_to, post.id):
        raise NotTaken("the post's author is on another server")
    return post, await author_of(post)


async def author_of(post: RemoteObject) -> Actor:
    try:
        return await resolve_actor(post.attributed_to)
    except RemoteActorError as exc:
        raise NotTaken(f"its author: {exc.reason}", retry=exc.retry) from None


async def store(
    post: RemoteObject,
    author: Actor,
    *,
    wanted: bool = False,
    context: bool = False,
    group: Group | None = None,
    local: list[Actor] | None = None,
) -> Post | None:
    """Store a post by ``author`` (whose authorship the caller checked), or return the stored
    one; None when it concerns nobody here. ``wanted`` stores it anyway (a boost of it by
    someone followed here). ``context``: fetched only to show a thread or a quote (a post
    above a reply, a quoted post): stored as wanted, but an old post is no news, so nobody
    it mentions or answers is notified. ``group``: posted in that group (whose rules the
    caller checked): members only when the group is closed, else public. ``local``: what
    :func:`local_actors` gave for the post's addresses, when the caller asked already.
    """
    stored, orphans = await _stored_or_orphans(post.id)
    if stored is not None:
        return stored
    if not is_http_uri(post.id) or author.is_local:
        raise NotTaken("not a remote post id")
    seen_by = VISIBILITIES[audience_of(post, author.followers_url or None)]
    if group is not None:
        seen_by = visibility.of_group_posts(group)
    addressed = await _local_people(_people_addresses(post), local)
    parent = await _parent(post.in_reply_to)
    wanted = wanted or context
    if group is None and not wanted and not await _concerns_us(seen_by, author, addressed, parent):
        return None
    emoji = await remote_media.emoji_images(post.emoji)
    try:
        async with in_transaction():
            created = await Post.create(
                uri=post.id,
                author=author,
                kind=PostKind.ARTICLE if post.type == "Article" and post.name else PostKind.NOTE,
                title=_title(post),
                content_html=_html(post, post.content, emoji),
                visibility=seen_by,
                in_reply_to=parent,
                in_reply_to_uri=_fitting(post.in_reply_to) if parent is None else "",
                thread_root_id=(parent.thread_root_id or parent.id) if parent else None,
                url=_fitting(post.url),
                summary=_summary(post.summary),
                created_at=_when(post.published),
                group=group,
                **_shape(post),
                **_poll_state(post),
            )
            await _set_tags_and_mentions(created, post, addressed, fresh=True)
            await _set_variants(created, _variants(post, emoji))
            await _set_poll_options(created, _options(post))
            await _set_attachments(created, post, author)
            news = [(person, NotificationKind.MENTION) for person in addressed]
            if parent is not None:
                await Post.filter(id=parent.id).update(reply_count=F("reply_count") + 1)
                news.insert(0, (parent.author, NotificationKind.REPLY))
            if not context:
                await notifications.notify_many(news, author, created)
            if orphans:
                await _adopt_replies(created, orphans)
    except IntegrityError:  # stored by a concurrent worker a moment ago
        return await Post.filter(uri=post.id).first()
    return created


async def update(post: RemoteObject, author: Actor) -> Post:
    """Apply an edit by the post's author; the previous text is kept as a revision.

    A poll's counts change without an edit (Mastodon sends the Question again, often with
    the same ``updated``): they are taken whatever the version, and are not a revision."""
    stored = await _authored(post.id, author, "edit")
    if stored.group_id is not None and await memberships.banned_from(stored.group_id, author):
        raise NotTaken("the author is banned from the group")
    counted = await _update_poll(stored, post)
    seen = stored.edited_at
    if seen is not None and post.updated is not None and post.updated <= seen:
        if counted:
            return stored
        raise NotTaken("an older or the same version")  # out of order, or sent again
    emoji = await remote_media.emoji_images(post.emoji)
    html, title, summary = _html(post, post.content, emoji), _title(post), _summary(post.summary)
    shape, variants = _shape(post), _variants(post, emoji)
    unchanged = (html, title, summary) == (stored.content_html, stored.title, stored.summary)
    same_shape = all(getattr(stored, k) == v for k, v in shape.items())
    if unchanged and same_shape and variants == await _stored_variants(stored):
        if counted:
            return stored
        raise NotTaken("nothing changed")
    before = set(await Mention.filter(post=stored).values_list("actor_id", flat=True))
    addressed = await _local_people(_people_addresses(post))
    async with in_transaction():
        if not unchanged:
            await PostRevision.create(
                post=stored,
                title=stored.title,
                source=stored.source,
                content_html=stored.content_html,
                created_at=stored.edited_at or stored.created_at,
            )
        stored.content_html, stored.title, stored.summary = html, title, summary
        for name, value in shape.items():
            setattr(stored, name, value)
        stored.edited_at = _when(post.updated)
        await stored.save(update_fields=["content_html", "title", "summary", "edited_at", *shape])
        await _set_tags_and_mentions(stored, post, addressed)
        await PostVariant.filter(post=stored).delete()
        await _set_variants(stored, variants)
        await Attachment.filter(post=stored).delete()
        await _set_attachments(stored, post, author)
        news = [(p, NotificationKind.MENTION) for p in addressed if p.id not in before]
        await notifications.notify_many(news, author, stored)
    return stored


async def delete(uri: str, author: Actor) -> Post:
    """Delete a post as a local delete does: the row stays as a tombstone (replies keep
    their place in the thread), its text, tags, mentions, images, likes and boosts go."""
    stored = await _authored(uri, author, "delete")
    async with in_transaction():
        await posts.erase(stored)
    return stored


async def delete_if_gone(uri: str) -> Post | None:
    """Delete a stored remote post when its origin says it is gone (404, 410 or a Tombstone),
    whoever told us: a Delete passed on by someone other than the author is believed only
    so. None when no such post is here or its origin still serves it."""
    stored = await Post.filter(uri=uri, deleted_at=None).select_related("author").first()
    if stored is None or stored.author.is_local:
        return None
    if await fetch_current(uri) is not None:
        return None
    async with in_transaction():
        await posts.erase(stored)
    return stored


# Internals


async def _authored(uri: str, author: Actor, action: str) -> Post:
    stored = await Post.filter(uri=uri, deleted_at=None).first()
    if stored is None:
        raise NotTaken("no such post here (or deleted already)")
    if stored.author_id != author.id:
        raise NotTaken(f"only the author may {action} a post")
    return stored


async def _concerns_us(
    visibility: Visibility, author: Actor, addressed: list[Actor], parent: Post | None
) -> bool:
    if addressed:
        return True
    if visibility == Visibility.DIRECT:
        return False  # nobody here could see it
    if parent is not None and parent.author.is_local:
        return True
    return await Follow.filter(followee=author, follower__domain="", accepted=True).exists()


async def local_actors(uris: Iterable[str]) -> list[Actor]:
    """The people (with an active account) and groups of this instance among ``uris``, once
    each: one query answers both who is addressed and whether a group is."""
    ours = list(dict.fromkeys(u for u in uris if is_local_uri(u)))
    if not ours:
        return []
    return await sql.instances(
        Actor,
        "SELECT actor.* FROM actor LEFT JOIN account ON account.actor_id = actor.id"
        " WHERE actor.uri IN (:ours) AND actor.domain = ''"
        " AND (account.is_active = :yes OR actor.kind = :group)"
        " ORDER BY actor.id",
        ours=ours,
        yes=True,
        group="group",
    )


def _people_addresses(post: RemoteObject) -> list[str]:
    return [*post.recipients, *(m.href for m in post.mentions)]


async def _local_people(uris: list[str], local: list[Actor] | None = None) -> list[Actor]:
    """The people of this instance among ``uris`` (addressed or mentioned), once each; the
    first ``posts.MAX_MENTIONS`` only (mentioned, and notified), as for a local post."""
    wanted = set(uris)
    found = local if local is not None else await local_actors(uris)
    people = [actor for actor in found if not actor.is_group and actor.uri in wanted]
    return people[: posts.MAX_MENTIONS]


async def _stored_or_orphans(uri: str) -> tuple[Post | None, list[Post]]:
    """The post stored under ``uri``, or else the replies that came before it (stored with
    its uri as ``in_reply_to_uri``): one query for both, as each remote post asks."""
    found = await sql.instances(
        Post,
        "SELECT * FROM post"
        " WHERE uri = :uri OR (in_reply_to_uri = :uri AND in_reply_to_id IS NULL)",
        uri=uri,
    )
    stored = next((post for post in found if post.uri == uri), None)
    return stored, [post for post in found if post.uri != uri]


async def _parent(uri: str | None) -> Post | None:
    if not uri:
        return None
    return await Post.filter(uri=uri).select_related("author").first()


def _topics(remote: RemoteObject) -> list[str]:
    """The post's hashtags as topics here. A remote post is not refused for too many: its
    first 50 count, as a local post may have 50."""
    names = [normalise_tag(tag) for tag in remote.hashtags]
    return list(dict.fromkeys(n for n in names if n))[: posts.MAX_HASHTAGS]


def _html(remote: RemoteObject, html: str, emoji: Mapping[str, str]) -> str:
    """Remote HTML sanitised, its links to the post's hashtags pointing at our topic pages,
    its custom emoji shown (``emoji``: shortcode -> the address of its image here), and a
    quote post's "RE: <link>" line dropped (the quoted card, or a link to it, shows)."""
    clean = sanitize_html(html)
    if remote.quote:
        clean = drop_quote_line(clean)
    linked = link_hashtags(clean, _topics(remote), urls.tag_path)
    return link_emoji(linked, emoji)


async def _set_tags_and_mentions(
    post: Post, remote: RemoteObject, people: list[Actor], *, fresh: bool = False
) -> None:
    await posts.set_tags_and_mentions(post, _topics(remote), people, fresh=fresh)


async def _set_attachments(post: Post, remote: RemoteObject, author: Actor) -> None:
    """The post's files as announced: readers get images, video and audio through this
    server (``services.remote_media``, when first opened), other files as links."""
    rows = []
    for item in remote.attachments:
        if len(item.url) > MAX_REMOTE_URL:
            continue
        focal = item.focal_point
        still = item.preview if item.preview and len(item.preview) <= MAX_REMOTE_URL else ""
        rows.append(
            Attachment(
                post=post,
                uploader=author,
                filename="",
                kind=item.kind,
                media_type=item.media_type if len(item.media_type) <= MAX_MEDIA_TYPE else "",
                alt_text=" ".join(item.name.split())[:MAX_ALT],
                width=item.width,
                height=item.height,
                remote_url=item.url,
                size=item.size,
                blurhash=item.blurhash,
                focal_x=focal[0] if focal else None,
                focal_y=focal[1] if focal else None,
                preview_url=still,
            )
        )
    if rows:
        await Attachment.bulk_create(rows)


async def _adopt_replies(post: Post, orphans: list[Post]) -> None:
    """Replies that arrived before the post they answer now hang under it, with the replies
    below them (an orphan is the root of its own thread until then).

    An orphan that is the root of this post's own thread is not adopted: that is a loop (A
    answers B, which answers A) and would make a thread without a top."""
    root = post.thread_root_id or post.id
    orphans = [orphan for orphan in orphans if orphan.id != root]
    if not orphans:
        return
    ids = [o.id for o in orphans]
    await Post.filter(id__in=ids).update(
        in_reply_to_id=post.id, in_reply_to_uri="", thread_root_id=root
    )
    await Post.filter(thread_root_id__in=ids).update(thread_root_id=root)
    live = sum(1 for orphan in orphans if orphan.deleted_at is None)
    await Post.filter(id=post.id).update(reply_count=F("reply_count") + live)


def _title(post: RemoteObject, name: str | None = None) -> str:
    """The heading Mastodon shows: ``name`` of anything but a Note (of a Question only when
    it has no text of its own), as plain text."""
    name = post.name if name is None else name
    if not name or post.type == "Note" or (post.type == "Question" and post.content):
        return ""
    return _line(name, MAX_TITLE)


def _line(text: str, limit: int) -> str:
    """Remote text as one plain line (tags dropped, whitespace collapsed), cut at ``limit``."""
    return " ".join(plain_text(text).split())[:limit] if text else ""


def _summary(text: str) -> str:
    return plain_text(text, MAX_SUMMARY) if text else ""


def _shape(post: RemoteObject) -> dict[str, Any]:
    """The columns that say what the post is besides its text: its type, its warning, the
    post it quotes, its language and an event's time and place; bounded to the columns."""
    event = post.event
    return {
        "object_type": "" if post.type == "Note" else post.type,
        "sensitive": post.sensitive,
        "quote_uri": _fitting(post.quote),
        "language": post.language,
        "event_starts_at": event.starts_at if event else None,
        "event_ends_at": event.ends_at if event else None,
        "event_place": _line(event.place, MAX_PLACE) if event else "",
        "event_address": _line(event.address, MAX_PLACE) if event else "",
    }


def _poll_state(post: RemoteObject) -> dict[str, Any]:
    poll = post.poll
    return {
        "poll_multiple": bool(poll and poll.multiple),
        "poll_ends_at": poll.ends_at if poll else None,
        "poll_closed": bool(poll and poll.closed),
        "poll_voters": poll.voters if poll else 0,
    }


def _options(post: RemoteObject) -> list[tuple[str, int]]:
    """A poll's answers as plain text, with their votes; empty answers left out."""
    if post.poll is None:
        return []
    found = ((_line(o.name, MAX_OPTION), o.votes) for o in post.poll.options)
    return [(name, votes) for name, votes in found if name]


async def _set_poll_options(post: Post, options: list[tuple[str, int]]) -> None:
    if options:
        await PollOption.bulk_create(
            [
                PollOption(post=post, position=n, name=name, votes=votes)
                for n, (name, votes) in enumerate(options)
            ]
        )


async def _update_poll(stored: Post, post: RemoteObject) -> bool:
    """New counts (or a close) of a stored poll; True when anything changed."""
    if post.poll is None:
        return False
    options, state = _options(post), _poll_state(post)
    have = await PollOption.filter(post=stored).order_by("position").values_list("name", "votes")
    same_state = all(getattr(stored, k) == v for k, v in state.items())
    if [tuple(o) for o in have] == options and same_state:
        return False
    async with in_transaction():
        for name, value in state.items():
            setattr(stored, name, value)
        await stored.save(update_fields=list(state))
        await PollOption.filter(post=stored).delete()
        await _set_poll_options(stored, options)
    return True


Variants = list[tuple[str, str, str, str]]  # language, title, summary, content_html


def _variants(post: RemoteObject, emoji: Mapping[str, str]) -> Variants:
    """The post's other languages, sanitised and cut as its own text is; the language of
    its own text is not kept twice."""
    found: Variants = []
    for variant in post.variants:
        if variant.language == post.language:
            continue
        found.append(
            (
                variant.language,
                _title(post, variant.name) if variant.name else "",
                _summary(variant.summary),
                _html(post, variant.content, emoji) if variant.content else "",
            )
        )
    return found


async def _stored_variants(post: Post) -> Variants:
    rows = await PostVariant.filter(post=post).order_by("id")
    return [(v.language, v.title, v.summary, v.content_html) for v in rows]


async def _set_variants(post: Post, variants: Variants) -> None:
    if variants:
        await PostVariant.bulk_create(
            [
                PostVariant(
                    post=post, language=lang, title=title, summary=summary, content_html=html
                )
                for lang, title, summary, html in variants
            ]
        )


def _fitting(url: str | None) -> str:
    """A URL that fits our columns, or nothing (a longer one is not kept half)."""
    return url if url and is_http_uri(url) else ""


def _when(moment: datetime | None) -> datetime:
    """A remote time, never in the future (a wrong clock must not pin a post on top)."""
    current = now()
    return min(moment, current) if moment is not None else current
