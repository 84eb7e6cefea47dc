"""Posts and articles, their tags, mentions, images, revisions and appreciations."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from fediverse_intranet.models.actors import Actor
    from fediverse_intranet.models.groups import Group


class PostKind(StrEnum):
    NOTE = "note"
    ARTICLE = "article"


class Visibility(StrEnum):
    PUBLIC = "public"
    ORGANISATION = "organisation"  # people of this instance only
    FOLLOWERS = "followers"
    DIRECT = "direct"  # mentioned people only
    MEMBERS = "members"  # the members of the post's (closed or secret) group only


class Tag(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)

    class Meta:
        table = "tag"


class Post(Model):
    id = fields.IntField(primary_key=True)
    uri = fields.CharField(max_length=512, unique=True)
    author: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="posts", on_delete=fields.CASCADE
    )
    author_id: int
    kind = fields.CharEnumField(PostKind, max_length=16, default=PostKind.NOTE)
    title = fields.CharField(max_length=200, default="")
    source = fields.TextField(default="")
    content_html = fields.TextField(default="")
    visibility = fields.CharEnumField(Visibility, max_length=16, default=Visibility.PUBLIC)
    in_reply_to: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="replies", null=True, on_delete=fields.SET_NULL
    )
    in_reply_to_id: int | None
    thread_root: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="thread_posts", null=True, on_delete=fields.SET_NULL
    )
    thread_root_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    edited_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    like_count = fields.IntField(default=0)
    reply_count = fields.IntField(default=0)
    boost_count = fields.IntField(default=0, db_default=0)
    # Federation: a remote post's page at its origin, its content warning, and the id of the
    # post it answers when that post is not (yet) stored here.
    url = fields.CharField(max_length=512, default="", db_default="")
    summary = fields.CharField(max_length=500, default="", db_default="")
    in_reply_to_uri = fields.CharField(max_length=512, default="", db_default="")
    # Groups: the group a post was posted in (its ``audience``), pinned there, or locked by a
    # moderator so no replies are taken.
    group: fields.ForeignKeyNullableRelation[Group] = fields.ForeignKeyField(
        "models.Group", related_name="posts", null=True, on_delete=fields.CASCADE
    )
    group_id: int | None
    pinned_at = fields.DatetimeField(null=True)
    locked_at = fields.DatetimeField(null=True)
    # What other servers send besides a note: the remote type ("Video", "Event", "Question";
    # empty for a note and for ours), a warning without a summary, the post it quotes, the
    # language of its text (its other languages: PostVariant), a poll's state (its answers:
    # PollOption) and an event's time and place.
    object_type = fields.CharField(max_length=16, default="", db_default="")
    sensitive = fields.BooleanField(default=False, db_default=False)
    quote_uri = fields.CharField(max_length=512, default="", db_default="")
    language = fields.CharField(max_length=16, default="", db_default="")
    poll_multiple = fields.BooleanField(default=False, db_default=False)
    poll_ends_at = fields.DatetimeField(null=True)
    poll_closed = fields.BooleanField(default=False, db_default=False)
    poll_voters = fields.IntField(default=0, db_default=0)
    event_starts_at = fields.DatetimeField(null=True)
    event_ends_at = fields.DatetimeField(null=True)
    event_place = fields.CharField(max_length=300, default="", db_default="")
    event_address = fields.CharField(max_length=300, default="", db_default="")

    class Meta:
        table = "post"
        # in_reply_to_uri: a stored remote post looks for replies that arrived before it;
        # in_reply_to_id: lists count the replies each viewer may see
        indexes = (
            ("author_id", "id"),
            ("visibility", "id"),
            ("in_reply_to_uri",),
            ("group_id", "id"),
            ("in_reply_to_id", "id"),
        )

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class PostTag(Model):
    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="post_tags", on_delete=fields.CASCADE
    )
    post_id: int
    tag: fields.ForeignKeyRelation[Tag] = fields.ForeignKeyField(
        "models.Tag", related_name="post_tags", on_delete=fields.CASCADE
    )
    tag_id: int

    class Meta:
        table = "post_tag"
        unique_together = (("post", "tag"),)
        indexes = (("tag_id", "post_id"),)


class Mention(Model):
    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="mentions", on_delete=fields.CASCADE
    )
    post_id: int
    actor: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="mentioned_in", on_delete=fields.CASCADE
    )
    actor_id: int

    class Meta:
        table = "mention"
        unique_together = (("post", "actor"),)
        indexes = (("actor_id", "post_id"),)


class PollOption(Model):
    """One answer of a remote poll and its votes, as its server last said (read only here)."""

    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="poll_options", on_delete=fields.CASCADE
    )
    post_id: int
    position = fields.IntField()
    name = fields.CharField(max_length=200)
    votes = fields.IntField(default=0)

    class Meta:
        table = "poll_option"
        unique_together = (("post", "position"),)


class PostVariant(Model):
    """A remote post's text in another language (``contentMap``): chosen for a reader whose
    language it is, else the post's own text is shown. Sanitised as the post's text is."""

    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="variants", on_delete=fields.CASCADE
    )
    post_id: int
    language = fields.CharField(max_length=16)
    title = fields.CharField(max_length=200, default="")
    summary = fields.CharField(max_length=500, default="")
    content_html = fields.TextField(default="")

    class Meta:
        table = "post_variant"
        unique_together = (("post", "language"),)


class PostRevision(Model):
    """The text as it was before an edit, so a post's history shows what changed."""

    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="revisions", on_delete=fields.CASCADE
    )
    post_id: int
    title = fields.CharField(max_length=200, default="")
    source = fields.TextField(default="")
    content_html = fields.TextField(default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "post_revision"


class Attachment(Model):
    """An uploaded image, or a file of a remote post. ``post`` is set once the post that
    carries it is saved."""

    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="attachments", null=True, on_delete=fields.CASCADE
    )
    post_id: int | None
    uploader: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="uploads", on_delete=fields.CASCADE
    )
    uploader_id: int
    filename = fields.CharField(max_length=100)
    media_type = fields.CharField(max_length=32)
    alt_text = fields.CharField(max_length=1000, default="")
    width = fields.IntField()
    height = fields.IntField()
    # A remote post's file stays at its origin: ``filename`` is then empty, and readers get
    # it through ``remote_media`` (``services.remote_media``), never from the origin itself.
    remote_url = fields.CharField(max_length=1024, default="", db_default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    # Of a remote file: image, video, audio or document; its announced size in bytes, its
    # blurhash and focal point (Mastodon's), and a video's still (``preview_url``).
    kind = fields.CharField(max_length=8, default="image", db_default="image")
    size = fields.BigIntField(default=0, db_default=0)
    blurhash = fields.CharField(max_length=100, default="", db_default="")
    focal_x = fields.FloatField(null=True)
    focal_y = fields.FloatField(null=True)
    preview_url = fields.CharField(max_length=1024, default="", db_default="")

    class Meta:
        table = "attachment"
        # every timeline page loads its posts' images; /media/{name} finds what carries one
        indexes = (("post_id", "id"), ("filename",))


class Like(Model):
    id = fields.IntField(primary_key=True)
    actor: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="likes", on_delete=fields.CASCADE
    )
    actor_id: int
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="likes", on_delete=fields.CASCADE
    )
    post_id: int
    uri = fields.CharField(max_length=512, default="", db_default="")  # the Like activity's id
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "post_like"
        unique_together = (("actor", "post"),)
        indexes = (("uri",),)


