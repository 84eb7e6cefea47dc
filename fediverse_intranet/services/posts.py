"""Writing posts and articles: create, reply, edit with history, delete, appreciate.

Each change announces itself to other servers (``services.fanout``) in its own transaction.

A post in a group (and every reply to one) is written by a member, while the group is not
archived and its thread not locked; its visibility follows the group: public in an open
group, members-only in a closed or secret one, whatever the form said. A new post that
mentions one group of its author's (``@omgevingswet``, ``@raad@gov-b.example``) goes into
that group, unless that would show it to more people than the author chose.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from fediverse_intranet import instance, urls
from fediverse_intranet.content import (
    MentionRef,
    ParsedMarkdown,
    markup_count,
    parse_markdown,
    render_parsed,
)
from fediverse_intranet.errors import InvalidInput, NotFound, PermissionDenied
from fediverse_intranet.models import (
    Account,
    Actor,
    Attachment,
    Boost,
    Group,
    GroupAccess,
    Like,
    Membership,
    MemberState,
    Mention,
    NotificationKind,
    PollOption,
    Post,
    PostKind,
    PostRevision,
    PostTag,
    PostVariant,
    Tag,
    Visibility,
)
from fediverse_intranet.services import (
    fanout,
    groups,
    media,
    memberships,
    notifications,
    sql,
    visibility,
)
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.visibility import can_view
from fediverse_intranet.urls import like_uri

MAX_NOTE_CHARS = 5_000
MAX_ARTICLE_CHARS = 100_000
MAX_TITLE_CHARS = 200
MAX_IMAGES = 4
MAX_ALT_CHARS = 1_000
MAX_HASHTAGS = 50  # per post; a remote post's first 50 are kept (remote_posts)
MAX_MENTIONS = 50  # per post: each @name is looked up and each mention notifies
# Markdown parsing costs up to ~30 us for each character that opens a construct (content's
# MARKUP_CHARACTERS); 10,000 of them is at most ~0.3 s, and a long article uses a few thousand.
MAX_MARKUP = 10_000


@dataclass
class ImageUpload:
    data: bytes
    alt_text: str


@dataclass
class Draft:
    """What a person typed; checked by ``_check`` before anything is written."""

    source: str
    kind: PostKind = PostKind.NOTE
    title: str = ""
    visibility: Visibility = Visibility.PUBLIC
    images: list[ImageUpload] = field(default_factory=list)


def _check(draft: Draft, kept_images: int = 0) -> Draft:
    source = draft.source.replace("\r\n", "\n").strip()
    title = " ".join(draft.title.split())
    if draft.kind == PostKind.ARTICLE:
        if not title:
            raise InvalidInput("An article needs a title.", field="title")
        if len(title) > MAX_TITLE_CHARS:
            raise InvalidInput(
                "Use at most %(max)s characters.", field="title", max=MAX_TITLE_CHARS
            )
    else:
        title = ""
    if not source and not draft.images and not kept_images:
        raise InvalidInput("Write something before you post.", field="source")
    limit = MAX_ARTICLE_CHARS if draft.kind == PostKind.ARTICLE else MAX_NOTE_CHARS
    if len(source) > limit:
        raise InvalidInput("Use at most %(max)s characters.", field="source", max=limit)
    if markup_count(source) > MAX_MARKUP:
        raise InvalidInput(
            "Use at most %(max)s formatting characters (such as [ ] * _ # | < and line "
            "breaks) in one post.",
            field="source",
            max=MAX_MARKUP,
        )
    if len(draft.images) > MAX_IMAGES:
        raise InvalidInput("Attach at most %(max)s images.", field="images", max=MAX_IMAGES)
    for image in draft.images:
        image.alt_text = " ".join(image.alt_text.split())
        if not image.alt_text:
            raise InvalidInput(
                "Describe each image for people who cannot see it.", field="alt_text"
            )
        if len(image.alt_text) > MAX_ALT_CHARS:
            raise InvalidInput(
                "Use at most %(max)s characters.", field="alt_text", max=MAX_ALT_CHARS
            )
    return Draft(source, draft.kind, title, draft.visibility, draft.images)


# Mentioned people and groups that exist for the author, by the mention as written.
Known = dict[MentionRef, Actor]


async def _mentioned_actors(refs: tuple[MentionRef, ...], author: Actor) -> Known:
    """The people and groups named that exist for the author: a secret group the author
    is not in (nor invited to) is a name nobody has, left as plain text."""
    local_domain = instance.current().domain
    found: Known = {}
    for ref in refs:
        domain = "" if ref.domain in (None, local_domain) else ref.domain
        actor = await Actor.filter(username=ref.username, domain=domain).first()
        if actor is None:
            continue
        if actor.is_group:
            group = await Group.filter(actor_id=actor.id).first()
            if group is not None and not await visibility.may_know_group(group, author):
                continue
        found[ref] = actor
    return found


async def _known(parsed: ParsedMarkdown, author: Actor) -> Known:
    """Who the post's @mentions name, at most :data:`MAX_MENTIONS` of them."""
    if len(parsed.mentions) > MAX_MENTIONS:  # each is a query, and each mention a notification
        raise InvalidInput(
            "Mention at most %(max)s people in one post.", field="source", max=MAX_MENTIONS
        )
    if len(parsed.hashtags) > MAX_HASHTAGS:
        raise InvalidInput(
            "Use at most %(max)s hashtags in one post.", field="source", max=MAX_HASHTAGS
        )
    return await _mentioned_actors(parsed.mentions, author)


