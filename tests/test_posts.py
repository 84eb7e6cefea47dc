"""Posts as a person makes and reads them in the browser."""

from __future__ import annotations

import io

from PIL import Image

from fediverse_intranet.models import (
    Attachment,
    Boost,
    Notification,
    NotificationKind,
    Post,
    PostRevision,
    PostTag,
    Role,
)
from fediverse_intranet.services import posts, social
from tests.conftest import make_account


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(buffer, "JPEG")
    return buffer.getvalue()


async def test_post_with_tag_and_mention_is_linked_stored_and_notified(browser, alice, bob):
    person = await browser(alice)
    response = await person.submit(
        "/compose", {"source": "Hoi @bob, see #Omgevingswet", "visibility": "public"}
    )
    assert response.status_code == 303
    post = await Post.get(id=int(response.headers["location"].rsplit("/", 1)[1]))
    assert post.uri == f"http://intranet.test/posts/{post.id}"
    page = (await person.get(f"/posts/{post.id}")).text
    assert 'href="http://intranet.test/tags/omgevingswet"' in page
    assert 'href="http://intranet.test/@bob"' in page
    assert await PostTag.filter(post=post, tag__name="omgevingswet").exists()
    assert await Notification.filter(
        recipient_id=bob.actor_id, kind=NotificationKind.MENTION, post=post
    ).exists()


async def test_empty_and_overlong_posts_are_refused_with_a_message(browser, alice):
    person = await browser(alice)
    empty = await person.submit("/compose", {"source": "   "})
    assert empty.status_code == 400
    assert "Write something before you post." in empty.text
    overlong = await person.submit("/compose", {"source": "x" * (posts.MAX_NOTE_CHARS + 1)})
    assert overlong.status_code == 400
    assert "Use at most 5000 characters." in overlong.text
    article = await person.submit("/compose", {"source": "body", "kind": "article"})
    assert article.status_code == 400
    assert "An article needs a title." in article.text
    assert await Post.all().count() == 0


async def test_script_in_a_post_is_shown_as_text(browser, alice):
    person = await browser(alice)
    response = await person.submit("/compose", {"source": "<script>alert(1)</script> hi"})
    page = (await person.get(response.headers["location"])).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_followers_only_and_direct_posts_reach_only_their_audience(browser, alice, bob):
    carol = await make_account("carol")
    secret = await posts.create_post(
        alice.actor, posts.Draft("for followers", visibility=posts.Visibility.FOLLOWERS)
    )
    direct = await posts.create_post(
        alice.actor, posts.Draft("just for @carol", visibility=posts.Visibility.DIRECT)
    )
    as_bob = await browser(bob)
    as_carol = await browser(carol)
    assert (await as_bob.get(f"/posts/{secret.id}")).status_code == 404
    assert (await as_bob.get(f"/posts/{direct.id}")).status_code == 404
    assert (await as_carol.get(f"/posts/{direct.id}")).status_code == 200
    await social.follow(bob.actor, alice.actor)
    assert (await as_bob.get(f"/posts/{secret.id}")).status_code == 200
    assert "for followers" in (await as_bob.get("/")).text
    assert "just for" not in (await as_bob.get("/")).text
    assert "just for" in (await as_carol.get("/")).text


async def test_organisation_timeline_shows_public_and_organisation_posts(browser, alice, bob):
    await posts.create_post(
        alice.actor, posts.Draft("org news", visibility=posts.Visibility.ORGANISATION)
    )
    await posts.create_post(
        alice.actor, posts.Draft("followers stuff", visibility=posts.Visibility.FOLLOWERS)
    )
    page = (await (await browser(bob)).get("/organisation")).text
    assert "org news" in page
    assert "followers stuff" not in page


async def test_edit_keeps_history_and_only_the_author_may_edit(browser, alice, bob):
    post = await posts.create_post(alice.actor, posts.Draft("first version"))
    as_bob = await browser(bob)
    refused = await as_bob.submit(f"/posts/{post.id}/edit", {"source": "hijacked"})
    assert refused.status_code == 403
    as_alice = await browser(alice)
    saved = await as_alice.submit(f"/posts/{post.id}/edit", {"source": "second version"})
    assert saved.status_code == 303
    await post.refresh_from_db()
    assert post.source == "second version" and post.edited_at is not None
    assert [r.source for r in await PostRevision.filter(post=post)] == ["first version"]
    history = (await as_bob.get(f"/posts/{post.id}/history")).text
    assert "first version" in history and "second version" in history


async def test_delete_by_author_or_admin_only(browser, alice, bob):
    post = await posts.create_post(bob.actor, posts.Draft("bob's post"))
    carol = await make_account("carol")
    refused = await (await browser(carol)).submit(f"/posts/{post.id}/delete")
    assert refused.status_code == 403
    as_admin = await browser(alice)
    assert (await as_admin.submit(f"/posts/{post.id}/delete")).status_code == 303
    assert (await as_admin.get(f"/posts/{post.id}")).status_code == 404
    await post.refresh_from_db()
    assert post.deleted_at is not None and post.source == ""


