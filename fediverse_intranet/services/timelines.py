"""Timelines: home (what you follow and your groups), organisation, a tag, a group, a person.
Newest first, keyset paged.

Candidate ids come from one SQL query per timeline; mutes are applied after, and the page
is topped up from further candidates so a muted word never leaves a page short.

The home timeline also shows posts boosted by the people you follow (and by you). Posts and
boosts are two streams, each paged by its own ids (a boost of an old post belongs where it
was boosted, not where the post was written), merged by time; the cursor holds a position
in each (``HomeCursor``), so every post and every boost is on exactly one page.

Each query must read about a page of rows, not everything older than the cursor (see
bench/timeline.py and bench/README.md): every ``ORDER BY id DESC LIMIT`` has to be served by
an index that is walked newest first, in the innermost loop of its join, and ``IN`` on an
indexed column before ``id`` turns that walk into a read-everything-then-sort.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field, replace
from html import escape

from fediverse_intranet import urls
from fediverse_intranet.content import plain_text
from fediverse_intranet.models import (
    Actor,
    Attachment,
    Boost,
    Like,
    Mute,
    MuteKind,
    PollOption,
    Post,
    PostTag,
    PostVariant,
)
from fediverse_intranet.numbers import MAX_ID, parse_int
from fediverse_intranet.services import sql, visibility
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.visibility import visible_sql

PAGE_SIZE = 20
NEWEST = MAX_ID  # a cursor before every post: the first page
MAX_ROUNDS = 5  # how many times a page is topped up after mutes before it is shown as is

HOME_SQL = """
SELECT id FROM (
  SELECT p.id AS id FROM post p JOIN follow f ON f.followee_id = p.author_id
  WHERE f.follower_id = :viewer AND f.accepted AND p.deleted_at IS NULL
    AND p.visibility NOT IN ('direct', 'members') AND p.id < :before
  ORDER BY p.id DESC LIMIT :n) followed
UNION
SELECT id FROM (
  SELECT p.id AS id FROM post p
  WHERE p.author_id = :viewer AND p.deleted_at IS NULL AND p.id < :before
  ORDER BY p.id DESC LIMIT :n) own
UNION
SELECT id FROM (
  SELECT m.post_id AS id FROM mention m JOIN post p ON p.id = m.post_id
  WHERE m.actor_id = :viewer AND p.deleted_at IS NULL AND m.post_id < :before
    AND p.visibility <> 'members'
  ORDER BY m.post_id DESC LIMIT :n) mentioned
UNION
SELECT id FROM (
  SELECT p.id AS id FROM membership gm JOIN post p ON p.group_id = gm.group_id
  WHERE gm.actor_id = :viewer AND gm.state = 'member' AND p.deleted_at IS NULL
    AND +p.in_reply_to_id IS NULL AND p.id < :before
  ORDER BY p.id DESC LIMIT :n) grouped
UNION
SELECT id FROM (
  SELECT pt.post_id AS id FROM tag_follow tf JOIN post_tag pt ON pt.tag_id = tf.tag_id
  WHERE tf.actor_id = :viewer AND pt.post_id < :before
    AND EXISTS (SELECT 1 FROM post p WHERE p.id = pt.post_id AND p.deleted_at IS NULL
      AND p.visibility IN ('public', 'organisation'))
    AND NOT EXISTS (SELECT 1 FROM tag_follow tf2 JOIN post_tag pt2 ON pt2.tag_id = tf2.tag_id
      WHERE tf2.actor_id = :viewer AND pt2.post_id = pt.post_id AND pt2.tag_id < pt.tag_id)
  ORDER BY pt.post_id DESC LIMIT :n) tagged
