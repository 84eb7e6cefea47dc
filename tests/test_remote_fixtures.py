"""What a reader sees of posts as Mastodon, GoToSocial, Misskey, PeerTube and Mobilizon send
them (issue 18).

The documents are in tests/fixtures/remote/ (their README says where each shape comes from).
An origin server on 127.0.0.1 (aiohttp, real HTTP) serves every document of the fixtures by its
id, the actors with a real key, and real image bytes for the media, each server's documents
under a path of its own (``https://mastodon.example/x`` is served at
``http://127.0.0.1:PORT/mastodon.example/x``). Each activity is signed as its server signs it,
delivered to our shared inbox, processed, and then read on the page by a signed-in person who
follows the sender: the assertions are about the HTML, never about the rows.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from PIL import Image

from activitypub.signatures import sign_request
from fediverse_intranet.models import Account, Follow, InboxItem, Post, WorkState
from fediverse_intranet.services import remote_actors
from inbox import processor
from tests import test_inbox as peer
from tests.conftest import BASE_URL
from tests.test_inbox import key_pair

# The inbox tests' settings (loopback reachable) and a local person with a key.
settings, alice = peer.settings, peer.alice

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "remote"
HOSTS = (
    "mastodon.example",
    "gts.example",
    "misskey.example",
    "peertube.example",
    "mobilizon.example",
)
IMAGE_FORMATS = {".png": ("PNG", "image/png"), ".jpg": ("JPEG", "image/jpeg"),
                 ".jpeg": ("JPEG", "image/jpeg"), ".webp": ("WEBP", "image/webp")}  # fmt: skip


# --- the origin server ---------------------------------------------------------------------------


@dataclass
class Origin:
    """Every fixture server at once, on 127.0.0.1: documents by id, actors, keys and media."""

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> JSON
    fetched: list[str] = field(default_factory=list)
    port: int = 0
    runner: web.AppRunner | None = None

    def url(self, fixture_url: str) -> str:
        """Where a fixture's ``https://host/...`` URL is served here."""
        return self.rewrite(fixture_url)

    def rewrite(self, value: Any) -> Any:
        text = json.dumps(value)
        for host in HOSTS:
            text = text.replace(f"https://{host}", f"http://127.0.0.1:{self.port}/{host}")
        return json.loads(text)

    def load(self, name: str) -> dict[str, Any]:
        """A fixture as the server would send it from here (hosts rewritten, keys filled)."""
        document = self.rewrite(json.loads((FIXTURES / name).read_text()))
        key = document.get("publicKey")
        if isinstance(key, dict):
            key["publicKeyPem"] = key_pair(0).public_pem
        return document

    def path(self, url: str) -> str:
        return httpx.URL(url).path

    def publish(self) -> None:
        """Serve every fixture document by its id (and a Create's object by the object's)."""
        for file in sorted(FIXTURES.rglob("*.json")):
            document = self.load(str(file.relative_to(FIXTURES)))
            self.documents[self.path(document["id"])] = document
            key = document.get("publicKey")
            if isinstance(key, dict) and self.path(key["id"]) != self.path(document["id"]):
                # GoToSocial's key id is a document of its own: the actor's stub with its key.
                stub = {k: document[k] for k in ("@context", "id", "type", "preferredUsername")}
                self.documents[self.path(key["id"])] = {**stub, "publicKey": key}
            inner = document.get("object")
            if document.get("type") == "Create" and isinstance(inner, dict):
                self.documents[self.path(inner["id"])] = {"@context": document["@context"], **inner}

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{path:.+}", self.answer)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.publish()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def answer(self, request: web.Request) -> web.Response:
        self.fetched.append(request.path)
        suffix = Path(request.path).suffix.lower()
        if suffix in IMAGE_FORMATS:
            kind, media_type = IMAGE_FORMATS[suffix]
            out = io.BytesIO()
            Image.new("RGB", (64, 48), (40, 90, 160)).save(out, format=kind)
            return web.Response(body=out.getvalue(), content_type=media_type)
        if suffix == ".mp4":
            ftyp = b"ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
            box = (len(ftyp) + 4).to_bytes(4, "big") + ftyp
            return web.Response(
                body=box + (8).to_bytes(4, "big") + b"free", content_type="video/mp4"
            )
        document = self.documents.get(request.path)
        if document is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(document, content_type="application/activity+json")


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    server = Origin()
    await server.start()
    yield server
    await server.stop()


