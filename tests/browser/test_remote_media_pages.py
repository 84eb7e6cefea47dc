"""A remote post's image, video, audio, file and custom emoji (issue 18) in a real Chromium:
the image and the emoji really load from this instance's cache under its
Content-Security-Policy (which allows this instance only), the players and the file link
are there, and axe-core (WCAG 2.1 A and AA) passes at desktop and phone width.

The origin is a small HTTP server on 127.0.0.1 (the served instance may reach loopback:
``SERVER_ENV``); the post is written into the instance's database as
``services.remote_posts`` stores it (the inbox path is tested in tests/test_remote_media.py).
A screenshot goes to /tmp/fediverse-intranet-screenshots/remote-media.png for reviewers."""

from __future__ import annotations

import hashlib
import io
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import Server, first_administrator, insert_remote_person

pytestmark = pytest.mark.browser

SERVER_ENV = {"FI_FEDERATION_PRIVATE_NETWORKS": "127.0.0.0/8"}
SCREENSHOTS = Path("/tmp/fediverse-intranet-screenshots")
CAROL = "https://remote.example/users/carol"
NOW = "2026-01-05 10:00:00+00:00"


def _png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


FILES = {
    "/gevel.png": (_png(640, 360, (40, 90, 160)), "image/png"),
    "/still.png": (_png(320, 180, (200, 120, 40)), "image/png"),
    "/blobcat.png": (_png(32, 32, (250, 200, 0)), "image/png"),
    "/opname.webm": (b"\x1a\x45\xdf\xa3" + b"\0" * 2048, "video/webm"),
}


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    class Files(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            body, media_type = FILES.get(self.path, (b"not found", "text/plain"))
            self.send_response(200 if self.path in FILES else 404)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    http = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_address[1]}"
    http.shutdown()
    http.server_close()


def _remote_post(server: Server, origin: str) -> int:
    """Carol's post mentioning Alice, with an image, a video, a file and an emoji."""
    emoji_url = f"{origin}/blobcat.png"
    with closing(sqlite3.connect(server.log.parent / "data" / "db.sqlite3")) as db, db:
        carol = insert_remote_person(db, CAROL, "Carol Elders", NOW)
        alice = db.execute("SELECT id FROM actor WHERE username = 'alice'").fetchone()[0]
        emoji = db.execute(
            "INSERT INTO remote_media (url_hash, url, kind, state, media_type, filename, size,"
            " reason, attempts, created_at) VALUES (?, ?, 'emoji', 'new', '', '', 0, '', 0, ?)",
            (hashlib.sha256(f"emoji {emoji_url}".encode()).hexdigest(), emoji_url, NOW),
        ).lastrowid
        image = f'<img src="/remote-emoji/{emoji}" alt=":blobcat:" title=":blobcat:" class="emoji">'
        post = db.execute(
            "INSERT INTO post (uri, author_id, kind, title, source, content_html, visibility,"
            " created_at, like_count, reply_count) VALUES (?, ?, 'note', '', '', ?, 'public',"
            " ?, 0, 0)",
            (f"{CAROL}/statuses/1", carol, f"<p>Het stadskantoor is open {image}</p>", NOW),
        ).lastrowid
        db.execute("INSERT INTO mention (post_id, actor_id) VALUES (?, ?)", (post, alice))
        files = [
            ("image", f"{origin}/gevel.png", "image/png", "De glazen gevel", 640, 360, ""),
            ("video", f"{origin}/opname.webm", "video/webm", "De opening", 0, 0,
             f"{origin}/still.png"),
            ("document", "https://remote.example/begroting.pdf", "application/pdf",
             "Begroting 2027", 0, 0, ""),
        ]  # fmt: skip
        for kind, url, media_type, alt, width, height, still in files:
            db.execute(
                "INSERT INTO attachment (post_id, uploader_id, filename, media_type, alt_text,"
                " width, height, remote_url, created_at, kind, size, preview_url)"
                " VALUES (?, ?, '', ?, ?, ?, ?, ?, ?, ?, 2500000, ?)",
                (post, carol, media_type, alt, width, height, url, NOW, kind, still),
            )
    return post


def _loaded(page, selector: str) -> int:
    """The natural width of the first image matching ``selector`` once it has loaded."""
    image = page.locator(selector).first
    expect(image).to_be_visible()
    image.evaluate("i => i.decode()")
    return int(image.evaluate("i => i.naturalWidth"))


def test_remote_media_pages(new_context, a11y, server, origin) -> None:
    context = new_context()
    alice = context.new_page()
    first_administrator(alice, server)
    post = _remote_post(server, origin)

    alice.goto(f"/posts/{post}")
    card = alice.locator(".post-focus")
    assert _loaded(alice, '.post-focus img[alt="De glazen gevel"]') == 640
    assert _loaded(alice, '.post-focus img.emoji[alt=":blobcat:"]') == 32
    video = card.locator("video")
    expect(video).to_have_attribute("aria-label", "De opening")
    assert video.get_attribute("src", timeout=1000).startswith("/remote-media/")
    expect(card.get_by_role("link", name="Begroting 2027")).to_have_attribute(
        "href", "https://remote.example/begroting.pdf"
    )
    expect(card).to_contain_text("(application/pdf, 2.5 MB)")
    assert not [p for p in context.problems if "Content Security Policy" in p], context.problems
    a11y.check(alice, "a remote post with media", phone=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    alice.screenshot(path=str(SCREENSHOTS / "remote-media.png"), full_page=True)
