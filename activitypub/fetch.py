"""Fetching remote ActivityPub documents and delivering activities, safely.

Everything here talks to servers chosen by other people, so every request is bounded: the
address guard of :mod:`activitypub.addresses` on each hop, a connect and a total timeout, a
size cap enforced while the body streams in, a content-type check, a JSON depth cap, and a
redirect limit. Every network or content problem comes out as :class:`FetchError` and
nothing else, so callers (the outbox worker, the inbox's key lookup) need one ``except``.

Client: aiohttp, chosen by measurement (``bench/http_client.py``: 50 concurrent POSTs of a
2 KB JSON body to a local server, 2-core machine). aiohttp 3.14.5 spent 0.19-0.27 ms of client
CPU per request and did 2,600-3,000 requests/s on a lightly loaded machine; httpx 0.28.1
spent 7-11 ms per request and did 70-120 requests/s (its connection pool rescans every
connection for every request, encode/httpx#3215, and here httpcore also retries a failing
``import sniffio`` on every lock). Delivery throughput bounds the outbox, so that decides it.
aiohttp also lets the address check pin the connection: its connector takes a custom
resolver, so the addresses we check are the ones it connects to, with no second lookup for
DNS rebinding to slip into.

Signing is not done here: callers pass ``signed_by``, a callable
``(method, url, headers, body) -> headers to add`` (sync or async). It sees the exact Host,
Date, Accept and User-Agent values that will be sent, and is called again for every redirect
hop, since a signature covers one URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ipaddress
import json
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from email.utils import formatdate
from typing import Any, BinaryIO, TypeVar
from urllib.parse import urldefrag, urljoin

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from . import addresses
from .addresses import UnsafeURL
from .errors import FederationError, worth_retrying

AS_PROFILE = "https://www.w3.org/ns/activitystreams"
ACCEPT_ACTIVITY = f'application/activity+json, application/ld+json; profile="{AS_PROFILE}"'
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
POST_ANSWER_CHARS = 200

T = TypeVar("T")
Sign = Callable[
    [str, str, Mapping[str, str], bytes],
    Mapping[str, str] | Awaitable[Mapping[str, str]],
]


class FetchError(FederationError):
    """A remote request failed; ``reason`` says why, ``status`` is the HTTP status if any.

    ``retry`` follows the one rule (``activitypub.errors``): a received status decides by
    ``worth_retrying``; a network problem (timeout, reset, DNS) is worth retrying; a URL that
    the address guard refuses or that is malformed (``permanent``) never is.
    """

    def __init__(self, reason: str, status: int | None = None, *, permanent: bool = False):
        retry = not permanent and (status is None or worth_retrying(status))
        super().__init__(reason, status, retry=retry)

    def __str__(self) -> str:
        return self.reason if self.status is None else f"{self.reason} (HTTP {self.status})"

    @property
    def permanent(self) -> bool:
        """Repeating the same request cannot help (the opposite of ``retry``)."""
        return not self.retry


@dataclass(frozen=True)
class Expect:
    """What kind of JSON document a GET asks for and accepts back."""

    accept: str
    media_types: frozenset[str]
    profiled_media_types: frozenset[str] = frozenset()  # accepted only with the AS profile


# Mastodon's rule since CVE-2024-23832: an ActivityStreams document is only believed when
# the server labels it as one, so a file uploaded to the same host (served as
# application/json, text/plain, an image...) can never pass for an actor or a post.
ACTIVITY = Expect(
    accept=ACCEPT_ACTIVITY,
    media_types=frozenset({"application/activity+json"}),
    profiled_media_types=frozenset({"application/ld+json"}),
)
# WebFinger answers are JRD; plain application/json is taken too, as Mastodon does.
JRD = Expect(
    accept="application/jrd+json, application/json",
    media_types=frozenset({"application/jrd+json", "application/json"}),
)


@dataclass(frozen=True)
class Fetched:
    """A fetched document and the URL it finally came from, after redirects.

    The final URL is the origin to compare the document's ``id`` with: a redirect may move
    to another host, and a document may only speak for its own host.
    """

    url: str
    document: dict[str, Any]


class _GuardedResolver(AbstractResolver):
    """aiohttp resolver that returns only checked addresses, so the connection is pinned."""

    def __init__(self, allowed_networks: addresses.Networks) -> None:
        self._allowed_networks = allowed_networks

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[ResolveResult]:
        found = await addresses.resolve(host, port, allowed_networks=self._allowed_networks)
        flags = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
        return [
            ResolveResult(
                hostname=host, host=r.address, port=r.port, family=r.family, proto=0, flags=flags
            )
            for r in found
            if family in (socket.AF_UNSPEC, r.family)
        ]

    async def close(self) -> None:
        return None


class Fetcher:
    """One HTTP client session for all remote reads and deliveries of this process.

    Create it once, use it from many tasks, ``await close()`` (or ``async with``) at
    shutdown. ``allowed_networks`` (FI_FEDERATION_PRIVATE_NETWORKS, e.g. ``["10.20.0.0/16"]``)
    lets named private networks through and keeps the address guard for everything else;
    there is no way to switch the guard off.
    ``extra_ca_file`` adds one CA bundle to the system trust store (the federation tests'
    local CA).
    """

    def __init__(
        self,
        base_url: str,
        *,
        allowed_networks: addresses.Networks = (),
        extra_ca_file: str | None = None,
        connect_timeout: float = 5.0,
        total_timeout: float = 15.0,
        max_bytes: int = 1 << 20,
        max_redirects: int = 3,
        max_depth: int = 64,
        max_connections: int = 100,
    ) -> None:
        self.user_agent = f"fediverse-intranet/0.1 (+{base_url})"
        self.allowed_networks = tuple(ipaddress.ip_network(net) for net in allowed_networks)
        self.connect_timeout = connect_timeout
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.max_depth = max_depth
        self._max_connections = max_connections
        # Without an extra CA, aiohttp's shared default context (the system store, loaded once
        # per process) is used: building one costs about 0.1 s of blocking disk reads here.
        self._ssl: ssl.SSLContext | bool = True
        if extra_ca_file:
            self._ssl = ssl.create_default_context()
            self._ssl.load_verify_locations(cafile=extra_ca_file)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        """The session, made on first use: aiohttp wants a running event loop for it."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=_GuardedResolver(self.allowed_networks),
                ssl=self._ssl,
                limit=self._max_connections,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=self.total_timeout, sock_connect=self.connect_timeout
                ),
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
            )
        return self._session

    async def get_json(
        self, url: str, *, signed_by: Sign | None = None, expect: Expect = ACTIVITY
    ) -> dict[str, Any]:
        """GET an ActivityStreams object (or, with ``expect=JRD``, a WebFinger answer)."""
        return (await self.fetch(url, signed_by=signed_by, expect=expect)).document

    async def fetch(
        self, url: str, *, signed_by: Sign | None = None, expect: Expect = ACTIVITY
    ) -> Fetched:
        """Like :meth:`get_json`, also telling which URL the document finally came from."""
        return await _bounded(self._fetch(url, signed_by, expect), self.total_timeout)

    async def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        signed_by: Sign | None = None,
    ) -> tuple[int, str]:
        """POST a delivery; return the status and the start of the answer, for the retry policy.

        Any HTTP status is returned, not raised: deciding what 4xx or 5xx means is the
        caller's job. Redirects are not followed (a redirected delivery is a failed one).
        """
        return await _bounded(self._post(url, body, headers, signed_by), self.total_timeout)

    async def _post(
        self, url: str, body: bytes, headers: Mapping[str, str], signed_by: Sign | None
    ) -> tuple[int, str]:
        target = self._check_hop(url)
        sent = await self._headers("POST", target, headers, body, signed_by)
        async with self._client().post(
            target, data=body, headers=sent, allow_redirects=False
        ) as response:
            start = await response.content.read(4 * POST_ANSWER_CHARS)
            return response.status, start.decode("utf-8", "replace")[:POST_ANSWER_CHARS]

    async def download(
        self, url: str, sink: BinaryIO, *, max_bytes: int, seconds: float | None = None
    ) -> int:
        """GET a file (an image, a video) unsigned into ``sink``, as it streams in; returns
        its size.

        The same guard on every hop as for documents; the body is refused (``permanent``)
        as soon as it passes ``max_bytes``, whatever Content-Length said, and never held in
        memory beyond one chunk. What the bytes are is the caller's check: the Content-Type
        a server sends is not even read."""
        limit = seconds or self.total_timeout
        return await _bounded(self._download(url, sink, max_bytes, limit), limit)

    async def _download(self, url: str, sink: BinaryIO, max_bytes: int, limit: float) -> int:
        timeout = aiohttp.ClientTimeout(total=limit, sock_connect=self.connect_timeout)
        async with self._final_get(url, "*/*", None, timeout) as (_, response):
            too_big = f"file larger than {max_bytes} bytes"
            return await _stream_capped(response, max_bytes, too_big, sink.write, permanent=True)

    async def _fetch(self, url: str, signed_by: Sign | None, expect: Expect) -> Fetched:
        async with self._final_get(url, expect.accept, signed_by) as (final, response):
            _check_content_type(response.headers.get("Content-Type", ""), expect)
            raw = bytearray()
            too_big = f"response larger than {self.max_bytes} bytes"
            await _stream_capped(response, self.max_bytes, too_big, raw.extend)
        return Fetched(final, parse_json_object(bytes(raw), max_depth=self.max_depth))

    @contextlib.asynccontextmanager
    async def _final_get(
        self,
        url: str,
        accept: str,
        signed_by: Sign | None,
        client_timeout: aiohttp.ClientTimeout | None = None,
    ) -> AsyncIterator[tuple[str, aiohttp.ClientResponse]]:
        """The 2xx answer of a GET after following redirects (each hop checked and signed
        anew), with the URL it finally came from; any other status is a FetchError."""
        session = self._client()
        for _hop in range(self.max_redirects + 1):
            target = self._check_hop(url)
            headers = await self._headers("GET", target, {"Accept": accept}, b"", signed_by)
            async with session.get(
                target,
                headers=headers,
                allow_redirects=False,
                timeout=client_timeout or session.timeout,
            ) as response:
                url = str(target)
                if response.status in REDIRECT_STATUSES:
                    url = _redirect_target(url, response)
                    continue
                if not 200 <= response.status < 300:
                    raise FetchError("remote server refused", status=response.status)
                yield url, response
                return
        raise FetchError(f"more than {self.max_redirects} redirects")

    async def _headers(
        self,
        method: str,
        url: URL,
        headers: Mapping[str, str],
        body: bytes,
        signed_by: Sign | None,
    ) -> dict[str, str]:
        """The exact headers to send, so a signature covers what goes on the wire."""
        sent = {
            "Host": url.host_port_subcomponent or "",
            "Date": formatdate(usegmt=True),
            "User-Agent": self.user_agent,
            **headers,
        }
        if signed_by is not None:
            extra = signed_by(method, str(url), dict(sent), body)
            if inspect.isawaitable(extra):
                extra = await extra
            sent.update(extra)
        return sent

    def _check_hop(self, url: str) -> URL:
        """URL rules for one hop, returning the URL as it will be requested (and signed).

        IP literals are checked here because aiohttp skips the resolver for them; host names
        are checked by the resolver, at connect time. The URL is normalised once (yarl
        percent-encodes and IDNA-encodes) and passed to aiohttp as that object, so the
        signer sees exactly the request target that is sent.
        """
        target = addresses.parse_target(url)
        literal = addresses.ip_literal(target.host)
        if literal is not None:
            addresses.check_address(literal, allowed_networks=self.allowed_networks)
        try:
            return URL(url)
        except ValueError as exc:  # yarl is stricter than urlsplit about some hosts
            raise UnsafeURL(f"malformed URL: {exc}") from None


