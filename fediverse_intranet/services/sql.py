"""Raw SQL for the few hot queries the ORM cannot shape well or builds too slowly, on SQLite
and PostgreSQL alike.

Queries use ``:name`` parameters; they become ``?`` for SQLite and ``$n`` for asyncpg. A
list or tuple value stands for as many parameters as it has items (for ``IN (:uris)``).

Why raw on the inbound path: building a query costs the ORM 150-700 µs (measured: a
``filter().first()`` 190 µs, a ``select_related`` over a join 720 µs) against 35-45 µs for
the same statement sent as text, and processing one remote post asks several.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from tortoise import connections
from tortoise.models import Model

_PARAM = re.compile(r"(?<!:):([a-z_]+)")

M = TypeVar("M", bound=Model)


def _translate(sql: str, params: dict[str, Any], dialect: str) -> tuple[str, list[Any]]:
    values: list[Any] = []
    placed: dict[str, str] = {}

    def place(value: Any) -> str:
        values.append(value)
        return "?" if dialect == "sqlite" else f"${len(values)}"

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in placed and dialect != "sqlite":
            return placed[name]  # asyncpg numbers a repeated parameter once
        value = params[name]
        if isinstance(value, list | tuple):
            if not value:
                raise ValueError(f"empty list for :{name}")
            text = ", ".join(place(item) for item in value)
        else:
            text = place(value)
        placed[name] = text
        return text

    return _PARAM.sub(replace, sql), values


async def rows(sql: str, **params: Any) -> list[dict[str, Any]]:
    connection = connections.get("default")
    text, values = _translate(sql, params, connection.capabilities.dialect)
    return await connection.execute_query_dict(text, values)


async def ids(sql: str, **params: Any) -> list[int]:
    return [row["id"] for row in await rows(sql, **params)]


async def instances(model: type[M], sql: str, **params: Any) -> list[M]:
    """Model instances from a query that selects every column of the model's table
    (``SELECT post.* ...``), made as the ORM makes them from its own queries."""
    return [model._init_from_db(**row) for row in await rows(sql, **params)]


async def insert_new(
    model: type[Model], columns: Sequence[str], values: Sequence[Sequence[Any]], *, unique: str
) -> None:
    """Insert many rows in one statement and transaction (executemany), skipping any whose
    ``unique`` column value is already there. Values go as the ORM sends them (datetimes
    too: tortoise registers SQLite's adapter, asyncpg takes them as they are)."""
    connection = connections.get("default")
    text, _ = _translate(
        f'{_insert(model, columns)} ON CONFLICT ("{unique}") DO NOTHING',
        dict.fromkeys(columns),
        connection.capabilities.dialect,
    )
    await connection.execute_many(text, [list(row) for row in values])


async def insert(model: type[Model], **columns: Any) -> None:
    """One row into ``model``'s table, columns by their database names (``post_id``);
    columns left out take their database default. For small rows written on hot paths
    (a mention, a notification): the ORM's create() costs ~4x the statement."""
    await rows(_insert(model, columns), **columns)


def _insert(model: type[Model], columns: Iterable[str]) -> str:
    """``INSERT INTO table (columns) VALUES (:columns)``; the names are our code's, never a
    request's, and every value is a bound parameter."""
    names = list(columns)
    marks = ", ".join(f":{name}" for name in names)
    return f"{_insert_into(model, names)} VALUES ({marks})"


def _insert_into(model: type[Model], columns: Iterable[str]) -> str:
    quoted = ", ".join(f'"{name}"' for name in columns)
    return f'INSERT INTO "{model._meta.db_table}" ({quoted})'  # noqa: S608


async def insert_rows(
    model: type[Model],
    columns: Sequence[str],
    values: Sequence[Sequence[Any]],
    *,
    skip_existing: bool = False,
) -> None:
    """Many rows in ONE statement (``INSERT ... VALUES (...), (...)``), not one each: a post's
    tags and mentions are written inside its transaction, which holds SQLite's only writer.
    ``skip_existing``: rows that break a unique index are left out (``ON CONFLICT DO NOTHING``)."""
    if not values:
        return
    connection = connections.get("default")
    sqlite = connection.capabilities.dialect == "sqlite"
    params: list[Any] = []
    groups = []
    for row in values:
        marks = []
        for value in row:
            params.append(value)
            marks.append("?" if sqlite else f"${len(params)}")
        groups.append(f"({', '.join(marks)})")
    head = _insert_into(model, columns)
    tail = " ON CONFLICT DO NOTHING" if skip_existing else ""
    await connection.execute_query(f"{head} VALUES {', '.join(groups)}{tail}", params)