class Boost(Model):
    """Someone shares a post with their followers (an ActivityPub ``Announce``)."""

    id = fields.IntField(primary_key=True)
    actor: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="boosts", on_delete=fields.CASCADE
    )
    actor_id: int
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="boosts", on_delete=fields.CASCADE
    )
    post_id: int
    uri = fields.CharField(max_length=512, unique=True)  # the Announce activity's id
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "boost"
        unique_together = (("actor", "post"),)
        indexes = (("actor_id", "id"),)


class RemoteMediaState(StrEnum):
    NEW = "new"  # not fetched yet (or the last try failed and may be repeated)
    CACHED = "cached"  # fetched, checked and kept under ``filename``
    REFUSED = "refused"  # too large or not what it claimed: never fetched again


class RemoteMedia(Model):
    """A file another server hosts (a post's image, video or audio, a video's still, a
    custom emoji), fetched once by this server and served to readers from here, so a
    reader's browser never asks a third party. One row per URL and kind, however many posts
    use it."""

    id = fields.IntField(primary_key=True)
    url_hash = fields.CharField(max_length=64, unique=True)  # remote_media.url_hash
    url = fields.CharField(max_length=1024)
    kind = fields.CharField(max_length=8)  # image, video, audio or emoji
    state = fields.CharEnumField(RemoteMediaState, max_length=8, default=RemoteMediaState.NEW)
    media_type = fields.CharField(max_length=32, default="")  # what the bytes are
    filename = fields.CharField(max_length=100, default="")
    size = fields.BigIntField(default=0)
    reason = fields.CharField(max_length=200, default="")  # why refused, or why it failed
    attempts = fields.IntField(default=0)
    retry_after = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    fetched_at = fields.DatetimeField(null=True)  # when the kept file was fetched

    class Meta:
        table = "remote_media"