async def _bounded(work: Awaitable[T], seconds: float) -> T:
    """``work`` within ``seconds``, every failure of it a FetchError (the one ``except``
    callers need)."""
    try:
        async with asyncio.timeout(seconds):
            return await work
    except FetchError:
        raise
    except Exception as exc:
        raise _as_fetch_error(exc) from exc


async def _stream_capped(
    response: aiohttp.ClientResponse,
    max_bytes: int,
    too_big: str,
    write: Callable[[bytes], object],
    *,
    permanent: bool = False,
) -> int:
    """Pass the body to ``write`` as it arrives (decompressed), refusing it as soon as it
    passes ``max_bytes``, or before reading when Content-Length says so. Returns its size."""
    declared = response.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(too_big, permanent=permanent)
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(too_big, permanent=permanent)
        write(chunk)
    return size


def _redirect_target(url: str, response: aiohttp.ClientResponse) -> str:
    location = response.headers.get("Location")
    if not location:
        raise FetchError("redirect without a Location", status=response.status)
    target = urldefrag(urljoin(url, location)).url
    if url.lower().startswith("https:") and not target.lower().startswith("https:"):
        raise FetchError("redirect from https to another scheme", permanent=True)
    return target


def _check_content_type(header: str, expect: Expect) -> None:
    """Refuse anything that does not say it is the JSON we asked for (HTML error pages...)."""
    message = Message()
    message["Content-Type"] = header
    media_type = message.get_content_type() if header else ""
    if media_type in expect.media_types:
        return
    if media_type in expect.profiled_media_types:
        profile = message.get_param("profile")
        if isinstance(profile, str) and AS_PROFILE in profile.split():
            return
    raise FetchError(f"unexpected content type {header!r}")


