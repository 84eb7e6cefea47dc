"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL when
``FI_TEST_DATABASE_URL`` is set), the app over ASGI, and signed-in clients."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from activitypub.addresses import parse_networks
from fediverse_intranet import db, instance
from fediverse_intranet.app import create_app
from fediverse_intranet.composition import compose
from fediverse_intranet.models import Account, Role
from fediverse_intranet.services import (
    accounts,
    clock,
    federation_policy,
    remote_actors,
    remote_client,
    remote_people,
)
from fediverse_intranet.settings import Settings, load_settings
from web.context import CSRF_COOKIE, SESSION_COOKIE, csrf_binding, csrf_token_for

ROOT = Path(__file__).resolve().parent.parent
BASE_URL = "http://intranet.test"
# What FI_FEDERATION_PRIVATE_NETWORKS is set to where a test's peers run on 127.0.0.1.
LOOPBACK = parse_networks("127.0.0.0/8")
PASSWORD = "correct horse battery"


_migrated: set[str] = set()


async def _fresh_postgres(url: str) -> str:
    """Empty every table of the test database (migrated once per run): faster than a new one."""
    import asyncpg

    if url not in _migrated:
        connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        finally:
            await connection.close()
        await db.migrate(url)
        _migrated.add(url)
        return url
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'tortoise_migrations'"
        )
        names = ", ".join(f'"{row["tablename"]}"' for row in tables)
        await connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated SQLite database made once per run and copied for each test:
    migrating for every test would cost a second or two each."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    env = {"PATH": os.environ.get("PATH", ""), "FI_DATA_DIR": str(folder)}
    command = [sys.executable, "-m", "fediverse_intranet.cli", "migrate"]
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    return folder / "db.sqlite3"


@pytest.fixture
async def settings(tmp_path: Path, sqlite_template: Path) -> Settings:
    env = {"FI_DATA_DIR": str(tmp_path / "data"), "FI_BASE_URL": BASE_URL}
    postgres = os.environ.get("FI_TEST_DATABASE_URL", "")
    if postgres:
        env["FI_DATABASE_URL"] = await _fresh_postgres(postgres)
    settings = load_settings(env)
    if settings.is_sqlite:
        shutil.copy(sqlite_template, settings.data_dir / "db.sqlite3")
    return settings


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    await _forget_federation_state()
    await db.migrate(settings.database_url)
    await db.connect(settings)
    instance.configure(settings)
    compose()  # create_app did it too; said here so no test depends on that
    yield application
    await _forget_federation_state()
    await db.disconnect()


async def _forget_federation_state() -> None:
    """In-process memories (actors, profiles, the policy) hold another test's database
    rows, and the HTTP client belongs to one test's event loop."""
    for forget in (remote_actors.forget, remote_people.forget, federation_policy.forget):
        forget()
    await remote_client.close()


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL
    ) as anonymous:
        yield anonymous


async def make_account(username: str, role: Role = Role.MEMBER, display_name: str = "") -> Account:
    account = await accounts.create_account(
        username,
        f"{username}@gemeente-x.nl",
        PASSWORD,
        role=role,
        display_name=display_name or username.title(),
        reserved_ok=True,
    )
    await account.fetch_related("actor")
    return account


class Browser(httpx.AsyncClient):
    """An HTTP client that behaves like a person's browser: it holds cookies and sends the
    CSRF token of the form with every POST."""

    @property
    def csrf(self) -> str:
        """The token the pages would carry: bound to the session cookie, when there is one
        (tests that end a session drop the cookie, as a browser is told to), else to the
        pre-session cookie."""
        binding = csrf_binding(
            self.cookies.get(SESSION_COOKIE, ""), self.cookies.get(CSRF_COOKIE, "")
        )
        return csrf_token_for(binding) if binding else ""

    async def submit(
        self, url: str, data: dict[str, str] | None = None, files: dict | None = None
    ) -> httpx.Response:
        if not self.csrf:
            await self.get("/login")
        return await self.post(url, data={"csrf_token": self.csrf, **(data or {})}, files=files)


async def _never_500(response: httpx.Response) -> None:
    """No request a person can make may end in a server error."""
    assert response.status_code < 500, f"{response.request.url} answered {response.status_code}"


@pytest.fixture
async def browser(app: Starlette) -> AsyncIterator:
    """A factory for signed-in (or anonymous) browsers; closed at the end of the test."""
    opened: list[Browser] = []

    async def open_browser(account: Account | None = None) -> Browser:
        person = Browser(
            transport=httpx.ASGITransport(app=app),
            base_url=BASE_URL,
            event_hooks={"response": [_never_500]},
        )
        opened.append(person)
        if account is not None:
            person.cookies.set(SESSION_COOKIE, await accounts.start_session(account))
        await person.get("/login")  # picks up the CSRF cookie
        return person

    yield open_browser
    for person in opened:
        await person.aclose()


@pytest.fixture
async def alice(app: Starlette) -> Account:
    return await make_account("alice", Role.ADMIN, "Alice Admin")


@pytest.fixture
async def bob(app: Starlette) -> Account:
    return await make_account("bob", display_name="Bob Burger")


class Clock:
    """The services' clock (``services.clock.now``), moved forward by the test."""

    def __init__(self, real: Callable[[], datetime]) -> None:
        self.real = real
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return self.real() + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@pytest.fixture
def moved(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock(clock.now)
    monkeypatch.setattr(clock, "now", fake)
    return fake
