"""Database set-up: one Tortoise configuration for SQLite and PostgreSQL, and migrations."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api import migrate as run_migrations

from fediverse_intranet.settings import Settings, load_settings

MODELS = "fediverse_intranet.models"


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The configuration both the app and ``tortoise`` CLI (makemigrations) use."""
    return {
        "connections": {"default": database_url},
        "apps": {
            "models": {
                "models": [MODELS],
                "default_connection": "default",
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def __getattr__(name: str) -> Any:
    """``TORTOISE_ORM`` for ``tortoise -c fediverse_intranet.db.TORTOISE_ORM makemigrations``.

    Built lazily so that importing this module never reads settings or creates folders.
    """
    if name == "TORTOISE_ORM":
        return tortoise_config(load_settings().database_url)
    raise AttributeError(name)


async def migrate(database_url: str) -> None:
    """Bring the schema up to date. Safe to run on every start and by several processes."""
    await run_migrations(config=tortoise_config(database_url))
    await Tortoise.close_connections()


async def connect(settings: Settings) -> None:
    """Open the connections for this process.

    uvicorn runs the lifespan in another task than the requests, so tortoise 1.x must keep
    its context globally (the same switch its own RegisterTortoise uses), not per task.
    """
    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)


async def disconnect() -> None:
    await Tortoise.close_connections()