def parse_json_object(raw: bytes, *, max_depth: int = 64) -> dict[str, Any]:
    """Strict JSON (UTF-8, no NaN/Infinity) that must be an object nested at most max_depth.

    The depth cap keeps later recursive walks (JSON-LD, sanitising) safe from hostile input.
    """
    try:
        value = _STRICT_JSON.decode(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise FetchError("body is not UTF-8") from None
    except RecursionError:
        raise FetchError(f"JSON nested deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise FetchError(f"invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise FetchError(f"JSON is a {type(value).__name__}, not an object")
    if json_depth(value) > max_depth:
        raise FetchError(f"JSON nested deeper than {max_depth} levels")
    return value


def json_depth(value: object) -> int:
    """Deepest nesting of objects and arrays (a flat object is 1), without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


_STRICT_JSON = json.JSONDecoder(parse_constant=_refuse_constant)  # made once: ~8 us a call


def _as_fetch_error(exc: Exception) -> FetchError:
    """The one place where client and OS exceptions become FetchError."""
    if isinstance(exc, UnsafeURL):
        return FetchError(f"refused: {exc.reason}", permanent=True)
    if isinstance(exc, TimeoutError):  # also aiohttp's ServerTimeoutError
        return FetchError("timed out")
    if isinstance(exc, aiohttp.InvalidURL):
        return FetchError(f"invalid URL: {exc}", permanent=True)
    if isinstance(exc, aiohttp.ClientSSLError):
        return FetchError(f"TLS failure: {exc}")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return FetchError(f"cannot resolve host: {exc}")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return FetchError(f"network error: {exc}")
    raise exc  # not a network or content problem: a bug here or in the signer
