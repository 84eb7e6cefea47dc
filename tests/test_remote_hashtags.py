"""Hashtags of remote posts in every form the Fediverse Pasture catalogue sends
(inputs/hashtags.py, inputs/hashtag_jsonld.py): topics where the one tag rule
(``content.normalise_tag``) takes the name, else simply not topics.

A remote server sends a Create to the inbox, the processor stores it, and a signed-in
reader opens the topic's page."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from fediverse_intranet.models import Post, Tag, WorkState
from tests import test_inbox as peer
from tests.test_inbox import ALICE
from tests.test_inbox_content import activity, note, send

settings, remote, alice = peer.settings, peer.remote, peer.alice

IRI = "https://www.w3.org/ns/activitystreams#Hashtag"


@pytest.mark.parametrize(
    ("tag", "topic"),
    [
        ({"type": "Hashtag", "name": "#test"}, "test"),
        ({"type": "Hashtag", "name": "nohash"}, "nohash"),
        ({"type": "as:Hashtag", "name": "#test"}, "test"),
        ({"type": IRI, "name": "#test"}, "test"),
        ({"type": ["Object", "Hashtag"], "name": "#test"}, "test"),
        ({"type": "Hashtag", "name": "#with123"}, "with123"),
        ({"type": "Hashtag", "name": "#CamelCase"}, "camelcase"),
        ({"type": "Hashtag", "name": "#ümläütß"}, "ümläütß"),
        ({"type": "Hashtag", "name": "#牛"}, "牛"),
        ({"type": "Hashtag", "name": "\uff03全角"}, "全角"),
        ({"type": "Hashtag", "name": "#test", "url": "https://ignore.example"}, "test"),
    ],
)
async def test_a_remote_hashtag_becomes_a_topic_the_reader_finds(
    client, browser, alice, remote, tag, topic
):
    carol = remote.add("carol")
    body = note(carol, cc=[ALICE], content="<p>Tagged text</p>", tag=[tag])
    await send(client, carol, activity("Create", carol, body))

    assert await Tag.filter(name=topic).exists()
    reader = await browser(alice)
    response = await reader.get(f"/tags/{quote(topic)}")
    assert response.status_code == 200 and "Tagged text" in response.text


@pytest.mark.parametrize(
    "tag",
    [
        {"type": "Hashtag", "name": "#with-dash_under"},
        {"type": "Hashtag", "name": "#with white space"},
        {"type": "Hashtag", "name": "#with(subtag)"},
        {"type": "Hashtag", "name": "#1234"},
        {"type": "Hashtag", "name": "#🐄"},
        {"type": "Hashtag", "name": "#❤️"},
        {"name": "#test"},  # no type: not a hashtag (Mastodon agrees)
        {"type": "Hashtag", "name": "#" + "x" * 10_000},
        {"type": "Hashtag", "name": ["#list"]},
        {"type": {"odd": True}, "name": "#test"},
    ],
)
async def test_a_name_that_is_no_topic_is_simply_not_one(client, alice, remote, tag):
    carol = remote.add("carol")
    body = note(carol, cc=[ALICE], tag=[tag])
    item = await send(client, carol, activity("Create", carol, body))
    assert (item.state, item.error) == (WorkState.DONE, "")
    assert await Post.filter(uri=body["id"]).exists()
    assert not await Tag.exists()


async def test_hashtags_the_text_does_not_link_are_shown_below_it_once(
    client, browser, alice, remote
):
    """Mastodon's hashtag bar: a tag only in ``tag`` (the catalogue's hashtag examples have
    plain text) still shows, as a link to our topic page; one the text links is not doubled."""
    carol = remote.add("carol")
    body = note(
        carol,
        cc=[ALICE],
        content='<p>Over <a href="https://r.example/tags/zorg" class="hashtag">#zorg</a></p>',
        tag=[{"type": "Hashtag", "name": "#zorg"}, {"type": "Hashtag", "name": "#Wonen"}],
    )
    item = await send(client, carol, activity("Create", carol, body))
    assert (item.state, item.error) == (WorkState.DONE, "")
    post = await Post.get(uri=body["id"])
    page = (await (await browser(alice)).get(f"/posts/{post.id}")).text
    assert page.count('href="/tags/zorg"') == 1
    bar = page[page.index('<ul class="hashtag-bar"') :]
    bar = bar[: bar.index("</ul>")]
    assert '<a href="/tags/wonen" class="hashtag">#wonen</a>' in bar and "zorg" not in bar