def _mentioned(known: Known) -> list[Actor]:
    return list({actor.id: actor for actor in known.values()}.values())


async def _namable(known: Known, group_id: int | None) -> Known:
    """The mentions a post in ``group_id`` (None: in no group) may link: a secret group
    only in a post of its own, where only its members read it (visibility.may_name_group)."""
    groups_named = {a.id for a in known.values() if a.is_group}
    if not groups_named:
        return known
    hidden = {
        g.actor_id
        for g in await Group.filter(actor_id__in=groups_named)
        if not visibility.may_name_group(g, group_id)
    }
    return {ref: actor for ref, actor in known.items() if actor.id not in hidden}


def _render(parsed: ParsedMarkdown, known: Known) -> tuple[str, tuple[str, ...], list[Actor]]:
    """Sanitised HTML linking the tags and the people and groups in ``known``."""
    rendered = render_parsed(
        parsed, mention_url=lambda ref: urls.profile_page(known[ref]) if ref in known else None
    )
    people = list({a.id: a for a in (known[ref] for ref in rendered.mentions)}.values())
    return rendered.html, rendered.hashtags, people


async def _store_images(uploader: Actor, images: list[ImageUpload]) -> list[Attachment]:
    attachments = []
    for image in images:
        filename, processed = await media.save_attachment(image.data)
        attachments.append(
            Attachment(
                uploader=uploader,
                filename=filename,
                media_type=processed.media_type,
                alt_text=image.alt_text,
                width=processed.width,
                height=processed.height,
            )
        )
    return attachments


async def set_tags_and_mentions(
    post: Post, hashtags: Iterable[str], actors: list[Actor], *, fresh: bool = False
) -> None:
    """Replace a post's tags and mentions, local or remote; ``fresh``: the post was created
    just now, so it has none to replace."""
    if not fresh:
        await PostTag.filter(post=post).delete()
        await Mention.filter(post=post).delete()
    names = list(dict.fromkeys(hashtags))
    if names:
        await sql.insert_rows(Tag, ["name"], [[name] for name in names], skip_existing=True)
        tag_ids = await sql.ids('SELECT "id" FROM "tag" WHERE "name" IN (:names)', names=names)
        await sql.insert_rows(PostTag, ["post_id", "tag_id"], [[post.id, t] for t in tag_ids])
    people = list(dict.fromkeys(actor.id for actor in actors))
    await sql.insert_rows(Mention, ["post_id", "actor_id"], [[post.id, a] for a in people])


async def visible_post(post_id: int, viewer: Actor | None) -> Post:
    """The post, if it exists and the viewer may see it; otherwise a 404 that tells nothing."""
    post = await Post.filter(id=post_id).select_related("author").first()
    if post is None or not await can_view(post, viewer):
        raise NotFound("This post does not exist or you cannot see it.")
    return post


