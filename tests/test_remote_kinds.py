"""What other servers send besides a note, as a reader here sees it (issue 18): videos,
pages, images and documents with their title and link, events with their time and place,
polls with their answers and counts, content warnings with or without a summary, quoted
posts, and the reader's language of a post written in several.

Signed activities go through the app to a real HTTP test server (``tests/test_inbox.py``)
and the processor, as in ``tests/test_inbox_content.py``; each test reads the page a person
here is shown. The examples are those of the Fediverse Pasture catalogue
(``fediverse-pasture-inputs`` 0.3.0: content_warnings, object_type, quotes, language) and
documents as PeerTube, Mobilizon and Mastodon write them.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from fediverse_intranet.models import (
    Account,
    Mute,
    MuteKind,
    PollOption,
    Post,
    PostRevision,
    PostVariant,
    Visibility,
    WorkState,
)
from fediverse_intranet.services import posts
from tests import test_inbox as peer
from tests.test_inbox import ALICE, RemoteServer
from tests.test_inbox_content import activity, note, run_again, send

settings, remote, alice, bob = peer.settings, peer.remote, peer.alice, peer.bob


async def page_of(browser, reader: Account, uri: str, locale: str = "en") -> str:
    """The thread page of the post stored as ``uri``, as ``reader`` sees it in ``locale``."""
    await Account.filter(id=reader.id).update(locale=locale)
    post = await Post.get(uri=uri)
    person = await browser(await Account.get(id=reader.id).prefetch_related("actor"))
    response = await person.get(f"/posts/{post.id}")
    assert response.status_code == 200
    return response.text


def card(page: str) -> str:
    """The focused post's card, unescaped where that helps reading."""
    start = page.index('class="post post-focus"')
    return page[start : page.index("</article>", start)]


def visible_text(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)))


def outside_warning(fragment: str) -> str:
    """What shows without opening a content warning."""
    return re.sub(r"<details.*?</details>", "", fragment, flags=re.S)


async def create(client, person, body: dict[str, Any]) -> None:
    item = await send(client, person, activity("Create", person, body))
    assert (item.state, item.error) == (WorkState.DONE, "")


# --- Object types ----------------------------------------------------------------------------


async def test_a_peertube_video_shows_its_title_and_its_page_not_the_file(
    client, browser, alice, remote: RemoteServer
):
    carol = remote.add("carol")
    body = note(
        carol,
        type="Video",
        name="Raadsvergadering 12 mei",
        content="<p>De opname van de vergadering.</p>",
        cc=[ALICE],
        url=[
            {"type": "Link", "mediaType": "video/mp4", "href": "https://v.example/f/720.mp4"},
            {"type": "Link", "mediaType": "text/html", "href": "https://v.example/w/abc"},
            {"type": "Link", "mediaType": "application/x-mpegURL", "href": "https://v.example/m"},
        ],
    )
    await create(client, carol, body)
    shown = card(await page_of(browser, alice, body["id"]))
    assert "Raadsvergadering 12 mei" in visible_text(shown)
    assert "De opname van de vergadering." in visible_text(shown)
    assert 'href="https://v.example/w/abc"' in shown and "Watch the video at its origin" in shown
    assert "720.mp4" not in shown


@pytest.mark.parametrize(
    ("kind", "link"),
    [
        ("Page", "Read it at its origin"),
        ("Image", "View the image at its origin"),
        ("Audio", "Listen at its origin"),
        ("Document", "Open the document at its origin"),
        ("Article", "Read it at its origin"),
    ],
)
async def test_the_catalogues_object_types_show_name_warning_and_content(
    client, browser, alice, remote: RemoteServer, kind: str, link: str
):
    """object_type.py: ``name``, ``summary`` and ``content`` of each type Mastodon shows."""
    carol = remote.add("carol")
    body = note(carol, type=kind, name="name", summary="summary", content="content", cc=[ALICE])
    body["url"] = "https://remote.example/@carol/page"
    await create(client, carol, body)
    shown = card(await page_of(browser, alice, body["id"]))
    assert '<h2 class="post-title"' in shown and ">name</a></h2>" in shown
    assert "Content warning: summary" in visible_text(shown)
    assert "content" not in visible_text(outside_warning(shown))  # behind the warning
    assert link in shown and 'href="https://remote.example/@carol/page"' in shown


