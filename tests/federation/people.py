"""A person in a browser, as far as the federation tests need one: signs in through the real
sign-in form and acts only through the forms the pages offer (with their CSRF tokens).

Forms are found on the page by their ``action`` and submitted with the values the page put
in them, as a browser would, plus what the person types. Waiting is polling with a deadline
(:func:`eventually`), never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from typing import TypeVar

import httpx

from tests.federation.instances import PASSWORD, Instance

T = TypeVar("T")
WAIT = 30.0  # seconds: generous, since four test runs may share two cores
_ARTICLE = re.compile(r"<article\b.*?</article>", re.S)
_POST_LINK = re.compile(r'href="/posts/(\d+)"')
_TAGS = re.compile(r"<[^>]+>")


async def eventually(
    check: Callable[[], Awaitable[T | None]], what: str, seconds: float = WAIT
) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + seconds
    delay = 0.05
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"after {seconds:.0f} s still not: {what}")
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.5)


def text_of(html: str) -> str:
    """What a reader sees of some HTML: the text, with whitespace folded."""
    return " ".join(unescape(_TAGS.sub(" ", html)).split())


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormReader(HTMLParser):
    """The forms of a page with the values a browser would send unchanged."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._open: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._open = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._open)
            return
        form, name = self._open, a.get("name", "")
        if form is None or not name and tag != "option":
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in {"submit", "button", "reset", "image", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            form.fields[name] = a.get("value", "on" if kind == "checkbox" else "")
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select is not None:
            if "selected" in a or self._select not in form.fields:
                form.fields[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            form.fields[name] = ""

    def handle_data(self, data: str) -> None:
        if self._open is not None and self._textarea is not None:
            self._open.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_of(html: str) -> list[Form]:
    reader = _FormReader()
    reader.feed(html)
    return reader.forms


class Person:
    """A signed-in person of ``instance`` using its web pages."""

    def __init__(self, instance: Instance, username: str) -> None:
        self.instance = instance
        self.username = username
        self.handle = f"{username}@{instance.host}"
        self.actor_id = f"{instance.url}/users/{username}"
        self.web = httpx.AsyncClient(
            base_url=instance.url, verify=instance.ca.client_context(), timeout=30
        )

    async def sign_in(self) -> Person:
        answer = await self.submit("/login", "/login", login=self.username, password=PASSWORD)
        assert answer.status_code == 303, f"sign-in of {self.handle} failed: {answer.text[:300]}"
        return self

    async def close(self) -> None:
        await self.web.aclose()

    async def page(self, path: str) -> str:
        answer = await self.web.get(path)
        assert answer.status_code == 200, f"{self.handle}: GET {path} -> {answer.status_code}"
        return answer.text

    async def submit(self, path: str, action: str | re.Pattern, **typed: str) -> httpx.Response:
        """Open ``path``, fill in the form whose action is ``action`` and send it."""
        html = await self.page(path)
        return await self.submit_on(html, path, action, **typed)

    async def submit_on(
        self,
        html: str,
        path: str,
        action: str | re.Pattern,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        **typed: str,
    ) -> httpx.Response:
        matches = (
            (lambda a: a == action)
            if isinstance(action, str)
            else (lambda a: action.fullmatch(a) is not None)
        )
        found = [form for form in forms_of(html) if matches(form.action or path)]
        assert found, f"{self.handle}: no form for {action} on {path}: {text_of(html)[:500]}"
        form = found[0]
        answer = await self.web.request(
            form.method.upper(), form.action or path, data={**form.fields, **typed}, files=files
        )
        assert answer.status_code < 500, f"{form.action} answered {answer.status_code}"
        return answer

    # --- what people do ----------------------------------------------------------------------

    async def write(
        self,
        text: str,
        visibility: str = "public",
        reply_to: int | None = None,
        image: tuple[bytes, str] | None = None,
    ) -> int:
        """Posts ``text`` (with ``image``: a PNG and its description); returns the post's
        number on this instance."""
        path = f"/compose?reply_to={reply_to}" if reply_to else "/compose"
        html = await self.page(path)
        if reply_to:  # keep what the page filled in: the mention of the author, the audience
            (form,) = [form for form in forms_of(html) if form.action == "/compose"]
            fields = {"source": form.fields.get("source", "") + text}
        else:
            fields = {"source": text, "visibility": visibility}
        files = None
        if image is not None:
            files = {"image_1": ("image.png", image[0], "image/png")}
            fields["alt_1"] = image[1]
        answer = await self.submit_on(html, path, "/compose", files, **fields)
        assert answer.status_code == 303, f"posting failed: {text_of(answer.text)[:300]}"
        return int(answer.headers["location"].rsplit("/", 1)[1])

    async def upload_photo(self, png: bytes) -> None:
        html = await self.page("/settings/profile")
        files = {"photo": ("photo.png", png, "image/png")}
        answer = await self.submit_on(html, "/settings/profile", "/settings/photo", files)
        assert answer.status_code == 303, f"photo upload failed: {text_of(answer.text)[:300]}"

    async def card(self, path: str, marker: str) -> str | None:
        """The post card on ``path`` whose text contains ``marker``, if there is one."""
        for article in _ARTICLE.findall(await self.page(path)):
            if marker in text_of(article):
                return article
        return None

    async def find_post(self, marker: str, path: str = "/") -> int | None:
        """The local number of the post containing ``marker`` on ``path`` (home timeline)."""
        article = await self.card(path, marker)
        if article is None:
            return None
        found = _POST_LINK.search(article)
        return int(found.group(1)) if found else None

    async def wait_for_post(self, marker: str, path: str = "/") -> int:
        async def look() -> int | None:
            return await self.find_post(marker, path)

        return await eventually(look, f"{marker!r} on {self.handle}'s {path}")

    async def act_on(self, post_id: int, verb: str) -> httpx.Response:
        """Press a post's button (``like``, ``boost`` ...) on the post's own page."""
        path = f"/posts/{post_id}"
        answer = await self.submit(path, f"{path}/{verb}")
        assert answer.status_code == 303, f"{verb} failed: {text_of(answer.text)[:300]}"
        return answer

    async def edit(self, post_id: int, text: str) -> None:
        answer = await self.submit(f"/posts/{post_id}/edit", f"/posts/{post_id}/edit", source=text)
        assert answer.status_code == 303, f"edit failed: {text_of(answer.text)[:300]}"

    async def delete(self, post_id: int) -> None:
        answer = await self.submit(f"/posts/{post_id}/delete", f"/posts/{post_id}/delete")
        assert answer.status_code == 303, f"delete failed: {text_of(answer.text)[:300]}"

    async def find(self, handle: str) -> str:
        """Search ``@handle`` in the people directory; returns the profile it leads to."""
        answer = await self.web.get("/people", params={"q": f"@{handle}"})
        assert answer.status_code == 303, f"searching {handle}: {text_of(answer.text)[:300]}"
        return answer.headers["location"]

    async def follow(self, handle: str) -> str:
        """Find ``handle`` and press Follow on the profile; returns the profile's path."""
        profile = await self.find(handle)
        answer = await self.submit(profile, f"{profile}/follow")
        assert answer.status_code == 303, f"follow failed: {text_of(answer.text)[:300]}"
        return profile

    async def ensure_following(self, handle: str) -> None:
        """Follow ``handle`` unless an earlier test did; wait until it is accepted."""
        if "You follow" not in text_of(await self.page(await self.find(handle))):
            await self.follow(handle)
        await self.wait_following(handle)

    async def wait_following(self, handle: str) -> None:
        """Until the profile says the follow was accepted by the other server."""

        async def accepted() -> bool:
            return "You follow" in text_of(await self.page(f"/@{handle}"))

        await eventually(accepted, f"{self.handle} follows {handle}")
