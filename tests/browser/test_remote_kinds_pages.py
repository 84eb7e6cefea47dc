"""Remote polls, events, videos, sensitive posts and quotes (issue 18) in a real Chromium,
each page checked with axe-core (WCAG 2.1 A and AA) at desktop and phone width, with the
content warning opened by the keyboard (a <details>, no script).

The posts are written into the served instance's database as ``services.remote_posts``
stores them (the inbox path itself is tested in tests/test_remote_kinds.py): the browser
only reads them."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, first_administrator, insert_remote_person

pytestmark = pytest.mark.browser

CAROL = "https://remote.example/users/carol"
NOW = "2026-01-05 10:00:00+00:00"


def _remote_posts(server: Server) -> dict[str, int]:
    """A remote person and five posts of theirs that mention Alice; their ids by name."""
    with closing(sqlite3.connect(server.log.parent / "data" / "db.sqlite3")) as db, db:
        carol = insert_remote_person(db, CAROL, "Carol Elders", NOW)
        alice = db.execute("SELECT id FROM actor WHERE username = 'alice'").fetchone()[0]
        posts = {
            "poll": {
                "object_type": "Question",
                "content_html": "<p>Welke dag past?</p>",
                "poll_ends_at": "2030-01-01 12:00:00+00:00",
            },
            "event": {
                "object_type": "Event",
                "title": "Inloopavond",
                "content_html": "<p>Kom langs</p>",
                "event_starts_at": "2026-05-14 17:00:00+00:00",
                "event_ends_at": "2026-05-14 19:30:00+00:00",
                "event_place": "Stadhuis",
                "event_address": "Markt 1, Utrecht",
                "url": "https://remote.example/events/1",
            },
            "video": {
                "object_type": "Video",
                "title": "Raadsvergadering",
                "content_html": "<p>De opname</p>",
                "url": "https://remote.example/w/1",
                "language": "nl",
            },
            "sensitive": {"content_html": "<p>Achter een waarschuwing</p>", "sensitive": 1},
            "quote": {
                "content_html": "<p>Lees dit</p>",
                "quote_uri": "https://remote.example/users/carol/statuses/poll",
            },
        }
        ids = {}
        for name, columns in posts.items():
            values = {
                "uri": f"{CAROL}/statuses/{name}",
                "author_id": carol,
                "kind": "note",
                "title": "",
                "source": "",
                "visibility": "public",
                "created_at": NOW,
                "like_count": 0,
                "reply_count": 0,
                **columns,
            }
            names = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            insert = f"INSERT INTO post ({names}) VALUES ({marks})"  # noqa: S608 (our names)
            cursor = db.execute(insert, list(values.values()))
            ids[name] = cursor.lastrowid
            db.execute("INSERT INTO mention (post_id, actor_id) VALUES (?, ?)", (ids[name], alice))
        for position, (answer, votes) in enumerate((("Dinsdag", 3), ("Donderdag", 1))):
            db.execute(
                "INSERT INTO poll_option (post_id, position, name, votes) VALUES (?, ?, ?, ?)",
                (ids["poll"], position, answer, votes),
            )
    return ids


def test_remote_kinds_pages(new_context, a11y, server) -> None:
    alice = new_context().new_page()
    first_administrator(alice, server)
    ids = _remote_posts(server)

    alice.goto("/")
    poll = alice.get_by_role("group", name="Poll")
    expect(poll.get_by_role("listitem")).to_have_text(
        ["Dinsdag: 3 votes (75%)", "Donderdag: 1 vote (25%)"]
    )
    expect(alice.locator("dl.event time").first).to_have_attribute(
        "datetime", "2026-05-14T17:00:00+00:00"
    )
    expect(alice.get_by_role("link", name="Watch the video at its origin")).to_be_visible()
    quoted = alice.locator("blockquote.quoted-post")
    expect(quoted).to_contain_text("Welke dag past?")
    hidden = alice.get_by_text("Achter een waarschuwing")
    expect(hidden).to_be_hidden()
    a11y.check(alice, "home with remote kinds", phone=True)

    alice.goto(f"/posts/{ids['sensitive']}")
    warning = alice.locator(".post-focus summary")
    expect(warning).to_have_text("Sensitive content")
    warning.focus()
    alice.keyboard.press("Enter")
    expect(alice.get_by_text("Achter een waarschuwing")).to_be_visible()
    a11y.check(alice, "a sensitive post, opened", phone=True)
    for name in ("poll", "event", "video", "quote"):
        alice.goto(f"/posts/{ids[name]}")
        expect(alice.get_by_role("main")).to_be_visible()
        a11y.check(alice, f"a remote {name}", phone=True)