ORDER BY id DESC LIMIT :n
"""
# ``grouped`` (and GROUP_SQL): ``+`` keeps SQLite off the (in_reply_to_id, id) index, which it
# otherwise walks over every thread's first post checking memberships (55 ms instead of 4 ms at
# 100,000 posts); the unary plus is a no-op on PostgreSQL.
# ``followed`` and ``mentioned`` leave members-only posts out: those reach the home timeline
# through ``grouped`` only, the first posts of threads in the groups the viewer is a member of.
# ``tagged``: the post is checked in EXISTS, not joined, so the (tag_id, post_id) index stays the
# innermost loop and SQLite stops each followed tag after a page of rows; joined, it read every
# post of every followed tag (tens of thousands) and sorted them. NOT EXISTS counts a post once,
# by the lowest followed tag it carries: a post with two followed tags filled two of the :n
# places, and an older tagged post could then be skipped by every page.

BOOSTS_SQL = """
SELECT id FROM (
  SELECT b.id AS id FROM boost b JOIN follow f ON f.followee_id = b.actor_id
  WHERE f.follower_id = :viewer AND f.accepted AND b.id < :before
    AND EXISTS (SELECT 1 FROM post p WHERE p.id = b.post_id AND p.deleted_at IS NULL
      AND p.visibility = 'public')
  ORDER BY b.id DESC LIMIT :n) followed
UNION ALL
SELECT id FROM (
  SELECT b.id AS id FROM boost b
  WHERE b.actor_id = :viewer AND b.id < :before
    AND EXISTS (SELECT 1 FROM post p WHERE p.id = b.post_id AND p.deleted_at IS NULL
      AND p.visibility = 'public')
  ORDER BY b.id DESC LIMIT :n) own
ORDER BY id DESC LIMIT :n
"""
# Boosts of public posts only: a boost must never show a post to someone it was not for
# (``services.boosts`` refuses other boosts; this keeps a post made narrower out).

_LOCAL_AUTHOR = "EXISTS (SELECT 1 FROM actor a WHERE a.id = p.author_id AND a.domain = '')"
ORGANISATION_SQL = f"""
SELECT id FROM (
  SELECT p.id AS id FROM post p
  WHERE p.visibility = 'public' AND p.deleted_at IS NULL AND p.in_reply_to_id IS NULL
    AND p.id < :before AND {_LOCAL_AUTHOR}
  ORDER BY p.id DESC LIMIT :n) public
UNION ALL
SELECT id FROM (
  SELECT p.id AS id FROM post p
  WHERE p.visibility = 'organisation' AND p.deleted_at IS NULL AND p.in_reply_to_id IS NULL
    AND p.id < :before AND {_LOCAL_AUTHOR}
  ORDER BY p.id DESC LIMIT :n) organisation
ORDER BY id DESC LIMIT :n
"""
# One walk of the (visibility, id) index per visibility, each stopping after :n rows. With
# ``visibility IN (...)`` SQLite read both ranges whole (every public and organisation post)
# and sorted them: over a second on a million posts. The author is checked in EXISTS rather
# than joined: after ANALYZE, SQLite builds a Bloom filter over the whole actor table for
# the join on every call.

TAG_SQL = f"""
SELECT pt.post_id AS id FROM post_tag pt JOIN tag t ON t.id = pt.tag_id
JOIN post p ON p.id = pt.post_id
WHERE t.name = :tag AND pt.post_id < :before AND {visible_sql("p")}
ORDER BY pt.post_id DESC LIMIT :n
"""

GROUP_SQL = f"""
SELECT p.id AS id FROM post p
WHERE p.group_id = :group AND +p.in_reply_to_id IS NULL AND p.pinned_at IS NULL
  AND p.id < :before AND {visible_sql("p")}
