"""Real multi-instance federation tests: three instances as separate processes, each under
its own host name on its own loopback address, over HTTPS with certificates from a test CA.

| instance   | address   | TLS from                                |
| ---------- | --------- | --------------------------------------- |
| gov-a.test | 127.0.0.2 | ``serve --certfile/--keyfile``          |
| gov-b.test | 127.0.0.3 | ``serve --certfile/--keyfile``          |
| gov-c.test | 127.0.0.4 | ``FI_TLS_CERTFILE`` / ``FI_TLS_KEYFILE`` |

They start once per test session (startup costs seconds on a small machine) and stop by PID
at the end. Tests keep out of each other's way by using their own accounts; a test that
changes an instance (its federation policy, a restart) puts it back. Needs root (port 443,
/etc/hosts); without it the tests skip, or fail when ``CI=true``. A failing test shows the
end of each instance's log.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.federation.instances import Instance, create_users, ensure_hosts, require, tail
from tests.federation.people import Person
from tests.federation.pki import TestCA

ADDRESSES = {"gov-a.test": "127.0.0.2", "gov-b.test": "127.0.0.3", "gov-c.test": "127.0.0.4"}
LOGS = pytest.StashKey[list[Path]]()


@dataclass
class Federation:
    a: Instance
    b: Instance
    c: Instance
    ca: TestCA
    home: Path
    _accounts: set[tuple[str, str]] = field(default_factory=set)

    @property
    def instances(self) -> list[Instance]:
        return [self.a, self.b, self.c]

    def accounts(self, *wanted: tuple[Instance, str], admin: bool = False) -> None:
        """Create these accounts with the CLI, unless an earlier test already did."""
        new = [(i, name) for i, name in wanted if (i.host, name) not in self._accounts]
        create_users([(i, name, admin) for i, name in new])
        self._accounts.update((i.host, name) for i, name in new)


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("test-ca"))


@pytest.fixture(scope="session")
def federation(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    test_ca: TestCA,
) -> Iterator[Federation]:
    require(os.geteuid() == 0, "federation tests need root (port 443 and /etc/hosts)")
    ensure_hosts(ADDRESSES)
    home = tmp_path_factory.mktemp("federation")
    a, b, c = (
        Instance(host, address, home / host, test_ca, tls_from_env=host == "gov-c.test")
        for host, address in ADDRESSES.items()
    )
    fed = Federation(a, b, c, test_ca, home)
    request.config.stash[LOGS] = [i.log for i in fed.instances]
    try:
        for instance in fed.instances:
            instance.prepare(sqlite_template)
            instance.launch()
        for instance in fed.instances:
            instance.wait_ready()
        yield fed
    finally:
        for instance in fed.instances:
            instance.stop()


@pytest.fixture
async def sign_in() -> AsyncIterator[Callable[[Instance, str], Awaitable[Person]]]:
    """``await sign_in(instance, "alice")``: a signed-in person, closed after the test."""
    opened: list[Person] = []

    async def open_person(instance: Instance, username: str) -> Person:
        person = Person(instance, username)
        opened.append(person)
        return await person.sign_in()

    yield open_person
    for person in opened:
        await person.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failing federation test shows the end of every instance's log under its report."""
    report = yield
    if report.failed and "federation" in getattr(item, "fixturenames", ()):
        for log in item.config.stash.get(LOGS, []):
            report.sections.append((f"{log.parent.name} log (last lines)", tail(log)))
    return report