async def test_a_mobilizon_event_shows_its_time_and_place_in_the_readers_language(
    client, browser, alice, remote: RemoteServer
):
    carol = remote.add("carol")
    body = note(
        carol,
        type="Event",
        name="Inloopavond omgevingswet",
        content="<p>Kom langs met uw vragen.</p>",
        cc=[ALICE],
        startTime="2026-05-14T17:00:00Z",
        endTime="2026-05-14T19:30:00Z",
        location={
            "type": "Place",
            "name": "Stadhuis",
            "address": {
                "type": "PostalAddress",
                "streetAddress": "Markt 1",
                "postalCode": "1234 AB",
                "addressLocality": "Utrecht",
            },
        },
    )
    await create(client, carol, body)
    dutch = card(await page_of(browser, alice, body["id"], "nl"))
    assert '<time datetime="2026-05-14T17:00:00+00:00">donderdag 14 mei 2026 19:00</time>' in dutch
    assert '<time datetime="2026-05-14T19:30:00+00:00">donderdag 14 mei 2026 21:30</time>' in dutch
    assert "Stadhuis, Markt 1, 1234 AB, Utrecht" in visible_text(dutch)
    assert "Wanneer" in dutch and "Waar" in dutch
    english = card(await page_of(browser, alice, body["id"], "en"))
    assert "May 14, 2026" in english and "Where" in english


def question(person, n: int = 1, counts: tuple[int, ...] = (3, 1), **changes: Any) -> dict:
    return note(
        person,
        n,
        type="Question",
        content="<p>Welke dag past?</p>",
        cc=[ALICE],
        endTime="2030-01-01T12:00:00Z",
        oneOf=[
            {"type": "Note", "name": name, "replies": {"type": "Collection", "totalItems": c}}
            for name, c in zip(("Dinsdag", "Donderdag"), counts, strict=True)
        ],
        **changes,
    )


async def test_a_question_is_a_poll_with_its_answers_and_counts(
    client, browser, alice, remote: RemoteServer
):
    carol = remote.add("carol")
    body = question(carol)
    await create(client, carol, body)
    shown = card(await page_of(browser, alice, body["id"]))
    start = shown.index('<div class="poll" role="group" aria-label="Poll">')
    poll = shown[start : shown.index("</div>", shown.index('class="poll-state"'))]
    answers = re.findall(r"<li>(.*?)</li>", poll, flags=re.S)
    assert [visible_text(a).strip() for a in answers] == [
        "Dinsdag : 3 votes (75%)",
        "Donderdag : 1 vote (25%)",
    ]
    assert "one answer may be chosen" in poll and "4 votes in all" in poll
    assert '<time datetime="2030-01-01T12:00:00+00:00">' in poll and "Closes" in poll
    assert "<form" not in poll  # read only: votes are cast at its origin
    dutch = card(await page_of(browser, alice, body["id"], "nl"))
    assert "3 stemmen" in dutch and "1 stem " in dutch


