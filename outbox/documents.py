"""Our models as ActivityStreams documents: the one place where that conversion happens.

People become :class:`~activitypub.docs.PersonDoc`, posts
:class:`~activitypub.docs.NoteDoc`, and the instance gets an Application actor of its
own. The delivery worker and the JSON routes both build documents here, so a post looks the
same whether it is fetched or delivered. Every actor served gets a key pair first
(``services.keys.ensure_keys``), since peers verify our signatures with the key they read here.

The domain asks for the documents of its changes through ``services.as2.Documents``; this
module is the implementation the composition root installs. URL shapes are
``fediverse_intranet.urls``.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta

from activitypub import build_activities, build_actors, build_collections, build_objects, nodeinfo
from activitypub.context import PRESENCE_TEXT
from activitypub.docs import (
    ApplicationDoc,
    Audience,
    Field,
    GroupDoc,
    Image,
    Link,
    NoteDoc,
    PersonDoc,
    StatusDoc,
)
from fediverse_intranet import instance, urls
from fediverse_intranet.models import (
    Account,
    Actor,
    Attachment,
    Boost,
    Follow,
    Group,
    GroupAccess,
    Like,
    MemberRole,
    Membership,
    MemberState,
    Mention,
    Post,
    PostKind,
    PostTag,
    Visibility,
    WebSession,
)
from fediverse_intranet.services import accounts, keys, profiles, visibility
from fediverse_intranet.services import groups as group_rules
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.remote_client import (  # noqa: F401 (used by outbox.routes)
    INSTANCE_ACTOR_USERNAME,
    InstanceActorUnavailable,
    instance_actor,
)
from fediverse_intranet.urls import (
    base_url,
    endpoints,
    followers_of,
    group_page,
    key_id,
    like_uri,
    media_url,
    moderators_url,
    tag_url,
    update_id,
)

PAGE_SIZE = 20
SOFTWARE_NAME = "fediverse-intranet"
MEDIA_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
}
AUDIENCES = {
    Visibility.PUBLIC: Audience.PUBLIC,
    Visibility.FOLLOWERS: Audience.FOLLOWERS,
    Visibility.DIRECT: Audience.DIRECT,
    Visibility.MEMBERS: Audience.MEMBERS,
}
# Profile facts as PropertyValue fields, in the order of the profile page.
PROFILE_FIELDS = (
    ("Function", "job_title"),
    ("Team", "team"),
    ("Location", "location"),
    ("Contact", "contact"),
)


class NotFederated(Exception):
    """This post never leaves the instance (organisation-only); ``reason`` says so."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def handle(actor: Actor) -> str:
    """``@user@host`` of anyone, local or remote: how a Mention reads everywhere."""
    return f"@{actor.username}@{actor.domain or instance.current().domain}"


def bio_html(bio: str) -> str:
    """The plain-text bio as the profile page shows it: paragraphs and line breaks."""
    paragraphs = [p.strip() for p in bio.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )


# People


async def person_document(actor: Actor, *, suspended: bool = False) -> dict:
    """The Person JSON of a local person; ``suspended`` for a deactivated account."""
    return build_actors.person(await person_doc(actor, suspended=suspended))


async def person_doc(actor: Actor, *, suspended: bool = False) -> PersonDoc:
    actor = await keys.ensure_keys(actor)
    urls = endpoints(actor)
    topics = await profiles.topics_of(actor)
    fields = tuple(
        Field(label, html.escape(getattr(actor, name)))
        for label, name in PROFILE_FIELDS
        if getattr(actor, name)
    )
    return PersonDoc(
        id=actor.uri,
        username=actor.username,
        name=actor.name,
        summary=bio_html(actor.bio),
        url=urls.profile,
        inbox=urls.inbox,
        outbox=urls.outbox,
        followers=urls.followers,
        following=urls.following,
        featured=urls.featured,
        featured_tags=urls.featured_tags,
        shared_inbox=urls.shared_inbox,
        key_id=key_id(actor),
        public_key_pem=actor.public_key_pem,
        published=actor.created_at,
        icon=icon_of(actor),
        fields=fields,
        topics=tuple(Link(tag_url(name), name) for name in topics),
        # One consent for both: being indexed (FEP-5feb) and listed in directories elsewhere.
        discoverable=actor.indexable,
        indexable=actor.indexable,
        suspended=suspended,
        status=status_of(actor),
    )


