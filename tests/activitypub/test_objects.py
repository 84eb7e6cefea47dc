"""Posts from other servers read into typed values: the shapes real servers send, and hostile
input that must come out bounded or refused."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from activitypub.docs import Audience, Link
from activitypub.parse_object import (
    PUBLIC,
    Attachment,
    Emoji,
    VocabularyError,
    audience_of,
    parse_object,
)

BOB = "https://ministerie.example/users/bob"
ALICE = "https://gemeente-x.example/users/alice"

# Shaped as Mastodon 4 sends a public reply with a mention, a hashtag, a content warning and
# an image (written for this test, not captured).
MASTODON_NOTE = {
    "@context": ["https://www.w3.org/ns/activitystreams", {"sensitive": "as:sensitive"}],
    "id": f"{BOB}/statuses/1",
    "type": "Note",
    "summary": "Over de begroting",
    "inReplyTo": f"{ALICE.replace('/users/', '/posts/')}",
    "published": "2025-03-04T12:30:45Z",
    "url": "https://ministerie.example/@bob/1",
    "attributedTo": BOB,
    "to": ["https://www.w3.org/ns/activitystreams#Public"],
    "cc": [f"{BOB}/followers", ALICE],
    "sensitive": True,
    "content": '<p><span class="h-card"><a href="https://gemeente-x.example/@alice">@alice</a>'
    '</span> zie <a href="https://ministerie.example/tags/begroting">#begroting</a></p>',
    "contentMap": {"nl": "<p>...</p>"},
    "attachment": [
        {
            "type": "Document",
            "mediaType": "image/png",
            "url": "https://files.ministerie.example/a.png",
            "name": "Een grafiek",
            "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
            "width": 640,
            "height": 480,
        }
    ],
    "tag": [
        {"type": "Mention", "href": ALICE, "name": "@alice@gemeente-x.example"},
        {
            "type": "Hashtag",
            "href": "https://ministerie.example/tags/begroting",
            "name": "#Begroting",
        },
        {"type": "Emoji", "name": ":blob:", "icon": {"url": "https://x.example/e.png"}},
    ],
}


def test_a_mastodon_note():
    note = parse_object(MASTODON_NOTE)
    assert (note.id, note.type, note.attributed_to) == (f"{BOB}/statuses/1", "Note", BOB)
    assert note.summary == "Over de begroting" and note.sensitive
    assert note.url == "https://ministerie.example/@bob/1"
    assert note.in_reply_to == "https://gemeente-x.example/posts/alice"
    assert note.published == datetime(2025, 3, 4, 12, 30, 45, tzinfo=UTC)
    assert note.to == (PUBLIC,) and note.cc == (f"{BOB}/followers", ALICE)
    assert note.hashtags == ("Begroting",)
    assert note.mentions == (Link(ALICE, "@alice@gemeente-x.example"),)
    assert note.attachments == (
        Attachment(
            "https://files.ministerie.example/a.png",
            "image/png",
            kind="image",
            name="Een grafiek",
            width=640,
            height=480,
            blurhash="UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
        ),
    )
    assert note.attachments[0].kind == "image"
    assert note.emoji == (Emoji("blob", "https://x.example/e.png"),)
    assert "<span" in note.content  # as it came: the caller sanitises


def test_an_article_with_a_title_and_a_language_map_only():
    doc = {
        "id": f"{BOB}/articles/2",
        "type": "Article",
        "attributedTo": BOB,
        "name": "Handreiking",
        "contentMap": {"nl": "<p>Tekst</p>"},
        "updated": "2025-03-05T08:00:00+01:00",
    }
    article = parse_object(doc)
    assert (article.type, article.name, article.content) == (
        "Article",
        "Handreiking",
        "<p>Tekst</p>",
    )
    assert article.updated == datetime(2025, 3, 5, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize("kind", ["Question", "Page", ["Note", "ex:Extra"]])
def test_question_page_and_type_lists_are_posts(kind):
    assert parse_object({"id": f"{BOB}/q/1", "type": kind, "attributedTo": BOB}).id


def test_attributed_to_shapes():
    peertube = [{"type": "Group", "id": "https://v.example/c/x"}, {"type": "Person", "id": BOB}]
    for value in (BOB, {"id": BOB, "type": "Person"}, [BOB], peertube):
        assert (
            parse_object({"id": f"{BOB}/1", "type": "Note", "attributedTo": value}).attributed_to
            == BOB
        )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"id": None}, "no valid id"),
        ({"id": "javascript:alert(1)"}, "no valid id"),
        ({"id": "https://x.example/" + "a" * 3000}, "no valid id"),
        ({"type": "Person"}, "not a post"),
        ({"type": None}, "not a post"),
        ({"attributedTo": None}, "attributedTo"),
        ({"attributedTo": ["not a url", {"id": 5}]}, "attributedTo"),
    ],
)
def test_unusable_objects_are_refused_with_a_reason(changes, reason):
    doc = {**copy.deepcopy(MASTODON_NOTE), **changes}
    with pytest.raises(VocabularyError, match=reason):
        parse_object(doc)
    with pytest.raises(VocabularyError):
        parse_object(["not", "an", "object"])


def test_hostile_members_are_bounded_or_ignored():
    doc = {
        "id": f"{BOB}/1",
        "type": "Note",
        "attributedTo": BOB,
        "content": "<script>alert(1)</script>" + "x" * 500_000,
        "name": {"not": "text"},
        "summary": "s" * 5000,
        "url": "javascript:alert(1)",
        "inReplyTo": 42,
        "published": "yesterday",
        "to": [PUBLIC] * 5
        + [{"id": ALICE}, 7, None]
        + [f"https://x.example/{n}" for n in range(5000)],
        "cc": "as:Public",
        "tag": [{"type": "Hashtag", "name": "#" + "t" * 500}]
        + [{"type": "Mention", "href": f"https://x.example/{n}"} for n in range(1000)],
        "attachment": [
            {
                "type": "Image",
                "mediaType": "image/png",
                "url": "https://f.example/a.png",
                "width": 1e308 * 10,
                "height": -5,
            },
            {"type": "Image", "url": "https://f.example/no-type.png"},
            {"type": "Image", "mediaType": "image/png", "url": "ftp://f.example/a.png"},
            {
                "type": "Image",
                "mediaType": "image/png",
                "url": "https://f.example/b.png",
                "width": True,
            },
        ]
        * 50,
        "sensitive": "yes",
    }
    note = parse_object(doc)
    assert len(note.content) == 200_000 and note.content.startswith("<script>")
    assert note.name == "" and len(note.summary) == 1000
    assert note.url is None and note.in_reply_to is None and note.published is None
    assert note.to[:2] == (PUBLIC, ALICE) and len(note.to) <= 1000
    assert note.cc == ("as:Public",)
    assert note.hashtags == () and len(note.mentions) == 99  # the tag list is cut at 100
    assert len(note.attachments) <= 20
    assert {(a.width, a.height) for a in note.attachments} == {(0, 0)}
    assert not note.sensitive


@pytest.mark.parametrize(
    ("to", "cc", "audience"),
    [
        ([PUBLIC], [f"{BOB}/followers"], Audience.PUBLIC),
        ([f"{BOB}/followers"], ["Public"], Audience.PUBLIC),  # unlisted is public here
        (["as:Public"], [], Audience.PUBLIC),
        ([f"{BOB}/followers"], [ALICE], Audience.FOLLOWERS),
        ([ALICE], [f"{BOB}/followers"], Audience.FOLLOWERS),
        ([ALICE], [], Audience.DIRECT),
        ([f"{BOB}/other-collection"], [], Audience.DIRECT),
    ],
)
def test_audience_as_mastodon_reads_it(to, cc, audience):
    note = parse_object({"id": f"{BOB}/1", "type": "Note", "attributedTo": BOB, "to": to, "cc": cc})
    assert audience_of(note, f"{BOB}/followers") == audience


def test_without_a_known_followers_collection_nothing_is_followers_only():
    note = parse_object(
        {"id": f"{BOB}/1", "type": "Note", "attributedTo": BOB, "to": [f"{BOB}/followers"]}
    )
    assert audience_of(note, None) == Audience.DIRECT
