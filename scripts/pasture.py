"""Run the Fediverse Pasture's catalogue of inputs against a local instance and count what a
reader sees.

The catalogue (PyPI ``fediverse-pasture-inputs``) is a list of example objects that other
servers send. It depends on ``fediverse-pasture``, whose pins clash with ours, so it lives in
a venv of its own (``.venv-pasture``, made on first use); a subprocess there dumps the
examples as JSON. Its newest releases (0.3.5: 26 inputs, 322 examples) need Python 3.13 or
later: the venv is made with the first such Python found (``--python``, ``PASTURE_PYTHON``,
``python3.13``/``python3.14`` on the PATH, pyenv's versions), else with this one and the
last release that runs on it (0.3.0: 22 inputs, 262 examples). This script then, on
loopback only:

1. starts ``fediverse-intranet serve`` on a fresh SQLite database in a temporary folder,
   with a signed-in reader who follows the sending actor (found and followed through the
   web pages, the Accept signed and sent back as a peer would);
2. serves that actor, its notes and the catalogue's media (real image bytes made with
   Pillow) from a small HTTP server; every host the examples name is rewritten to a loopback
   address of its own, so nothing leaves the machine and origins stay distinct;
3. sends each example as the Pasture's sender does (merged into a Note, wrapped in a Create
   from the actor, addressed to the public and the reader, signed with HTTP Signatures);
4. reads the post's page as the reader and counts, per input and in total, how many examples
   kept the post, its text, its media (shown; linked; with description), its thread, its
   content warning and its tags (topic links).

Usage: ``.venv/bin/python scripts/pasture.py [--out results.json] [--only NAME ...]``
(or ``make pasture``). Every process it started is stopped by its id at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from aiohttp import web
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from activitypub.keys import generate_rsa_key_pair  # noqa: E402
from activitypub.signatures import sign_request  # noqa: E402

INPUTS_NEWEST = "fediverse-pasture-inputs==0.3.5"  # needs Python 3.13 or later
INPUTS_311 = "fediverse-pasture-inputs==0.3.0"  # the last release for Python 3.11 and 3.12
PASTURE_VENV = ROOT / ".venv-pasture"
AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS}#Public"
PASTURE_HOST = "pasture-one-actor"
# Namespace and context URIs: names, never fetched, so never rewritten.
NAMESPACES = (
    "www.w3.org",
    "w3id.org",
    "schema.org",
    "joinpeertube.org",
    "misskey-hub.net",
    "purl.org",
    "ostatus.org",
)
HASHTAG_TYPES = {"Hashtag", "as:Hashtag", f"{AS}#Hashtag"}
MEDIA_TYPES = {"Image", "Video", "Audio"}
READER = "reader"
PASSWORD = "pasture reader horse battery"  # noqa: S105 (a throwaway local account)
PROCESS_TIMEOUT = 120.0

DUMP = """
import json, sys
from fediverse_pasture_inputs import available
json.dump({name: {"title": data.title, "examples": data.examples}
           for name, data in sorted(available.items())}, sys.stdout, default=str)
"""


# --- the catalogue -----------------------------------------------------------------------------


def load_catalogue(path: Path | None, python: str | None = None) -> dict[str, dict[str, Any]]:
    """The examples per input: from a JSON file, or dumped from the inputs package."""
    if path is not None:
        return json.loads(path.read_text())
    base = python or _newest_python() or sys.executable
    newest = _version_of(base) >= (3, 13)
    package = INPUTS_NEWEST if newest else INPUTS_311
    venv = PASTURE_VENV / ("newest" if newest else "3.11")
    venv_python = venv / "bin" / "python"
    if not venv_python.exists():
        print(f"making {venv} with {package} (once)", file=sys.stderr)
        subprocess.run([base, "-m", "venv", str(venv)], check=True)  # noqa: S603
        subprocess.run(  # noqa: S603 (our own venv's pip, a fixed package)
            [str(venv_python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
            + [package],
            check=True,
        )
    print(f"catalogue: {package}", file=sys.stderr)
    # Run outside the package folder: its types.py would shadow the standard library's.
    dumped = subprocess.run(  # noqa: S603 (a fixed script in our own venv)
        [str(venv_python), "-c", DUMP], check=True, capture_output=True, cwd=tempfile.gettempdir()
    )
    return json.loads(dumped.stdout)


def _newest_python() -> str | None:
    """A Python of 3.13 or later on this machine, for the catalogue's newest release."""
    found = [os.environ.get("PASTURE_PYTHON", "")]
    found += [shutil.which(f"python3.{minor}") or "" for minor in (13, 14, 15)]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv.is_dir():
        found += [str(p / "bin" / "python3") for p in sorted(pyenv.iterdir(), reverse=True)]
    return next((c for c in found if c and _version_of(c) >= (3, 13)), None)