def status_of(actor: Actor) -> StatusDoc | None:
    """A local person's presence as an actor status, or None when unset or over."""
    current = profiles.presence_now(actor)
    if current is None:
        return None
    kind = current.status.value
    return StatusDoc(
        id=urls.status_id(actor),
        content=current.note or PRESENCE_TEXT[kind],
        published=actor.updated_at or now(),
        presence=kind,
        end_time=current.until,
    )


def icon_of(actor: Actor) -> Image | None:
    """A local person's or group's photo, as their actor's ``icon``."""
    if not actor.photo:
        return None
    media_type = MEDIA_TYPES.get(actor.photo.rpartition(".")[2].lower(), "image/jpeg")
    return Image(media_url(actor.photo), media_type)


async def featured_tags_document(actor: Actor) -> dict:
    """Expertise topics as Mastodon's featured hashtags (shown on a Mastodon profile)."""
    topics = await profiles.topics_of(actor)
    tags = [Link(tag_url(t), t) for t in topics]
    return build_collections.hashtag_collection(endpoints(actor).featured_tags, tags)


# The instance actor


async def instance_actor_document() -> dict:
    actor = await instance_actor()
    return build_actors.application(
        ApplicationDoc(
            id=actor.uri,
            username=actor.username,
            name=actor.name,
            summary="",
            url=base_url(),
            inbox=urls.shared_inbox(),
            outbox=endpoints(actor).outbox,
            shared_inbox=urls.shared_inbox(),
            key_id=key_id(actor),
            public_key_pem=actor.public_key_pem,
        )
    )


# Posts


async def note_docs(posts: list[Post]) -> list[NoteDoc]:
    """Documents for several posts in a handful of queries (an outbox page has twenty).

    ``post.author`` must be loaded. Raises :class:`NotFederated` for an organisation-only
    post: it has no ActivityPub audience, so it is never written as a document.
    """
    for post in posts:
        if post.visibility not in AUDIENCES:
            raise NotFederated("organisation-only posts stay on this instance")
    ids = [post.id for post in posts]
    mentions: dict[int, list[Link]] = {i: [] for i in ids}
    for row in await Mention.filter(post_id__in=ids).select_related("actor").order_by("id"):
        mentions[row.post_id].append(Link(row.actor.uri, handle(row.actor)))
    hashtags: dict[int, list[Link]] = {i: [] for i in ids}
    for row in await PostTag.filter(post_id__in=ids).select_related("tag").order_by("id"):
        hashtags[row.post_id].append(Link(tag_url(row.tag.name), row.tag.name))
    images: dict[int, list[Image]] = {i: [] for i in ids}
    for row in await Attachment.filter(post_id__in=ids).order_by("id"):
        assert row.post_id is not None  # filtered on it
        images[row.post_id].append(
            Image(media_url(row.filename), row.media_type, row.alt_text, row.width, row.height)
        )
    parent_ids = {p.in_reply_to_id for p in posts if p.in_reply_to_id}
    parents = dict(await Post.filter(id__in=parent_ids).values_list("id", "uri"))
    locales = dict(
        await Account.filter(actor_id__in={p.author_id for p in posts}).values_list(
            "actor_id", "locale"
        )
    )
    groups: dict[int | None, Actor] = {
        row.id: row.actor
        for row in await Group.filter(
            id__in={p.group_id for p in posts if p.group_id}
        ).select_related("actor")
    }
    return [
        NoteDoc(
            id=post.uri,
            attributed_to=post.author.uri,
            followers=endpoints(post.author).followers,
            content=post.content_html,
            published=post.created_at,
            url=post.uri,
            audience=AUDIENCES[post.visibility],
            article=post.kind == PostKind.ARTICLE,
            name=post.title,
            language=locales.get(post.author_id, ""),
            updated=post.edited_at,
            in_reply_to=parents.get(post.in_reply_to_id) if post.in_reply_to_id else None,
            mentions=tuple(mentions[post.id]),
            hashtags=tuple(hashtags[post.id]),
            attachments=tuple(images[post.id]),
            group=groups[post.group_id].uri if post.group_id in groups else None,
            group_followers=_group_followers(groups.get(post.group_id)),
        )
        for post in posts
    ]


