"""The background worker as a separate process: it does its rounds and stops cleanly."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from fediverse_intranet.models import LoginFailure, WebSession
from fediverse_intranet.services.clock import now
from outbox import worker

ROOT = Path(__file__).resolve().parent.parent


async def test_housekeeping_removes_only_what_expired(alice):
    from datetime import timedelta

    await WebSession.create(key_hash="old", account=alice, expires_at=now() - timedelta(hours=1))
    await WebSession.create(key_hash="new", account=alice, expires_at=now() + timedelta(days=1))
    await LoginFailure.create(login="x", address="1.2.3.4")
    removed = await worker.housekeeping()
    assert removed["sessions"] == 1
    assert [s.key_hash for s in await WebSession.all()] == ["new"]
    assert await LoginFailure.all().count() == 1  # recent failures still throttle


def test_worker_process_runs_a_round_and_stops_on_sigterm(tmp_path):
    env = {"FI_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    cli = [sys.executable, "-m", "fediverse_intranet.cli"]
    subprocess.run([*cli, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run(
        [*cli, "user", "create", "alice", "--email", "a@gemeente-x.nl", "--password", "x" * 12],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    database = sqlite3.connect(tmp_path / "db.sqlite3")
    database.execute(
        "INSERT INTO web_session (key_hash, account_id, created_at, last_seen_at, expires_at)"
        " VALUES ('gone', 1, '2020-01-01 00:00:00+00:00', '2020-01-01 00:00:00+00:00',"
        " '2020-01-02 00:00:00+00:00')"
    )
    database.commit()
    process = subprocess.Popen([*cli, "worker"], cwd=ROOT, env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if database.execute("SELECT COUNT(*) FROM web_session").fetchone()[0] == 0:
                break
            time.sleep(0.2)
        assert database.execute("SELECT COUNT(*) FROM web_session").fetchone()[0] == 0
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