ORDER BY p.id DESC LIMIT :n
"""
# A group's page: its threads newest first; pinned ones are shown above (``pinned``).

PERSON_SQL = f"""
SELECT p.id AS id FROM post p
WHERE p.author_id = :author AND p.id < :before AND {visible_sql("p")}
ORDER BY p.id DESC LIMIT :n
"""


@dataclass
class PostView:
    """A post as a page shows it to one viewer."""

    post: Post
    liked: bool = False
    boosted: bool = False  # by the viewer
    boosted_by: Actor | None = None  # shown because this person boosted it
    attachments: list[Attachment] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    poll: list[PollOption] = field(default_factory=list)  # a remote poll's answers
    variants: list[PostVariant] = field(default_factory=list)  # its text in other languages
    quoted: Post | None = None  # the post it quotes, when stored here and the viewer may see it
    quoted_attachments: list[Attachment] = field(default_factory=list)  # the quoted post's files

    def text(self, locale: str) -> Text:
        """Title, warning and content in the reader's language when the post has it (its
        ``contentMap``), else its own; a variant lacking a part keeps the post's own."""
        post = self.post
        own = Text(post.title, post.summary, post.content_html, post.language)
        if _same_language(post.language, locale):
            return own
        variant = next((v for v in self.variants if _same_language(v.language, locale)), None)
        if variant is None:
            return own
        return Text(
            variant.title or own.title,
            variant.summary or own.summary,
            variant.content_html or own.content_html,
            variant.language if variant.content_html else own.language,
        )

    @property
    def unlinked_tags(self) -> list[str]:
        """The post's topics its text does not link (a remote post may carry hashtags only
        in its tags): shown below it, as Mastodon's hashtag bar shows them."""
        html = self.post.content_html
        # Our topic links end so, whether relative (remote HTML) or absolute (our Markdown).
        return [t for t in self.tags if f'{escape(urls.tag_path(t))}"' not in html]

    @property
    def poll_votes(self) -> int:
        """Votes cast on all answers (more than the voters when several may be chosen)."""
        return sum(option.votes for option in self.poll)

    @property
    def poll_closed(self) -> bool:
        ends = self.post.poll_ends_at
        return self.post.poll_closed or (ends is not None and ends <= now())

    def poll_share(self, votes: int) -> int:
        """An answer's share in whole percent, of the voters when the poll says how many."""
        total = self.post.poll_voters if self.post.poll_multiple else 0
        total = total or self.poll_votes
        return round(100 * votes / total) if total else 0


@dataclass(frozen=True)
class Text:
    title: str
    summary: str
    content_html: str  # sanitised before it was stored
    language: str = ""  # of content_html, for the lang attribute; empty when not said


def _same_language(tag: str, locale: str) -> bool:
    """``en-GB`` is English to a reader who reads English."""
    return bool(tag) and tag.split("-")[0].lower() == locale


@dataclass(frozen=True)
class HomeCursor:
    """Where the next home page starts in each stream (below post 123 and boost 45 reads
    ``123_45`` in a URL)."""

    posts: int = NEWEST
    boosts: int = NEWEST

    @classmethod
    def parse(cls, raw: str) -> HomeCursor | None:
        """From a URL; anything malformed starts at the newest (a bare post id, as the
        pages before boosts wrote it, continues the posts and restarts the boosts)."""
        parts = raw.split("_")
        parsed = [parse_int(p, high=99_999_999_999) for p in parts]
        if len(parts) > 2 or None in parsed:
            return None
        numbers = [min(n, NEWEST) for n in parsed if n is not None]
        return cls(numbers[0], numbers[1] if len(numbers) == 2 else NEWEST)

    def __str__(self) -> str:
        return f"{self.posts}_{self.boosts}"


@dataclass
class Page:
    items: list[PostView]
    next_before: int | HomeCursor | None  # where the next (older) page starts; None at the end