async def test_an_update_of_a_question_updates_its_counts_without_a_revision(
    client, browser, alice, remote: RemoteServer
):
    carol = remote.add("carol")
    await create(client, carol, question(carol, updated="2025-03-04T12:30:45Z"))
    # Mastodon sends the Question again with new counts and the same ``updated``.
    again = question(carol, counts=(3, 6), updated="2025-03-04T12:30:45Z")
    item = await send(client, carol, activity("Update", carol, again))
    assert (item.state, item.error) == (WorkState.DONE, "")
    shown = card(await page_of(browser, alice, again["id"]))
    assert "6 votes (67%)" in visible_text(shown)
    assert await PollOption.filter(post__uri=again["id"]).count() == 2
    assert "edited" not in visible_text(shown)
    closed = question(carol, counts=(3, 7), closed="2025-03-05T10:00:00Z")
    closed.pop("endTime")
    await send(client, carol, activity("Update", carol, closed))
    shown = card(await page_of(browser, alice, closed["id"]))
    assert "7 votes (70%)" in visible_text(shown) and "Closed" in shown
    assert "Vote at its origin" not in shown
    await run_again()  # at least once: the same counts again change nothing
    assert await PollOption.filter(post__uri=closed["id"]).count() == 2
    assert await PostRevision.filter(post__uri=closed["id"]).count() == 0


async def test_a_multiple_choice_question_counts_its_voters(
    client, browser, alice, remote: RemoteServer
):
    carol = remote.add("carol")
    body = question(carol, votersCount=5)
    body["anyOf"] = body.pop("oneOf")
    await create(client, carol, body)
    shown = card(await page_of(browser, alice, body["id"]))
    assert "more than one answer may be chosen" in shown and "5 people voted" in shown
    assert "3 votes (60%)" in visible_text(shown)


async def test_hostile_polls_events_and_languages_are_cut_to_their_bounds(
    client, browser, alice, remote: RemoteServer
):
    carol = remote.add("carol")
    body = question(carol)
    body["oneOf"] = [
        {"name": "x" * 10_000, "replies": {"totalItems": 10**30}},
        *({"name": f"o{n}", "replies": {"totalItems": -5}} for n in range(1_000)),
        {"name": 7},
        "not an object",
    ]
    body["contentMap"] = {f"x{chr(97 + n // 26)}{chr(97 + n % 26)}": "y" * 2_000 for n in range(60)}
    body["contentMap"] |= {"<script>": "z", "en": "English"}
    await create(client, carol, body)
    post = await Post.get(uri=body["id"])
    options = await PollOption.filter(post=post).order_by("position")
    assert len(options) == 20 and len(options[0].name) == 200
    assert {o.votes for o in options} == {0}
    variants = await PostVariant.filter(post=post)
    # Four languages at most, the first sixteen entries looked at; not "<script>"
    assert [v.language for v in variants] == ["xaa", "xab", "xac", "xad"]
    event = note(
        carol,
        2,
        type="Event",
        cc=[ALICE],
        startTime="not a time",
        location=[{"name": "p" * 5_000, "address": {"streetAddress": ["a"]}}],
    )
    await create(client, carol, event)
    stored = await Post.get(uri=event["id"])
    assert stored.event_starts_at is None and len(stored.event_place) == 300
    shown = await page_of(browser, alice, event["id"])
    assert "p" * 300 in shown


# --- Content warnings ------------------------------------------------------------------------

# content_warnings.py, each with the label the reader is shown on the closed warning.
WARNINGS = [
    ({"content": "text", "sensitive": True}, "Sensitive content"),
    ({"content": "text", "summary": "summary"}, "Content warning: summary"),
    ({"content": "text", "summary": "summary", "sensitive": True}, "Content warning: summary"),
    (
        {
            "content": "see image",
            "attachment": {
                "type": "Image",
                "sensitive": True,
                "url": "http://pasture-one-actor/images/w001.png",
            },
        },
        "Sensitive content",
    ),
    (
        {
            "content": "see image",
            "sensitive": True,
            "attachment": {"type": "Image", "sensitive": True, "url": "http://p.example/w2.png"},
        },
        "Sensitive content",
    ),
    (
        {
            "content": "see image",
            "attachment": {
                "content": "content",
                "type": "Image",
                "sensitive": True,
                "url": "http://p.example/w3.png",
            },
        },
        "Sensitive content",
    ),
    (
        {
            "content": "see image",
            "attachment": {
                "type": "Image",
                "summary": "summary",
                "sensitive": True,
                "url": "http://p.example/w4.png",
            },
        },
        "Sensitive content",
    ),
]


