"""Real instances for the federation tests: one ``fediverse-intranet serve`` process each,
under its own host name on its own loopback address, serving HTTPS on port 443.

Host names come from /etc/hosts (lines added when missing), so our servers, Node and the
test's own client all resolve them the ordinary way. Each instance has its own data folder
(SQLite), trusts the test CA through ``FI_EXTRA_CA_FILE`` and may reach the loopback network
(``FI_FEDERATION_PRIVATE_NETWORKS=127.0.0.0/8``). Processes are stopped by their PID only.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.federation.pki import TestCA

ROOT = Path(__file__).resolve().parents[2]
HOSTS_FILE = Path("/etc/hosts")
START_TIMEOUT = 30.0
PASSWORD = "federated horse battery"
# What a reverse proxy in front of an instance would connect from (see test_serving.py).
PROXY_ADDRESS = "127.0.0.9"


def require(ok: bool, reason: str) -> None:
    """Skip when the machine cannot run these tests; with CI=true, fail instead."""
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: federation tests may not skip)", pytrace=False)
    pytest.skip(reason)


def ensure_hosts(names: dict[str, str]) -> None:
    """Make each ``name`` resolve to its address through /etc/hosts, adding missing lines."""
    text = HOSTS_FILE.read_text() if HOSTS_FILE.exists() else ""
    known = {
        (parts[0], name)
        for line in text.splitlines()
        if (parts := line.split("#", 1)[0].split())
        for name in parts[1:]
    }
    missing = [(addr, name) for name, addr in names.items() if (addr, name) not in known]
    if not missing:
        return
    others = {name for addr, name in known if (addr, name) not in set(missing)}
    clash = [name for _, name in missing if name in others]
    require(not clash, f"/etc/hosts names {clash} with other addresses")
    lines = "".join(
        f"{addr} {name}  # fediverse-intranet federation tests\n" for addr, name in missing
    )
    try:
        with HOSTS_FILE.open("a") as hosts:
            if text and not text.endswith("\n"):
                hosts.write("\n")
            hosts.write(lines)
    except OSError as exc:
        require(False, f"cannot add {len(missing)} test host names to /etc/hosts: {exc.strerror}")


def tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Instance:
    """One instance: ``https://{host}`` served from ``address:443``."""

    host: str
    address: str
    home: Path
    ca: TestCA
    tls_from_env: bool = False  # FI_TLS_CERTFILE/KEYFILE instead of --certfile/--keyfile
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"https://{self.host}"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    def prepare(self, template_db: Path) -> None:
        """A data folder with an empty, migrated database (a copy: migrating costs seconds)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(template_db, self.data_dir / "db.sqlite3")
        self.cert = self.ca.issue(self.host, self.address)

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("FI_")}
        env.update(
            FI_DATA_DIR=str(self.data_dir),
            FI_BASE_URL=self.url,
            FI_BIND_HOST=self.address,
            FI_PORT="443",
            FI_INSTANCE_NAME=self.host,
            FI_FEDERATION_PRIVATE_NETWORKS="127.0.0.0/8",
            FI_EXTRA_CA_FILE=str(self.ca.cafile),
            FI_TRUSTED_PROXIES=PROXY_ADDRESS,
            PYTHONUNBUFFERED="1",
        )
        if self.tls_from_env:
            env.update(
                FI_TLS_CERTFILE=str(self.cert.certfile), FI_TLS_KEYFILE=str(self.cert.keyfile)
            )
        env.update(self.extra_env)
        return env

    def launch(self) -> None:
        """Start ``serve`` without waiting for it (see :meth:`wait_ready`)."""
        command = [sys.executable, "-m", "fediverse_intranet.cli", "serve"]
        if not self.tls_from_env:
            command += ["--certfile", str(self.cert.certfile), "--keyfile", str(self.cert.keyfile)]
        with self.log.open("ab") as out:
            out.write(f"--- serve started {time.strftime('%H:%M:%S')}\n".encode())
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env(), stdout=out, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Until ``/healthz`` answers over HTTPS with a certificate the CA vouches for."""
        assert self.process is not None
        context = self.ca.client_context()
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(  # noqa: S310 (our own https URL)
                    f"{self.url}/healthz", timeout=2, context=context
                ) as answer:
                    if answer.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            if self.process.poll() is not None:
                pytest.fail(
                    f"{self.host} stopped ({self.process.returncode}):\n{tail(self.log)}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(f"{self.host} did not answer:\n{tail(self.log)}", pytrace=False)
            time.sleep(0.1)

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def kill(self) -> None:
        """SIGKILL, as a crash or a power cut would: no clean shutdown of anything."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def cli(self, *args: str) -> subprocess.Popen:
        """Run a ``fediverse-intranet`` command against this instance's database."""
        return subprocess.Popen(
            [sys.executable, "-m", "fediverse_intranet.cli", *args],
            cwd=ROOT,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def query(self, sql: str, *params: Any) -> list[tuple]:
        """Read this instance's database, as an operator with ``sqlite3`` would."""
        with sqlite3.connect(self.data_dir / "db.sqlite3", timeout=10) as connection:
            return connection.execute(sql, params).fetchall()

    def execute(self, sql: str, *params: Any) -> int:
        with sqlite3.connect(self.data_dir / "db.sqlite3", timeout=10) as connection:
            return connection.execute(sql, params).rowcount


def create_users(wanted: list[tuple[Instance, str, bool]]) -> None:
    """Accounts made with the CLI (``user create``), one process per account: in parallel
    across instances, one after another on each (two SQLite writers starting at once can
    make one of them fail with "database is locked")."""
    queues: dict[str, list[tuple[Instance, str, bool]]] = {}
    for entry in wanted:
        queues.setdefault(entry[0].host, []).append(entry)
    while any(queues.values()):
        running = [
            (entry, _create_user(*entry)) for entry in (q.pop(0) for q in queues.values() if q)
        ]
        for (instance, name, _), process in running:
            output, _ = process.communicate(timeout=60)
            if process.returncode != 0:
                pytest.fail(
                    f"user create {name} on {instance.host}: {output.decode()}", pytrace=False
                )


def _create_user(instance: Instance, name: str, admin: bool) -> subprocess.Popen:
    return instance.cli(
        "user", "create", name,
        "--email", f"{name}@{instance.host}",
        "--password", PASSWORD,
        "--display-name", f"{name.title()} of {instance.host}",
        *(["--admin"] if admin else []),
    )  # fmt: skip
