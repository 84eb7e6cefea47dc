"""Full-text search over people, groups and posts, on SQLite FTS5 or PostgreSQL alike.

The viewer finds only what they could open: posts pass ``visibility.visible_sql`` (the rule of
``can_view``), a secret group is found only by its members and the people invited to it, and
a deactivated person is not listed. The query never reaches FTS5 MATCH or a tsquery as text
of its own: it is cut into words here, each word quoted or bound, so operators, quotes and
parentheses are only punctuation. See ``search_index`` for the index and its upkeep.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tortoise import connections
from tortoise.transactions import in_transaction

from fediverse_intranet.models import Actor, Group, Post
from fediverse_intranet.services import search_index, sql, visibility
from fediverse_intranet.services.visibility import visible_sql

LIMIT = 20

PEOPLE_WHERE = (
    "a.kind = 'person' AND (a.domain <> '' OR EXISTS (SELECT 1 FROM account ac"
    " WHERE ac.actor_id = a.id AND ac.is_active))"
)
GROUPS_WHERE = (
    "(c.access <> 'secret' OR EXISTS (SELECT 1 FROM membership sm WHERE sm.group_id = c.id"
    " AND sm.actor_id = :viewer AND sm.state IN ('member', 'invited')))"
)


@dataclass
class Results:
    """What a search found, per section; ``message`` says why there is nothing to look for."""

    query: str
    terms: list[str]
    people: list[Actor] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    message: str = ""

    @property
    def empty(self) -> bool:
        return not (self.people or self.groups or self.posts)


def _tsquery(terms: list[str]) -> tuple[str, dict[str, Any]]:
    """A tsquery of bound words: each in Dutch or in English, all of them."""
    names = [f"term_{chr(ord('a') + n)}" for n in range(len(terms))]  # sql.py: letters only
    query = " && ".join(
        f"(plainto_tsquery('dutch', :{name}) || plainto_tsquery('english', :{name}))"
        for name in names
    )
    return f"({query})", dict(zip(names, terms, strict=True))


def _match(dialect: str, table: str, terms: list[str]) -> tuple[str, str, dict[str, Any]]:
    """The WHERE, ORDER BY rank and parameters that restrict ``table`` (as ``s``) to the words."""
    if dialect == "sqlite":
        return f"{table} MATCH :match", "s.rank", {"match": search_index.fts5_query(terms)}
    query, params = _tsquery(terms)
    return f"s.doc @@ {query}", f"ts_rank(s.doc, {query}) DESC", params


def _key(dialect: str) -> str:
    return "s.rowid" if dialect == "sqlite" else "s.id"


def _dialect() -> str:
    return connections.get("default").capabilities.dialect


async def find_people(viewer: Actor, terms: list[str], limit: int = LIMIT) -> list[Actor]:
    dialect = _dialect()
    where, rank, params = _match(dialect, "search_actor", terms)
    key = _key(dialect)
    found = await sql.ids(
        f"SELECT a.id FROM search_actor s JOIN actor a ON a.id = {key}"  # noqa: S608
        f" WHERE {where} AND {PEOPLE_WHERE} ORDER BY {rank}, a.id LIMIT :limit",
        **params,
        limit=limit,
    )
    return _in_order(found, await Actor.filter(id__in=found))


async def find_groups(viewer: Actor, terms: list[str], limit: int = LIMIT) -> list[Group]:
    dialect = _dialect()
    where, rank, params = _match(dialect, "search_actor", terms)
    key = _key(dialect)
    found = await sql.ids(
        f"SELECT c.id FROM search_actor s JOIN community c ON c.actor_id = {key}"  # noqa: S608
        f" WHERE {where} AND {GROUPS_WHERE} ORDER BY {rank}, c.id LIMIT :limit",
        **params,
        viewer=viewer.id,
        limit=limit,
    )
    return _in_order(found, await Group.filter(id__in=found).select_related("actor"))


async def find_posts(viewer: Actor, terms: list[str], limit: int = LIMIT) -> list[Post]:
    """Newest first: the index is walked backwards by post id until enough are visible.

    On PostgreSQL that walk is slow for rare words (the planner cannot know a word it has no
    statistics for), so the matches are first read from the GIN index alone, up to ``RARE``:
    when there are fewer, only those posts are checked.
    """
    dialect = _dialect()
    where, _, params = _match(dialect, "search_post", terms)
    key = _key(dialect)
    candidates = "" if dialect == "sqlite" else await _rare_matches(where, params)
    if candidates:
        where = f"s.id IN ({candidates})"
        params = {}
    found = await sql.ids(
        f"SELECT p.id FROM search_post s JOIN post p ON p.id = {key}"  # noqa: S608
        f" WHERE {where} AND {visible_sql('p')} ORDER BY {key} DESC LIMIT :limit",
        **params,
        viewer=viewer.id,
        limit=limit,
    )
    posts = await Post.filter(id__in=found).select_related("author", "group__actor")
    return _in_order(found, await visibility.visible_posts(posts, viewer))


RARE = 2000


async def _rare_matches(where: str, params: dict[str, Any]) -> str:
    """The ids matching ``where`` as a list of integers when they are few; else "".

    Asked only when the planner itself expects under 1 % of the posts to match (a word it has
    no statistics for, or words that seldom meet): then they are read by a bitmap scan of the
    GIN index (sequential and ordered scans switched off for this one statement). A common
    word is left to the backward walk, which meets enough matches at once.
    """
    explain = f"EXPLAIN (FORMAT JSON) SELECT 1 FROM search_post s WHERE {where}"  # noqa: S608
    probe = f"SELECT s.id FROM search_post s WHERE {where} LIMIT :cap"  # noqa: S608
    async with in_transaction() as connection:  # ``sql.rows`` runs on it, with its settings
        await connection.execute_script("SET LOCAL plan_cache_mode = force_custom_plan")
        plan = (await sql.rows(explain, **params))[0]["QUERY PLAN"]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        size = await sql.rows("SELECT reltuples AS n FROM pg_class WHERE relname = 'search_post'")
        if plan[0]["Plan"]["Plan Rows"] * 100 > max(size[0]["n"], RARE * 100):
            return ""
        await connection.execute_script(
            "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off"
        )
        rows = await sql.rows(probe, **params, cap=RARE)
    if len(rows) >= RARE:
        return ""
    return ", ".join(str(int(row["id"])) for row in rows) or "0"


T = TypeVar("T", Actor, Group, Post)


def _in_order(ids: list[int], objects: list[T]) -> list[T]:
    by_id = {obj.id: obj for obj in objects}
    return [by_id[i] for i in ids if i in by_id]


async def search(viewer: Actor, query: str, limit: int = LIMIT) -> Results:
    """People, groups and posts matching every word of ``query`` that ``viewer`` may open."""
    terms = search_index.terms(query)
    results = Results(query=query, terms=terms)
    if not query.strip():
        results.message = "Type one or more words to search for."
        return results
    if not terms:
        results.message = "Search for words: punctuation and signs alone find nothing."
        return results
    await search_index.drain()
    results.people = await find_people(viewer, terms, limit)
    results.groups = await find_groups(viewer, terms, limit)
    results.posts = await find_posts(viewer, terms, limit)
    return results