async def test_every_content_warning_of_the_catalogue_hides_text_and_media(
    client, browser, alice, remote: RemoteServer
):
    carol = remote.add("carol")
    for n, (example, label) in enumerate(WARNINGS, start=1):
        body = note(carol, n, cc=[ALICE], **example)
        body["content"] = f"<p>{example['content']} {n}</p>"
        await create(client, carol, body)
        shown = card(await page_of(browser, alice, body["id"]))
        warning = re.search(
            r"<details class=\"content-warning\">\s*<summary>(.*?)</summary>", shown
        )
        assert warning is not None, example
        assert visible_text(warning.group(1)).strip() == label
        assert f"{example['content']} {n}" not in visible_text(outside_warning(shown))
        assert f"{example['content']} {n}" in visible_text(shown)  # once it is opened
        assert ".png" not in outside_warning(shown)
    dutch = card(await page_of(browser, alice, f"{carol.uri}/statuses/1", "nl"))
    assert "Gevoelige inhoud" in dutch


# --- Quotes ----------------------------------------------------------------------------------

QUOTE_FORMS = [
    {"quote": "{quoted}"},
    {"quoteUri": "{quoted}"},
    {"quoteUrl": "{quoted}"},
    {"_misskey_quote": "{quoted}"},
    {
        "tag": [
            {
                "type": "Link",
                "mediaType": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
                "rel": "https://misskey-hub.net/ns#_misskey_quote",
                "href": "{quoted}",
            }
        ]
    },
    {"tag": [{"type": "Link", "mediaType": "application/activity+json", "href": "{quoted}"}]},
    # The catalogue's lists (quotes.py): the first is the quoted post.
    *({name: ["{quoted}", "{other}"]} for name in ("quote", "quoteUri", "quoteUrl")),
    {"_misskey_quote": ["{quoted}", "{other}"]},
]


def quoting(form: dict[str, Any], quoted: str) -> dict[str, Any]:
    def one(value: Any) -> Any:
        if isinstance(value, list):
            return [quoted if v == "{quoted}" else "https://elsewhere.example/2" for v in value]
        return quoted

    return {
        name: ([{**tag, "href": quoted} for tag in value] if name == "tag" else one(value))
        for name, value in form.items()
    }


@pytest.mark.parametrize("form", QUOTE_FORMS, ids=lambda f: next(iter(f)))
async def test_a_quote_of_a_post_we_have_shows_it_as_a_quoted_card(
    client, browser, alice, remote: RemoteServer, form: dict[str, Any]
):
    carol = remote.add("carol")
    original = note(carol, 1, cc=[ALICE], content="<p>Het oorspronkelijke bericht</p>")
    await create(client, carol, original)
    body = note(carol, 2, cc=[ALICE], content="<p>Lees dit</p>", **quoting(form, original["id"]))
    await create(client, carol, body)
    shown = card(await page_of(browser, alice, body["id"]))
    quote = shown[shown.index('<blockquote class="quoted-post"') : shown.index("</blockquote>")]
    assert "Het oorspronkelijke bericht" in quote and "Quoting" in quote
    first = await Post.get(uri=original["id"])
    assert f'href="/posts/{first.id}"' in quote


async def test_a_quote_of_a_post_we_lack_or_may_not_see_is_a_link(
    client, browser, alice, bob, remote: RemoteServer
):
    carol = remote.add("carol")
    elsewhere = "https://remote.example/notes/unknown"
    body = note(carol, 1, cc=[ALICE], _misskey_quote=elsewhere)
    await create(client, carol, body)
    shown = card(await page_of(browser, alice, body["id"]))
    assert "quoted-post" not in shown
    assert f'<a href="{elsewhere}" rel="noopener noreferrer">Quoting a post elsewhere</a>' in shown
    # A direct post to Bob is here, but Alice may not see it: she gets the link only.
    secret = await posts.create_post(
        bob.actor, posts.Draft("Alleen voor Bob", visibility=Visibility.DIRECT)
    )
    quoted = note(carol, 2, cc=[ALICE], quote=secret.uri)
    await create(client, carol, quoted)
    shown = card(await page_of(browser, alice, quoted["id"]))
    assert "Alleen voor Bob" not in shown and "quoted-post" not in shown
    assert f'href="{secret.uri}"' in shown


