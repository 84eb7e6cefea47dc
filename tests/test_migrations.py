"""Migrations: in step with the models, repeatable, and safe on a database that has rows."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {"FI_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_models_and_migrations_are_in_step(tmp_path):
    """A model change without its migration fails here: run makemigrations and commit it."""
    result = run_python(
        """
        import asyncio
        from tortoise.cli.cli import tortoise_cli_context
        from tortoise.migrations.autodetector import MigrationAutodetector
        from fediverse_intranet.db import tortoise_config

        async def main():
            config = tortoise_config("sqlite://:memory:")
            apps = config["apps"]
            async with tortoise_cli_context(config) as ctx:
                writers = await MigrationAutodetector(ctx.apps, apps).changes()
            print("CHANGES", [w.name for w in writers])

        asyncio.run(main())
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "CHANGES []" in result.stdout


def test_migrate_twice_keeps_rows(tmp_path):
    migrate = [sys.executable, "-m", "fediverse_intranet.cli", "migrate"]
    env = {"FI_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    first = subprocess.run(migrate, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    database = sqlite3.connect(tmp_path / "db.sqlite3")
    database.execute(
        "INSERT INTO actor (username, domain, uri, display_name, bio, job_title, team, location,"
        " contact, photo, presence, presence_note, created_at, updated_at)"
        " VALUES ('kept', '', 'http://x/users/kept', 'Kept', '', '', '', '', '', '', '', '',"
        " '2026-01-01', '2026-01-01')"
    )
    database.commit()
    again = subprocess.run(migrate, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert database.execute("SELECT username FROM actor").fetchall() == [("kept",)]
    applied = database.execute("SELECT COUNT(*) FROM tortoise_migrations").fetchone()[0]
    assert applied == len(list((ROOT / "migrations").glob("0*.py")))


STEPWISE = """
import asyncio, sys
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate
from fediverse_intranet.db import tortoise_config

URL = sys.argv[1]
ROW = (
    "INSERT INTO actor (username, domain, uri, display_name, bio, job_title, team, location,"
    " contact, photo, presence, presence_note, created_at, updated_at) VALUES"
    " ('kept', '', 'http://x/users/kept', 'Kept', '', '', '', '', '', '', '', '',"
    " '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')"
)

async def main():
    config = tortoise_config(URL)
    await migrate(config=config, target="models.0001_initial")
    await connections.get("default").execute_script(ROW)
    await Tortoise.close_connections()
    await migrate(config=config)
    rows = await connections.get("default").execute_query_dict(
        "SELECT username, inbox_url, public_key_pem FROM actor"
    )
    print("ROWS", [(r["username"], r["inbox_url"], r["public_key_pem"]) for r in rows])
    await Tortoise.close_connections()

asyncio.run(main())
"""


def test_each_migration_applies_to_a_database_with_rows(tmp_path):
    """The first migration, a row, then the later ones: NOT NULL columns need db_default."""
    import os

    urls = [f"sqlite://{tmp_path / 'steps.sqlite3'}"]
    postgres = os.environ.get("FI_TEST_DATABASE_URL", "")
    if postgres:
        urls.append(_scratch_postgres(postgres))
    for url in urls:
        result = subprocess.run(
            [sys.executable, "-c", STEPWISE, url],
            cwd=ROOT,
            env={"FI_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "ROWS [('kept', '', '')]" in result.stdout, (url, result.stdout)


def _scratch_postgres(url: str) -> str:
    """A database of its own next to the test database, so the shared one is left alone."""
    import asyncio

    import asyncpg

    base, _, name = url.rpartition("/")
    scratch = f"{name}_steps"

    async def create() -> None:
        admin = await asyncpg.connect(f"{base}/postgres".replace("postgres://", "postgresql://"))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{scratch}"')
        finally:
            await admin.close()

    asyncio.run(create())
    return f"{base}/{scratch}"


async def test_every_declared_index_exists(app):
    """Each index a model declares is in the migrated database, on SQLite and PostgreSQL.

    SQLite rebuilds a table for an AlterField, and tortoise 1.1.9 did not put its indexes
    back (0010 repairs that): an index can vanish with every test still green but slow.
    """
    from tortoise import Tortoise, connections

    connection = connections.get("default")
    missing = []
    for model in Tortoise.apps["models"].values():
        meta = model._meta
        present = await _indexed_columns(connection, meta.db_table)
        declared = [*(meta.indexes or ()), *(meta.unique_together or ())]
        declared += [
            (f.model_field_name,) for f in meta.fields_map.values() if f.index and not f.pk
        ]
        for fields in declared:
            columns = tuple(_column(meta, name) for name in fields)
            if columns not in present:
                missing.append((meta.db_table, columns))
    assert missing == []


def _column(meta, name: str) -> str:
    field = meta.fields_map.get(name)
    return getattr(field, "source_field", None) or meta.fields_db_projection.get(name, name)


async def _indexed_columns(connection, table: str) -> set[tuple[str, ...]]:
    if connection.capabilities.dialect == "sqlite":
        found = set()
        for index in await connection.execute_query_dict(
            "SELECT name FROM pragma_index_list(?)", [table]
        ):
            columns = await connection.execute_query_dict(
                "SELECT name FROM pragma_index_info(?) ORDER BY seqno", [index["name"]]
            )
            found.add(tuple(c["name"] for c in columns))
        return found
    rows = await connection.execute_query_dict(
        "SELECT indexdef FROM pg_indexes WHERE tablename = $1", [table]
    )
    return {
        tuple(c.strip().strip('"') for c in row["indexdef"].split("(", 1)[1].rstrip(")").split(","))
        for row in rows
    }


LEASE_STEP = """
import asyncio, sys
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate
from fediverse_intranet.db import tortoise_config

URL = sys.argv[1]
ROWS = (
    "INSERT INTO inbox_item (activity_id, activity_type, actor_uri, body, state, attempts,"
    " error, received_at, processed_at) VALUES"
    " ('https://a.example/1', 'Like', 'https://a.example/x', '{}', 'pending', 1, 'down',"
    " '2026-01-01T00:00:00+00:00', '2026-01-01T00:05:00+00:00'),"
    " ('https://a.example/2', 'Like', 'https://a.example/x', '{}', 'done', 1, '',"
    " '2026-01-01T00:00:00+00:00', '2026-01-01T00:01:00+00:00')"
)

async def main():
    config = tortoise_config(URL)
    await migrate(config=config, target="models.0010_restore_sqlite_indexes")
    await connections.get("default").execute_script(ROWS)
    await Tortoise.close_connections()
    await migrate(config=config)
    rows = await connections.get("default").execute_query_dict(
        "SELECT state, processed_at IS NULL AS unprocessed, next_attempt_at IS NULL AS due,"
        " claimed_until IS NULL AS free FROM inbox_item ORDER BY id"
    )
    seen = [(r["state"], bool(r["unprocessed"]), bool(r["due"]), bool(r["free"])) for r in rows]
    print("ROWS", seen)
    await Tortoise.close_connections()

asyncio.run(main())
"""


def test_a_pending_inbox_items_back_off_moves_to_next_attempt_at(tmp_path):
    """0011: a pending item's processed_at (its back-off end) becomes next_attempt_at; a done
    item keeps when it was done. On SQLite and PostgreSQL, with rows in the table."""
    import os

    urls = [f"sqlite://{tmp_path / 'lease.sqlite3'}"]
    postgres = os.environ.get("FI_TEST_DATABASE_URL", "")
    if postgres:
        urls.append(_scratch_postgres(postgres))
    for url in urls:
        result = subprocess.run(
            [sys.executable, "-c", LEASE_STEP, url],
            cwd=ROOT,
            env={"FI_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        expected = "ROWS [('pending', True, False, True), ('done', False, True, True)]"
        assert expected in result.stdout, (url, result.stdout)
