"""Notifications made by the real services (posts, likes, follows) and shown to the person."""

from __future__ import annotations

import re

import pytest
from conftest import make_account

from fediverse_intranet.errors import InvalidInput
from fediverse_intranet.models import Notification, NotificationKind
from fediverse_intranet.services import notifications, posts, social


def badge(html: str) -> str | None:
    """The unread count in the header, as a person sees it, or None when there is none."""
    match = re.search(r'<span class="badge">(\d+)<span class="visually-hidden"> unread', html)
    return match.group(1) if match else None


def entries(html: str) -> list[str]:
    """The notifications on the page, newest first, as a screen reader says them."""
    found = re.findall(r'<li class="notification[^"]*">(.*?)</li>', html, re.S)
    spoken = [re.sub(r'<span [^>]*aria-hidden="true"[^>]*>.*?</span>', "", i) for i in found]
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in spoken]


def items(html: str) -> list[str]:
    return re.findall(r'<li class="notification[^"]*">.*?</li>', html, re.S)


async def test_mention_reply_like_and_follow_are_shown(browser, alice, bob):
    mention = await posts.create_post(alice.actor, posts.Draft("hi @bob, see the budget"))
    own = await posts.create_post(bob.actor, posts.Draft("Budget draft is ready"))
    reply = await posts.create_post(alice.actor, posts.Draft("Thanks!"), in_reply_to=own.id)
    await posts.set_like(own.id, alice.actor, True)
    await social.follow(alice.actor, bob.actor)

    stored = await Notification.filter(recipient=bob.actor).order_by("id")
    assert [(n.kind, n.actor_id, n.post_id) for n in stored] == [
        (NotificationKind.MENTION, alice.actor.id, mention.id),
        (NotificationKind.REPLY, alice.actor.id, reply.id),
        (NotificationKind.LIKE, alice.actor.id, own.id),
        (NotificationKind.FOLLOW, alice.actor.id, None),
    ]

    person = await browser(bob)
    page = await person.get("/notifications")
    assert page.status_code == 200
    assert page.text.count("<h1") == 1
    assert "style=" not in page.text
    shown = entries(page.text)
    assert len(shown) == 4
    # Newest first, each saying who did what, unread ones marked in words.
    assert shown[0].startswith("New Alice Admin follows you")
    assert shown[1].startswith("New Alice Admin appreciated your post")
    assert shown[2].startswith("New Alice Admin replied to your post")
    assert shown[3].startswith("New Alice Admin mentioned you")
    html = items(page.text)
    assert '<a href="/@alice">Alice Admin follows you</a>' in html[0]
    assert f'<a href="/posts/{own.id}">Alice Admin appreciated your post</a>' in html[1]
    assert f'<a href="/posts/{reply.id}">Alice Admin replied to your post</a>' in html[2]
    assert f'<a href="/posts/{mention.id}">Alice Admin mentioned you</a>' in html[3]
    assert "Budget draft is ready" in shown[1]
    assert "hi @bob, see the budget" in shown[3]
    assert all('class="unread-label"' in item for item in html)
    assert all("is-unread" in item for item in html)


async def test_a_reply_that_mentions_is_one_notification(browser, alice, bob):
    own = await posts.create_post(bob.actor, posts.Draft("Question about permits"))
    await posts.create_post(alice.actor, posts.Draft("@bob see the wiki"), in_reply_to=own.id)
    kinds = [n.kind for n in await Notification.filter(recipient=bob.actor)]
    assert kinds == [NotificationKind.REPLY]


async def test_nobody_is_notified_of_their_own_actions(browser, alice, bob):
    own = await posts.create_post(bob.actor, posts.Draft("Note to self @bob"))
    await posts.create_post(bob.actor, posts.Draft("Adding to that @bob"), in_reply_to=own.id)
    await posts.set_like(own.id, bob.actor, True)
    with pytest.raises(InvalidInput):
        await social.follow(bob.actor, bob.actor)
    assert await Notification.all().count() == 0
    person = await browser(bob)
    page = await person.get("/notifications")
    assert badge(page.text) is None
    assert entries(page.text) == []
    assert "No notifications yet." in page.text
    assert "Mark all as read" not in page.text


async def test_unread_badge_counts_and_mark_all_read_clears_it(browser, alice, bob):
    carol = await make_account("carol", display_name="Carol Clerk")
    await posts.create_post(alice.actor, posts.Draft("@bob one"))
    await posts.create_post(carol.actor, posts.Draft("@bob two"))
    await social.follow(carol.actor, bob.actor)

    person = await browser(bob)
    page = await person.get("/notifications")
    assert badge(page.text) == "3"
    assert "You have 3 unread notifications." in page.text
    assert badge((await person.get("/admin")).text) == "3"  # in the header of every page
    # Alice's own header knows nothing of bob's notifications.
    assert badge((await (await browser(alice)).get("/notifications")).text) is None

    marked = await person.submit("/notifications/read", _up_to(page.text))
    assert marked.status_code == 303
    assert marked.headers["location"] == "/notifications?read=1"
    after = await person.get(marked.headers["location"])
    assert badge(after.text) is None
    assert "All notifications are marked as read." in after.text
    assert len(entries(after.text)) == 3  # still listed, no longer marked
    assert "unread-label" not in after.text
    assert "is-unread" not in after.text
    assert await Notification.filter(recipient=bob.actor, read_at=None).count() == 0
    assert await notifications.unread_count(bob.actor) == 0


