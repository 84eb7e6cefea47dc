"""Profiles, the colleagues directory, following, personal settings and uploaded photos,
seen as a person sees them: through the pages, with what ends up stored checked after."""

from __future__ import annotations

import html
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from fediverse_intranet import instance
from fediverse_intranet.errors import InvalidInput
from fediverse_intranet.models import (
    Account,
    Actor,
    Delivery,
    Follow,
    Notification,
    NotificationKind,
    Presence,
)
from fediverse_intranet.services import accounts, federation_policy, posts, profiles, timelines
from fediverse_intranet.services.passwords import verify_password
from tests.conftest import PASSWORD, make_account


def jpeg_with_metadata(size: tuple[int, int] = (600, 400)) -> bytes:
    """A photo as a phone writes it: EXIF with camera and GPS, and a comment."""
    im = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"  # Make
    exif[0x0131] = "SecretSoftware"  # Software
    exif[0x8825] = {1: "N", 2: (52.0, 5.0, 0.0)}  # GPS
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif.tobytes(), comment=b"secret-comment")
    return out.getvalue()


async def actor_of(account: Account) -> Actor:
    return await Actor.get(id=account.actor_id)


def text_of(page: str) -> str:
    """The page as words, tags removed and entities decoded, for simple 'does it say' checks."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def fill_profile(account: Account, **values: str) -> None:
    form = profiles.ProfileForm(**values)
    await profiles.update_profile(await actor_of(account), form)


# --- the profile page ---------------------------------------------------------------------------


async def test_profile_page_shows_fields_and_topics(browser, alice, bob):
    await fill_profile(
        bob,
        display_name="Bob Burger",
        job_title="Privacy officer",
        team="Information management",
        location="Town hall, Utrecht",
        contact="030 123 4567",
        bio="First line <script>x</script>\nsecond line",
        topics="privacy, open_data",
    )
    page = await (await browser(alice)).get("/@bob")
    assert page.status_code == 200
    words = text_of(page.text)
    for expected in (
        "Bob Burger",
        "@bob",
        "Privacy officer",
        "Information management",
        "Town hall, Utrecht",
        "030 123 4567",
    ):
        assert expected in words
    assert page.text.count("<h1") == 1
    # The bio is plain text: escaped, with its line break kept.
    assert "First line &lt;script&gt;x&lt;/script&gt;<br>second line" in page.text
    assert "<script>x" not in page.text
    assert 'href="/experts?topic=privacy"' in page.text
    assert 'href="/experts?topic=open_data"' in page.text
    # Someone else's profile offers to follow, not to edit.
    assert 'action="/@bob/follow"' in page.text
    assert "Edit your profile" not in page.text


async def test_profile_lists_the_persons_posts_page_by_page(browser, alice, bob):
    author = await actor_of(bob)
    for i in range(timelines.PAGE_SIZE + 2):
        await posts.create_post(author, posts.Draft(source=f"Bulletin number {i}."))
    viewer = await browser(alice)
    first = await viewer.get("/@bob")
    assert first.status_code == 200
    assert "Bulletin number 21." in first.text
    assert "Bulletin number 1." not in first.text
    older = re.search(r'href="(/@bob\?before=\d+)"', first.text)
    assert older is not None
    second = await viewer.get(html.unescape(older.group(1)))
    assert "Bulletin number 1." in second.text
    assert "Bulletin number 21." not in second.text
    assert (await viewer.get("/@bob?before=rubbish")).status_code == 400


async def test_own_profile_links_to_settings(browser, bob):
    page = await (await browser(bob)).get("/@bob")
    assert 'href="/settings/profile"' in page.text
    assert "/@bob/follow" not in page.text


async def test_unknown_person_is_404(browser, alice):
    page = await (await browser(alice)).get("/@nobody")
    assert page.status_code == 404
    assert "Nobody with this name is known here." in page.text


# --- editing the profile ------------------------------------------------------------------------


async def test_edit_profile_saves(browser, bob):
    person = await browser(bob)
    response = await person.submit(
        "/settings/profile",
        {
            "display_name": "  Bob   Burger ",
            "job_title": "Policy advisor",
            "team": "Housing",
            "location": "The Hague",
            "contact": "room 4.12",
            "bio": "Line one\r\nLine two",
            "topics": "Housing, #Permits; housing",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/settings/profile?saved=profile"
    actor = await actor_of(bob)
    assert (actor.display_name, actor.job_title, actor.team) == (
        "Bob Burger",
        "Policy advisor",
        "Housing",
    )
    assert (actor.location, actor.contact) == ("The Hague", "room 4.12")
    assert actor.bio == "Line one\nLine two"
    assert await profiles.topics_of(actor) == ["housing", "permits"]
    page = await person.get(response.headers["location"])
    assert "Your profile was saved." in page.text
    assert 'value="housing, permits"' in page.text


async def test_over_long_function_is_refused_and_nothing_saved(browser, bob):
    person = await browser(bob)
    response = await person.submit(
        "/settings/profile",
        {"display_name": "New Name", "job_title": "x" * 101, "topics": "privacy"},
    )
    assert response.status_code == 400
    assert "Use at most 100 characters." in response.text
    assert 'id="error-job_title"' in response.text
    assert 'aria-invalid="true"' in response.text
    # What was typed is still in the form, so nothing has to be typed twice.
    assert 'value="New Name"' in response.text
    actor = await actor_of(bob)
    assert actor.display_name == "Bob Burger"
    assert actor.job_title == ""
    assert await profiles.topics_of(actor) == []


async def test_invalid_topic_is_refused_beside_the_field(browser, bob):
    person = await browser(bob)
    response = await person.submit("/settings/profile", {"job_title": "Advisor", "topics": "a-b"})
    assert response.status_code == 400
    assert 'id="error-topics"' in response.text
    assert "a-b is not a topic" in text_of(response.text)
    assert (await actor_of(bob)).job_title == ""


def test_topic_list_parsing():
    assert profiles.parse_topics("Privacy, open_data;#Archief  privacy,,") == [
        "privacy",
        "open_data",
        "archief",
    ]
    assert profiles.parse_topics("  ") == []
    with pytest.raises(InvalidInput) as refused:
        profiles.parse_topics("privacy, open-data")
    assert refused.value.field == "topics"
    assert refused.value.params["topic"] == "open-data"
    with pytest.raises(InvalidInput) as too_many:
        profiles.parse_topics(", ".join(f"topic{i}" for i in range(profiles.MAX_TOPICS + 1)))
    assert too_many.value.field == "topics"


async def test_completeness_hint_lists_missing_parts_and_shrinks(browser, bob):
    person = await browser(bob)
    page = await person.get("/settings/profile?welcome=1")
    assert page.status_code == 200
    assert "Welcome!" in page.text
    for part in ("photo", "job_title", "team", "location", "bio", "topics"):
        assert f'href="#field-{part}"' in page.text
    # Bob has a display name from sign-up, so that is not asked for.
    assert 'href="#field-display_name"' not in page.text

    await person.submit(
        "/settings/profile",
        {"display_name": "Bob Burger", "job_title": "Advisor", "topics": "privacy"},
    )
    page = await person.get("/settings/profile")
    assert "Welcome!" not in page.text
    assert 'href="#field-job_title"' not in page.text
    assert 'href="#field-topics"' not in page.text
    assert 'href="#field-team"' in page.text


# --- the photo ----------------------------------------------------------------------------------


async def test_photo_upload_is_stored_stripped_and_shown(browser, alice, bob):
    person = await browser(bob)
    response = await person.submit(
        "/settings/photo", files={"photo": ("me.jpg", jpeg_with_metadata(), "image/jpeg")}
    )
    assert response.status_code == 303
    actor = await actor_of(bob)
    assert actor.photo.endswith(".jpg")
    stored = (instance.current().media_dir / actor.photo).read_bytes()
    for secret in (b"SecretCamera", b"SecretSoftware", b"secret-comment", b"Exif"):
        assert secret not in stored
    with Image.open(io.BytesIO(stored)) as im:
        assert im.size == (400, 400)
        assert not im.getexif()

    settings_page = await person.get("/settings/profile")
    assert f'src="/media/{actor.photo}"' in settings_page.text
    assert 'href="#field-photo"' not in settings_page.text
    profile_page = await (await browser(alice)).get("/@bob")
    assert f'src="/media/{actor.photo}"' in profile_page.text

    served = await (await browser(alice)).get(f"/media/{actor.photo}")
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["cache-control"] == "public, max-age=86400"  # in the actor's icon
    assert served.content == stored


async def test_replacing_and_removing_the_photo_cleans_up(browser, bob):
    person = await browser(bob)
    await person.submit("/settings/photo", files={"photo": ("a.jpg", jpeg_with_metadata(), "")})
    first = (await actor_of(bob)).photo
    await person.submit("/settings/photo", files={"photo": ("b.jpg", jpeg_with_metadata(), "")})
    second = (await actor_of(bob)).photo
    assert first and second and first != second
    assert not (instance.current().media_dir / first).exists()

    response = await person.submit("/settings/photo/remove")
    assert response.status_code == 303
    assert (await actor_of(bob)).photo == ""
    assert not (instance.current().media_dir / second).exists()


async def test_non_image_upload_is_a_field_error_and_changes_nothing(browser, bob):
    person = await browser(bob)
    await person.submit("/settings/photo", files={"photo": ("a.jpg", jpeg_with_metadata(), "")})
    before = (await actor_of(bob)).photo
    response = await person.submit(
        "/settings/photo", files={"photo": ("notes.jpg", b"%PDF-1.4 not a picture", "image/jpeg")}
    )
    assert response.status_code == 400
    assert 'id="error-photo"' in response.text
    assert "This file is not an image we can read." in response.text
    assert (await actor_of(bob)).photo == before
    assert sorted(p.name for p in instance.current().media_dir.iterdir()) == [before]


async def test_too_large_upload_is_a_field_error(browser, bob):
    person = await browser(bob)
    big = b"\xff\xd8" + b"\0" * (8 * 1024 * 1024 + 10)
    response = await person.submit("/settings/photo", files={"photo": ("big.jpg", big, "")})
    assert response.status_code == 400
    assert 'id="error-photo"' in response.text
    assert "The image is larger than 8 MB." in response.text
    assert (await actor_of(bob)).photo == ""


async def test_upload_without_a_file_is_a_field_error(browser, bob):
    person = await browser(bob)
    response = await person.submit(
        "/settings/photo", files={"photo": ("", b"", "application/octet-stream")}
    )
    assert response.status_code == 400
    assert 'id="error-photo"' in response.text
    assert "Choose an image file to upload." in response.text
    assert (await actor_of(bob)).photo == ""


async def test_a_persons_photo_is_public_and_other_names_are_404(browser, client, bob):
    """Other servers show the photo our actor documents name as ``icon``: no sign-in."""
    person = await browser(bob)
    await person.submit("/settings/photo", files={"photo": ("a.jpg", jpeg_with_metadata(), "")})
    name = (await actor_of(bob)).photo
    anonymous = await client.get(f"/media/{name}")
    assert anonymous.status_code == 200
    assert anonymous.headers["content-type"] == "image/jpeg"
    assert "set-cookie" not in anonymous.headers  # a cacheable answer carries no cookie
    assert (await person.get("/media/nothing-here.jpg")).status_code == 404
    assert (await person.get("/media/..%2Fdatabase.sqlite3")).status_code == 404


# --- presence -----------------------------------------------------------------------------------


async def test_presence_is_set_and_shown(browser, alice, bob):
    person = await browser(bob)
    response = await person.submit(
        "/settings/presence",
        {
            "presence": "office",
            "presence_note": "Utrecht, 3rd floor",
            "until_choice": "time",
            "presence_until": "2099-06-01T14:30",
        },
    )
    assert response.status_code == 303
    actor = await actor_of(bob)
    assert actor.presence == Presence.OFFICE
    assert actor.presence_note == "Utrecht, 3rd floor"
    # Dutch summer time is UTC+2: what people type is meant in Amsterdam.
    assert actor.presence_until == datetime(2099, 6, 1, 12, 30, tzinfo=UTC)

    viewer = await browser(alice)
    words = text_of((await viewer.get("/@bob")).text)
    assert "In the office" in words
    assert "Utrecht, 3rd floor" in words
    assert "2:30 PM" in words  # the end time, in Dutch time
    assert "In the office" in text_of((await viewer.get("/people")).text)
    settings_page = await person.get("/settings/presence")
    assert 'value="2099-06-01T14:30"' in settings_page.text


async def test_presence_until_end_of_today(browser, bob):
    person = await browser(bob)
    response = await person.submit(
        "/settings/presence", {"presence": "busy", "until_choice": "today"}
    )
    assert response.status_code == 303
    until = (await actor_of(bob)).presence_until
    assert until is not None
    assert datetime.now(UTC) < until <= datetime.now(UTC) + timedelta(days=1)


async def test_presence_in_the_past_is_refused(browser, bob):
    person = await browser(bob)
    response = await person.submit(
        "/settings/presence",
        {"presence": "away", "until_choice": "time", "presence_until": "2001-01-01T10:00"},
    )
    assert response.status_code == 400
    assert 'id="error-presence_until"' in response.text
    assert "Choose an end time in the future." in response.text
    assert (await actor_of(bob)).presence == Presence.UNSET
    garbled = await person.submit(
        "/settings/presence",
        {"presence": "away", "until_choice": "time", "presence_until": "tomorrow"},
    )
    assert garbled.status_code == 400
    assert 'id="error-presence_until"' in garbled.text


async def test_expired_presence_is_not_shown(browser, alice, bob):
    actor = await actor_of(bob)
    await profiles.set_presence(actor, "away", "On holiday", None)
    viewer = await browser(alice)
    assert "On holiday" in (await viewer.get("/@bob")).text
    actor.presence_until = datetime.now(UTC) - timedelta(minutes=1)
    await actor.save(update_fields=["presence_until"])
    for url in ("/@bob", "/people"):
        words = text_of((await viewer.get(url)).text)
        assert "Away" not in words
        assert "On holiday" not in words


# --- following ----------------------------------------------------------------------------------


async def test_follow_and_unfollow(browser, alice, bob):
    viewer = await browser(alice)
    assert "0 followers" in text_of((await viewer.get("/@bob")).text)
    response = await viewer.submit("/@bob/follow")
    assert response.status_code == 303
    assert response.headers["location"] == "/@bob"
    page = await viewer.get("/@bob")
    assert "1 follower" in text_of(page.text)
    assert 'action="/@bob/unfollow"' in page.text
    assert "Follows 1 person" in text_of((await viewer.get("/@alice")).text)
    notes = await Notification.filter(recipient_id=bob.actor_id)
    assert [(n.kind, n.actor_id) for n in notes] == [(NotificationKind.FOLLOW, alice.actor_id)]

    response = await viewer.submit("/@bob/unfollow")
    assert response.status_code == 303
    page = await viewer.get("/@bob")
    assert "0 followers" in text_of(page.text)
    assert 'action="/@bob/follow"' in page.text


async def test_following_yourself_is_refused(browser, bob):
    response = await (await browser(bob)).submit("/@bob/follow")
    assert response.status_code == 400
    assert "You cannot follow yourself." in response.text


# --- the directory ------------------------------------------------------------------------------


async def test_directory_finds_by_name_function_and_topic(browser, alice, bob):
    carol = await make_account("carol", display_name="Carol Jansen")
    await fill_profile(bob, display_name="Bob Burger", job_title="Archivist", topics="archives")
    await fill_profile(
        carol, display_name="Carol Jansen", team="Permits", topics="privacy, archives"
    )
    viewer = await browser(alice)

    def names(page: str) -> set[str]:
        return set(re.findall(r'class="person-name" href="/@(\w+)"', page))

    assert names((await viewer.get("/people")).text) == {"alice", "bob", "carol"}
    assert names((await viewer.get("/people?q=jansen")).text) == {"carol"}
    assert names((await viewer.get("/people?q=archiv")).text) == {"bob"}
    assert names((await viewer.get("/people?q=permits")).text) == {"carol"}
    assert names((await viewer.get("/people?topic=privacy")).text) == {"carol"}
    assert names((await viewer.get("/people?topic=%23Archives")).text) == {"bob", "carol"}
    page = await viewer.get("/people")
    cloud = re.findall(r'href="/people\?topic=(\w+)"', page.text)
    assert cloud == ["archives", "privacy"]  # most declared first
    assert "(2 people)" in page.text


async def test_directory_with_an_invalid_topic_shows_a_message(browser, alice):
    page = await (await browser(alice)).get("/people?topic=not-a-topic!")
    assert page.status_code == 200
    assert 'id="error-topic"' in page.text
    assert "A topic is one word" in page.text


async def test_directory_needs_sign_in(client, alice):
    response = await client.get("/people")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/people")


# --- CSRF ---------------------------------------------------------------------------------------


async def test_wrong_csrf_token_is_refused_and_changes_nothing(browser, alice, bob):
    person = await browser(bob)
    response = await person.post(
        "/settings/profile", data={"csrf_token": "x" * 43, "job_title": "Hacked"}
    )
    assert response.status_code == 403
    assert (await actor_of(bob)).job_title == ""
    response = await person.post("/settings/presence", data={"presence": "busy"})
    assert response.status_code == 403
    assert (await actor_of(bob)).presence == Presence.UNSET
    viewer = await browser(alice)
    response = await viewer.post("/@bob/follow", data={"csrf_token": "wrong"})
    assert response.status_code == 403
    assert (await (await browser(alice)).get("/@bob")).text.count("0 followers") == 1


# --- account settings ---------------------------------------------------------------------------


async def test_change_password(browser, bob):
    person = await browser(bob)
    new = "a much longer secret"
    wrong = await person.submit(
        "/settings/account",
        {
            "action": "password",
            "current_password": "not it",
            "password": new,
            "password_again": new,
        },
    )
    assert wrong.status_code == 400
    assert 'id="error-current_password"' in wrong.text
    differ = await person.submit(
        "/settings/account",
        {
            "action": "password",
            "current_password": PASSWORD,
            "password": new,
            "password_again": new + "x",
        },
    )
    assert differ.status_code == 400
    assert 'id="error-password_again"' in differ.text
    short = await person.submit(
        "/settings/account",
        {
            "action": "password",
            "current_password": PASSWORD,
            "password": "short",
            "password_again": "short",
        },
    )
    assert short.status_code == 400
    assert "Use at least 10 characters." in short.text
    assert await verify_password((await Account.get(id=bob.id)).password_hash, PASSWORD)

    done = await person.submit(
        "/settings/account",
        {
            "action": "password",
            "current_password": PASSWORD,
            "password": new,
            "password_again": new,
        },
    )
    assert done.status_code == 303
    assert await accounts.authenticate("bob", new, "127.0.0.1")


async def test_language_preference(browser, bob):
    person = await browser(bob)
    response = await person.submit("/settings/account", {"action": "locale", "locale": "nl"})
    assert response.status_code == 303
    assert (await Account.get(id=bob.id)).locale == "nl"
    refused = await person.submit("/settings/account", {"action": "locale", "locale": "de"})
    assert refused.status_code == 400
    assert 'id="error-locale"' in refused.text
    assert (await Account.get(id=bob.id)).locale == "nl"


async def test_settings_pages_share_a_sub_navigation(browser, bob):
    person = await browser(bob)
    for url in ("/settings/profile", "/settings/presence", "/settings/account"):
        page = await person.get(url)
        assert page.status_code == 200
        assert page.text.count("<h1") == 1
        for link in ("/settings/profile", "/settings/presence", "/settings/account"):
            assert f'href="{link}"' in page.text
        assert 'href="/settings/mutes"' in page.text
        assert f'href="{url}" aria-current="page"' in page.text


# --- profile changes reach followers on other servers --------------------------------------------


async def remote_follower(name: str, host: str, shared: bool = True) -> Actor:
    uri = f"https://{host}/users/{name}"
    return await Actor.create(
        username=name,
        domain=host,
        uri=uri,
        inbox_url=f"{uri}/inbox",
        shared_inbox_url=f"https://{host}/inbox" if shared else "",
    )


async def follows(follower: Actor, account: Account, accepted: bool = True) -> None:
    await Follow.create(follower=follower, followee_id=account.actor_id, accepted=accepted)


def sent(delivery: Delivery) -> dict:
    return json.loads(delivery.body)


async def test_profile_change_is_announced_to_remote_followers_once_per_server(browser, bob):
    for name in ("ann", "ben"):
        await follows(await remote_follower(name, "gov-b.example"), bob)
    await follows(await remote_follower("cas", "gov-c.example", shared=False), bob)
    await follows(await remote_follower("dirk", "gov-d.example"), bob, accepted=False)
    await follows(await actor_of(await make_account("carol")), bob)

    person = await browser(bob)
    await person.submit(
        "/settings/profile",
        {"display_name": "Bob B.", "job_title": "Advisor", "topics": "housing"},
    )

    rows = await Delivery.all().order_by("inbox_url")
    assert [d.inbox_url for d in rows] == [
        "https://gov-b.example/inbox",  # two followers there, one delivery
        "https://gov-c.example/users/cas/inbox",
    ]  # not gov-d: that follow was never accepted; not carol: she is here
    update = sent(rows[0])
    assert update["type"] == "Update" and update["actor"] == bob.actor.uri
    assert update["object"]["type"] == "Person" and update["object"]["name"] == "Bob B."
    assert {"type": "PropertyValue", "name": "Function", "value": "Advisor"} in update["object"][
        "attachment"
    ]
    assert all(d.signer_id == bob.actor_id for d in rows)


async def test_photo_changes_are_announced_and_quick_saves_get_their_own_ids(browser, bob):
    await follows(await remote_follower("ann", "gov-b.example"), bob)
    person = await browser(bob)
    await person.submit("/settings/photo", files={"photo": ("a.jpg", jpeg_with_metadata(), "")})
    await person.submit("/settings/photo/remove")

    first, second = [sent(d) for d in await Delivery.all().order_by("id")]
    assert "icon" in first["object"] and "icon" not in second["object"]
    assert first["id"] != second["id"]


async def test_refused_profile_change_announces_nothing(browser, bob):
    await follows(await remote_follower("ann", "gov-b.example"), bob)
    person = await browser(bob)
    response = await person.submit("/settings/profile", {"job_title": "x" * 101})
    assert response.status_code == 400
    assert not await Delivery.exists()


async def test_no_update_for_someone_without_remote_followers(browser, bob):
    await (await browser(bob)).submit("/settings/profile", {"display_name": "Bob"})
    assert not await Delivery.exists()


async def test_no_update_to_a_server_excluded_by_the_policy(browser, alice, bob):
    await follows(await remote_follower("ann", "gov-b.example"), bob)
    await follows(await remote_follower("cas", "gov-c.example"), bob)
    await federation_policy.set_policy(alice, "allowlist", "gov-c.example")
    await (await browser(bob)).submit("/settings/profile", {"display_name": "Bob"})
    assert [d.host for d in await Delivery.all()] == ["gov-c.example"]