# --- delivering and reading ----------------------------------------------------------------------


async def follow(reader: Account, origin: Origin, fixture_actor: str) -> None:
    """The reader follows the sender (accepted), as after a follow from the profile page."""
    followee = await remote_actors.resolve_actor(origin.url(fixture_actor))
    await Follow.create(follower=reader.actor, followee=followee, accepted=True)


async def deliver(
    client: httpx.AsyncClient, origin: Origin, fixture: str | dict[str, Any]
) -> dict[str, Any]:
    """The activity of a fixture (a name, or one loaded and changed), signed by its actor's
    key, to the shared inbox; then processed. Returns the activity as sent."""
    activity = origin.load(fixture) if isinstance(fixture, str) else fixture
    actor = origin.documents[origin.path(activity["actor"])]
    body = json.dumps(activity).encode()
    headers = sign_request(
        "POST",
        BASE_URL + "/inbox",
        {"Content-Type": "application/activity+json"},
        body,
        actor["publicKey"]["id"],
        key_pair(0).private_pem,
    )
    response = await client.post("/inbox", content=body, headers=headers)
    assert response.status_code == 202, response.text
    while await processor.process_pending_once():
        pass
    item = await InboxItem.get(activity_id=activity["id"])
    assert (item.state, item.error) == (WorkState.DONE, ""), item.error
    return activity


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)
    parent: Element | None = None

    def walk(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.walk()

    def find(self, tag: str) -> list[Element]:
        return [e for e in self.walk() if e.tag == tag]

    @property
    def text(self) -> str:
        words = "".join(c if isinstance(c, str) else f" {c.text} " for c in self.children)
        return " ".join(words.split())

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class _Tree(HTMLParser):
    VOID = frozenset(
        ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source")
        + ("track", "wbr")
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = self.current = Element("root", {})

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, parent=self.current)
        self.current.children.append(element)
        if tag not in self.VOID:
            self.current = element

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(html: str) -> Element:
    tree = _Tree()
    tree.feed(html)
    return tree.root


@dataclass
class Seen:
    """A post's page as the reader sees it, and the post's own article on it."""

    page: Element
    article: Element
    post_id: int

    @property
    def text(self) -> str:
        return self.article.text

    def links(self) -> list[str]:
        return [a.attrs.get("href", "") for a in self.article.find("a")]

    def images(self) -> list[Element]:
        """Images of the post (not the author's picture, not custom emoji)."""
        return [
            img
            for img in self.article.find("img")
            if "avatar" not in img.classes and not re.fullmatch(r":\w+:", img.attrs.get("alt", ""))
        ]


async def seen(reader: httpx.AsyncClient, origin: Origin, fixture_id: str) -> Seen:
    """The page of the post with that (fixture) id, as the reader gets it."""
    post = await Post.get_or_none(uri=origin.url(fixture_id))
    assert post is not None, f"{fixture_id} was not kept as a post"
    response = await reader.get(f"/posts/{post.id}")
    assert response.status_code == 200
    page = parse(response.text)
    articles = page.find("article")
    focused = [a for a in articles if "post-focus" in a.classes] or [
        a for a in articles if a.attrs.get("aria-labelledby", "").startswith(f"post-{post.id}-")
    ]
    assert focused, "the post's page has no article for it"
    return Seen(page, focused[0], post.id)


def served_here(src: str) -> bool:
    """A media address on this instance (a proxy or cache of ours): never hot-linked."""
    return src.startswith("/") and not src.startswith("//") or src.startswith(BASE_URL + "/")


def assert_image(seen_: Seen, description: str, within: Element | None = None) -> None:
    scope = within or seen_.article
    images = [i for i in seen_.images() if i in list(scope.walk())]
    described = [i for i in images if i.attrs.get("alt") == description]
    assert described, f"no image described {description!r} in {[i.attrs for i in images]}"
    assert all(served_here(i.attrs.get("src", "")) for i in described), described[0].attrs


# --- Mastodon ------------------------------------------------------------------------------------

M = "https://mastodon.example"
ANNA = f"{M}/users/anna"
BRAM = f"{M}/users/bram"


async def test_mastodon_text_and_hashtag_as_a_topic_link(client, browser, alice, origin):
    await follow(alice, origin, ANNA)
    await deliver(client, origin, "mastodon/create-note-image.json")
    page = await seen(await browser(alice), origin, f"{ANNA}/statuses/111000000000000001")
    assert "Het nieuwe stadskantoor is open!" in page.text
    assert "/tags/stadskantoor" in page.links()


async def test_mastodon_image_is_shown_with_its_description(client, browser, alice, origin):
    await follow(alice, origin, ANNA)
    await deliver(client, origin, "mastodon/create-note-image.json")
    page = await seen(await browser(alice), origin, f"{ANNA}/statuses/111000000000000001")
    assert_image(page, "De glazen gevel van het stadskantoor bij zonsopgang")


async def test_mastodon_sensitive_post_hides_its_text_behind_the_summary(
    client, browser, alice, origin
):
    await follow(alice, origin, ANNA)
    await deliver(client, origin, "mastodon/create-sensitive.json")
    page = await seen(await browser(alice), origin, f"{ANNA}/statuses/111000000000000002")
    warnings = page.article.find("details")
    assert len(warnings) == 1 and "open" not in warnings[0].attrs
    label = warnings[0].find("summary")
    assert label and "Spoiler: uitslag van de verkiezing" in label[0].text
    assert "de nieuwe raad telt 45 zetels" in warnings[0].text


async def test_mastodon_sensitive_image_is_behind_the_warning_with_its_description(
    client, browser, alice, origin
):
    await follow(alice, origin, ANNA)
    await deliver(client, origin, "mastodon/create-sensitive.json")
    page = await seen(await browser(alice), origin, f"{ANNA}/statuses/111000000000000002")
    warnings = page.article.find("details")
    assert warnings, "no content warning"
    assert_image(page, "Staafdiagram van de zetelverdeling", within=warnings[0])


async def test_mastodon_sensitive_without_summary_still_hides_the_post(
    client, browser, alice, origin
):
    """Mastodon sends ``sensitive: true`` and ``summary: null`` for media marked sensitive
    without a content warning text."""
    await follow(alice, origin, ANNA)
    activity = origin.load("mastodon/create-sensitive.json")
    activity["object"]["summary"] = None
    activity["id"] += "-no-summary"
    origin.documents[origin.path(activity["object"]["id"])] = activity["object"]
    await deliver(client, origin, activity)
    page = await seen(await browser(alice), origin, f"{ANNA}/statuses/111000000000000002")
    warnings = page.article.find("details")
    assert warnings, "a sensitive post without a summary is shown openly"
    assert "de nieuwe raad telt 45 zetels" in warnings[0].text


async def test_mastodon_reply_to_a_post_we_have_links_the_thread(client, browser, alice, origin):
    await follow(alice, origin, ANNA)
    await follow(alice, origin, BRAM)
    parent = origin.load("mastodon/status-parent.json")
    create = {
        "@context": parent["@context"],
        "id": parent["id"] + "/activity",
        "type": "Create",
        "actor": parent["attributedTo"],
        "to": parent["to"],
        "cc": parent["cc"],
        "object": parent,
    }
    await deliver(client, origin, create)
    await deliver(client, origin, "mastodon/create-reply.json")
    reader = await browser(alice)
    parent_page = await seen(reader, origin, f"{BRAM}/statuses/111000000000000010")
    page = await seen(reader, origin, f"{ANNA}/statuses/111000000000000011")
    assert "In de gedeelde map, onder Raad." in page.text
    assert f"/posts/{parent_page.post_id}" in page.links()


async def test_mastodon_reply_to_a_post_we_do_not_have_fetches_the_parent(
    client, browser, alice, origin
):
    await follow(alice, origin, ANNA)
    await deliver(client, origin, "mastodon/create-reply.json")
    reader = await browser(alice)
    page = await seen(reader, origin, f"{ANNA}/statuses/111000000000000011")
    parent = await Post.get_or_none(uri=origin.url(f"{BRAM}/statuses/111000000000000010"))
    assert parent is not None, "the parent was not fetched"
    assert f"/posts/{parent.id}" in page.links()
    assert "Wie weet waar de notulen van dinsdag staan?" in page.page.text  # the thread shows


async def test_mastodon_boost_of_a_followed_person_shows_on_the_timeline(
    client, browser, alice, origin
):
    await follow(alice, origin, ANNA)
    await deliver(client, origin, "mastodon/announce.json")
    home = parse((await (await browser(alice)).get("/")).text)
    assert "De subsidieregeling voor groene daken is verlengd tot 2027." in home.text
    assert "Boosted by" in home.text and "Anna de Vries" in home.text


async def test_mastodon_quote_links_the_quoted_post(client, browser, alice, origin):
    """Not the RE: line of the HTML (that links the quoted post's ``url``): a link the
    ``quote`` property made, to the quoted post's page here or to its id."""
    await follow(alice, origin, ANNA)
    await deliver(client, origin, "mastodon/create-quote.json")
    page = await seen(await browser(alice), origin, f"{ANNA}/statuses/111000000000000031")
    assert "Goed nieuws voor bewoners." in page.text
    quoted_id = origin.url(f"{BRAM}/statuses/111000000000000030")
    quoted = await Post.get_or_none(uri=quoted_id)
    targets = {quoted_id} | ({f"/posts/{quoted.id}"} if quoted else set())
    assert targets & set(page.links()), page.links()


async def test_mastodon_quote_shows_the_quoted_post_as_a_card(client, browser, alice, origin):
    await follow(alice, origin, ANNA)
    await deliver(client, origin, "mastodon/create-quote.json")
    page = await seen(await browser(alice), origin, f"{ANNA}/statuses/111000000000000031")
    assert "Vanaf maandag is de balie ook op zaterdag open." in page.text
    assert "RE:" not in page.text  # the card replaces the line for servers without quotes


# --- GoToSocial ----------------------------------------------------------------------------------

FEMKE = "https://gts.example/users/femke"


async def test_gotosocial_text_and_hashtag_as_a_topic_link(client, browser, alice, origin):
    """GoToSocial signs with a key id that is a document of its own (…/main-key)."""
    await follow(alice, origin, FEMKE)
    await deliver(client, origin, "gotosocial/create-note.json")
    page = await seen(await browser(alice), origin, f"{FEMKE}/statuses/01HV0000000000000000000001")
    assert "Het archief van 1850 is gedigitaliseerd." in page.text
    assert "/tags/archief" in page.links()


async def test_gotosocial_image_type_attachment_is_shown_with_its_description(
    client, browser, alice, origin
):
    await follow(alice, origin, FEMKE)
    await deliver(client, origin, "gotosocial/create-note.json")
    page = await seen(await browser(alice), origin, f"{FEMKE}/statuses/01HV0000000000000000000001")
    assert_image(page, "Een vergeeld kasboek uit 1850, opengeslagen")


# --- Misskey -------------------------------------------------------------------------------------

K = "https://misskey.example"
JORIS = f"{K}/users/9x1a2b3c4d"


async def test_misskey_text_and_hashtag_as_a_topic_link(client, browser, alice, origin):
    await follow(alice, origin, JORIS)
    await deliver(client, origin, "misskey/create-note-quote.json")
    page = await seen(await browser(alice), origin, f"{K}/notes/9x00000002")
    assert "Eindelijk!" in page.text
    assert "/tags/opendata" in page.links()


async def test_misskey_quote_shows_the_quoted_note_as_a_card(client, browser, alice, origin):
    """Misskey's HTML ends in a "RE: <link>" line for servers without quotes: the card
    replaces it, as on Mastodon."""
    await follow(alice, origin, JORIS)
    await deliver(client, origin, "misskey/create-note-quote.json")
    page = await seen(await browser(alice), origin, f"{K}/notes/9x00000002")
    assert "De open data van de gemeente staan nu ook als API online." in page.text
    assert "RE:" not in page.text


async def test_misskey_custom_emoji_is_a_small_image_with_its_shortcode(
    client, browser, alice, origin
):
    await follow(alice, origin, JORIS)
    await deliver(client, origin, "misskey/create-note-quote.json")
    page = await seen(await browser(alice), origin, f"{K}/notes/9x00000002")
    emoji = [i for i in page.article.find("img") if i.attrs.get("alt") == ":blobcat:"]
    assert emoji, "the custom emoji is not an image"
    assert served_here(emoji[0].attrs.get("src", "")), emoji[0].attrs


async def test_misskey_poll_shows_its_question_and_options(client, browser, alice, origin):
    await follow(alice, origin, JORIS)
    await deliver(client, origin, "misskey/create-question.json")
    page = await seen(await browser(alice), origin, f"{K}/notes/9x00000003")
    assert "Welke dag past het best voor de hackathon?" in page.text
    for option in ("Vrijdag", "Zaterdag", "Zondag"):
        assert option in page.text


# --- PeerTube ------------------------------------------------------------------------------------

P = "https://peertube.example"
SANNE = f"{P}/accounts/sanne"
VIDEO = "7f1c3e52-6b3a-4c8e-9d2f-0a1b2c3d4e5f"


async def test_peertube_video_shows_title_link_and_author(client, browser, alice, origin):
    await follow(alice, origin, SANNE)
    await deliver(client, origin, "peertube/create-video.json")
    page = await seen(await browser(alice), origin, f"{P}/videos/watch/{VIDEO}")
    assert "Raadsvergadering 12 maart 2026" in page.text
    assert origin.url(f"{P}/w/{VIDEO}") in page.links()  # the watch page
    assert "Sanne Visser" in page.text  # attributedTo [Person, Group]: the person is the author


async def test_peertube_video_is_a_player(client, browser, alice, origin):
    await follow(alice, origin, SANNE)
    await deliver(client, origin, "peertube/create-video.json")
    page = await seen(await browser(alice), origin, f"{P}/videos/watch/{VIDEO}")
    players = page.article.find("video")
    assert players, "no video player"
    sources = [players[0].attrs.get("src", "")] + [
        s.attrs.get("src", "") for s in players[0].find("source")
    ]
    assert any(served_here(s) for s in sources if s), sources


# --- Mobilizon -----------------------------------------------------------------------------------

Z = "https://mobilizon.example"
WIJKTEAM = f"{Z}/@wijkteam"
EVENT = f"{Z}/events/3c5b7e9a-1d2f-4a6b-8c0d-e1f2a3b4c5d6"


async def test_mobilizon_event_shows_title_time_and_place(client, browser, alice, origin):
    await follow(alice, origin, WIJKTEAM)
    await deliver(client, origin, "mobilizon/create-event.json")
    page = await seen(await browser(alice), origin, EVENT)
    assert "Bewonersavond over het nieuwe park" in page.text
    assert "Stationspark" in page.text  # the description
    times = [t.attrs.get("datetime", "") for t in page.article.find("time")]
    # Its start (published is 2026-03-05): a <time> for it, or at least the date as text.
    assert any(t.startswith("2026-05-14") for t in times) or "5/14/26" in page.text, times
    assert "Buurthuis De Schakel" in page.text