@dataclass
class MuteFilter:
    actors: set[int]
    tags: set[str]
    words: list[re.Pattern[str]]

    @classmethod
    async def of(cls, viewer: Actor) -> MuteFilter:
        rows = await Mute.filter(owner=viewer)
        return cls(
            actors={r.target_id for r in rows if r.kind == MuteKind.ACTOR and r.target_id},
            tags={r.value for r in rows if r.kind == MuteKind.TAG},
            words=[
                re.compile(rf"(?<!\w){re.escape(r.value)}(?!\w)", re.IGNORECASE)
                for r in rows
                if r.kind == MuteKind.WORD
            ],
        )

    def hides(self, view: PostView, viewer: Actor) -> bool:
        post = view.post
        if view.boosted_by is not None and view.boosted_by.id in self.actors:
            return True
        if post.author_id == viewer.id:
            return False
        if post.author_id in self.actors or self.tags.intersection(view.tags):
            return True
        if self.words:
            texts = [(post.title, post.content_html)]
            texts += [(v.title, v.content_html) for v in view.variants]  # other languages
            text = " ".join(f"{title} {plain_text(html)}" for title, html in texts)
            return any(word.search(text) for word in self.words)
        return False


async def hydrate(ids: list[int], viewer: Actor) -> list[PostView]:
    """Load the posts the viewer may see with what their cards show (reply counts as the
    viewer may see them), keeping the order of ``ids``: every list of posts shown here
    passes this."""
    if not ids:
        return []
    loaded = await Post.filter(id__in=ids).select_related("author", "group__actor")
    # Whatever query chose the candidates, the viewer sees only what the rule lets them.
    posts = {p.id: p for p in await visibility.visible_posts(loaded, viewer)}
    liked = set(await Like.filter(actor=viewer, post_id__in=ids).values_list("post_id", flat=True))
    boosted = set(
        await Boost.filter(actor=viewer, post_id__in=ids).values_list("post_id", flat=True)
    )
    views = {
        i: PostView(posts[i], liked=i in liked, boosted=i in boosted) for i in ids if i in posts
    }
    for attachment in await Attachment.filter(post_id__in=ids).order_by("id"):
        assert attachment.post_id is not None  # filtered on it
        views[attachment.post_id].attachments.append(attachment)
    for post_tag in await PostTag.filter(post_id__in=ids).select_related("tag"):
        views[post_tag.post_id].tags.append(post_tag.tag.name)
    await _remote_kinds(views, viewer)
    return [views[i] for i in ids if i in views]


async def _remote_kinds(views: dict[int, PostView], viewer: Actor) -> None:
    """What remote posts carry besides text: a poll's answers, other languages, and the
    quoted post, shown only when it is here and the viewer may see it (the one rule)."""
    polls = [i for i, v in views.items() if v.post.object_type == "Question"]
    if polls:
        for option in await PollOption.filter(post_id__in=polls).order_by("position"):
            views[option.post_id].poll.append(option)
    remote = [i for i, v in views.items() if v.post.author.domain]
    if remote:
        for variant in await PostVariant.filter(post_id__in=remote).order_by("id"):
            views[variant.post_id].variants.append(variant)
    quoting = {v.post.quote_uri for v in views.values() if v.post.quote_uri}
    if not quoting:
        return
    found = await Post.filter(uri__in=list(quoting), deleted_at=None).select_related("author")
    seen = await visibility.visible_ids([p.id for p in found], viewer)
    quoted = {p.uri: p for p in found if p.id in seen}
    files: dict[int, list[Attachment]] = {}
    if quoted:
        ids = [p.id for p in quoted.values()]
        for attachment in await Attachment.filter(post_id__in=ids).order_by("id"):
            files.setdefault(attachment.post_id or 0, []).append(attachment)
    for view in views.values():
        view.quoted = quoted.get(view.post.quote_uri)
        if view.quoted is not None:
            view.quoted_attachments = files.get(view.quoted.id, [])