async def test_appreciation_toggles_counts_and_notifies(browser, alice, bob):
    post = await posts.create_post(alice.actor, posts.Draft("good idea"))
    as_bob = await browser(bob)
    await as_bob.submit(f"/posts/{post.id}/like", {"next": "/"})
    await as_bob.submit(f"/posts/{post.id}/like", {"next": "/"})
    await post.refresh_from_db()
    assert post.like_count == 1
    assert await Notification.filter(recipient_id=alice.actor_id, kind="like").count() == 1
    await as_bob.submit(f"/posts/{post.id}/unlike")
    await post.refresh_from_db()
    assert post.like_count == 0


async def test_replies_form_a_thread(browser, alice, bob):
    root = await posts.create_post(alice.actor, posts.Draft("question?"))
    as_bob = await browser(bob)
    reply = await as_bob.submit("/compose", {"source": "answer!", "in_reply_to": str(root.id)})
    assert reply.status_code == 303
    thread = (await as_bob.get(f"/posts/{root.id}")).text
    assert "answer!" in thread
    await root.refresh_from_db()
    assert root.reply_count == 1
    assert await Notification.filter(recipient_id=alice.actor_id, kind="reply").exists()
    unknown = await as_bob.submit("/compose", {"source": "x", "in_reply_to": "999999"})
    assert unknown.status_code == 404


async def test_image_needs_a_description_and_non_images_are_refused(browser, alice):
    person = await browser(alice)
    image = {"image_1": ("photo.jpg", jpeg_bytes(), "image/jpeg")}
    no_alt = await person.submit("/compose", {"source": "look"}, files=image)
    assert no_alt.status_code == 400
    assert "Describe each image" in no_alt.text
    fake = {"image_1": ("photo.jpg", b"not an image", "image/jpeg")}
    refused = await person.submit("/compose", {"source": "look", "alt_1": "x"}, files=fake)
    assert refused.status_code == 400
    assert "not an image we can read" in refused.text
    assert await Attachment.all().count() == 0
    ok = await person.submit("/compose", {"source": "look", "alt_1": "A teal square"}, files=image)
    assert ok.status_code == 303
    page = (await person.get(ok.headers["location"])).text
    assert 'alt="A teal square"' in page


async def test_news_can_be_pinned_by_communications_staff_only(browser, alice, bob):
    post = await posts.create_post(bob.actor, posts.Draft("Kerstborrel vrijdag"))
    refused = await (await browser(bob)).submit(f"/posts/{post.id}/pin")
    assert refused.status_code == 403
    comms = await make_account("comms", Role.COMMUNICATIONS)
    assert (await (await browser(comms)).submit(f"/posts/{post.id}/pin")).status_code == 303
    home = (await (await browser(alice)).get("/")).text
    assert "Organisation news" in home and "Kerstborrel vrijdag" in home


async def test_wrong_csrf_token_changes_nothing(browser, alice):
    person = await browser(alice)
    response = await person.post("/compose", data={"source": "x", "csrf_token": "forged"})
    assert response.status_code == 403
    assert await Post.all().count() == 0


async def test_boost_button_toggles_counts_notifies_and_shows_who_boosted(browser, alice, bob):
    post = await posts.create_post(alice.actor, posts.Draft("worth sharing"))
    await social.follow(alice.actor, bob.actor)
    as_bob = await browser(bob)
    card = (await as_bob.get(f"/posts/{post.id}")).text
    assert f'action="/posts/{post.id}/boost"' in card and 'aria-pressed="false">Boost' in card
    assert (await as_bob.submit(f"/posts/{post.id}/boost", {"next": "/"})).status_code == 303
    await post.refresh_from_db()
    assert post.boost_count == 1
    card = (await as_bob.get(f"/posts/{post.id}")).text
    assert f'action="/posts/{post.id}/unboost"' in card and 'aria-pressed="true">Boost' in card
    assert "1 boost" in card
    as_alice = await browser(alice)
    assert "Bob Burger boosted your post" in (await as_alice.get("/notifications")).text
    home = (await as_alice.get("/")).text
    assert "Boosted by" in home and 'href="/@bob">Bob Burger</a>' in home
    await as_bob.submit(f"/posts/{post.id}/unboost")
    await post.refresh_from_db()
    assert post.boost_count == 0


async def test_boosts_that_cannot_be_made_change_nothing(browser, alice, bob):
    narrow = await posts.create_post(
        alice.actor, posts.Draft("only here", visibility=posts.Visibility.ORGANISATION)
    )
    as_bob = await browser(bob)
    assert f"/posts/{narrow.id}/boost" not in (await as_bob.get(f"/posts/{narrow.id}")).text
    refused = await as_bob.submit(f"/posts/{narrow.id}/boost")
    assert refused.status_code == 400 and "Only public posts can be boosted." in refused.text
    public = await posts.create_post(alice.actor, posts.Draft("public"))
    forged = await as_bob.post(f"/posts/{public.id}/boost", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    for missing in ("999999", "99999999999999999999", "12a"):
        assert (await as_bob.submit(f"/posts/{missing}/boost")).status_code == 404
    assert not await Boost.exists()