def _group_followers(group: Actor | None) -> str:
    if group is None:
        return ""
    return followers_of(group) if group.is_local else group.followers_url


async def note_document(post: Post) -> dict:
    (doc,) = await note_docs([post])
    return build_objects.note(doc)


async def create_document(post: Post) -> dict:
    return build_activities.create(post.author.uri, await note_document(post))


async def update_document(post: Post) -> dict:
    """The edited post; the id comes from the edit's time, so each version has its own."""
    return build_activities.update(
        post.author.uri, await note_document(post), post.edited_at or post.created_at
    )


async def delete_document(post: Post) -> dict:
    """A Tombstone addressed as the post was (read before its mentions are removed): a
    direct post's deletion names nobody the post itself did not."""
    (doc,) = await note_docs([post])
    to, cc = build_objects.note_addressing(doc)
    return build_activities.delete(post.author.uri, post.uri, to=to, cc=cc, audience=doc.group)


def like_document(like: Like, actor: Actor, post: Post) -> dict:
    """Rows from before ``Like.uri`` existed get their id back from the row id, so an
    Undo names the Like it takes back."""
    return build_activities.like(actor.uri, post.uri, like.uri or like_uri(like, actor))


def announce_document(boost: Boost, actor: Actor, post: Post) -> dict:
    """``post.author`` must be loaded."""
    return build_activities.announce(
        actor.uri,
        post.uri,
        boost.uri,
        followers=endpoints(actor).followers,
        object_author=post.author.uri,
        published=boost.created_at,
    )


async def person_update_document(actor: Actor, moment: datetime) -> dict:
    """The ``Update`` of a person's actor document. The id carries the time to the
    millisecond: peers drop an activity id they saw before, so two quick saves must not
    share one."""
    document = await person_document(actor)
    return build_activities.update(actor.uri, document, moment, id=update_id(actor, moment))


# Collections


def page_url(collection: str, before: int | None = None) -> str:
    return f"{collection}?page=true" + (f"&before={before}" if before else "")


async def outbox_document(actor: Actor, page: bool, before: int | None) -> dict:
    """The outbox: Create activities of public posts only, newest first, keyset paged.

    Followers-only and direct posts reach their audience by delivery and by signed fetch;
    a public collection is no place for them, nor for organisation-only posts.
    """
    collection = endpoints(actor).outbox
    public = Post.filter(visibility.LISTED, author=actor)
    if not page:
        return build_collections.ordered_collection(
            collection, await public.count(), page_url(collection)
        )
    if before is not None:
        public = public.filter(id__lt=before)
    rows = await public.order_by("-id").limit(PAGE_SIZE + 1).select_related("author")
    shown = rows[:PAGE_SIZE]
    docs = await note_docs(shown)
    items = [build_activities.create(actor.uri, build_objects.note(doc)) for doc in docs]
    more = page_url(collection, shown[-1].id) if len(rows) > PAGE_SIZE else None
    return build_collections.ordered_collection_page(
        page_url(collection, before), collection, items, more
    )


async def follows_document(actor: Actor, followers: bool, page: bool, before: int | None) -> dict:
    """Followers or following: the count of all, the ids of colleagues only.

    Pages list people of this instance with an active account, whom the instance lists
    anyway; who on other servers follows whom is theirs to publish, not ours.
    """
    urls = endpoints(actor)
    collection = urls.followers if followers else urls.following
    mine = Follow.filter(followee=actor) if followers else Follow.filter(follower=actor)
    mine = mine.filter(accepted=True)
    if not page:
        return build_collections.ordered_collection(
            collection, await mine.count(), page_url(collection)
        )
    other = "follower" if followers else "followee"
    listed = mine.filter(**{f"{other}__domain": "", f"{other}__account__is_active": True})
    if before is not None:
        listed = listed.filter(id__lt=before)
    rows = await listed.order_by("-id").limit(PAGE_SIZE + 1).select_related(other)
    shown = rows[:PAGE_SIZE]
    items = [getattr(row, other).uri for row in shown]
    more = page_url(collection, shown[-1].id) if len(rows) > PAGE_SIZE else None
    return build_collections.ordered_collection_page(
        page_url(collection, before), collection, items, more
    )


# NodeInfo