async def _page(
    query: str, viewer: Actor, before: int | None, mutes: MuteFilter | None, **params: object
) -> Page:
    cursor = min(before, NEWEST) if before and before > 0 else NEWEST
    shown: list[PostView] = []
    for _ in range(MAX_ROUNDS):
        ids = await sql.ids(query, viewer=viewer.id, before=cursor, n=PAGE_SIZE + 1, **params)
        more = len(ids) > PAGE_SIZE
        for view in await hydrate(ids[:PAGE_SIZE], viewer):
            if len(shown) == PAGE_SIZE:
                return Page(shown, cursor)
            if mutes is None or not mutes.hides(view, viewer):
                shown.append(view)
            cursor = view.post.id
        if not more:
            return Page(shown, None)
        if len(shown) == PAGE_SIZE:
            return Page(shown, cursor)
    return Page(shown, cursor)


async def home(viewer: Actor, before: HomeCursor | None = None) -> Page:
    """Posts and boosts, merged newest first; a post already on the page is not repeated."""
    mutes = await MuteFilter.of(viewer)
    at = before or HomeCursor()
    shown: list[PostView] = []
    on_page: set[int] = set()
    for _ in range(MAX_ROUNDS):
        post_ids = await sql.ids(HOME_SQL, viewer=viewer.id, before=at.posts, n=PAGE_SIZE + 1)
        boosts = await _boosts(viewer, at.boosts)
        views = {
            v.post.id: v
            for v in await hydrate(
                list(dict.fromkeys(post_ids + [b.post_id for b in boosts])), viewer
            )
        }
        posts = deque(views[i] for i in post_ids if i in views)
        shares = deque((b, views[b.post_id]) for b in boosts if b.post_id in views)
        more_posts, more_boosts = len(post_ids) > PAGE_SIZE, len(boosts) > PAGE_SIZE
        while len(shown) < PAGE_SIZE and (posts or shares):
            if (more_posts and not posts) or (more_boosts and not shares):
                break  # a stream ran dry in this round: fetch again to keep the order right
            if posts and (not shares or posts[0].post.created_at >= shares[0][0].created_at):
                view = posts.popleft()
                at = replace(at, posts=view.post.id)
            else:
                boost, view = shares.popleft()
                at = replace(at, boosts=boost.id)
                view = replace(view, boosted_by=boost.actor)
            if view.post.id not in on_page and not mutes.hides(view, viewer):
                on_page.add(view.post.id)
                shown.append(view)
        more = bool(posts or shares) or more_posts or more_boosts
        if len(shown) == PAGE_SIZE or not more:
            return Page(shown, at if more else None)
    return Page(shown, at)


async def _boosts(viewer: Actor, before: int) -> list[Boost]:
    ids = await sql.ids(BOOSTS_SQL, viewer=viewer.id, before=before, n=PAGE_SIZE + 1)
    rows = {b.id: b for b in await Boost.filter(id__in=ids).select_related("actor")}
    return [rows[i] for i in ids if i in rows]


async def organisation(viewer: Actor, before: int | None = None) -> Page:
    return await _page(ORGANISATION_SQL, viewer, before, await MuteFilter.of(viewer))


async def tagged(viewer: Actor, tag: str, before: int | None = None) -> Page:
    return await _page(TAG_SQL, viewer, before, await MuteFilter.of(viewer), tag=tag)


async def group(viewer: Actor, group_id: int, before: int | None = None) -> Page:
    """A group's threads, newest first, without the pinned ones (``pinned`` has those)."""
    return await _page(GROUP_SQL, viewer, before, await MuteFilter.of(viewer), group=group_id)


async def pinned(viewer: Actor, group_id: int) -> list[PostView]:
    """A group's pinned threads the viewer may see, most recently pinned first."""
    rows = await Post.filter(group_id=group_id, pinned_at__not_isnull=True, deleted_at=None)
    rows.sort(key=lambda p: p.pinned_at or p.created_at, reverse=True)  # never None here
    return await hydrate([p.id for p in rows], viewer)


async def person(viewer: Actor, author: Actor, before: int | None = None) -> Page:
    return await _page(PERSON_SQL, viewer, before, None, author=author.id)