def _version_of(python: str) -> tuple[int, int]:
    try:
        answer = subprocess.run(  # noqa: S603 (an interpreter found above, asked its version)
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        major, minor = answer.stdout.split()
        return int(major), int(minor)
    except (OSError, ValueError, subprocess.SubprocessError):
        return (0, 0)


class Hosts:
    """Every host the examples name, each on a loopback address of its own."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.addresses: dict[str, str] = {PASTURE_HOST: "127.0.1.1"}

    def address(self, host: str) -> str:
        if host not in self.addresses:
            self.addresses[host] = f"127.0.1.{len(self.addresses) + 1}"
        return self.addresses[host]

    def origin(self, host: str) -> str:
        return f"http://{self.address(host)}:{self.port}"

    @property
    def actor(self) -> str:
        return self.origin(PASTURE_HOST) + "/actor"

    def rewrite(self, value: Any) -> Any:
        """The example with each http(s) host (other than namespaces) on loopback."""
        text = json.dumps(value)

        def swap(match: re.Match[str]) -> str:
            host = match.group(2)
            if host in NAMESPACES or host.endswith(".w3.org"):
                return match.group(0)
            return self.origin(host)

        text = re.sub(r"(https?)://([A-Za-z0-9_.-]+)(?::\d+)?", swap, text)
        return json.loads(text)

    def host_of(self, address: str) -> str:
        for host, mine in self.addresses.items():
            if mine == address:
                return host
        return ""


# --- the sending actor and its media -------------------------------------------------------------


def image_bytes(name: str) -> tuple[bytes, str]:
    """A small real image in the format the name says (as the Pasture's image provider)."""
    formats = {
        ".jpg": ("JPEG", "image/jpeg"),
        ".jpeg": ("JPEG", "image/jpeg"),
        ".gif": ("GIF", "image/gif"),
        ".tiff": ("TIFF", "image/tiff"),
        ".webp": ("WEBP", "image/webp"),
        ".eps": ("EPS", "image/eps"),
    }
    kind, media_type = formats.get(Path(name).suffix.lower(), ("PNG", "image/png"))
    picture = Image.new("RGB", (40, 40), (secrets.randbelow(256), 120, 60))
    out = io.BytesIO()
    picture.save(out, format=kind)
    return out.getvalue(), media_type


def mp3_bytes() -> bytes:
    """A second of silent MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, 417 bytes each)."""
    frame = bytes([0xFF, 0xFB, 0x90, 0x64]) + bytes(413)
    return frame * 38


def mp4_bytes() -> bytes:
    """The boxes a video file starts with (ftyp, then an empty free box): sniffable as MP4."""
    ftyp = b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2avc1mp41"
    return (len(ftyp) + 4).to_bytes(4, "big") + ftyp + (8).to_bytes(4, "big") + b"free"


@dataclass
class Pasture:
    """The Pasture's one actor: its document, WebFinger, notes, media; it accepts follows."""

    hosts: Hosts
    keys: Any = field(default_factory=generate_rsa_key_pair)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> document
    follows: list[dict[str, Any]] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    runner: web.AppRunner | None = None

    @property
    def actor_id(self) -> str:
        return self.hosts.actor

    @property
    def key_id(self) -> str:
        return self.actor_id + "#main-key"

    def document(self) -> dict[str, Any]:
        return {
            "@context": [AS, "https://w3id.org/security/v1"],
            "id": self.actor_id,
            "type": "Person",
            "preferredUsername": "actor",
            "name": "The Pasture",
            "inbox": self.actor_id + "/inbox",
            "outbox": self.actor_id + "/outbox",
            "followers": self.actor_id + "/followers",
            "publicKey": {
                "id": self.key_id,
                "owner": self.actor_id,
                "publicKeyPem": self.keys.public_pem,
            },
        }

    def note(self, name: str, content: str) -> dict[str, Any]:
        return {
            "@context": AS,
            "id": self.hosts.origin(PASTURE_HOST) + f"/assets/{name}",
            "type": "Note",
            "to": [PUBLIC],
            "attributedTo": self.actor_id,
            "content": content,
            "published": "2024-01-06T13:11:45Z",
        }

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self.answer)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        for address in sorted(set(self.hosts.addresses.values())):
            await web.TCPSite(self.runner, address, self.hosts.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def answer(self, request: web.Request) -> web.StreamResponse:
        address = (request.host or "").rsplit(":", 1)[0]
        self.fetched.append(f"{request.method} {address}{request.path_qs}")
        if self.hosts.host_of(address) != PASTURE_HOST:
            return web.json_response({"error": "not found"}, status=404)
        path = request.path
        if request.method == "POST":
            if path == "/actor/inbox":
                activity = await request.json()
                if activity.get("type") == "Follow":
                    self.follows.append(activity)
            return web.Response(status=202)
        if path == "/actor":
            return activity_json(self.document())
        if path == "/.well-known/webfinger":
            return web.json_response(
                {
                    "subject": request.query.get("resource", ""),
                    "links": [
                        {"rel": "self", "type": "application/activity+json", "href": self.actor_id}
                    ],
                },
                content_type="application/jrd+json",
            )
        if path in self.objects:
            return activity_json(self.objects[path])
        if path in ("/assets/note1.jsonap", "/assets/note2.jsonap"):
            n = path[-8]
            return activity_json(
                self.note(f"note{n}.jsonap", f"<p>{'One' if n == '1' else 'Two'}</p>")
            )
        name = path.rsplit("/", 1)[-1]
        if path.startswith(("/images/", "/assets/")):
            suffix = Path(name).suffix.lower()
            if suffix == ".mp3":
                return web.Response(body=mp3_bytes(), content_type="audio/mpeg")
            if suffix == ".mp4":
                return web.Response(body=mp4_bytes(), content_type="video/mp4")
            if suffix == ".txt":
                return web.Response(text="A sample text file.\n", content_type="text/plain")
            body, media_type = image_bytes(name)
            return web.Response(body=body, content_type=media_type)
        return web.json_response({"error": "not found"}, status=404)


def activity_json(document: dict[str, Any]) -> web.Response:
    return web.json_response(document, content_type="application/activity+json")


# --- our instance --------------------------------------------------------------------------------


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


@dataclass
class Instance:
    """``fediverse-intranet serve`` on SQLite in a temporary folder, on 127.0.0.1."""

    home: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database(self) -> Path:
        return self.home / "data" / "db.sqlite3"

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("FI_")}
        env.update(
            FI_DATA_DIR=str(self.home / "data"),
            FI_BASE_URL=self.url,
            FI_BIND_HOST="127.0.0.1",
            FI_PORT=str(self.port),
            FI_INSTANCE_NAME="Pasture run",
            FI_FEDERATION_PRIVATE_NETWORKS="127.0.0.0/8",
            FI_WORKER_IN_WEB="true",
            PYTHONUNBUFFERED="1",
        )
        return env

    def cli(self, *args: str) -> None:
        command = [sys.executable, "-m", "fediverse_intranet.cli", *args]
        subprocess.run(command, cwd=ROOT, env=self.env(), check=True, capture_output=True)  # noqa: S603

    def start(self) -> None:
        self.cli("migrate")
        self.cli(
            "user", "create", READER,
            "--email", "reader@pasture.test",
            "--password", PASSWORD,
            "--display-name", "Pasture Reader",
        )  # fmt: skip
        log = (self.home / "server.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fediverse_intranet.cli", "serve"],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"serve stopped:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise SystemExit(f"serve did not answer:\n{self.log_tail()}")

    def log_tail(self) -> str:
        path = self.home / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Where a post is (its page's id): read-only, as an operator with sqlite3 would."""
        connection = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()


# --- reading a page ------------------------------------------------------------------------------


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

    def text(self) -> str:
        """What a reader reads: never a script or style; a space between elements."""
        parts: list[str] = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag not in ("script", "style"):
                parts.append(f" {child.text()} ")
        return "".join(parts)

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip


class TreeBuilder(HTMLParser):
    """Just enough of a DOM to find a post's article and what is in it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("root", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, parent=self.current)
        self.current.children.append(element)
        if tag not in VOID:
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
    builder = TreeBuilder()
    builder.feed(html)
    return builder.root


def the_article(page: Element, post_id: int) -> Element | None:
    """The post a page is about: the focused one, else the one labelled or linked by id."""
    articles = [e for e in page.walk() if e.tag == "article"]
    for article in articles:
        if "post-focus" in article.classes():
            return article
    for article in articles:
        if article.attrs.get("aria-labelledby", "").startswith(f"post-{post_id}-"):
            return article
    for article in articles:
        if any(e.attrs.get("href") == f"/posts/{post_id}" for e in article.walk()):
            return article
    return None


def squeezed(text: str) -> str:
    """Text without any white space: where a line break or a block put a space is not
    what is measured."""
    return "".join(text.split())


def plain(html: str) -> str:
    return " ".join(parse(html).text().split()) if html else ""


# --- what each example should keep ---------------------------------------------------------------


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def types_of(value: Any) -> set[str]:
    """An object's ``type``: a string or a list of them (anything else: none)."""
    if not isinstance(value, dict):
        return set()
    return {t for t in as_list(value.get("type")) if isinstance(t, str)}


def media_of(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The media an object carries: attachments, or the object itself for Image/Video/Audio."""
    found = [a for a in as_list(obj.get("attachment")) if isinstance(a, dict)]
    if not found and types_of(obj) & MEDIA_TYPES and obj.get("url"):
        found = [{"url": obj["url"], "name": obj.get("name", "")}]
    return found


def urls_of(value: Any) -> list[str]:
    """Every URL in a url/href value (a string, a Link, a list of either)."""
    out: list[str] = []
    for item in as_list(value):
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            out += urls_of(item.get("href")) + urls_of(item.get("url"))
    return out


def reply_targets(obj: dict[str, Any]) -> list[str]:
    targets: list[str] = []
    for item in as_list(obj.get("inReplyTo")):
        if isinstance(item, str):
            targets.append(item)
        elif isinstance(item, dict):
            targets += [u for u in (item.get("id"), item.get("href")) if isinstance(u, str)]
            targets += [u for u in as_list(item.get("items")) if isinstance(u, str)]
    return targets


def hashtags_of(obj: dict[str, Any]) -> set[str]:
    names = set()
    for tag in as_list(obj.get("tag")):
        if types_of(tag) & HASHTAG_TYPES:
            name = str(tag.get("name", "")).lstrip("#＃").strip().lower()
            if name:
                names.add(name)
    return names


def quote_targets(obj: dict[str, Any]) -> list[str]:
    targets = [
        u
        for key in ("quote", "quoteUrl", "quoteUri", "_misskey_quote")
        for u in as_list(obj.get(key))
        if isinstance(u, str)
    ]
    for tag in as_list(obj.get("tag")):
        if not isinstance(tag, dict):
            continue
        marked = "quote" in str(tag.get("rel", "")) or "activity" in str(tag.get("mediaType", ""))
        if "Link" in types_of(tag) and isinstance(tag.get("href"), str) and marked:
            targets.append(str(tag["href"]))
    return targets


def emoji_of(obj: dict[str, Any]) -> set[str]:
    """The ``:shortcode:`` of each Emoji tag that the text uses."""
    content = str(obj.get("content") or "")
    names = {t.get("name") for t in as_list(obj.get("tag")) if isinstance(t, dict)
             and t.get("type") == "Emoji"}  # fmt: skip
    return {n for n in names if isinstance(n, str) and n.startswith(":") and n in content}


def description_of(attachment: dict[str, Any]) -> str:
    for key in ("name", "summary"):
        if isinstance(attachment.get(key), str) and attachment[key].strip():
            return " ".join(attachment[key].split())
    return ""


# --- measuring -----------------------------------------------------------------------------------


def measure(obj: dict[str, Any], page: Element | None, post_id: int | None, ids: dict[str, int]
            ) -> dict[str, Any]:  # fmt: skip
    """What the reader's page kept of one example: None where the example has nothing of it."""
    media = media_of(obj)
    descriptions = [d for d in (description_of(a) for a in media) if d]
    replies = reply_targets(obj)
    warning = bool(obj.get("sensitive") is True or plain(str(obj.get("summary") or "")))
    hashtags = hashtags_of(obj)
    quotes = quote_targets(obj)
    emoji = emoji_of(obj)
    result: dict[str, Any] = {
        "post": page is not None,
        "text": None,
        "media_shown": None if not media else False,
        "media_linked": None if not media else False,
        "description": None if not descriptions else False,
        "thread": None if not replies else False,
        "thread_resolved": None if not replies else False,
        "warning": None if not warning else False,
        "tags": None if not hashtags else False,
        "tags_found": 0,
        "tags_expected": len(hashtags),
        "quote": None if not quotes else False,
        "emoji": None if not emoji else False,
    }
    content = obj.get("content")
    if not (isinstance(content, str) and plain(content)) and isinstance(
        obj.get("contentMap"), dict
    ):
        # Only a contentMap: any of its languages counts (the reader's first is a feature).
        content = next(
            (v for v in obj["contentMap"].values() if isinstance(v, str) and plain(v)), ""
        )
    if isinstance(content, str) and plain(content):
        result["text"] = False
    if page is None:
        return result
    text = " ".join(page.text().split())
    if result["text"] is False:
        words = plain(str(content))
        for shortcode in emoji:  # a custom emoji is an image on the page, not its text
            words = words.replace(shortcode, "")
        words = words[:40]
        result["text"] = squeezed(words) in squeezed(text)
    media_urls = {u for a in media for u in urls_of(a.get("url")) + urls_of(a.get("href"))}
    shown = linked = False
    alts: list[str] = []
    for element in page.walk():
        if element.tag in ("img", "video", "audio", "source"):
            if "avatar" in element.classes() or "emoji" in element.classes():
                continue
            if element.tag == "img" and re.fullmatch(r":[^:\s]+:", element.attrs.get("alt", "")):
                continue
            shown = True
            alts += [element.attrs.get("alt", ""), element.attrs.get("aria-label", "")]
        if element.tag == "a" and element.attrs.get("href") in media_urls:
            linked = True
    if media:
        result["media_shown"] = shown
        result["media_linked"] = shown or linked
    if descriptions:
        seen = text + " " + " ".join(" ".join(a.split()) for a in alts)
        result["description"] = all(d in seen for d in descriptions)
    hrefs = [e.attrs.get("href", "") for e in page.walk() if e.tag == "a"]
    if replies:
        local = {f"/posts/{ids[t]}" for t in replies if t in ids}
        result["thread"] = any(h in replies or h in local for h in hrefs) or any(
            "reply-to" in e.classes() or "in-reply-to" in e.classes() for e in page.walk()
        )
        result["thread_resolved"] = bool(local & set(hrefs))
    if warning:
        details = [e for e in page.walk() if e.tag == "details"]
        label = plain(str(obj.get("summary") or ""))
        result["warning"] = bool(details) and (
            not label or any(squeezed(label) in squeezed(d.text()) for d in details)
        )
    if hashtags:
        topics = {unquote(h) for h in hrefs if h.startswith("/tags/")}
        result["tags_found"] = len(topics)
        result["tags"] = len(topics) >= len(hashtags)
    if quotes:
        local = {f"/posts/{ids[t]}" for t in quotes if t in ids}
        result["quote"] = any(h in quotes or h in local for h in hrefs)
    if emoji:
        images = [e for e in page.walk() if e.tag == "img" and e.attrs.get("src", "")[:1] == "/"]
        result["emoji"] = emoji <= {e.attrs.get("alt", "") for e in images}
    return result


def measured(obj: Any, page: Element | None, post_id: int | None, ids: dict[str, int]
             ) -> dict[str, Any]:  # fmt: skip
    """``measure``, or what went wrong: an odd example must not end the run."""
    if not isinstance(obj, dict):
        return {"post": page is not None, "error": "the object is not a JSON object"}
    try:
        return measure(obj, page, post_id, ids)
    except (TypeError, ValueError, AttributeError) as exc:
        return {"post": page is not None, "error": f"{type(exc).__name__}: {exc}"}


METRICS = ("post", "text", "media_shown", "media_linked", "description", "thread",
           "thread_resolved", "warning", "tags", "quote", "emoji")  # fmt: skip


# --- the run --------------------------------------------------------------------------------------


class Reader(httpx.AsyncClient):
    async def sign_in(self) -> None:
        page = (await self.get("/login")).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, "no CSRF token on /login"
        answer = await self.post(
            "/login",
            data={"csrf_token": token.group(1), "login": READER, "password": PASSWORD},
        )
        assert answer.status_code == 303, f"sign-in answered {answer.status_code}"

    async def form(self, path: str) -> httpx.Response:
        page = (await self.get(path)).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        return token.group(1) if token else ""  # type: ignore[return-value]


async def follow_the_actor(reader: Reader, instance: Instance, pasture: Pasture) -> bool:
    """Find the actor by handle and follow it, as a person does; the actor accepts."""
    handle = f"actor@{urlsplit(pasture.actor_id).netloc}"
    found = await reader.get("/people", params={"q": f"@{handle}"})
    if found.status_code != 303:
        return False
    profile = found.headers["location"]
    token = await reader.form(profile)
    await reader.post(f"{profile}/follow", data={"csrf_token": token})
    for _ in range(100):
        if pasture.follows:
            break
        await asyncio.sleep(0.1)
    else:
        return False
    follow = pasture.follows[0]
    accept = {
        "@context": AS,
        "id": pasture.actor_id + "#accepts/1",
        "type": "Accept",
        "actor": pasture.actor_id,
        "object": follow,
    }
    await post_signed(instance, pasture, follow["actor"] + "/inbox", accept)
    return True


async def post_signed(
    instance: Instance, pasture: Pasture, inbox: str, activity: dict[str, Any]
) -> int:
    body = json.dumps(activity).encode()
    headers = sign_request(
        "POST",
        inbox,
        {"Content-Type": "application/activity+json"},
        body,
        pasture.key_id,
        pasture.keys.private_pem,
    )
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(inbox, content=body, headers=headers)
    return answer.status_code


def create_for(pasture: Pasture, example: dict[str, Any], reader_uri: str) -> dict[str, Any]:
    """The Pasture's sender: a Note skeleton merged with the example, wrapped in a Create."""
    origin = pasture.hosts.origin(PASTURE_HOST)
    note = {
        "type": "Note",
        "attributedTo": pasture.actor_id,
        "to": [PUBLIC],
        "id": f"{origin}/object/{secrets.token_urlsafe(8)}",
        "published": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **pasture.hosts.rewrite(example),
    }
    # An example "without" a property sets it to None, and the Pasture sends that null.
    note["to"] = as_list(note.get("to")) + [reader_uri]
    create = {
        "@context": note.get("@context")
        or [AS, {"Hashtag": "as:Hashtag", "sensitive": "as:sensitive"}],
        "type": "Create",
        "actor": pasture.actor_id,
        "to": note["to"],
        "id": f"{origin}/activity/{secrets.token_urlsafe(8)}",
        "published": note["published"],
        "object": note,
    }
    if "cc" in note:
        create["cc"] = note["cc"]
    if isinstance(note.get("id"), str):
        pasture.objects[urlsplit(note["id"]).path] = {"@context": create["@context"], **note}
    return create


def queues(instance: Instance) -> list[str]:
    """Every table of work (``services/work_queue.py``: a ``state`` and ``next_attempt_at``):
    the inbox, deliveries, and any queue a later feature adds (fetching media, say)."""
    tables = [
        name for (name,) in instance.query("SELECT name FROM sqlite_master WHERE type='table'")
    ]
    found = []
    for table in tables:
        columns = {row[1] for row in instance.query(f"PRAGMA table_info({table})")}
        if {"state", "next_attempt_at"} <= columns:
            found.append(table)
    return found


# Pending and not yet tried, or being worked on now; not a retry waiting out its back-off.
WAITING = "state = 'pending' AND (attempts = 0 OR claimed_until IS NOT NULL)"


async def wait_processed(instance: Instance) -> None:
    """Until no table of work has a pending row (or the timeout: then a warning)."""
    tables = queues(instance)
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while time.monotonic() < deadline:
        pending = sum(
            instance.query(f"SELECT COUNT(*) FROM {table} WHERE {WAITING}")[0][0]  # noqa: S608
            for table in tables
        )
        if not pending:
            return
        await asyncio.sleep(0.5)
    print("warning: work still pending after the timeout", file=sys.stderr)


@contextlib.asynccontextmanager
async def running(home: Path) -> AsyncIterator[tuple[Instance, Pasture]]:
    instance = Instance(home)
    pasture = Pasture(Hosts(free_port("127.0.1.1")))
    try:
        instance.start()
        yield instance, pasture
    finally:
        instance.stop()
        await pasture.stop()


async def run(catalogue: dict[str, dict[str, Any]], keep: Path | None) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="pasture-"))
    try:
        async with running(home) as (instance, pasture):
            examples = [
                (name, n, example)
                for name, data in catalogue.items()
                for n, example in enumerate(data["examples"])
            ]
            for _, _, example in examples:  # every host on its address before serving
                pasture.hosts.rewrite(example)
            await pasture.start()
            reader_uri = f"{instance.url}/users/{READER}"
            async with Reader(base_url=instance.url, timeout=30) as reader:
                await reader.sign_in()
                followed = await follow_the_actor(reader, instance, pasture)
                sent: list[tuple[str, int, dict[str, Any], int]] = []
                for name, n, example in examples:
                    create = create_for(pasture, example, reader_uri)
                    status = await post_signed(instance, pasture, reader_uri + "/inbox", create)
                    sent.append((name, n, create, status))
                await wait_processed(instance)
                ids = {uri: pid for pid, uri in instance.query("SELECT id, uri FROM post")}
                results = []
                for name, n, create, status in sent:
                    obj = create["object"]
                    uri = obj.get("id")
                    post_id = ids.get(uri) if isinstance(uri, str) else None
                    page = None
                    if post_id is not None:
                        answer = await reader.get(f"/posts/{post_id}")
                        if answer.status_code == 200:
                            page = the_article(parse(answer.text), post_id)
                    state = instance.query(
                        "SELECT state, error FROM inbox_item WHERE activity_id = ?", create["id"]
                    )
                    results.append(
                        {
                            "input": name,
                            "example": n,
                            "inbox_status": status,
                            "processed": list(state[0]) if state else None,
                            "post_id": post_id,
                            **measured(obj, page, post_id, ids),
                            "sent": create,
                        }
                    )
            if keep is not None:
                shutil.copytree(home, keep, dirs_exist_ok=True)
            return {"followed": followed, "results": results}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def table(results: list[dict[str, Any]], titles: dict[str, str]) -> str:
    """Per input and in total: kept/expected for each metric."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in results:
        groups.setdefault(row["input"], []).append(row)
    groups["TOTAL"] = results
    head = f"{'input':<26}{'n':>4}" + "".join(f"{m:>16}" for m in METRICS)
    lines = [head, "-" * len(head)]
    for name, rows in groups.items():
        cells = []
        for metric in METRICS:
            expected = [r for r in rows if r.get(metric) is not None]
            kept = sum(1 for r in expected if r[metric])
            cells.append(f"{kept}/{len(expected)}" if expected else "-")
        lines.append(f"{name:<26}{len(rows):>4}" + "".join(f"{c:>16}" for c in cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write the per-example results as JSON here")
    parser.add_argument("--examples", type=Path, help="the catalogue as JSON (else dumped)")
    parser.add_argument("--only", nargs="*", default=[], help="run only these inputs")
    parser.add_argument("--keep", type=Path, help="copy the instance's data folder here")
    parser.add_argument("--python", help="a Python 3.13+ for the catalogue's newest release")
    args = parser.parse_args(argv)
    catalogue = load_catalogue(args.examples, args.python)
    if args.only:
        catalogue = {k: v for k, v in catalogue.items() if k in args.only}
    count = sum(len(v["examples"]) for v in catalogue.values())
    print(f"{len(catalogue)} inputs, {count} examples", file=sys.stderr)
    started = time.monotonic()
    outcome = asyncio.run(run(catalogue, args.keep))
    results = outcome["results"]
    print(table(results, {k: v["title"] for k, v in catalogue.items()}))
    print(
        f"\nreader follows the actor: {outcome['followed']}; {time.monotonic() - started:.0f} s",
    )
    if args.out:
        args.out.write_text(json.dumps(outcome, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
