"""A remote post's files as a reader here gets them (issue 18, points 1 and 5): images, video
and audio through this server's own size-capped, type-checked cache (``/remote-media/``),
never hot-linked; other files as links with type and size; custom emoji as small images
through the same cache; and every hostile file (a 50 MB image, a video that is HTML, an SVG
with a script, a server that does not answer, a 10,000-character shortcode) refused with a
clear answer, bounded work and nothing kept.

The origin is a real HTTP server on 127.0.0.1 (``tests/test_inbox.RemoteServer``) that also
serves files and counts what it sent; posts arrive signed through the shared inbox.
"""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from PIL import Image

from activitypub.parse_object import parse_object
from fediverse_intranet.models import (
    Account,
    Attachment,
    Follow,
    Post,
    RemoteMedia,
    RemoteMediaState,
    WorkState,
)
from fediverse_intranet.services import accounts, federation_policy, remote_actors, remote_media
from fediverse_intranet.services.clock import now
from tests import test_inbox as peer
from tests.test_inbox import ALICE, RemoteServer
from tests.test_inbox_content import activity, note, send
from web.context import SESSION_COOKIE

settings, alice, bob = peer.settings, peer.alice, peer.bob

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FileServer(RemoteServer):
    """The test's remote server, also serving files by path and counting each GET."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, Handler] = {}
        self.file_gets: Counter[str] = Counter()
        self.sent_bytes: Counter[str] = Counter()

    async def _object(self, request: web.Request) -> web.StreamResponse:
        handler = self.files.get(request.path)
        if handler is None:
            return await super()._object(request)
        self.file_gets[request.path] += 1
        return await handler(request)

    def serve(self, path: str, body: bytes, content_type: str) -> str:
        async def answer(request: web.Request) -> web.StreamResponse:
            self.sent_bytes[path] += len(body)
            return web.Response(body=body, content_type=content_type)

        self.files[path] = answer
        return self.url(path)

    def stream(self, path: str, total: int, content_type: str, *, declare: bool) -> str:
        """``total`` bytes of zeros, in 1 MB chunks; with or without a Content-Length."""

        async def answer(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": content_type})
            if declare:
                response.content_length = total
            await response.prepare(request)
            chunk = b"\0" * (1024 * 1024)
            try:
                for _ in range(total // len(chunk)):
                    await response.write(chunk)
                    self.sent_bytes[path] += len(chunk)
            except (ConnectionResetError, RuntimeError):
                pass  # the reader hung up: what the test wants
            return response

        self.files[path] = answer
        return self.url(path)


@pytest.fixture
async def remote() -> AsyncIterator[FileServer]:
    server = FileServer()
    await server.start()
    yield server
    await server.stop()


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 160)).save(out, format="PNG")
    return out.getvalue()


MP4 = (24).to_bytes(4, "big") + b"ftypisom\x00\x00\x02\x00isomiso2" + (8).to_bytes(4, "big")
MP4 += b"free" + b"\0" * 4096


async def post_with(client, remote: FileServer, n: int = 1, **changes: Any) -> Post:
    """A public post by carol addressed to alice, with what ``changes`` says; stored."""
    carol = remote.people.get("carol") or remote.add("carol")
    body = note(carol, n, cc=[ALICE], **changes)
    item = await send(client, carol, activity("Create", carol, body))
    assert (item.state, item.error) == (WorkState.DONE, "")
    return await Post.get(uri=body["id"])


async def file_of(post: Post, n: int = 0) -> Attachment:
    return (await Attachment.filter(post=post).order_by("id"))[n]


async def page(browser, reader: Account | None, post: Post) -> str:
    person = await browser(reader)
    response = await person.get(f"/posts/{post.id}")
    assert response.status_code == 200
    return response.text


# --- what is kept of what is announced ---------------------------------------------------------


def parsed(**changes: Any):
    return parse_object(
        {"id": "https://r.example/n/1", "type": "Note", "attributedTo": "https://r.example/u/c"}
        | changes
    )


def test_an_attachment_says_what_it_is_by_media_type_type_or_file_name():
    found = parsed(
        attachment=[
            {"type": "Image", "url": "https://r.example/a"},  # GoToSocial: no mediaType
            {"type": "Document", "url": "https://r.example/b.MP4?x=1"},
            {"type": "Document", "url": "https://r.example/c.ogg"},
            {"type": "Document", "mediaType": "application/pdf", "url": "https://r.example/d"},
            {"type": "Document", "url": "https://r.example/e"},
            {"type": "Document", "mediaType": "Image/PNG; q=1", "url": "https://r.example/f"},
        ]
    ).attachments
    assert [a.kind for a in found] == ["image", "video", "audio", "document", "document", "image"]
    assert found[5].media_type == "image/png"


def test_description_blurhash_focal_point_size_and_dimensions_are_kept():
    [kept] = parsed(
        attachment=[
            {
                "type": "Document",
                "mediaType": "image/jpeg",
                "url": "https://r.example/a.jpg",
                "name": "Een grafiek",
                "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
                "focalPoint": [-0.5, 0.25],
                "width": 800,
                "height": 600,
                "size": 123456,
            }
        ]
    ).attachments
    assert (kept.name, kept.width, kept.height, kept.size) == ("Een grafiek", 800, 600, 123456)
    assert kept.blurhash.startswith("UBL_") and kept.focal_point == (-0.5, 0.25)


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("focalPoint", [2, 0]),
        ("focalPoint", ["0", "0"]),
        ("focalPoint", [0, 0, 0]),
        ("blurhash", "<script>" * 20),
        ("blurhash", "U" * 10_000),
        ("size", -5),
        ("size", 10**15),
        ("width", True),
    ],
)
def test_an_odd_member_of_an_attachment_is_ignored_not_trusted(member, value):
    [kept] = parsed(
        attachment=[{"type": "Image", "url": "https://r.example/a.png", member: value}]
    ).attachments
    assert (kept.focal_point, kept.blurhash, kept.size, kept.width) == (None, "", 0, 0)


def test_a_peertube_video_gets_one_rendition_up_to_720_lines_and_its_still():
    video = parse_object(
        {
            "id": "https://pt.example/videos/watch/1",
            "type": "Video",
            "name": "Raadsvergadering",
            "attributedTo": "https://pt.example/accounts/sanne",
            "url": [
                {"type": "Link", "mediaType": "text/html", "href": "https://pt.example/w/1"},
                {"type": "Link", "mediaType": "video/mp4", "href": "https://pt.example/1080.mp4",
                 "height": 1080},
                {"type": "Link", "mediaType": "video/mp4", "href": "https://pt.example/720.mp4",
                 "height": 720, "size": 52428800},
                {"type": "Link", "mediaType": "video/mp4", "href": "https://pt.example/240.mp4",
                 "height": 240},
                {"type": "Link", "mediaType": "application/x-mpegURL",
                 "href": "https://pt.example/master.m3u8"},
            ],
            "icon": [
                {"type": "Image", "url": "https://pt.example/small.jpg", "width": 280},
                {"type": "Image", "url": "https://pt.example/large.jpg", "width": 850},
                {"type": "Image", "url": "https://pt.example/huge.jpg", "width": 4000},
            ],
        }
    )  # fmt: skip
    [file] = video.attachments
    assert (file.url, file.kind, file.height, file.size) == (
        "https://pt.example/720.mp4", "video", 720, 52428800
    )  # fmt: skip
    assert file.preview == "https://pt.example/large.jpg" and file.name == "Raadsvergadering"


def test_custom_emoji_are_read_with_their_shortcode_and_bounded():
    icon = {"type": "Image", "url": "https://r.example/e.png"}
    found = parsed(
        tag=[
            {"type": "Emoji", "name": ":blobcat:", "icon": icon},
            {"type": "Emoji", "name": "party_parrot", "icon": icon},  # without colons
            {"type": "Emoji", "name": ":inlined:", "icon": "https://r.example/i.png"},
            {"type": "Emoji", "name": ":" + "x" * 10_000 + ":", "icon": icon},
            {"type": "Emoji", "name": ":<b>:", "icon": icon},
            {"type": "Emoji", "name": ":nourl:", "icon": {"type": "Image"}},
            {"type": "Emoji", "name": ":blobcat:", "icon": icon},  # twice
        ]
        + [{"type": "Emoji", "name": f":e{n}:", "icon": icon} for n in range(200)]
    ).emoji
    assert [e.shortcode for e in found[:3]] == ["blobcat", "party_parrot", "inlined"]
    assert found[2].url == "https://r.example/i.png"
    assert len(found) == 50


# --- images through our cache -------------------------------------------------------------------


async def test_a_remote_image_is_shown_from_here_fetched_once_and_checked(
    client, browser, alice, remote: FileServer
):
    image = png()
    url = remote.serve("/files/a.png", image, "image/png")
    post = await post_with(
        client, remote, attachment=[{"type": "Image", "url": url, "name": "De glazen gevel"}]
    )
    file = await file_of(post)
    shown = await page(browser, alice, post)
    assert f'src="/remote-media/{file.id}" alt="De glazen gevel"' in shown
    assert url not in shown  # never hot-linked
    assert remote.file_gets["/files/a.png"] == 0  # fetched when someone opens it

    reader = await browser(alice)
    first = await reader.get(f"/remote-media/{file.id}")
    second = await reader.get(f"/remote-media/{file.id}")
    assert first.status_code == second.status_code == 200
    assert first.content == image and first.headers["content-type"] == "image/png"
    assert first.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in first.headers["content-security-policy"]
    assert first.headers["cache-control"].startswith("public")
    assert remote.file_gets["/files/a.png"] == 1  # from our cache the second time


async def test_readers_opening_a_file_at_once_fetch_it_once(client, browser, alice, remote):
    url = remote.serve("/files/b.png", png(), "image/png")
    post = await post_with(client, remote, attachment=[{"type": "Image", "url": url}])
    file = await file_of(post)
    reader = await browser(alice)
    answers = await asyncio.gather(*(reader.get(f"/remote-media/{file.id}") for _ in range(5)))
    assert [a.status_code for a in answers] == [200] * 5
    assert remote.file_gets["/files/b.png"] == 1


async def test_the_file_of_a_followers_only_post_is_for_who_may_see_the_post(
    client, browser, alice, bob, remote: FileServer
):
    carol = remote.add("carol")
    url = remote.serve("/files/private.png", png(), "image/png")
    body = note(
        carol, to=[carol.uri + "/followers"], cc=[], attachment=[{"type": "Image", "url": url}]
    )
    await Follow.create(
        follower=alice.actor, followee=await remote_actors.resolve_actor(carol.uri), accepted=True
    )
    item = await send(client, carol, activity("Create", carol, body))
    assert (item.state, item.error) == (WorkState.DONE, "")
    file = await file_of(await Post.get(uri=body["id"]))
    path = f"/remote-media/{file.id}"

    for outsider in (await browser(bob), await browser(None)):
        refused = await outsider.get(path)
        assert refused.status_code == 404 and refused.headers["cache-control"] == (
            "private, no-store"
        )
    assert remote.file_gets["/files/private.png"] == 0  # nothing fetched for them
    allowed = await (await browser(alice)).get(path)
    assert allowed.status_code == 200 and allowed.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize("declare", [True, False], ids=["content-length", "chunked"])
async def test_a_50_mb_image_is_refused_at_the_cap_and_never_asked_again(
    client, browser, alice, remote: FileServer, declare: bool
):
    url = remote.stream("/files/huge.png", 50 * 1024 * 1024, "image/png", declare=declare)
    post = await post_with(client, remote, attachment=[{"type": "Image", "url": url}])
    file = await file_of(post)
    reader = await browser(alice)
    answer = await reader.get(f"/remote-media/{file.id}")
    assert answer.status_code == 404
    media = await RemoteMedia.get(url=url)
    assert media.state == RemoteMediaState.REFUSED and "larger than" in media.reason
    # Reading stopped at the cap (16 MB), give or take what the socket had buffered.
    assert remote.sent_bytes["/files/huge.png"] <= 32 * 1024 * 1024
    assert list(remote_media.cache_dir().glob("*")) == []  # no partial file left
    assert (await reader.get(f"/remote-media/{file.id}")).status_code == 404
    assert remote.file_gets["/files/huge.png"] == 1
    assert (await reader.get(f"/posts/{post.id}")).status_code == 200


@pytest.mark.parametrize(
    ("kind", "body", "content_type"),
    [
        ("Video", b"<!doctype html><html><script>alert(1)</script></html>", "video/mp4"),
        ("Video", b"<!doctype html><html><body>login</body></html>", "text/html"),
        ("Audio", b"#EXTM3U\n#EXT-X-STREAM-INF\nhttp://10.0.0.1/x\n", "audio/mpeg"),
        ("Image", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
         "image/png"),
        ("Image", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png"),  # a PNG that is not one
    ],
)  # fmt: skip
async def test_a_file_that_is_not_what_it_claims_is_refused(
    client, browser, alice, remote: FileServer, kind, body, content_type
):
    url = remote.serve("/files/claimed", body, content_type)
    post = await post_with(client, remote, attachment=[{"type": kind, "url": url}])
    file = await file_of(post)
    reader = await browser(alice)
    assert (await reader.get(f"/remote-media/{file.id}")).status_code == 404
    media = await RemoteMedia.get(url=url)
    assert media.state == RemoteMediaState.REFUSED and media.filename == ""
    assert list(remote_media.cache_dir().glob("*")) == []


async def test_a_server_that_does_not_answer_is_a_502_and_is_not_asked_at_once_again(
    client, browser, alice, remote: FileServer
):
    async def unavailable(request: web.Request) -> web.Response:
        return web.Response(status=503, text="down for maintenance")

    remote.files["/files/later.png"] = unavailable
    post = await post_with(
        client, remote, attachment=[{"type": "Image", "url": remote.url("/files/later.png")}]
    )
    file = await file_of(post)
    # A gateway's answer (the browser fixture takes any 5xx for a bug of ours).
    client.cookies.set(SESSION_COOKIE, await accounts.start_session(alice))
    first = await client.get(f"/remote-media/{file.id}")
    again = await client.get(f"/remote-media/{file.id}")
    assert first.status_code == again.status_code == 502
    assert "did not answer" in first.text
    media = await RemoteMedia.get(url=remote.url("/files/later.png"))
    assert media.state == RemoteMediaState.NEW and media.retry_after is not None
    assert remote.file_gets["/files/later.png"] == 1


async def test_a_file_of_a_server_blocked_since_is_not_fetched(
    client, browser, alice, remote: FileServer
):
    url = remote.serve("/files/c.png", png(), "image/png")
    post = await post_with(client, remote, attachment=[{"type": "Image", "url": url}])
    file = await file_of(post)
    await federation_policy.set_policy(alice, "blocklist", "127.0.0.1")
    assert (await (await browser(alice)).get(f"/remote-media/{file.id}")).status_code == 404
    assert remote.file_gets["/files/c.png"] == 0


@pytest.mark.parametrize(
    "path",
    ["/remote-media/abc", "/remote-media/99999999999999999999", "/remote-media/0"]
    + ["/remote-emoji/-1", "/remote-media/1/x"],
)
async def test_an_address_that_names_no_file_is_404(browser, alice, path):
    assert (await (await browser(alice)).get(path)).status_code == 404


# --- video, audio and other files ---------------------------------------------------------------


async def test_a_video_is_a_player_with_its_still_and_seeks(
    client, browser, alice, remote: FileServer
):
    still = remote.serve("/files/still.jpg", png(), "image/png")  # a PNG by any name
    video = remote.serve("/files/v.mp4", MP4, "application/octet-stream")
    post = await post_with(
        client,
        remote,
        type="Video",
        name="Raadsvergadering",
        url=[
            {"type": "Link", "mediaType": "text/html", "href": remote.url("/w/1")},
            {"type": "Link", "mediaType": "video/mp4", "href": video, "height": 720},
        ],
        icon={"type": "Image", "url": still, "width": 850},
    )
    file = await file_of(post)
    shown = await page(browser, alice, post)
    here = f"/remote-media/{file.id}"
    assert f'<video controls preload="none" src="{here}" poster="{here}/still"' in shown
    reader = await browser(alice)
    part = await reader.get(here, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == MP4[:100]
    assert part.headers["content-type"] == "video/mp4"
    poster = await reader.get(f"{here}/still")
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/png"


async def test_audio_is_a_player_and_a_document_a_link_with_type_and_size(
    client, browser, alice, remote: FileServer
):
    audio = remote.serve("/files/a.mp3", b"ID3\x04\x00" + b"\0" * 2000, "audio/mpeg")
    post = await post_with(
        client,
        remote,
        attachment=[
            {"type": "Document", "mediaType": "audio/mpeg", "url": audio, "name": "Podcast"},
            {"type": "Document", "mediaType": "application/pdf", "name": "Begroting 2027",
             "url": "https://files.example/begroting.pdf", "size": 2_500_000},
        ],
    )  # fmt: skip
    audio_file, document = await file_of(post), await file_of(post, 1)
    shown = await page(browser, alice, post)
    assert f'<audio controls preload="none" src="/remote-media/{audio_file.id}"' in shown
    assert "<figcaption>Podcast</figcaption>" in shown
    link = 'href="https://files.example/begroting.pdf" rel="noopener noreferrer">Begroting 2027'
    assert link in shown
    assert "(application/pdf, 2.5 MB)" in shown
    reader = await browser(alice)
    assert (await reader.get(f"/remote-media/{audio_file.id}")).headers["content-type"] == (
        "audio/mpeg"
    )
    assert (await reader.get(f"/remote-media/{document.id}")).status_code == 404  # only linked


async def test_a_sensitive_posts_media_is_behind_its_warning(client, browser, alice, remote):
    url = remote.serve("/files/s.png", png(), "image/png")
    post = await post_with(
        client,
        remote,
        sensitive=True,
        summary="Beelden van de brand",
        attachment=[{"type": "Image", "url": url, "name": "Uitgebrande loods"}],
    )
    shown = await page(browser, alice, post)
    warning = shown[shown.index('<details class="content-warning">') :]
    warning = warning[: warning.index("</details>")]
    assert 'alt="Uitgebrande loods"' in warning


# --- custom emoji -------------------------------------------------------------------------------


async def test_custom_emoji_are_small_images_from_here_and_a_huge_shortcode_stays_text(
    client, browser, alice, remote: FileServer
):
    icon = remote.serve("/emoji/blobcat.png", png(32, 32), "image/png")
    huge = "x" * 10_000
    post = await post_with(
        client,
        remote,
        content=f'<p>Eindelijk :blobcat: <a href="https://x.example/:blobcat:">:blobcat:</a>'
        f" :{huge}: :unknown:</p>",
        tag=[
            {"type": "Emoji", "name": ":blobcat:", "icon": {"type": "Image", "url": icon}},
            {"type": "Emoji", "name": f":{huge}:", "icon": {"type": "Image", "url": icon}},
        ],
    )
    media = await RemoteMedia.get(url=icon)
    image = f'<img src="/remote-emoji/{media.id}" alt=":blobcat:" title=":blobcat:" class="emoji">'
    assert post.content_html.count(image) == 2  # in the text and in the link's text
    assert 'href="https://x.example/:blobcat:"' in post.content_html  # never in an attribute
    assert f":{huge}:" in post.content_html and ":unknown:" in post.content_html
    shown = await page(browser, alice, post)
    assert image in shown
    anyone = await browser(None)
    served = await anyone.get(f"/remote-emoji/{media.id}")
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"


async def test_an_emoji_too_large_for_an_emoji_is_refused(client, browser, alice, remote):
    icon = remote.serve("/emoji/big.png", png(2000, 2000), "image/png")
    post = await post_with(
        client,
        remote,
        content="<p>:big:</p>",
        tag=[{"type": "Emoji", "name": ":big:", "icon": {"type": "Image", "url": icon}}],
    )
    media = await RemoteMedia.get(url=icon)
    assert f"/remote-emoji/{media.id}" in post.content_html
    assert (await (await browser(alice)).get(f"/remote-emoji/{media.id}")).status_code == 404
    assert (await RemoteMedia.get(id=media.id)).state == RemoteMediaState.REFUSED


async def test_pruning_frees_old_files_which_are_fetched_again_when_opened(
    client, browser, alice, remote: FileServer
):
    url = remote.serve("/files/old.png", png(), "image/png")
    post = await post_with(client, remote, attachment=[{"type": "Image", "url": url}])
    file = await file_of(post)
    reader = await browser(alice)
    assert (await reader.get(f"/remote-media/{file.id}")).status_code == 200
    kept = await RemoteMedia.get(url=url)
    await RemoteMedia.filter(id=kept.id).update(fetched_at=now() - timedelta(days=40))

    assert await remote_media.prune(timedelta(days=60)) == (0, 0)  # not old enough
    files, freed = await remote_media.prune(timedelta(days=30))
    assert (files, freed) == (1, kept.size) and list(remote_media.cache_dir().glob("*")) == []
    assert (await RemoteMedia.get(id=kept.id)).state == RemoteMediaState.NEW
    again = await reader.get(f"/remote-media/{file.id}")
    assert again.status_code == 200 and remote.file_gets["/files/old.png"] == 2


async def test_a_quoted_posts_image_shows_in_its_card_from_here(client, browser, alice, remote):
    url = remote.serve("/files/quoted.png", png(), "image/png")
    quoted = await post_with(
        client, remote, 1, attachment=[{"type": "Image", "url": url, "name": "Het plein"}]
    )
    quoting = await post_with(client, remote, 2, content="<p>Kijk</p>", quote=quoted.uri)
    shown = await page(browser, alice, quoting)
    card = shown[shown.index('<blockquote class="quoted-post"') :]
    card = card[: card.index("</blockquote>")]
    image = await file_of(quoted)
    assert f'src="/remote-media/{image.id}" alt="Het plein"' in card


async def test_one_url_named_as_an_image_and_as_a_video_is_checked_as_each(
    client, browser, alice, remote: FileServer
):
    url = remote.serve("/files/both", png(), "image/png")
    post = await post_with(
        client, remote, attachment=[{"type": "Image", "url": url}, {"type": "Video", "url": url}]
    )
    image, video = await file_of(post), await file_of(post, 1)
    reader = await browser(alice)
    assert (await reader.get(f"/remote-media/{image.id}")).status_code == 200
    assert (await reader.get(f"/remote-media/{video.id}")).status_code == 404  # no video
    assert (await reader.get(f"/remote-media/{image.id}")).status_code == 200