async def _group_for(
    author: Actor, draft: Draft, parent: Post | None, group: Group | None
) -> Group | None:
    """The group a new post goes into (a reply goes where its parent is), after checking the
    author may write there; the draft's visibility is set by the group."""
    if parent is not None and parent.group_id is not None:
        if group is not None and group.id != parent.group_id:
            raise InvalidInput("A reply stays in the group of the post it answers.")
        group = await Group.get(id=parent.group_id)
    if parent is not None and await _locked(parent):
        raise PermissionDenied("This thread is locked: it takes no new replies.")
    if group is None:
        if draft.visibility == Visibility.MEMBERS:
            raise InvalidInput("Choose an option from the list.", field="visibility")
        return None
    await memberships.require_member(group, author)
    await _require_writable(group)
    draft.visibility = visibility.of_group_posts(group)
    return group


async def _mentioned_group(author: Actor, draft: Draft, mentioned: list[Actor]) -> Group | None:
    """A new post that mentions exactly one group the author may post in goes into it, as
    Mastodon users post into a group (FEP-1b12). Only when that does not widen who reads it:
    a public post into any group, a members-only one into a closed group; a followers-only,
    direct or organisation-only post stays what it is."""
    named = [actor.id for actor in mentioned if actor.is_group]
    if not named:
        return None
    rows = await Membership.filter(
        actor_id=author.id, state=MemberState.MEMBER, group__actor_id__in=named
    ).select_related("group")
    usable = []
    for row in rows:
        await groups.archive_if_due(row.group)
        if row.group.archived_at is None:
            usable.append(row.group)
    if len(usable) != 1:
        return None
    in_group = visibility.of_group_posts(usable[0])
    return usable[0] if draft.visibility in (Visibility.PUBLIC, in_group) else None


async def require_not_banned(group_id: int, author: Actor) -> None:
    """Someone banned from a group since they posted there can no longer change what the
    group shows: no edits (and no new posts, which need a member)."""
    if await memberships.banned_from(group_id, author):
        raise PermissionDenied("You are banned from this group.")


async def _require_writable(group: Group | int) -> None:
    """An archived group is read-only: no posts, replies or edits (a project past its end
    date is archived on the way)."""
    if isinstance(group, int):
        group = await Group.get(id=group)
    await groups.archive_if_due(group)
    groups.require_open_for_posts(group)


async def _members_among(group_id: int, people: list[Actor]) -> list[Actor]:
    """Mentioning someone outside a closed group neither shows them the post nor tells them."""
    ids = await Membership.filter(
        group_id=group_id, actor_id__in=[a.id for a in people], state=MemberState.MEMBER
    ).values_list("actor_id", flat=True)
    return [a for a in people if a.id in set(ids)]


async def _locked(parent: Post) -> bool:
    if parent.locked_at is not None:
        return True
    root = parent.thread_root_id
    return root is not None and await Post.filter(id=root, locked_at__not_isnull=True).exists()


async def create_post(
    author: Actor, draft: Draft, in_reply_to: int | None = None, group: Group | None = None
) -> Post:
    """A new post or reply, optionally in a group (see the module's docstring)."""
    draft = _check(draft)
    parent = await visible_post(in_reply_to, author) if in_reply_to else None
    parsed = parse_markdown(draft.source, tag_url=urls.tag_url)
    known = await _known(parsed, author)
    if group is None and parent is None:
        group = await _mentioned_group(author, draft, _mentioned(known))
    group = await _group_for(author, draft, parent, group)
    known = await _namable(known, group.id if group is not None else None)
    html, hashtags, mentioned = _render(parsed, known)
    if parent is not None and parent.author not in mentioned and parent.author_id != author.id:
        mentioned.append(parent.author)
    if group is not None and group.access != GroupAccess.OPEN:
        mentioned = await _members_among(group.id, mentioned)
    attachments = await _store_images(author, draft.images)
    try:
        async with in_transaction():
            post = await Post.create(
                uri=f"urn:uuid:{uuid.uuid4()}",  # replaced by the URL once the id is known
                author=author,
                kind=draft.kind,
                title=draft.title,
                source=draft.source,
                content_html=html,
                visibility=draft.visibility,
                in_reply_to=parent,
                thread_root_id=(parent.thread_root_id or parent.id) if parent else None,
                group=group,
            )
            post.uri = urls.post_uri(post.id)
            await post.save(update_fields=["uri"])
            await set_tags_and_mentions(post, hashtags, mentioned, fresh=True)
            for attachment in attachments:
                attachment.post = post
                await attachment.save()
            if parent is not None:
                await Post.filter(id=parent.id).update(reply_count=parent.reply_count + 1)
            await _notify_new(post, parent, mentioned)
            await fanout.post_created(post)
    except BaseException:
        for attachment in attachments:
            media.remove(attachment.filename)
        raise
    return post


