"""The ``fediverse-intranet`` command, run as a real process the way an operator runs it."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from fediverse_intranet.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "fediverse-intranet"
PASSWORD = "correct horse battery"


def run(data_dir: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """Run the command with only the settings given: never the PostgreSQL of the test run."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "FI_DATA_DIR": str(data_dir),
        **settings,
    }
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "fediverse_intranet.cli"]
    return subprocess.run(
        [*command, *args],
        env=env,
        cwd=data_dir.parent if data_dir.parent.is_dir() else Path.home(),  # not the checkout
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def problem_lines(stderr: str) -> list[str]:
    """What the command said on stderr, apart from the ORM's own shutdown notice."""
    return [
        line for line in stderr.splitlines() if line.strip() and "Tortoise-ORM shutdown" not in line
    ]


def test_migrate_create_and_list_users(tmp_path):
    data = tmp_path / "data"
    migrated = run(data, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "database is up to date" in migrated.stdout
    assert (data / "db.sqlite3").exists()

    created = run(
        data,
        "user",
        "create",
        "Alice",
        "--email",
        "Alice@Gemeente-X.nl",
        "--password",
        PASSWORD,
        "--display-name",
        "Alice Admin",
        "--admin",
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "created @alice (admin)"
    member = run(
        data, "user", "create", "bob", "--email", "bob@gemeente-x.nl", "--password", PASSWORD
    )
    assert member.returncode == 0, member.stderr
    assert member.stdout.strip() == "created @bob (member)"

    listed = run(data, "user", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "alice\talice@gemeente-x.nl\tadmin\tactive",
        "bob\tbob@gemeente-x.nl\tmember\tactive",
    ]

    with sqlite3.connect(data / "db.sqlite3") as connection:
        rows = connection.execute(
            "SELECT actor.username, actor.display_name, account.email, account.role,"
            " account.password_hash FROM account JOIN actor ON actor.id = account.actor_id"
            " ORDER BY actor.username"
        ).fetchall()
    assert [row[:4] for row in rows] == [
        ("alice", "Alice Admin", "alice@gemeente-x.nl", "admin"),
        ("bob", "", "bob@gemeente-x.nl", "member"),
    ]
    assert all(row[4].startswith("$argon2") and PASSWORD not in row[4] for row in rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["alice", "--email", "other@gemeente-x.nl"], "This username is taken."),
        (["Al ice", "--email", "x@gemeente-x.nl"], "A username has 1 to 30 letters"),
        (["carol", "--email", "not-an-address"], "Enter a valid email address."),
    ],
)
def test_refused_user_is_one_line(tmp_path, args, message):
    data = tmp_path / "data"
    assert run(data, "migrate").returncode == 0
    first = run(
        data, "user", "create", "alice", "--email", "a@gemeente-x.nl", "--password", PASSWORD
    )
    assert first.returncode == 0
    result = run(data, "user", "create", *args, "--password", PASSWORD)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = problem_lines(result.stderr)
    assert len(lines) == 1
    assert lines[0].startswith("fediverse-intranet: ")
    assert message in lines[0]
    listed = run(data, "user", "list")
    assert len(listed.stdout.splitlines()) == 1


def test_short_password_is_refused(tmp_path):
    data = tmp_path / "data"
    assert run(data, "migrate").returncode == 0
    result = run(
        data, "user", "create", "carol", "--email", "c@gemeente-x.nl", "--password", "short"
    )
    assert result.returncode == 1
    assert problem_lines(result.stderr) == ["fediverse-intranet: Use at least 10 characters."]
    assert run(data, "user", "list").stdout == ""


@pytest.mark.parametrize(
    ("settings", "names"),
    [
        ({"FI_BASE_URL": "ftp://x"}, "FI_BASE_URL"),
        ({"FI_BASE_URL": "https://intranet.example.nl/sub"}, "FI_BASE_URL"),
        ({"FI_PORT": "abc"}, "FI_PORT"),
        ({"FI_PORT": "70000"}, "FI_PORT"),
        ({"FI_DATABASE_URL": "mysql://db/intranet"}, "FI_DATABASE_URL"),
        ({"FI_SESSION_DAYS": "0"}, "FI_SESSION_DAYS"),
        ({"FI_WORKER_IN_WEB": "perhaps"}, "FI_WORKER_IN_WEB"),
        ({"FI_SECRET_KEY": "too-short"}, "FI_SECRET_KEY"),
        ({"FI_FEDERATION_PRIVATE_NETWORKS": "10.0.0.0/8,intranet"}, "'intranet' is not a CIDR"),
        ({"FI_FEDERATION_PRIVATE_NETWORKS": "10.1.2.3/8"}, "FI_FEDERATION_PRIVATE_NETWORKS"),
        ({"FI_FEDERATION_PRIVATE_NETWORKS": "169.254.0.0/16"}, "never reachable"),
        ({"FI_FEDERATION_ALLOW_PRIVATE": "true"}, "replaced by FI_FEDERATION_PRIVATE_NETWORKS"),
        ({"FI_FEDERATION_ALLOW_PRIVATE": "false"}, "replaced by FI_FEDERATION_PRIVATE_NETWORKS"),
    ],
)
@pytest.mark.parametrize("command", [["migrate"], ["user", "list"]])
def test_bad_setting_is_one_clear_line(tmp_path, settings, names, command):
    result = run(tmp_path / "data", *command, **settings)
    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("fediverse-intranet: ")
    assert names in lines[0]
    assert not (tmp_path / "data" / "db.sqlite3").exists()


def test_private_networks_are_read_as_a_list(tmp_path):
    env = {"FI_DATA_DIR": str(tmp_path / "data")}
    assert load_settings(env).federation_private_networks == ()
    env["FI_FEDERATION_PRIVATE_NETWORKS"] = "10.20.0.0/16, 127.0.0.2,fd12:3456::/32"
    assert [str(n) for n in load_settings(env).federation_private_networks] == [
        "10.20.0.0/16",
        "127.0.0.2/32",
        "fd12:3456::/32",
    ]


def test_data_dir_that_cannot_be_made_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run(blocker / "data", "migrate")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "FI_DATA_DIR" in lines[0]


def test_secret_key_is_made_once_and_kept(tmp_path):
    data = tmp_path / "data"
    key_file = data / "secret_key"
    assert not key_file.exists()
    assert run(data, "migrate").returncode == 0
    key = key_file.read_text().strip()
    assert len(key) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600  # only the service may read it
    assert run(data, "user", "list").returncode == 0
    assert run(data, "migrate").returncode == 0
    assert key_file.read_text().strip() == key

    # Another instance gets its own key.
    other = tmp_path / "other"
    assert run(other, "migrate").returncode == 0
    assert (other / "secret_key").read_text().strip() != key


def test_given_secret_key_is_not_written(tmp_path):
    data = tmp_path / "data"
    result = run(data, "migrate", FI_SECRET_KEY="k" * 40)
    assert result.returncode == 0, result.stderr
    assert not (data / "secret_key").exists()


def test_commands_before_migrate_say_what_to_do(tmp_path):
    result = run(tmp_path, "user", "list")
    assert result.returncode == 1
    assert problem_lines(result.stderr) == [
        "fediverse-intranet: database problem: no such table: account."
        " Check FI_DATABASE_URL and run `fediverse-intranet migrate` first."
    ]
