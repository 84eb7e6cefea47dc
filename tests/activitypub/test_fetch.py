"""Safe remote fetch against a real HTTP(S) server on 127.0.0.1, run in a thread.

Every test runs under a network guard: connections go to 127.0.0.1 and 127.0.0.2 only
(anything else is recorded and refused before a packet leaves), and name lookups go to a fake
DNS table, so no test can reach 10.0.0.1, the metadata service or a real resolver even when
the code is wrong. The app is served on 127.0.0.1 and, for the network-list tests, 127.0.0.2.
"""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import json
import socket
import ssl
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from activitypub import addresses
from activitypub.addresses import UnsafeURL
from activitypub.fetch import ACCEPT_ACTIVITY, JRD, Fetcher, FetchError, parse_json_object

AS = "https://www.w3.org/ns/activitystreams"
ACTOR = {
    "@context": [AS, "https://w3id.org/security/v1"],
    "id": "https://remote.example/users/alice",
    "type": "Person",
    "preferredUsername": "alice",
    "inbox": "https://remote.example/users/alice/inbox",
}
LOOPBACK_ONLY = ["127.0.0.1/32"]
REACHABLE = {"127.0.0.1", "127.0.0.2"}  # what the network guard lets the tests connect to
GZIP_BOMB = gzip.compress(b'{"a":"' + b" " * (8 << 20) + b'"}', compresslevel=6)
BASE_URL = "https://intranet.test"


# --- the server -------------------------------------------------------------------------


@dataclass
class Server:
    port: int = 0
    tls_port: int = 0
    second_port: int = 0  # the same app on 127.0.0.2
    ca_file: str = ""
    posts: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def tls_url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.tls_port}{path}"


def activity_response(body: bytes | str, content_type: str = "application/activity+json"):
    data = body.encode() if isinstance(body, str) else body
    return web.Response(body=data, headers={"Content-Type": content_type})


def nested(depth: int) -> str:
    """An object whose arrays/objects nest ``depth`` levels, the outer object included."""
    return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)


