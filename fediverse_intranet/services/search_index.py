"""The full-text index behind ``services.search``: its tables, their upkeep, and the words.

Two engines, one shape. On SQLite, FTS5 tables (``search_post``, ``search_actor``) whose rowid
is the post's or actor's id, tokenised by ``porter`` (English stemming) and with a second
column of Dutch stems made here with the Snowball stemmer (FTS5 has no Dutch tokeniser). On
PostgreSQL, tables of ``tsvector`` documents (``dutch`` and ``english`` configurations) under GIN
indexes. Database triggers put every changed post, actor or actor topic on ``search_queue``
(whoever wrote it: the pages, the inbox, the worker), and ``drain`` reindexes what is queued
before a search, so the index never misses a change and no service has to remember it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import snowballstemmer
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

_WORD = re.compile(r"\w+")
_TAG = re.compile(r"<[^>]*>")
MAX_TERMS = 8  # a query's words beyond this add nothing but cost
MAX_TERM = 64
BATCH = 500

_QUEUED = {  # table -> (kind, the column naming what to reindex, columns whose change matters)
    "post": ("post", "id", "title, summary, source, content_html, deleted_at"),
    "actor": ("actor", "id", "display_name, username, job_title, team, bio, kind"),
    "actor_topic": ("actor", "actor_id", "actor_id, tag_id"),
}

SQLITE_TABLES = [
    "CREATE TABLE IF NOT EXISTS search_queue (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " kind VARCHAR(8) NOT NULL, ref_id INT NOT NULL)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_post USING fts5(body, stems,"
    " tokenize = 'porter unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_actor USING fts5(body, stems,"
    " tokenize = 'porter unicode61 remove_diacritics 2')",
]
POSTGRES_TABLES = [
    "CREATE TABLE IF NOT EXISTS search_queue (id BIGSERIAL PRIMARY KEY,"
    " kind VARCHAR(8) NOT NULL, ref_id INT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS search_post (id INT PRIMARY KEY, doc TSVECTOR NOT NULL)",
    "CREATE INDEX IF NOT EXISTS search_post_doc ON search_post USING GIN (doc)",
    "CREATE TABLE IF NOT EXISTS search_actor (id INT PRIMARY KEY, doc TSVECTOR NOT NULL)",
    "CREATE INDEX IF NOT EXISTS search_actor_doc ON search_actor USING GIN (doc)",
]


def _sqlite_triggers() -> list[str]:
    statements = []
    for table, (kind, column, watched) in _QUEUED.items():
        for event, row in (("INSERT", "NEW"), (f"UPDATE OF {watched}", "NEW"), ("DELETE", "OLD")):
            name = f"search_{table}_{event.split()[0].lower()}"
            statements.append(
                f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} ON {table} BEGIN"  # noqa: S608
                f" INSERT INTO search_queue (kind, ref_id) VALUES ('{kind}', {row}.{column}); END"
            )
    return statements


def _postgres_triggers() -> list[str]:
    statements = []
    for table, (kind, column, watched) in _QUEUED.items():
        function = f"search_queue_{table}"
        statements.append(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$ BEGIN"  # noqa: S608
            f" IF TG_OP = 'DELETE' THEN INSERT INTO search_queue (kind, ref_id)"
            f" VALUES ('{kind}', OLD.{column}); ELSE INSERT INTO search_queue (kind, ref_id)"
            f" VALUES ('{kind}', NEW.{column}); END IF; RETURN NULL; END $$ LANGUAGE plpgsql"
        )
        statements.append(f"DROP TRIGGER IF EXISTS search_{table} ON {table}")
        statements.append(
            f"CREATE TRIGGER search_{table} AFTER INSERT OR DELETE OR UPDATE OF {watched}"
            f" ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
    return statements


def schema(dialect: str) -> list[str]:
    """The statements that create the index and its triggers (the migration runs them)."""
    if dialect == "sqlite":
        return SQLITE_TABLES + _sqlite_triggers()
    return POSTGRES_TABLES + _postgres_triggers()


def unschema(dialect: str) -> list[str]:
    """The statements that remove them again."""
    drops = [f"DROP TABLE IF EXISTS {t}" for t in ("search_queue", "search_post", "search_actor")]
    if dialect == "sqlite":
        triggers = [s.split()[5] for s in _sqlite_triggers()]
        return [f"DROP TRIGGER IF EXISTS {t}" for t in triggers] + drops
    functions = [f"DROP FUNCTION IF EXISTS search_queue_{t}() CASCADE" for t in _QUEUED]
    return functions + drops


# -- words ---------------------------------------------------------------------------------


_DUTCH = snowballstemmer.stemmer("dutch")


@lru_cache(maxsize=100_000)
def dutch_stem(word: str) -> str:
    return _DUTCH.stemWord(word)


def words(text: str) -> list[str]:
    """Lower-case words, punctuation and operators dropped: what a query may consist of."""
    return [w[:MAX_TERM] for w in _WORD.findall(text.lower()) if w.strip("_")]


def terms(query: str) -> list[str]:
    """The distinct words of a query (at most ``MAX_TERMS``), in order."""
    return list(dict.fromkeys(words(query[: MAX_TERMS * (MAX_TERM + 2) * 4])))[:MAX_TERMS]


def dutch_stems(text: str) -> str:
    return " ".join(dutch_stem(word) for word in words(text))


def fts5_query(query_terms: Iterable[str]) -> str:
    """An FTS5 MATCH expression built from words alone, each one quoted: a word matches in
    English (the porter tokeniser stems it) or as a Dutch stem; all words must match."""
    parts = []
    for term in query_terms:
        quoted = term.replace('"', "")
        parts.append(f'("{quoted}" OR "{dutch_stem(quoted)}")')
    return " AND ".join(parts)


TSVECTOR_SQL = "to_tsvector('dutch', {0}) || to_tsvector('english', {0})"


# -- documents -----------------------------------------------------------------------------


def post_body(title: str, summary: str, source: str, content_html: str) -> str:
    text = source or _TAG.sub(" ", content_html)
    return " ".join(part for part in (title, summary, text) if part)


def actor_body(row: dict[str, Any], topics: Iterable[str]) -> str:
    """A person by name, handle, function, team and topics; a group also by its description."""
    parts = [row["display_name"], row["username"], row["job_title"], row["team"]]
    if row["kind"] == "group":
        parts.append(_TAG.sub(" ", row["bio"]))
    parts.extend(topics)
    return " ".join(part for part in parts if part)


def _connection() -> BaseDBAsyncClient:
    return connections.get("default")


def _marks(dialect: str, count: int) -> str:
    if dialect == "sqlite":
        return ", ".join("?" * count)
    return ", ".join(f"${n}" for n in range(1, count + 1))


async def _post_docs(db: BaseDBAsyncClient, ids: list[int]) -> dict[int, str]:
    rows = await db.execute_query_dict(
        "SELECT id, title, summary, source, content_html FROM post"  # noqa: S608
        f" WHERE deleted_at IS NULL AND id IN ({_marks(db.capabilities.dialect, len(ids))})",
        ids,
    )
    return {
        r["id"]: post_body(r["title"], r["summary"], r["source"], r["content_html"]) for r in rows
    }


async def _actor_docs(db: BaseDBAsyncClient, ids: list[int]) -> dict[int, str]:
    marks = _marks(db.capabilities.dialect, len(ids))
    rows = await db.execute_query_dict(
        "SELECT id, kind, display_name, username, job_title, team, bio FROM actor"  # noqa: S608
        f" WHERE id IN ({marks})",
        ids,
    )
    topics: dict[int, list[str]] = {}
    for topic in await db.execute_query_dict(
        "SELECT t.actor_id, g.name FROM actor_topic t JOIN tag g ON g.id = t.tag_id"  # noqa: S608
        f" WHERE t.actor_id IN ({marks})",
        ids,
    ):
        topics.setdefault(topic["actor_id"], []).append(topic["name"])
    return {r["id"]: actor_body(r, topics.get(r["id"], [])) for r in rows}


async def _write(db: BaseDBAsyncClient, table: str, ids: list[int], docs: dict[int, str]) -> None:
    """Replace the documents of ``ids``; an id without a document (gone) is removed. Two
    searches may drain the same change at once: the insert replaces rather than conflicts."""
    if db.capabilities.dialect == "sqlite":
        await db.execute_query(
            f"DELETE FROM {table} WHERE rowid IN ({_marks('sqlite', len(ids))})",  # noqa: S608
            ids,
        )
        if docs:
            await db.execute_many(
                f"INSERT OR REPLACE INTO {table} (rowid, body, stems) VALUES (?, ?, ?)",  # noqa: S608
                [[key, body, dutch_stems(body)] for key, body in docs.items()],
            )
        return
    await db.execute_query(f"DELETE FROM {table} WHERE id = ANY($1::int[])", [ids])  # noqa: S608
    if docs:
        await db.execute_many(
            f"INSERT INTO {table} (id, doc) VALUES ($1, {TSVECTOR_SQL.format('$2')})"  # noqa: S608
            " ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc",
            [[key, body] for key, body in docs.items()],
        )


async def index(kind: str, ids: list[int]) -> None:
    """Bring the documents of these posts (``kind`` "post") or actors ("actor") up to date."""
    db = _connection()
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        if kind == "post":
            await _write(db, "search_post", chunk, await _post_docs(db, chunk))
        else:
            await _write(db, "search_actor", chunk, await _actor_docs(db, chunk))


async def drain(limit: int = 5000) -> int:
    """Reindex what the triggers queued (up to ``limit`` changes); returns how many."""
    db = _connection()
    marks = "?" if db.capabilities.dialect == "sqlite" else "$1"
    queued = await db.execute_query_dict(
        f"SELECT id, kind, ref_id FROM search_queue ORDER BY id LIMIT {marks}",  # noqa: S608
        [limit],
    )
    if not queued:
        return 0
    for kind in ("post", "actor"):
        ids = sorted({row["ref_id"] for row in queued if row["kind"] == kind})
        if ids:
            await index(kind, ids)
    done = [row["id"] for row in queued]  # exactly these: a later change stays queued
    await db.execute_query(
        f"DELETE FROM search_queue WHERE id IN ({_marks(db.capabilities.dialect, len(done))})",  # noqa: S608
        done,
    )
    return len(queued)


async def reindex_all() -> tuple[int, int]:
    """Rebuild the whole index (the ``reindex`` command); returns (posts, actors) indexed."""
    db = _connection()
    await db.execute_query("DELETE FROM search_queue")
    counts = []
    for kind, table in (("post", "search_post"), ("actor", "search_actor")):
        await db.execute_query(f"DELETE FROM {table}")  # noqa: S608
        where = "deleted_at IS NULL" if kind == "post" else "1 = 1"
        ids = [
            row["id"]
            for row in await db.execute_query_dict(
                f"SELECT id FROM {kind} WHERE {where} ORDER BY id"  # noqa: S608
            )
        ]
        await index(kind, ids)
        counts.append(len(ids))
    return counts[0], counts[1]
