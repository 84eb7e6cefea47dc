"""Raw SQL for the few hot queries the ORM cannot shape well, on SQLite and PostgreSQL alike.

Queries use ``:name`` parameters; they become ``?`` for SQLite and ``$n`` for asyncpg.
"""

from __future__ import annotations

import re
from typing import Any

from tortoise import connections

_PARAM = re.compile(r"(?<!:):([a-z_]+)")


def _translate(sql: str, params: dict[str, Any], dialect: str) -> tuple[str, list[Any]]:
    values: list[Any] = []
    order: dict[str, int] = {}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if dialect == "sqlite":
            values.append(params[name])
            return "?"
        if name not in order:
            values.append(params[name])
            order[name] = len(values)
        return f"${order[name]}"

    return _PARAM.sub(replace, sql), values


async def rows(sql: str, **params: Any) -> list[dict[str, Any]]:
    connection = connections.get("default")
    text, values = _translate(sql, params, connection.capabilities.dialect)
    return await connection.execute_query_dict(text, values)


async def ids(sql: str, **params: Any) -> list[int]:
    return [row["id"] for row in await rows(sql, **params)]