def make_app(server: Server) -> web.Application:
    routes = web.RouteTableDef()

    @routes.get("/actor")
    async def actor(request: web.Request) -> web.Response:
        return web.json_response(ACTOR, content_type="application/activity+json")

    @routes.get("/typed")
    async def typed(request: web.Request) -> web.Response:
        return activity_response(json.dumps(ACTOR), request.query["type"])

    @routes.get("/untyped")
    async def untyped(request: web.Request) -> web.Response:
        response = web.Response(body=json.dumps(ACTOR).encode())
        response.headers.popall("Content-Type", None)
        return response

    @routes.get("/html")
    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>Alice</body></html>", content_type="text/html")

    @routes.get("/sized/{n}")
    async def sized(request: web.Request) -> web.StreamResponse:
        """A JSON object of exactly n bytes, with Content-Length or chunked."""
        n = int(request.match_info["n"])
        body = b'{"a":"' + b"x" * (n - 8) + b'"}'
        if "chunked" not in request.query:
            return activity_response(body)
        response = web.StreamResponse(headers={"Content-Type": "application/activity+json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 4096):
            await response.write(body[start : start + 4096])
        await response.write_eof()
        return response

    @routes.get("/big-stream")
    async def big_stream(request: web.Request) -> web.StreamResponse:
        """5 MiB of JSON, chunked (no Content-Length to refuse it by), one reused chunk."""
        response = web.StreamResponse(headers={"Content-Type": "application/activity+json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b'{"a":"')
        chunk = b"x" * 65536
        for _ in range(80):
            await response.write(chunk)
        await response.write(b'"}')
        await response.write_eof()
        return response

    @routes.get("/drip")
    async def drip(request: web.Request) -> web.StreamResponse:
        """Headers at once, then a byte every 50 ms: each read is quick, the whole is not."""
        response = web.StreamResponse(headers={"Content-Type": "application/activity+json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b'{"a":"')
        for _ in range(200):
            await asyncio.sleep(0.05)
            await response.write(b"x")
        await response.write(b'"}')
        await response.write_eof()
        return response

    @routes.get("/endless")
    async def endless(request: web.Request) -> web.StreamResponse:
        """Chunked, no Content-Length, never-ending JSON: ends when the client hangs up."""
        response = web.StreamResponse(headers={"Content-Type": "application/activity+json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b'{"a":"')
        while True:
            await response.write(b"x" * 65536)

    @routes.get("/gzip-bomb")
    async def gzip_bomb(request: web.Request) -> web.Response:
        """About 8 KB on the wire, 8 MiB once decompressed."""
        headers = {"Content-Type": "application/activity+json", "Content-Encoding": "gzip"}
        return web.Response(body=GZIP_BOMB, headers=headers)

    @routes.get("/nested/{depth}")
    async def nested_json(request: web.Request) -> web.Response:
        return activity_response(nested(int(request.match_info["depth"])))

    @routes.get("/invalid")
    async def invalid(request: web.Request) -> web.Response:
        return activity_response('{"id": "https://remote.example/x", ')

    @routes.get("/array")
    async def array(request: web.Request) -> web.Response:
        return activity_response(json.dumps([ACTOR]))

    @routes.get("/status/{code}")
    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="gone away")

    @routes.get("/redirect/{n}")
    async def redirect(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        location = f"/redirect/{n - 1}" if n > 1 else "/actor"
        return web.Response(status=302, headers={"Location": location})

    @routes.get("/redirect-to")
    async def redirect_to(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": request.query["url"]})

    @routes.get("/redirect-nowhere")
    async def redirect_nowhere(request: web.Request) -> web.Response:
        return web.Response(status=302)

    @routes.get("/slow")
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.json_response(ACTOR, content_type="application/activity+json")

    @routes.get("/truncated")
    async def truncated(request: web.Request) -> web.StreamResponse:
        """Promises 1000 bytes, sends 10, hangs up."""
        response = web.StreamResponse(headers={"Content-Type": "application/activity+json"})
        response.content_length = 1000
        await response.prepare(request)
        await response.write(b'{"a": "xxx')
        assert request.transport is not None
        request.transport.close()
        return response

    @routes.get("/echo")
    async def echo(request: web.Request) -> web.Response:
        seen = dict(request.headers, _target=request.raw_path)
        return web.json_response(seen, content_type="application/activity+json")

    @routes.get("/jrd")
    async def jrd(request: web.Request) -> web.Response:
        body = {"subject": "acct:alice@remote.example", "links": []}
        return web.json_response(body, content_type="application/jrd+json")

    @routes.post("/inbox")
    async def inbox(request: web.Request) -> web.Response:
        server.posts.append((request.path, await request.read(), dict(request.headers)))
        return web.Response(status=202, text="accepted")

    @routes.post("/inbox-down")
    async def inbox_down(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=503, text="overloaded " * 200)

    @routes.post("/inbox-moved")
    async def inbox_moved(request: web.Request) -> web.Response:
        return web.Response(status=308, headers={"Location": "/inbox"})

    @routes.post("/inbox-slow")
    async def inbox_slow(request: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.Response(status=202)

    app = web.Application()
    app.add_routes(routes)
    return app


def make_tls(folder: Path) -> tuple[str, ssl.SSLContext]:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fediverse-intranet test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "cert.pem").write_bytes(leaf.public_bytes(pem))
    (folder / "key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return str(folder / "ca.pem"), context


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Plain and TLS sites of one app, served from their own thread and event loop."""
    info = Server()
    info.ca_file, tls_context = make_tls(tmp_path_factory.mktemp("tls"))
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(
        make_app(info), access_log=None, handler_cancellation=True, shutdown_timeout=0.5
    )

    async def start() -> None:
        await runner.setup()
        plain = web.TCPSite(runner, "127.0.0.1", 0)
        tls = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls_context)
        second = web.TCPSite(runner, "127.0.0.2", 0)
        for site in (plain, tls, second):
            await site.start()
        info.port = plain._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        info.tls_port = tls._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        info.second_port = second._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    yield info
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


# --- the network guard ------------------------------------------------------------------


@dataclass
class Guard:
    dns: dict[str, list[str]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    connects: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


@pytest.fixture(autouse=True)
async def guard(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Guard]:
    """Fake DNS, and connections to 127.0.0.1 and .2 only: no test can leak traffic."""
    state = Guard()
    loop = asyncio.get_running_loop()
    real_connect = loop.sock_connect

    async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list:
        name = host.decode() if isinstance(host, bytes) else str(host)
        state.lookups.append(name)
        if name not in state.dns:
            raise socket.gaierror(socket.EAI_NONAME, "not in the test's DNS table")
        result = []
        for address in state.dns[name]:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, int(port), 0, 0) if ":" in address else (address, int(port))
            result.append((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
        return result

    async def sock_connect(sock: socket.socket, address: Any) -> None:
        state.connects.append(address[0])
        if address[0] not in REACHABLE:
            state.refused.append(address[0])
            raise ConnectionRefusedError(f"test guard: no traffic to {address[0]}")
        await real_connect(sock, address)

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(loop, "sock_connect", sock_connect)
    yield state
    assert state.refused == [], "the code tried to connect outside the test servers"


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    """Trusts 127.0.0.1 (the test server) and nothing else private; short total timeout."""
    async with Fetcher(BASE_URL, allowed_networks=LOOPBACK_ONLY, total_timeout=5) as client:
        yield client


# --- the decision function: nothing is looked up or connected ----------------------------

REFUSED = [
    "http://10.0.0.1/inbox",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/",
    "http://[fd00::1]/",
    "http://100.64.0.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/",
    "http://user:pw@remote.example/",
    "http://127.0.0.1:8080/",
    "http://192.168.1.10/",
    "http://172.16.0.1/",
    "http://224.0.0.1/",
    "http://[fe80::1]/",
    "http://[ff02::1]/",
    "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "http://[2002:a00:1::1]/",  # 6to4 of 10.0.0.1
    "http://255.255.255.255/",
    "https://@remote.example/",
    "ftp://remote.example/",
    "file:///etc/passwd",
    "http://remote.example:0/",
    "http:///no-host",
    "http://remote example/",
]


@pytest.mark.parametrize("url", REFUSED)
async def test_unsafe_urls_are_refused_without_lookup_or_connection(url: str, guard: Guard):
    guard.dns["remote.example"] = ["93.184.216.34"]
    with pytest.raises(UnsafeURL):
        await addresses.check_url(url)
    assert guard.lookups == []
    assert guard.connects == []


@pytest.mark.parametrize("url", REFUSED[:8])
async def test_fetcher_refuses_them_before_connecting(url: str, guard: Guard):
    async with Fetcher(BASE_URL) as client:
        with pytest.raises(FetchError) as caught:
            await client.get_json(url)
        with pytest.raises(FetchError):
            await client.post(url, b"{}", {"Content-Type": "application/activity+json"})
    assert caught.value.permanent
    assert guard.connects == []


@pytest.mark.parametrize(
    "url",
    ["http://93.184.216.34/", "https://[2606:4700:4700::1111]/", "https://remote.example:8443/x"],
)
async def test_public_urls_pass_the_decision(url: str, guard: Guard):
    guard.dns["remote.example"] = ["93.184.216.34", "2606:2800:220:1::1"]
    resolved = await addresses.check_url(url)
    assert resolved
    assert guard.connects == []


@pytest.mark.parametrize(
    ("url", "networks"),
    [
        ("http://10.1.2.3/inbox", ["10.0.0.0/8"]),
        ("http://172.20.0.5/", ["10.0.0.0/8", "172.16.0.0/12"]),
        ("http://127.0.0.2/", ["127.0.0.2/32"]),
        ("http://[::1]/", ["::1/128"]),
        ("http://[fd12:3456::1]/", ["fd12:3456::/32"]),
        ("http://100.64.0.1/", ["100.64.0.0/10"]),
        ("http://[::ffff:10.1.2.3]/", ["10.0.0.0/8"]),  # IPv4-mapped: the same host
    ],
)
async def test_a_listed_network_passes_the_decision(url: str, networks: list[str], guard: Guard):
    assert await addresses.check_url(url, allowed_networks=networks)
    assert guard.connects == []


@pytest.mark.parametrize(
    ("url", "networks"),
    [
        ("http://127.0.0.3/", ["127.0.0.2/32"]),
        ("http://10.0.0.1/", ["10.20.0.0/16"]),
        ("http://192.168.1.1/", ["10.0.0.0/8"]),
        ("http://[::ffff:127.0.0.1]/", ["10.0.0.0/8"]),
        ("http://[::1]/", ["127.0.0.0/8"]),
        ("http://[64:ff9b::a00:1]/", ["fd00::/8"]),
    ],
)
async def test_an_unlisted_private_address_is_refused(url: str, networks: list[str], guard: Guard):
    with pytest.raises(UnsafeURL):
        await addresses.check_url(url, allowed_networks=networks)
    assert guard.connects == []


@pytest.mark.parametrize(
    ("url", "networks"),
    [
        ("http://169.254.169.254/latest/meta-data/", ["10.0.0.0/8", "127.0.0.0/8"]),
        ("http://169.254.169.254/latest/meta-data/", ["169.254.0.0/16"]),  # even if listed
        ("http://[::ffff:169.254.169.254]/", ["169.254.169.254/32"]),
        ("http://[fd00:ec2::254]/", ["fd00::/8"]),  # AWS's IPv6 metadata
        ("http://0.0.0.0/", ["0.0.0.0/8"]),
        ("http://224.0.0.1/", ["224.0.0.0/4"]),
        ("http://[fe80::1]/", ["fe80::/10"]),
    ],
)
async def test_metadata_and_link_local_are_never_reachable(
    url: str, networks: list[str], guard: Guard
):
    with pytest.raises(UnsafeURL, match="never reachable"):
        await addresses.check_url(url, allowed_networks=networks)
    assert guard.connects == []


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("10.0.0.0/8,nonsense", "'nonsense' is not a CIDR network"),
        ("10.1.2.3/8", "has host bits set"),
        ("10.0.0.0/33", "not a CIDR network"),
        ("169.254.0.0/16", "overlaps 169.254.0.0/16"),
        ("0.0.0.0/0", "overlaps 0.0.0.0/8"),
        ("::/0", "overlaps"),
        ("fd00:ec2::/32", "overlaps fd00:ec2::254/128"),
    ],
)
def test_a_bad_network_list_is_refused_with_a_reason(raw: str, reason: str):
    with pytest.raises(ValueError, match=reason):
        addresses.parse_networks(raw)


def test_a_network_list_is_read_with_spaces_and_empty_items():
    assert addresses.parse_networks(" 10.20.0.0/16, ,fd12::/16,") == (
        ipaddress.ip_network("10.20.0.0/16"),
        ipaddress.ip_network("fd12::/16"),
    )
    assert addresses.parse_networks("") == ()


async def test_a_name_with_any_private_record_is_refused(guard: Guard):
    guard.dns["mixed.example"] = ["93.184.216.34", "10.0.0.1"]
    with pytest.raises(UnsafeURL, match="10.0.0.1 is private"):
        await addresses.check_url("https://mixed.example/users/alice")
    with pytest.raises(UnsafeURL, match="10.0.0.1 is private"):
        await addresses.check_url("https://mixed.example/", allowed_networks=["10.20.0.0/16"])


async def test_a_name_mixing_listed_and_unlisted_records_is_refused_at_connect(
    server: Server, guard: Guard
):
    guard.dns["mixed.example"] = ["127.0.0.1", "10.0.0.1"]
    guard.dns["mixed6.example"] = ["2606:2800:220:1::1", "::ffff:127.0.0.1", "fd00::1"]
    async with Fetcher(BASE_URL, allowed_networks=LOOPBACK_ONLY) as client:
        with pytest.raises(FetchError, match="10.0.0.1 is private") as caught:
            await client.get_json(f"http://mixed.example:{server.port}/actor")
        with pytest.raises(FetchError, match="fd00::1 is unique-local"):
            await client.get_json(f"http://mixed6.example:{server.port}/actor")
    assert caught.value.permanent
    assert guard.connects == []


def test_host_names_are_compared_in_idna_form():
    target = addresses.parse_target("https://Bücher.Example:8443/a")
    assert (target.host, target.port) == ("xn--bcher-kva.example", 8443)
    assert addresses.parse_target("HTTP://Remote.Example/").port == 80


# --- loopback and the allowances ---------------------------------------------------------


async def test_loopback_is_refused_unless_listed(server: Server, guard: Guard):
    async with Fetcher(BASE_URL) as client:
        with pytest.raises(FetchError, match="127.0.0.1 is loopback") as caught:
            await client.get_json(server.url("/actor"))
    assert caught.value.permanent
    assert guard.connects == []


async def test_only_the_listed_loopback_address_is_reachable(server: Server, guard: Guard):
    """127.0.0.2/32 listed: the server there answers, the same app on 127.0.0.1 and any
    server on 127.0.0.3 stay out of reach, refused before a connection is tried."""
    async with Fetcher(BASE_URL, allowed_networks=["127.0.0.2/32"]) as client:
        assert await client.get_json(f"http://127.0.0.2:{server.second_port}/actor") == ACTOR
        for address, port in (("127.0.0.3", server.second_port), ("127.0.0.1", server.port)):
            with pytest.raises(FetchError, match=f"{address} is loopback") as caught:
                await client.get_json(f"http://{address}:{port}/actor")
            assert caught.value.permanent
        guard.dns["second.example"] = ["127.0.0.2"]
        guard.dns["third.example"] = ["127.0.0.3"]
        url = f"http://second.example:{server.second_port}/actor"
        assert await client.get_json(url) == ACTOR
        with pytest.raises(FetchError, match="127.0.0.3 is loopback"):
            await client.get_json(f"http://third.example:{server.second_port}/actor")
    assert guard.connects == ["127.0.0.2", "127.0.0.2"]


async def test_a_redirect_from_a_listed_host_to_an_unlisted_one_is_refused(
    server: Server, guard: Guard
):
    guard.dns["third.example"] = ["127.0.0.3"]
    async with Fetcher(BASE_URL, allowed_networks=["127.0.0.2/32"]) as client:
        for target in (
            f"http://127.0.0.3:{server.second_port}/actor",
            f"http://third.example:{server.second_port}/actor",
            f"http://127.0.0.1:{server.port}/actor",
            "http://169.254.169.254/latest/meta-data/",
        ):
            start = f"http://127.0.0.2:{server.second_port}/redirect-to?url={quote(target)}"
            with pytest.raises(FetchError, match="refused") as caught:
                await client.get_json(start)
            assert caught.value.permanent
    assert set(guard.connects) == {"127.0.0.2"}


async def test_the_connection_goes_to_the_checked_address(server: Server, guard: Guard):
    """A name is looked up once, by the guard, and the connection uses that answer: this
    host exists only in the fake DNS table, so reaching the server proves the pinning."""
    guard.dns["pinned.example"] = ["127.0.0.1"]
    async with Fetcher(BASE_URL, allowed_networks=LOOPBACK_ONLY) as client:
        document = await client.get_json(f"http://pinned.example:{server.port}/echo")
    assert document["Host"] == f"pinned.example:{server.port}"
    assert guard.lookups == ["pinned.example"]
    assert guard.connects == ["127.0.0.1"]


async def test_a_name_resolving_to_a_private_address_is_refused_at_connect(
    server: Server, guard: Guard
):
    guard.dns["rebound.example"] = ["10.0.0.1"]
    async with Fetcher(BASE_URL, allowed_networks=LOOPBACK_ONLY) as client:
        with pytest.raises(FetchError, match="10.0.0.1 is private") as caught:
            await client.get_json("http://rebound.example/users/alice")
    assert caught.value.permanent
    assert guard.connects == []


# --- content -----------------------------------------------------------------------------


async def test_a_good_activity_is_returned_as_a_dict(server: Server, fetcher: Fetcher):
    assert await fetcher.get_json(server.url("/actor")) == ACTOR


@pytest.mark.parametrize(
    "content_type",
    [
        "application/activity+json",
        "application/activity+json; charset=utf-8",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        'Application/LD+JSON; charset=utf-8; profile="https://www.w3.org/ns/activitystreams"',
        'application/ld+json;profile="https://www.w3.org/ns/activitystreams https://x.example"',
        'application/ld+json; PROFILE="https://www.w3.org/ns/activitystreams"',
    ],
)
async def test_activity_content_types_are_accepted(
    content_type: str, server: Server, fetcher: Fetcher
):
    assert await fetcher.get_json(server.url("/typed?type=" + quote(content_type))) == ACTOR


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",  # an uploaded .json file is served so: never an actor (CVE-2024-23832)
        "application/json; charset=utf-8",
        "application/ld+json",
        "application/ld+json; charset=utf-8",
        'application/ld+json; profile="https://example.org/other"',
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams-other"',
        'application/json; profile="https://www.w3.org/ns/activitystreams"',
        "text/plain",
        "text/html; charset=utf-8",
        "application/jrd+json",
        "application/octet-stream",
    ],
)
async def test_other_content_types_are_refused(content_type: str, server: Server, fetcher: Fetcher):
    with pytest.raises(FetchError, match="unexpected content type"):
        await fetcher.get_json(server.url("/typed?type=" + quote(content_type)))


async def test_html_is_refused(server: Server, fetcher: Fetcher):
    with pytest.raises(FetchError, match="unexpected content type 'text/html"):
        await fetcher.get_json(server.url("/html"))


async def test_a_missing_content_type_is_refused(server: Server, fetcher: Fetcher):
    with pytest.raises(FetchError, match="unexpected content type"):
        await fetcher.get_json(server.url("/untyped"))


async def test_jrd_is_fetched_when_asked_for(server: Server, fetcher: Fetcher):
    document = await fetcher.get_json(server.url("/jrd"), expect=JRD)
    assert document["subject"] == "acct:alice@remote.example"


@pytest.mark.parametrize(
    "content_type",
    ["application/jrd+json", "application/jrd+json; charset=UTF-8", "application/json"],
)
async def test_jrd_content_types_are_accepted_for_webfinger(
    content_type: str, server: Server, fetcher: Fetcher
):
    url = server.url("/typed?type=" + quote(content_type))
    assert await fetcher.get_json(url, expect=JRD) == ACTOR


@pytest.mark.parametrize(
    "content_type", ["text/html", "application/xrd+xml", "text/plain", "application/activity+json"]
)
async def test_other_content_types_are_refused_for_webfinger(
    content_type: str, server: Server, fetcher: Fetcher
):
    with pytest.raises(FetchError, match="unexpected content type"):
        await fetcher.get_json(server.url("/typed?type=" + quote(content_type)), expect=JRD)


@pytest.mark.parametrize("chunked", [False, True])
async def test_the_size_limit_is_exact(chunked: bool, server: Server):
    query = "?chunked=1" if chunked else ""
    async with Fetcher(BASE_URL, allowed_networks=LOOPBACK_ONLY, max_bytes=10_000) as client:
        assert await client.get_json(server.url(f"/sized/10000{query}"))
        with pytest.raises(FetchError, match="larger than 10000 bytes"):
            await client.get_json(server.url(f"/sized/10001{query}"))


async def test_an_oversized_body_is_refused(server: Server, fetcher: Fetcher):
    with pytest.raises(FetchError, match="larger than 1048576 bytes"):
        await fetcher.get_json(server.url(f"/sized/{(1 << 20) + 100}"))


async def test_an_endless_chunked_body_is_cut_off_while_streaming(server: Server, fetcher: Fetcher):
    """The body never ends: reading it all before checking would time out instead."""
    with pytest.raises(FetchError, match="larger than 1048576 bytes"):
        await fetcher.get_json(server.url("/endless"))


async def test_five_mebibytes_are_refused_without_holding_them(server: Server, fetcher: Fetcher):
    """Chunked, so no Content-Length betrays the size: the reader must stop at the cap.
    Memory traced in this process (client and server) stays far below the body's size."""
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="larger than 1048576 bytes"):
            await fetcher.get_json(server.url("/big-stream"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 << 20, f"peak {peak / 2**20:.1f} MiB while refusing a 5 MiB body"


async def test_a_body_that_drips_in_hits_the_total_timeout(server: Server):
    """No single read waits long, so only a deadline for the whole fetch stops it."""
    async with Fetcher(BASE_URL, allowed_networks=LOOPBACK_ONLY, total_timeout=0.5) as client:
        started = time.monotonic()
        with pytest.raises(FetchError, match="timed out") as caught:
            await client.get_json(server.url("/drip"))
    assert time.monotonic() - started < 2
    assert not caught.value.permanent


async def test_the_limit_counts_decompressed_bytes(server: Server, fetcher: Fetcher):
    with pytest.raises(FetchError, match="larger than 1048576 bytes"):
        await fetcher.get_json(server.url("/gzip-bomb"))


async def test_nesting_up_to_64_levels_is_accepted(server: Server, fetcher: Fetcher):
    assert await fetcher.get_json(server.url("/nested/64"))


@pytest.mark.parametrize("depth", [65, 100_000])
async def test_deeper_nesting_is_refused(depth: int, server: Server, fetcher: Fetcher):
    with pytest.raises(FetchError, match="nested deeper than 64"):
        await fetcher.get_json(server.url(f"/nested/{depth}"))


async def test_invalid_json_is_refused(server: Server, fetcher: Fetcher):
    with pytest.raises(FetchError, match="invalid JSON"):
        await fetcher.get_json(server.url("/invalid"))


async def test_a_json_array_is_refused(server: Server, fetcher: Fetcher):
    with pytest.raises(FetchError, match="not an object"):
        await fetcher.get_json(server.url("/array"))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"a": NaN}', "invalid JSON"),
        (b'{"a": Infinity}', "invalid JSON"),
        ('{"a": "café"}'.encode("latin-1"), "not UTF-8"),
        (b'"just a string"', "not an object"),
        (b"", "invalid JSON"),
    ],
)
def test_strict_json_rules(raw: bytes, reason: str):
    with pytest.raises(FetchError, match=reason):
        parse_json_object(raw)


def test_json_with_a_byte_order_mark_is_read():
    assert parse_json_object(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


# --- statuses, redirects, timeouts, broken connections -------------------------------------


@pytest.mark.parametrize("code", [404, 410, 500])
async def test_an_error_status_is_reported_with_its_code(
    code: int, server: Server, fetcher: Fetcher
):
    with pytest.raises(FetchError) as caught:
        await fetcher.get_json(server.url(f"/status/{code}"))
    assert caught.value.status == code
    # The one retry rule (activitypub.errors): a 404 or 410 is final, a 500 worth retrying.
    assert caught.value.retry is (code == 500)
    assert caught.value.permanent is not caught.value.retry


async def test_three_redirects_are_followed(server: Server, fetcher: Fetcher):
    fetched = await fetcher.fetch(server.url("/redirect/3"))
    assert fetched.document == ACTOR
    assert fetched.url == server.url("/actor")


async def test_a_chain_of_four_redirects_is_refused(server: Server, fetcher: Fetcher):
    with pytest.raises(FetchError, match="more than 3 redirects"):
        await fetcher.get_json(server.url("/redirect/4"))


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/users/alice",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://rebound.example/users/alice",
        "ftp://remote.example/alice",
    ],
)
async def test_a_redirect_to_a_refused_address_is_not_followed(
    target: str, server: Server, fetcher: Fetcher, guard: Guard
):
    guard.dns["rebound.example"] = ["10.0.0.1"]
    with pytest.raises(FetchError, match="refused") as caught:
        await fetcher.get_json(server.url(f"/redirect-to?url={target}"))
    assert caught.value.permanent
    assert set(guard.connects) == {"127.0.0.1"}


async def test_a_redirect_without_location_is_an_error(server: Server, fetcher: Fetcher):
    with pytest.raises(FetchError, match="without a Location") as caught:
        await fetcher.get_json(server.url("/redirect-nowhere"))
    assert caught.value.status == 302


async def test_a_slow_server_times_out(server: Server):
    async with Fetcher(BASE_URL, allowed_networks=LOOPBACK_ONLY, total_timeout=0.3) as client:
        with pytest.raises(FetchError, match="timed out"):
            await client.get_json(server.url("/slow"))


async def test_a_truncated_body_is_a_fetch_error(server: Server, fetcher: Fetcher):
    with pytest.raises(FetchError, match="network error"):
        await fetcher.get_json(server.url("/truncated"))


async def test_a_closed_port_is_a_retryable_fetch_error(fetcher: Fetcher):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match="network error") as caught:
        await fetcher.get_json(f"http://127.0.0.1:{port}/actor")
    assert not caught.value.permanent


async def test_an_unknown_host_is_a_retryable_fetch_error(fetcher: Fetcher):
    with pytest.raises(FetchError, match="cannot resolve") as caught:
        await fetcher.get_json("https://unknown.example/users/alice")
    assert not caught.value.permanent


# --- TLS with an extra CA ----------------------------------------------------------------


async def test_an_extra_ca_is_trusted(server: Server):
    async with Fetcher(
        BASE_URL, allowed_networks=LOOPBACK_ONLY, extra_ca_file=server.ca_file
    ) as client:
        assert await client.get_json(server.tls_url("/actor")) == ACTOR


async def test_an_unknown_ca_is_refused(server: Server, fetcher: Fetcher):
    with pytest.raises(FetchError, match="TLS"):
        await fetcher.get_json(server.tls_url("/actor"))


async def test_a_redirect_from_https_to_http_is_refused(server: Server):
    async with Fetcher(
        BASE_URL, allowed_networks=LOOPBACK_ONLY, extra_ca_file=server.ca_file
    ) as client:
        with pytest.raises(FetchError, match="from https"):
            await client.get_json(server.tls_url(f"/redirect-to?url={server.url('/actor')}"))


# --- headers and signing -----------------------------------------------------------------


async def test_the_request_carries_accept_user_agent_host_and_date(
    server: Server, fetcher: Fetcher
):
    seen = await fetcher.get_json(server.url("/echo"))
    assert seen["Accept"] == ACCEPT_ACTIVITY
    assert seen["User-Agent"] == f"fediverse-intranet/0.1 (+{BASE_URL})"
    assert seen["Host"] == f"127.0.0.1:{server.port}"
    assert seen["Date"].endswith(" GMT")
    assert "Signature" not in seen


async def test_a_signed_get_is_signed_again_on_every_hop(server: Server, fetcher: Fetcher):
    calls: list[tuple[str, str, dict[str, str], bytes]] = []

    def sign(method: str, url: str, headers: Any, body: bytes) -> dict[str, str]:
        calls.append((method, url, dict(headers), body))
        return {"Signature": f'keyId="{BASE_URL}/actor#main-key",signature="{len(calls)}"'}

    fetched = await fetcher.fetch(server.url("/redirect-to?url=/echo"), signed_by=sign)
    assert [(m, u) for m, u, _, _ in calls] == [
        ("GET", server.url("/redirect-to?url=/echo")),
        ("GET", server.url("/echo")),
    ]
    assert calls[1][2]["Host"] == fetched.document["Host"]
    assert calls[1][2]["Date"] == fetched.document["Date"]
    assert calls[1][2]["Accept"] == ACCEPT_ACTIVITY
    assert calls[1][3] == b""
    assert fetched.document["Signature"].endswith('signature="2"')


async def test_the_signer_sees_the_request_target_that_is_sent(server: Server, fetcher: Fetcher):
    urls: list[str] = []

    def sign(method: str, url: str, headers: Any, body: bytes) -> dict[str, str]:
        urls.append(url)
        return {}

    seen = await fetcher.get_json(server.url("/echo?name=jürgen&x=a b"), signed_by=sign)
    assert urls == [server.url(seen["_target"])]
    assert seen["_target"].isascii()


async def test_an_async_signer_is_awaited(server: Server, fetcher: Fetcher):
    async def sign(method: str, url: str, headers: Any, body: bytes) -> dict[str, str]:
        return {"Signature": "async"}

    seen = await fetcher.get_json(server.url("/echo"), signed_by=sign)
    assert seen["Signature"] == "async"


# --- deliveries --------------------------------------------------------------------------


async def test_a_delivery_returns_status_and_answer(server: Server, fetcher: Fetcher):
    body = json.dumps({"type": "Create", "actor": f"{BASE_URL}/users/alice"}).encode()

    def sign(method: str, url: str, headers: Any, signed_body: bytes) -> dict[str, str]:
        assert (method, signed_body) == ("POST", body)
        return {"Signature": "posted", "Digest": "SHA-256=test"}

    headers = {"Content-Type": "application/activity+json"}
    assert await fetcher.post(server.url("/inbox"), body, headers, signed_by=sign) == (
        202,
        "accepted",
    )
    path, received, seen = server.posts[-1]
    assert (path, received) == ("/inbox", body)
    assert seen["Signature"] == "posted"
    assert seen["Content-Type"] == "application/activity+json"
    assert seen["User-Agent"].startswith("fediverse-intranet/0.1")


async def test_a_failed_delivery_returns_the_status_and_a_short_answer(
    server: Server, fetcher: Fetcher
):
    status, text = await fetcher.post(server.url("/inbox-down"), b"{}", {})
    assert status == 503
    assert text.startswith("overloaded")
    assert len(text) <= 200


async def test_a_delivery_is_not_redirected(server: Server, fetcher: Fetcher):
    before = len(server.posts)
    status, _ = await fetcher.post(server.url("/inbox-moved"), b"{}", {})
    assert status == 308
    assert len(server.posts) == before


async def test_a_slow_inbox_times_out(server: Server):
    async with Fetcher(BASE_URL, allowed_networks=LOOPBACK_ONLY, total_timeout=0.3) as client:
        with pytest.raises(FetchError, match="timed out") as caught:
            await client.post(server.url("/inbox-slow"), b"{}", {})
    assert not caught.value.permanent