async def usage() -> nodeinfo.Usage:
    """People with an active account, those seen in 30 and 180 days (a sign-in or a session
    in use), and public posts: what the fediverse can see of this instance anyway."""
    current = now()
    active = Account.filter(is_active=True)

    async def seen_since(days: int) -> int:
        since = current - timedelta(days=days)
        signed_in = await active.filter(last_login_at__gte=since).values_list("id", flat=True)
        in_use = await WebSession.filter(
            last_seen_at__gte=since, account__is_active=True
        ).values_list("account_id", flat=True)
        return len(set(signed_in) | set(in_use))

    return nodeinfo.Usage(
        users_total=await active.count(),
        active_month=await seen_since(30),
        active_halfyear=await seen_since(180),
        local_posts=await Post.filter(
            author__domain="", visibility=Visibility.PUBLIC, deleted_at=None
        ).count(),
    )


async def nodeinfo_document(version: str) -> dict:
    settings = instance.current()
    return nodeinfo.document(
        software_name=SOFTWARE_NAME,
        version=version,
        usage=await usage(),
        open_registrations=bool(await accounts.signup_domains()),
        node_name=settings.instance_name or settings.domain,
    )


# Groups (FEP-1b12)


async def group_document(group: Group) -> dict:
    """The Group JSON of a local group (``group.actor`` loaded)."""
    actor = await keys.ensure_keys(group.actor)
    urls = endpoints(actor)
    topics = await group_rules.topics_of(group)
    return build_actors.group(
        GroupDoc(
            id=actor.uri,
            username=actor.username,
            name=actor.name,
            summary=group_rules.description_html(actor),
            url=group_page(actor),
            inbox=urls.inbox,
            outbox=urls.outbox,
            followers=urls.followers,
            moderators=moderators_url(actor),
            featured=urls.featured,
            shared_inbox=urls.shared_inbox,
            key_id=key_id(actor),
            public_key_pem=actor.public_key_pem,
            published=group.created_at,
            members_only=group.members_only,
            discoverable=group.access != GroupAccess.SECRET,
            posting_restricted=group.archived_at is not None,
            icon=icon_of(actor),
            topics=tuple(Link(tag_url(name), name) for name in topics),
        )
    )


async def group_update_document(group: Group, moment: datetime) -> dict:
    """A group's ``Update`` of its own actor document, addressed as Lemmy sends it."""
    document = await group_document(group)
    activity = build_activities.update(
        group.actor.uri, document, moment, id=update_id(group.actor, moment)
    )
    activity.update(to=[group.actor.uri], cc=[followers_of(group.actor)])
    activity["audience"] = group.actor.uri
    return activity


async def group_moderators_document(group: Group, listed: bool = True) -> dict:
    """Lemmy's moderators collection (the group's ``attributedTo``): owners and moderators;
    empty unless ``listed`` (``services.visibility.may_list_members``)."""
    rows = (
        await Membership.filter(
            group=group, state=MemberState.MEMBER, role__in=[MemberRole.OWNER, MemberRole.MODERATOR]
        )
        .select_related("actor")
        .order_by("id")
        if listed
        else []
    )
    items = [row.actor.uri for row in rows]
    return build_collections.ordered_collection(
        moderators_url(group.actor), len(items), items=items
    )


async def group_collection_document(group: Group, which: str) -> dict:
    """Followers (members), outbox and featured (pinned posts) of a group: counts and public
    posts of an open group; a members-only group shows outsiders nothing but its member
    count (Lemmy's private communities list no followers either)."""
    urls = endpoints(group.actor)
    members = Membership.filter(group=group, state=MemberState.MEMBER)
    if which == "followers":
        return build_collections.ordered_collection(urls.followers, await members.count())
    posts = Post.filter(visibility.LISTED, group=group)  # nothing of a closed group
    if which == "featured":
        posts = posts.filter(pinned_at__not_isnull=True)
    rows = await posts.order_by("-id").limit(PAGE_SIZE).select_related("author")
    docs = await note_docs(rows)
    if which == "featured":
        items = [build_objects.note(doc) for doc in docs]
    else:
        items = [
            build_activities.create(doc.attributed_to, build_objects.note(doc)) for doc in docs
        ]
    collection = urls.featured if which == "featured" else urls.outbox
    return build_collections.ordered_collection(collection, len(items), items=items)