async def _notify_new(post: Post, parent: Post | None, mentioned: list[Actor]) -> None:
    replied_to = parent.author_id if parent is not None else None
    news = [
        (actor, NotificationKind.REPLY if actor.id == replied_to else NotificationKind.MENTION)
        for actor in mentioned
        if not actor.is_group
    ]
    await notifications.notify_many(news, post.author, post)


async def _own_post(post_id: int, editor: Account) -> Post:
    post = await Post.filter(id=post_id, deleted_at=None).select_related("author").first()
    if post is None:
        raise NotFound("This post does not exist or you cannot see it.")
    if post.author_id != editor.actor_id:
        raise PermissionDenied("Only the author can edit this post.")
    return post


async def edit_post(post_id: int, editor: Account, source: str, title: str = "") -> Post:
    """Change the text; the previous version is kept so the history shows what changed."""
    post = await _own_post(post_id, editor)
    if post.group_id is not None:
        await require_not_banned(post.group_id, post.author)
        await _require_writable(post.group_id)
    kept_images = await Attachment.filter(post=post).count()
    draft = _check(Draft(source, post.kind, title, post.visibility), kept_images)
    if draft.source == post.source and draft.title == post.title:
        return post  # nothing changed: no revision, no re-render
    parsed = parse_markdown(draft.source, tag_url=urls.tag_url)
    known = await _namable(await _known(parsed, post.author), post.group_id)
    html, hashtags, mentioned = _render(parsed, known)
    if post.visibility == Visibility.MEMBERS and post.group_id is not None:
        mentioned = await _members_among(post.group_id, mentioned)
    before = [m.actor for m in await Mention.filter(post=post).select_related("actor")]
    previously = {actor.id for actor in before}
    async with in_transaction():
        await PostRevision.create(
            post=post,
            title=post.title,
            source=post.source,
            content_html=post.content_html,
            created_at=post.edited_at or post.created_at,
        )
        post.source, post.title, post.content_html = draft.source, draft.title, html
        post.edited_at = now()
        await post.save(update_fields=["source", "title", "content_html", "edited_at"])
        await set_tags_and_mentions(post, hashtags, mentioned)
        newly = [a for a in mentioned if a.id not in previously]
        await _notify_new(post, None, newly)
        await fanout.post_edited(post, before)
    return post


async def delete_post(post_id: int, by: Account) -> None:
    """Authors delete their own posts; admins may delete any post (moderation)."""
    post = await Post.filter(id=post_id, deleted_at=None).select_related("author").first()
    if post is None:
        raise NotFound("This post does not exist or you cannot see it.")
    if post.author_id != by.actor_id and not by.is_admin:
        raise PermissionDenied("Only the author or an administrator can delete this post.")
    files = [a.filename for a in await Attachment.filter(post=post)]
    async with in_transaction():
        await fanout.post_deleting(post)
        await erase(post)
    for name in files:
        media.remove(name)


