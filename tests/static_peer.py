"""A stand-in for another fediverse server: static JSON over real HTTP on 127.0.0.1.

It answers GETs from a table of documents (WebFinger, actors) that a test fills in, records
every request, and accepts POSTs to any inbox with 202. Our own code talks to it through
the real fetcher, so nothing of ours is mocked. Its people sign requests to us with real
RSA keys (``signed_headers``), as a peer would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, quote

from aiohttp import web

from activitypub.keys import KeyPair, generate_rsa_key_pair
from activitypub.signatures import sign_request

AS = "https://www.w3.org/ns/activitystreams"
JRD = "application/jrd+json"


@cache
def keys(n: int) -> KeyPair:
    """A few RSA key pairs, made once per run (about 0.1 s each)."""
    return generate_rsa_key_pair()


@dataclass
class Seen:
    method: str
    path_qs: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Peer:
    documents: dict[tuple[str, frozenset], tuple[int, str, Any]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def serve(self, path_qs: str, document: Any, status: int = 200, media_type: str = "") -> None:
        """Answer GET ``path_qs`` (query parameters in any order or encoding) with JSON."""
        path, _, query = path_qs.partition("?")
        key = (path, frozenset(parse_qsl(query)))
        self.documents[key] = (status, media_type or "application/activity+json", document)

    def add_person(self, name: str, n: int = 0, **extra: Any) -> dict[str, Any]:
        """A Mastodon-shaped Person, with its WebFinger answer."""
        uri = self.url(f"/users/{name}")
        document = {
            "@context": [AS, "https://w3id.org/security/v1"],
            "id": uri,
            "type": "Person",
            "preferredUsername": name,
            "name": name.title(),
            "summary": "<p>Adviseur <b>privacy</b></p><script>alert(1)</script>",
            "url": self.url(f"/@{name}"),
            "inbox": uri + "/inbox",
            "outbox": uri + "/outbox",
            "followers": uri + "/followers",
            "endpoints": {"sharedInbox": self.url("/inbox")},
            "publicKey": {
                "id": uri + "#main-key",
                "owner": uri,
                "publicKeyPem": keys(n).public_pem,
            },
            **extra,
        }
        self.serve(f"/users/{name}", document)
        resource = quote(f"acct:{name}@{self.host}", safe=":@")
        jrd = {
            "subject": f"acct:{name}@{self.host}",
            "links": [{"rel": "self", "type": "application/activity+json", "href": uri}],
        }
        self.serve(f"/.well-known/webfinger?resource={resource}", jrd, media_type=JRD)
        return document

    def posted(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(s.body) for s in self.seen if s.method == "POST" and s.path_qs == path]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _answer(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append(Seen(request.method, request.path_qs, dict(request.headers), body))
        if request.method == "POST":
            return web.Response(status=202)
        found = self.documents.get((request.path, frozenset(request.query.items())))
        if found is None:
            return web.json_response({"error": "not found"}, status=404)
        status, media_type, document = found
        body = json.dumps(document).encode()  # the header as given: parameters and all
        return web.Response(status=status, body=body, headers={"Content-Type": media_type})


def signed_headers(
    method: str,
    url: str,
    key_id: str,
    n: int = 0,
    body: bytes | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """What a peer sends: signed draft-cavage style, as Mastodon does."""
    headers = {"Accept": "application/activity+json"}
    if body is not None:
        headers = {"Content-Type": "application/activity+json"}
    return sign_request(method, url, headers, body, key_id, keys(n).private_pem, now=now)
