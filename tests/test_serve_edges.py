"""The real ``serve`` process, the way an operator runs it: HSTS over HTTPS only (TLS served
by the process itself, or ``X-Forwarded-Proto: https`` from a trusted proxy), and sign-in
throttling holding against parallel guesses sent to two worker processes at once.

With ``FI_TEST_DATABASE_URL`` set (scripts/with-postgres.sh) the throttled server runs on a
database of its own in that PostgreSQL cluster; otherwise on SQLite.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import re
import secrets
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
ONE_YEAR = 365 * 86400
GUESSES = 16
START_TIMEOUT = 60.0


@dataclass
class Server:
    url: str
    log: Path
    process: subprocess.Popen


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    context = ssl._create_unverified_context()  # noqa: S323 (our own throwaway certificate)
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1, context=context) as answer:  # noqa: S310
            return answer.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    cert, keyfile = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, keyfile


def _on_postgres(sql: str) -> None:
    import asyncpg

    url = os.environ["FI_TEST_DATABASE_URL"].replace("postgres://", "postgresql://", 1)

    async def run() -> None:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run())


def _postgres_database() -> str:
    """A database of its own beside the test database, or "" without PostgreSQL."""
    url = os.environ.get("FI_TEST_DATABASE_URL", "")
    if not url:
        return ""
    name = f"fi_serve_{secrets.token_hex(4)}"
    _on_postgres(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"


def _start(home: Path, env_extra: dict[str, str], *args: str) -> Server:
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("FI_")}
    env.update(
        FI_DATA_DIR=str(home / "data"),
        FI_BIND_HOST="127.0.0.1",
        FI_PORT=str(port),
        FI_WORKER_IN_WEB="false",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
        **env_extra,
    )
    scheme = "https" if "FI_TLS_CERTFILE" in env_extra else "http"
    url = f"{scheme}://127.0.0.1:{port}"
    env.setdefault("FI_BASE_URL", url)
    command = [sys.executable, "-m", "fediverse_intranet.cli"]
    log = home / "server.log"
    with log.open("wb") as out:
        for step in (
            ["migrate"],
            ["user", "create", "bob", "--email", "bob@gemeente-x.nl", "--password", PASSWORD],
        ):
            done = subprocess.run(
                [*command, *step], env=env, stdout=out, stderr=subprocess.STDOUT, timeout=120
            )
            assert done.returncode == 0, log.read_text()
    process = subprocess.Popen(
        [*command, "serve", *args], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + START_TIMEOUT
    while not _healthy(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the server did not start:\n{log.read_text()[-3000:]}", pytrace=False)
        time.sleep(0.2)
    return Server(url, log, process)


def _stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """TLS served by the process itself, two workers, on PostgreSQL when the run has it."""
    home = tmp_path_factory.mktemp("serve-tls")
    cert, key = _self_signed(home)
    settings = {"FI_TLS_CERTFILE": str(cert), "FI_TLS_KEYFILE": str(key)}
    database = _postgres_database()
    if database:
        settings["FI_DATABASE_URL"] = database
    server = _start(home, settings, "--workers", "2")
    yield server
    _stop(server)
    if database:
        _on_postgres(f'DROP DATABASE "{database.rsplit("/", 1)[1]}"')


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Plain HTTP behind a proxy: only 127.0.0.2 is trusted to say the client used HTTPS."""
    home = tmp_path_factory.mktemp("serve-plain")
    server = _start(home, {"FI_TRUSTED_PROXIES": "127.0.0.2"})
    yield server
    _stop(server)


def _client(server: Server, local_address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=local_address, verify=False)  # noqa: S501
    return httpx.AsyncClient(transport=transport, base_url=server.url, timeout=60)


async def test_https_served_by_the_process_says_hsts_for_a_year(tls_server):
    async with _client(tls_server) as web:
        for path in ("/login", "/healthz", "/.well-known/nodeinfo", "/no/such/page"):
            answer = await web.get(path)
            hsts = answer.headers.get("strict-transport-security", "")
            assert re.fullmatch(r"max-age=(\d+)", hsts), (path, hsts)
            assert int(hsts.split("=")[1]) >= ONE_YEAR
            assert "preload" not in hsts


async def test_hsts_only_when_a_trusted_proxy_says_https(plain_server):
    https = {"X-Forwarded-Proto": "https"}
    async with _client(plain_server, "127.0.0.2") as proxy:
        assert "strict-transport-security" in (await proxy.get("/login", headers=https)).headers
        assert "strict-transport-security" not in (await proxy.get("/login")).headers
    async with _client(plain_server, "127.0.0.1") as direct:  # not the proxy: not believed
        answer = await direct.get("/login", headers=https)
        assert "strict-transport-security" not in answer.headers


async def _sign_in(web: httpx.AsyncClient, token: str, password: str) -> int:
    answer = await web.post(
        "/login", data={"csrf_token": token, "login": "bob", "password": password}
    )
    return answer.status_code


async def test_parallel_guesses_to_two_workers_check_at_most_five(tls_server):
    async with _client(tls_server) as web:
        page = await web.get("/login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        statuses = await asyncio.gather(
            *(_sign_in(web, token, f"guess {n} of many") for n in range(GUESSES))
        )
        assert set(statuses) <= {400, 429}, statuses
        assert statuses.count(400) <= 5, statuses
        assert await _sign_in(web, token, PASSWORD) == 429


def test_no_hsts_can_be_chosen(tmp_path):
    from fediverse_intranet.app import hsts_header
    from fediverse_intranet.settings import load_settings

    base = {"FI_DATA_DIR": str(tmp_path / "data")}
    assert hsts_header(load_settings(base)) == [(b"strict-transport-security", b"max-age=31536000")]
    assert hsts_header(load_settings({**base, "FI_HSTS_MAX_AGE": "0"})) == []