async def erase(post: Post) -> None:
    """What deleting a post, local or remote, does to the database (call it in a
    transaction): the row stays as a tombstone so replies keep their place in the thread;
    its text (in every language), tags, mentions, images, revisions, likes, boosts, poll,
    event place and quote go."""
    await Post.filter(id=post.id).update(
        deleted_at=now(),
        source="",
        title="",
        content_html="",
        summary="",
        like_count=0,
        boost_count=0,
        quote_uri="",
        event_place="",
        event_address="",
    )
    for model in (
        PostTag,
        Mention,
        Attachment,
        PostRevision,
        Like,
        Boost,
        PostVariant,
        PollOption,
    ):
        await model.filter(post_id=post.id).delete()
    if post.in_reply_to_id:
        await Post.filter(id=post.in_reply_to_id, reply_count__gt=0).update(
            reply_count=F("reply_count") - 1
        )


@dataclass(frozen=True)
class Reaction:
    """A person's one-click answer to a post (appreciation, boost): a row per person and
    post with its activity's id, a counter on the post, a notification, an activity out."""

    model: type[Like] | type[Boost]
    counter: str  # the Post field that counts the rows
    kind: NotificationKind
    uri: Callable[[Any, Actor], str]  # the activity id of a saved row
    given: Callable[[Any, Actor, Post], Awaitable[None]]  # tell other servers
    taken_back: Callable[[Any, Actor, Post], Awaitable[None]]


APPRECIATION = Reaction(
    Like, "like_count", NotificationKind.LIKE, like_uri, fanout.liked, fanout.unliked
)


async def react(reaction: Reaction, post: Post, actor: Actor, on: bool) -> Post:
    """Give or take back a reaction; doing either twice changes nothing more. The row, the
    count, the notification and the deliveries commit together."""
    try:
        async with in_transaction():
            row = await reaction.model.filter(post=post, actor=actor).first()
            if on and row is None:
                row = await reaction.model.create(
                    post=post, actor=actor, uri=f"urn:uuid:{uuid.uuid4()}"
                )
                row.uri = reaction.uri(row, actor)
                await row.save(update_fields=["uri"])
                await notifications.notify_once(post, reaction.kind, actor)
                await reaction.given(row, actor, post)
            elif not on and row is not None:
                await row.delete()
                await reaction.taken_back(row, actor, post)
            count = await reaction.model.filter(post=post).count()
            await Post.filter(id=post.id).update(**{reaction.counter: count})
            setattr(post, reaction.counter, count)
    except IntegrityError:
        # The same person reacted the same way in a request that committed first.
        await post.refresh_from_db(fields=[reaction.counter])
    return post


async def set_like(post_id: int, actor: Actor, liked: bool) -> Post:
    """Appreciate a post or take it back; a remote author is sent the Like or its Undo."""
    return await react(APPRECIATION, await visible_post(post_id, actor), actor, liked)


async def history(post_id: int, viewer: Actor) -> tuple[Post, list[PostRevision]]:
    post = await visible_post(post_id, viewer)
    return post, await PostRevision.filter(post=post).order_by("-created_at", "-id")


async def thread(post_id: int, viewer: Actor) -> tuple[Post, list[Post], list[Post]]:
    """The post, the posts above it it answers, and the visible replies below it, oldest first."""
    post = await visible_post(post_id, viewer)
    ancestors: list[Post] = []
    cursor = post
    while cursor.in_reply_to_id and len(ancestors) < 50:
        parent = await Post.filter(id=cursor.in_reply_to_id).select_related("author").first()
        if parent is None or not await can_view(parent, viewer):
            break
        ancestors.insert(0, parent)
        cursor = parent
    root_id = post.thread_root_id or post.id
    below = (
        await Post.filter(thread_root_id=root_id, deleted_at=None)
        .exclude(id=post.id)
        .select_related("author")
        .order_by("id")
        .limit(500)
    )
    # Walked from the post down, not in id order: a remote reply stored before the post it
    # answers (fetched later, then adopting it) has the smaller id.
    children: dict[int, list[Post]] = {}
    for candidate in below:
        if candidate.in_reply_to_id is not None:
            children.setdefault(candidate.in_reply_to_id, []).append(candidate)
    descendants: list[Post] = []
    waiting = [post.id]
    while waiting:
        for candidate in children.pop(waiting.pop(), []):
            if await can_view(candidate, viewer):
                descendants.append(candidate)
                waiting.append(candidate.id)
    descendants.sort(key=lambda p: (p.created_at, p.id))
    return post, ancestors, descendants