def _up_to(html: str) -> dict[str, str]:
    match = re.search(r'name="up_to" value="(\d+)"', html)
    return {"up_to": match.group(1)} if match else {}


async def test_mark_all_read_keeps_what_arrived_since(browser, alice, bob):
    await posts.create_post(alice.actor, posts.Draft("@bob first"))
    person = await browser(bob)
    page = await person.get("/notifications")
    assert badge(page.text) == "1"
    later = await posts.create_post(alice.actor, posts.Draft("@bob second, while bob reads"))
    await person.submit("/notifications/read", _up_to(page.text))
    after = await person.get("/notifications")
    assert badge(after.text) == "1"
    unread = await Notification.filter(recipient=bob.actor, read_at=None)
    assert [n.post_id for n in unread] == [later.id]
    assert entries(after.text)[0].startswith("New Alice Admin mentioned you")
    assert not entries(after.text)[1].startswith("New")


async def test_mark_all_read_needs_the_csrf_token(browser, alice, bob):
    await posts.create_post(alice.actor, posts.Draft("@bob hello"))
    person = await browser(bob)
    for sent in ({}, {"csrf_token": "z" * 64}):
        response = await person.post("/notifications/read", data=sent)
        assert response.status_code == 403
        assert "This form has expired" in response.text
    assert await notifications.unread_count(bob.actor) == 1


async def test_notifications_are_private(browser, alice, bob):
    await posts.create_post(alice.actor, posts.Draft("@bob private word"))
    anonymous = await browser()
    response = await anonymous.get("/notifications")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/notifications")
    assert (await anonymous.submit("/notifications/read")).status_code == 401
    alices = await browser(alice)
    assert entries((await alices.get("/notifications")).text) == []
    # Alice marking her own as read leaves bob's alone.
    await alices.submit("/notifications/read")
    assert await notifications.unread_count(bob.actor) == 1


async def test_older_notifications_page_by_page(browser, alice, bob):
    made = [
        await posts.create_post(alice.actor, posts.Draft(f"@bob message number {i}"))
        for i in range(notifications.PAGE_SIZE + 5)
    ]
    person = await browser(bob)
    first = await person.get("/notifications")
    shown = entries(first.text)
    assert len(shown) == notifications.PAGE_SIZE
    assert f"message number {len(made) - 1}" in shown[0]
    match = re.search(r'href="(/notifications\?before=\d+)" rel="next"', first.text)
    assert match and "Older notifications" in first.text
    second = await person.get(match.group(1))
    rest = entries(second.text)
    assert len(rest) == 5
    assert "message number 4" in rest[0] and "message number 0" in rest[-1]
    assert 'rel="next"' not in second.text
    # Only the first page offers "mark all as read" up to the newest one shown.
    assert _up_to(first.text) == {"up_to": str(max(n.id for n in await Notification.all()))}
    assert _up_to(second.text) == {}


@pytest.mark.parametrize(
    "before", ["abc", "-3", "9999999999", "99999999999999999999999", "1e5", "%C2%B2"]
)
async def test_a_bad_cursor_is_a_bad_request(browser, alice, bob, before):
    await posts.create_post(alice.actor, posts.Draft("@bob hello"))
    person = await browser(bob)
    response = await person.get(f"/notifications?before={before}")
    assert response.status_code == 400


async def test_no_older_notifications(browser, alice, bob):
    await posts.create_post(alice.actor, posts.Draft("@bob hello"))
    person = await browser(bob)
    first_id = (await Notification.get()).id
    response = await person.get(f"/notifications?before={first_id}")
    assert "There are no older notifications." in response.text


async def test_deleted_or_unmentioned_post_is_not_shown(browser, alice, bob):
    gone = await posts.create_post(alice.actor, posts.Draft("@bob secret plans"))
    edited = await posts.create_post(
        alice.actor, posts.Draft("@bob only for you", visibility=posts.Visibility.DIRECT)
    )
    await posts.delete_post(gone.id, alice)
    await posts.edit_post(edited.id, alice, "only for me now")
    person = await browser(bob)
    page = await person.get("/notifications")
    shown = entries(page.text)
    assert len(shown) == 2
    assert all("this post is no longer available" in text for text in shown)
    assert "secret plans" not in page.text
    assert "only for me now" not in page.text
    assert f'href="/posts/{gone.id}"' not in page.text
    assert f'href="/posts/{edited.id}"' not in page.text
