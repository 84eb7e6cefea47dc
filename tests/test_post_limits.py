"""A post's hashtags, mentions and the notifications they cause are capped and written in one
statement each (issue 19, point 11): 50 and 50; more in a local post is a form error that
keeps the draft."""

from __future__ import annotations

import logging

import pytest

from fediverse_intranet.content import markup_count
from fediverse_intranet.errors import InvalidInput
from fediverse_intranet.models import Actor, Mention, Notification, NotificationKind, Post, PostTag
from fediverse_intranet.services import posts
from fediverse_intranet.services.posts import MAX_HASHTAGS, MAX_MENTIONS
from tests.conftest import BASE_URL


async def _people(count: int) -> list[Actor]:
    return [
        await Actor.create(username=f"p{n}", uri=f"{BASE_URL}/users/p{n}") for n in range(count)
    ]


def _tags(count: int) -> str:
    return " ".join(f"#onderwerp{n}" for n in range(count))


def _mentions(count: int) -> str:
    return " ".join(f"@p{n}" for n in range(count))


class _Statements(logging.Handler):
    """The SQL the database clients log (tortoise logs every query at DEBUG)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())


@pytest.fixture
def statements():
    handler = _Statements()
    logger = logging.getLogger("tortoise.db_client")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield handler.seen
    logger.removeHandler(handler)
    logger.setLevel(level)


async def test_tags_and_mentions_up_to_the_cap_are_written_in_one_statement_each(alice, statements):
    await _people(MAX_MENTIONS)
    statements.clear()
    source = f"{_tags(MAX_HASHTAGS)} {_mentions(MAX_MENTIONS)}"
    post = await posts.create_post(
        alice.actor, posts.Draft(source, kind=posts.PostKind.ARTICLE, title="t")
    )
    assert await PostTag.filter(post=post).count() == MAX_HASHTAGS
    assert await Mention.filter(post=post).count() == MAX_MENTIONS
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert len([s for s in inserts if 'INTO "post_tag"' in s]) == 1, inserts
    assert len([s for s in inserts if 'INTO "mention"' in s]) == 1, inserts
    assert len([s for s in inserts if 'INTO "tag"' in s]) == 1, inserts
    assert await Notification.filter(post=post, kind=NotificationKind.MENTION).count() == 50
    assert len([s for s in inserts if 'INTO "notification"' in s]) == 1, inserts


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (_tags(MAX_HASHTAGS + 1), "hashtags"),
        (_mentions(MAX_MENTIONS + 1), "people"),
    ],
)
async def test_more_is_refused_before_anything_is_written(alice, source, message):
    await _people(MAX_MENTIONS + 1)
    draft = posts.Draft(source, kind=posts.PostKind.ARTICLE, title="t")
    with pytest.raises(InvalidInput) as refused:
        await posts.create_post(alice.actor, draft)
    assert message in refused.value.message and refused.value.field == "source"
    assert await PostTag.all().count() == 0 and await Mention.all().count() == 0


async def test_the_compose_form_keeps_the_draft(browser, alice):
    person = await browser(alice)
    source = _tags(MAX_HASHTAGS + 1)
    response = await person.submit(
        "/compose", {"kind": "article", "title": "Veel", "source": source, "visibility": "public"}
    )
    assert response.status_code == 400
    assert "#onderwerp50" in response.text  # the draft is still in the form
    assert "50 hashtags" in response.text


@pytest.mark.parametrize("unit", ["[", "![", "*_", "#t ", "|a|\nb", "<", "a\nb", "&", "`a "])
async def test_a_post_that_would_take_seconds_to_parse_is_refused(alice, unit):
    """Parsing costs up to ~30 us for each character that opens a Markdown construct: a
    100,000-character article of '![' took 2.4 s on the event loop (bench/markdown.py)."""
    marks = markup_count(unit)
    over = unit * (posts.MAX_MARKUP // marks + 1)
    draft = posts.Draft(over, kind=posts.PostKind.ARTICLE, title="t")
    with pytest.raises(InvalidInput) as refused:
        await posts.create_post(alice.actor, draft)
    assert refused.value.field == "source" and "formatting" in refused.value.message
    assert not await Post.exists()
    fine = posts.Draft(unit * (posts.MAX_MARKUP // marks), kind=posts.PostKind.ARTICLE, title="t")
    await posts.create_post(alice.actor, fine)


async def test_mentions_are_parsed_once_and_linked_only_when_someone_has_the_name(alice):
    await _people(2)
    source = "@p0 en @niemand, `@p1` in code, [@p1](https://example.org) in a link, en @p1"
    post = await posts.create_post(alice.actor, posts.Draft(source))
    html = post.content_html
    assert html.count('class="mention"') == 2 and "/@p0" in html and "/@p1" in html
    assert "@niemand" in html and "<code>@p1</code>" in html
    assert set(await Mention.filter(post=post).values_list("actor__username", flat=True)) == {
        "p0",
        "p1",
    }