# --- Languages -------------------------------------------------------------------------------

# language.py, and what an English and a Dutch reader are shown.
LANGUAGES = [
    ({"content": "text", "contentMap": {"de": "Deutsch"}}, "text", "text"),
    ({"content": "text", "contentMap": {"en": "English"}}, "English", "text"),
    ({"content": "text", "contentMap": {"en": "English", "de": "Deutsch"}}, "English", "text"),
    ({"contentMap": {"de": "Deutsch"}}, "Deutsch", "Deutsch"),
    ({"contentMap": {"de": "Deutsch", "en": "English"}}, "English", "Deutsch"),
    (
        {"content": "English", "contentMap": {"en": "English", "nl-NL": "Nederlands"}},
        "English",
        "Nederlands",
    ),
    (
        {
            "contentMap": {"nl": "<p>Tekst<script>x()</script></p>", "en": "<p>Text</p>"},
            "nameMap": {"nl": "Titel", "en": "Title"},
            "summaryMap": {"nl": "Let op", "en": "Careful"},
            "type": "Article",
        },
        "Careful Title Text",
        "Let op Titel Tekst",
    ),
]


async def test_the_readers_language_is_shown_first_else_the_posts_own(
    client, browser, alice, remote: RemoteServer
):
    carol = remote.add("carol")
    for n, (example, english, dutch) in enumerate(LANGUAGES, start=1):
        body = note(carol, n, cc=[ALICE])
        del body["content"]
        body.update(example)
        await create(client, carol, body)
        for locale, expected in (("en", english), ("nl", dutch)):
            shown = card(await page_of(browser, alice, body["id"], locale))
            body_text = shown[shown.index('<p class="post-by"') :]
            body_text = body_text[body_text.index("</header>") : body_text.index("<footer")]
            body_text = body_text.split('<p class="object-link">')[0]
            words = visible_text(body_text).replace("Content warning:", "")
            words = words.replace("Inhoudswaarschuwing:", "").split()
            assert " ".join(words) == expected, (example, locale)
            assert "<script" not in shown
    shown = card(await page_of(browser, alice, f"{carol.uri}/statuses/6", "nl"))
    assert '<div class="post-content" lang="nl-NL">' in shown


async def test_a_muted_word_in_another_language_of_a_post_hides_it(
    client, browser, alice, remote: RemoteServer
):
    """A Dutch reader would be shown the Dutch text: a word muted there hides the post."""
    carol = remote.add("carol")
    await Mute.create(owner=alice.actor, kind=MuteKind.WORD, value="begroting")
    body = note(carol, cc=[ALICE], content="<p>About the budget</p>")
    body["contentMap"] = {"en": "<p>About the budget</p>", "nl": "<p>Over de begroting</p>"}
    kept = note(carol, 2, cc=[ALICE], content="<p>Something else</p>")
    await create(client, carol, body)
    await create(client, carol, kept)
    await Account.filter(id=alice.id).update(locale="nl")
    person = await browser(await Account.get(id=alice.id).prefetch_related("actor"))
    home = (await person.get("/")).text
    assert "Something else" in home and "begroting" not in home and "budget" not in home


async def test_an_object_of_several_types_is_read_as_the_post_it_is(
    client, browser, alice, remote: RemoteServer
):
    """object_type.py sends ``["Note", "Article"]`` embedded: read, not fetched."""
    carol = remote.add("carol")
    body = note(carol, cc=[ALICE], type=["Note", "Article"], name="name", content="content")
    await create(client, carol, body)  # nothing is served at the post's id
    shown = card(await page_of(browser, alice, body["id"]))
    assert "content" in visible_text(shown)
    assert not any(r.path == "/users/carol/statuses/1" for r in remote.requests)


