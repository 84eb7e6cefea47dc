"""Writing posts and articles: create, reply, edit with history, delete, appreciate."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from fediverse_intranet import instance
from fediverse_intranet.content import MentionRef, render_markdown
from fediverse_intranet.errors import InvalidInput, NotFound, PermissionDenied
from fediverse_intranet.models import (
    Account,
    Actor,
    Attachment,
    Like,
    Mention,
    Notification,
    NotificationKind,
    Post,
    PostKind,
    PostRevision,
    PostTag,
    Tag,
    Visibility,
)
from fediverse_intranet.services import media, notifications
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.visibility import can_view

MAX_NOTE_CHARS = 5_000
MAX_ARTICLE_CHARS = 100_000
MAX_TITLE_CHARS = 200
MAX_IMAGES = 4
MAX_ALT_CHARS = 1_000


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


def tag_url(tag: str) -> str:
    return f"{instance.current().base_url}/tags/{tag}"


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


async def _mentioned_actors(refs: tuple[MentionRef, ...]) -> dict[MentionRef, Actor]:
    local_domain = instance.current().domain
    found: dict[MentionRef, Actor] = {}
    for ref in refs:
        domain = "" if ref.domain in (None, local_domain) else ref.domain
        actor = await Actor.filter(username=ref.username, domain=domain).first()
        if actor is not None:
            found[ref] = actor
    return found


def _all_mention_refs(source: str) -> tuple[MentionRef, ...]:
    refs: list[MentionRef] = []

    def collect(ref: MentionRef) -> None:
        refs.append(ref)

    render_markdown(source, tag_url=tag_url, mention_url=collect)
    return tuple(refs)


async def _render(source: str) -> tuple[str, tuple[str, ...], list[Actor]]:
    """Markdown to sanitised HTML, linking the tags and the people who exist."""
    known = await _mentioned_actors(_all_mention_refs(source))
    rendered = render_markdown(
        source,
        tag_url=tag_url,
        mention_url=lambda ref: profile_url(known[ref]) if ref in known else None,
    )
    return rendered.html, rendered.hashtags, [known[ref] for ref in rendered.mentions]


def profile_url(actor: Actor) -> str:
    if actor.is_local:
        return f"{instance.current().base_url}/@{actor.username}"
    return actor.uri


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


async def _set_tags_and_mentions(
    post: Post, hashtags: tuple[str, ...], actors: list[Actor]
) -> None:
    await PostTag.filter(post=post).delete()
    await Mention.filter(post=post).delete()
    for name in hashtags:
        tag, _ = await Tag.get_or_create(name=name)
        await PostTag.create(post=post, tag=tag)
    for actor in actors:
        await Mention.create(post=post, actor=actor)


async def visible_post(post_id: int, viewer: Actor | None) -> Post:
    """The post, if it exists and the viewer may see it; otherwise a 404 that tells nothing."""
    post = await Post.filter(id=post_id).select_related("author").first()
    if post is None or not await can_view(post, viewer):
        raise NotFound("This post does not exist or you cannot see it.")
    return post


async def create_post(author: Actor, draft: Draft, in_reply_to: int | None = None) -> Post:
    draft = _check(draft)
    parent = await visible_post(in_reply_to, author) if in_reply_to else None
    html, hashtags, mentioned = await _render(draft.source)
    if parent is not None and parent.author not in mentioned and parent.author_id != author.id:
        mentioned.append(parent.author)
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
            )
            post.uri = instance.post_uri(post.id)
            await post.save(update_fields=["uri"])
            await _set_tags_and_mentions(post, hashtags, mentioned)
            for attachment in attachments:
                attachment.post = post
                await attachment.save()
            if parent is not None:
                await Post.filter(id=parent.id).update(reply_count=parent.reply_count + 1)
            await _notify_new(post, parent, mentioned)
    except BaseException:
        for attachment in attachments:
            media.remove(attachment.filename)
        raise
    return post


async def _notify_new(post: Post, parent: Post | None, mentioned: list[Actor]) -> None:
    replied_to = parent.author_id if parent is not None else None
    for actor in mentioned:
        if actor.is_local and actor.id != post.author_id:
            kind = NotificationKind.REPLY if actor.id == replied_to else NotificationKind.MENTION
            await notifications.notify(actor, kind, post.author, post)


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
    kept_images = await Attachment.filter(post=post).count()
    draft = _check(Draft(source, post.kind, title, post.visibility), kept_images)
    if draft.source == post.source and draft.title == post.title:
        return post  # nothing changed: no revision, no re-render
    html, hashtags, mentioned = await _render(draft.source)
    previously = {m.actor_id for m in await Mention.filter(post=post)}
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
        await _set_tags_and_mentions(post, hashtags, mentioned)
        newly = [a for a in mentioned if a.id not in previously]
        await _notify_new(post, None, newly)
    return post


async def delete_post(post_id: int, by: Account) -> None:
    """Authors delete their own posts; admins may delete any post (moderation)."""
    post = await Post.filter(id=post_id, deleted_at=None).first()
    if post is None:
        raise NotFound("This post does not exist or you cannot see it.")
    if post.author_id != by.actor_id and not by.is_admin:
        raise PermissionDenied("Only the author or an administrator can delete this post.")
    files = [a.filename for a in await Attachment.filter(post=post)]
    async with in_transaction():
        await Post.filter(id=post.id).update(
            deleted_at=now(), source="", title="", content_html="", like_count=0
        )
        for model in (PostTag, Mention, Attachment, PostRevision, Like):
            await model.filter(post_id=post.id).delete()
        if post.in_reply_to_id:
            parent = await Post.filter(id=post.in_reply_to_id).first()
            if parent and parent.reply_count > 0:
                await Post.filter(id=parent.id).update(reply_count=parent.reply_count - 1)
    for name in files:
        media.remove(name)


async def set_like(post_id: int, actor: Actor, liked: bool) -> Post:
    post = await visible_post(post_id, actor)
    async with in_transaction():
        exists = await Like.filter(post=post, actor=actor).exists()
        if liked and not exists:
            await Like.create(post=post, actor=actor)
            if not await Notification.filter(
                kind=NotificationKind.LIKE, actor=actor, post=post
            ).exists():
                await notifications.notify(post.author, NotificationKind.LIKE, actor, post)
        elif not liked and exists:
            await Like.filter(post=post, actor=actor).delete()
        post.like_count = await Like.filter(post=post).count()
        await Post.filter(id=post.id).update(like_count=post.like_count)
    return post


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
        await Post.filter(thread_root_id=root_id, id__gt=post.id, deleted_at=None)
        .select_related("author")
        .order_by("id")
        .limit(500)
    )
    descendants: list[Post] = []
    included = {post.id}
    for candidate in below:
        if candidate.in_reply_to_id in included and await can_view(candidate, viewer):
            descendants.append(candidate)
            included.add(candidate.id)
    return post, ancestors, descendants