# --- Documents as the servers write them -----------------------------------------------------

FIXTURES = Path(__file__).parent / "activitypub" / "fixtures"


def written_by(person, name: str, **more: str) -> dict[str, Any]:
    """A document of ``fixtures/`` (written as that server writes it) as ``person`` sent it."""
    origin = person.uri.removesuffix("/users/carol")
    text = (FIXTURES / name).read_text()
    for key, value in {"actor": person.uri, "origin": origin, "alice": ALICE, **more}.items():
        text = text.replace("{" + key + "}", value)
    return json.loads(text)


async def test_documents_as_mastodon_misskey_peertube_mobilizon_and_gotosocial_write_them(
    client, browser, alice, remote: RemoteServer
):
    carol = remote.add("carol")
    poll = written_by(carol, "post_mastodon_poll.json")
    await create(client, carol, poll)
    shown = visible_text(card(await page_of(browser, alice, poll["id"], "nl")))
    assert "Welke vergaderdag past het best?" in shown
    assert "Dinsdag : 4 stemmen (57%)" in shown and "Woensdag : 0 stemmen (0%)" in shown
    assert "7 stemmen in totaal" in shown and "Stemmen op de oorspronkelijke server" in shown

    quoted = written_by(carol, "post_mastodon_poll.json")["id"]  # Misskey quotes the poll
    misskey = written_by(carol, "post_misskey_quote_cw.json", quoted=quoted)
    await create(client, carol, misskey)
    page = card(await page_of(browser, alice, misskey["id"]))
    assert '<summary><span class="cw-label">Content warning:</span> Spoiler: de uitslag' in page
    assert "De uitslag staat hieronder" not in visible_text(outside_warning(page))
    assert "Welke vergaderdag" in page[page.index('<blockquote class="quoted-post"') :]

    video = written_by(carol, "post_peertube_video.json")
    await create(client, carol, video)
    page = card(await page_of(browser, alice, video["id"]))
    assert ">Raadsvergadering 12 mei</a></h2>" in page and 'lang="nl"' in page
    assert f'href="{video["url"][0]["href"]}"' in page and "6f1c-720.mp4" not in page

    event = written_by(carol, "post_mobilizon_event.json")
    await create(client, carol, event)
    page = card(await page_of(browser, alice, event["id"], "nl"))
    assert '<time datetime="2026-05-14T17:00:00+00:00">donderdag 14 mei 2026 19:00</time>' in page
    assert "Stadhuis, Markt 1, 1234 AB, Utrecht, Utrecht, Nederland" in visible_text(page)
    assert "Het evenement op de oorspronkelijke server" in page

    gotosocial = written_by(carol, "post_gotosocial_sensitive.json")
    await create(client, carol, gotosocial)
    page = card(await page_of(browser, alice, gotosocial["id"], "nl"))
    assert "<summary>Gevoelige inhoud</summary>" in page
    assert "verbouwing" not in visible_text(outside_warning(page))
    assert "verbouwing" in visible_text(page)


async def test_a_deleted_poll_or_translated_post_leaves_no_text_behind(
    client, browser, alice, remote: RemoteServer
):
    carol = remote.add("carol")
    body = question(carol)
    body["contentMap"] = {"nl": "<p>Welke dag past?</p>", "en": "<p>Which day suits?</p>"}
    body["quote"] = f"{carol.uri}/statuses/9"
    await create(client, carol, body)
    post = await Post.get(uri=body["id"])
    assert await PostVariant.filter(post=post).count() == 1  # English; Dutch is its own
    await send(client, carol, activity("Delete", carol, body["id"]))
    assert await PostVariant.filter(post=post).count() == 0
    assert await PollOption.filter(post=post).count() == 0
    assert (await Post.get(id=post.id)).quote_uri == ""
