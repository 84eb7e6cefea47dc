"""Search benchmark: full-text and expertise queries on SQLite and PostgreSQL. Prints figures.

    .venv/bin/python bench/search.py [--people 100000] [--posts 1000000] [--queries 200]
        [--data-dir bench/.data/search] [--database-url postgres://...] [--rebuild]

1. Builds the database with the real migrations, then fills it fast: on SQLite with the
   stdlib ``sqlite3`` module, on PostgreSQL (``--database-url``, an empty database) with
   COPY. People (a fifth remote, at five other bodies; the remote ones ``indexable``), three
   expertise topics each with a score, posts of Dutch sentences with a few words and a rare
   case number each, in public, organisation and followers-only visibility. The search index
   is filled in bulk (the triggers' queue is bypassed), as ``fediverse-intranet reindex`` would.
2. Connects the ORM as the app does and times ``services.search.search`` (people, groups and
   posts a local person may open: what ``/search`` runs) for one common word, two words and a
   rare word, and ``services.expertise.find_experts`` for two topics, printing p50/p95/max.

See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tortoise import Tortoise  # noqa: E402

from bench.timeline import (  # noqa: E402
    FIRST,
    JOBS,
    LAST,
    PASSWORD_HASH,
    SENTENCES,
    TAG_WORDS,
    tag_names,
)
from fediverse_intranet import db, instance  # noqa: E402
from fediverse_intranet.models import Actor  # noqa: E402
from fediverse_intranet.services import expertise, search, search_index  # noqa: E402
from fediverse_intranet.settings import load_settings  # noqa: E402

BASE_URL = "http://intranet.bench"
DOMAINS = ("gov-b.example", "gov-c.example", "gov-d.example", "gov-e.example", "gov-f.example")
MARKER = "search-bench.json"
GENERATOR = 1
VOCABULARY = sorted(
    {w.strip(".,:!?'").lower() for s in SENTENCES for w in s.split() if len(w) > 3}
    | {w.replace("_", " ") for w in TAG_WORDS}
)
ACTOR = [
    "id",
    "username",
    "domain",
    "uri",
    "display_name",
    "bio",
    "job_title",
    "team",
    "location",
    "contact",
    "photo",
    "presence",
    "presence_note",
    "created_at",
    "updated_at",
    "indexable",
]
ACCOUNT = ["id", "email", "password_hash", "role", "is_active", "locale", "created_at", "actor_id"]
POST = ["id", "uri", "kind", "title", "source", "content_html", "visibility", "created_at"]
POST += ["like_count", "reply_count", "author_id"]
SCORE = [
    "id",
    "actor_id",
    "tag_id",
    "score",
    "declared_level",
    "endorsements",
    "posts",
    "appreciations",
    "answers",
    "groups",
    "moderates",
    "updated_at",
]


# ---------------------------------------------------------------------------------------------
# 1. The data, the same on both databases


def people_rows(people: int, rng: random.Random, moment: datetime) -> Iterator[tuple]:
    for i in range(1, people + 1):
        remote = i > people - people // 5
        domain = DOMAINS[i % len(DOMAINS)] if remote else ""
        name = f"p{i:06d}"
        uri = f"https://{domain}/users/{name}" if remote else f"{BASE_URL}/users/{name}"
        display = f"{rng.choice(FIRST)} {rng.choice(LAST).replace('_', ' ')}"
        job, team = rng.choice(JOBS), f"Team {rng.choice(TAG_WORDS).replace('_', ' ')}"
        yield (i, name, domain, uri, display, "", job, team, "", "", "", "", "", moment, moment,
               remote)  # fmt: skip


def post_rows(posts: int, people: int, rng: random.Random, moment: datetime) -> Iterator[tuple]:
    weights = [1.0 / (rank + 2) for rank in range(len(VOCABULARY))]
    for i in range(1, posts + 1):
        words = " ".join(rng.choices(VOCABULARY, weights, k=3))
        text = f"{rng.choice(SENTENCES)} {words} zaak{rng.randrange(200_000)}"
        roll = rng.random()
        visibility = "public" if roll < 0.75 else "organisation" if roll < 0.95 else "followers"
        created = moment - timedelta(seconds=posts - i)
        html = f"<p>{text}</p>"
        yield (i, f"{BASE_URL}/posts/{i}", "note", "", text, html, visibility, created, 0, 0,
               rng.randint(1, people - people // 5))  # fmt: skip


def score_rows(people: int, tags: int, rng: random.Random, moment: datetime) -> Iterator[tuple]:
    row = 0
    for person in range(1, people + 1):
        for tag in rng.sample(range(1, tags + 1), 3):
            row += 1
            score, level = round(rng.expovariate(0.2), 2), rng.randint(0, 3)
            evidence = (rng.randint(0, 5), rng.randint(0, 30), 0, 0, rng.randint(0, 2), 0)
            yield (row, person, tag, score, level, *evidence, moment)


def topics(count: int) -> list[str]:
    """The instance's topic names: the fewer, the more people share each one."""
    return [name for name in tag_names(count * 2) if name.isalnum()][:count]


def build_sqlite(path: Path, people: int, posts: int, topic_count: int, seed: int) -> None:
    asyncio.run(db.migrate(f"sqlite://{path}"))
    rng, moment = random.Random(seed), datetime.now(UTC)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    triggers = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'")]
    for name in triggers:
        con.execute(f"DROP TRIGGER {name}")  # the bulk index below replaces their queue

    def insert(table: str, columns: list[str], rows: Iterator[tuple]) -> None:
        marks = ", ".join("?" * len(columns))
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
        con.execute("BEGIN")
        con.executemany(statement, ([_sqlite(v) for v in row] for row in rows))
        con.execute("COMMIT")

    names = topics(topic_count)
    insert("actor", ACTOR, people_rows(people, rng, moment))
    local = people - people // 5
    accounts = ((i, f"p{i:06d}@gemeente.bench", PASSWORD_HASH, "member", True, "", moment, i)
                for i in range(1, local + 1))  # fmt: skip
    insert("account", ACCOUNT, accounts)
    insert("tag", ["id", "name"], enumerate(names, 1))
    insert("expertise_score", SCORE, score_rows(people, len(names), rng, moment))
    insert("post", POST, post_rows(posts, people, rng, moment))
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO search_actor (rowid, body, stems) VALUES (?, ?, ?)",
        ((a[0], b, search_index.dutch_stems(b)) for a, b in _actor_docs(con)),
    )
    con.executemany(
        "INSERT INTO search_post (rowid, body, stems) VALUES (?, ?, ?)",
        (
            (i, s, search_index.dutch_stems(s))
            for i, s in con.execute("SELECT id, source FROM post")
        ),
    )
    con.execute("COMMIT")
    con.executescript(";".join(search_index.schema("sqlite")))  # the triggers again
    con.execute("INSERT INTO search_post (search_post) VALUES ('optimize')")
    con.execute("ANALYZE")
    con.close()


def _actor_docs(con: sqlite3.Connection) -> Iterator[tuple[tuple, str]]:
    query = "SELECT id, kind, display_name, username, job_title, team, bio FROM actor"
    for row in con.execute(query).fetchall():
        keys = ("id", "kind", "display_name", "username", "job_title", "team", "bio")
        yield row, search_index.actor_body(dict(zip(keys, row, strict=True)), [])


def _sqlite(value: object) -> object:
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value


async def build_postgres(url: str, people: int, posts: int, topic_count: int, seed: int) -> None:
    import asyncpg

    await db.migrate(url)
    rng, moment = random.Random(seed), datetime.now(UTC)
    con = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await con.execute("SET session_replication_role = replica")  # no triggers during COPY
        names = topics(topic_count)
        local = people - people // 5
        copies = [
            ("actor", ACTOR, people_rows(people, rng, moment)),
            ("account", ACCOUNT, ((i, f"p{i:06d}@gemeente.bench", PASSWORD_HASH, "member",
                                   True, "", moment, i) for i in range(1, local + 1))),
            ("tag", ["id", "name"], enumerate(names, 1)),
            ("expertise_score", SCORE, score_rows(people, len(names), rng, moment)),
            ("post", POST, post_rows(posts, people, rng, moment)),
        ]  # fmt: skip
        for table, columns, rows in copies:
            await con.copy_records_to_table(table, records=rows, columns=columns)
        for table in ("actor", "account", "tag", "expertise_score", "post"):
            await con.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608
                f" (SELECT MAX(id) FROM {table}))"
            )
        body = "concat_ws(' ', display_name, username, job_title, team)"
        await con.execute(
            "INSERT INTO search_actor (id, doc) SELECT id,"  # noqa: S608
            f" {search_index.TSVECTOR_SQL.format(body)} FROM actor"
        )
        await con.execute(
            "INSERT INTO search_post (id, doc) SELECT id,"  # noqa: S608
            f" {search_index.TSVECTOR_SQL.format('source')} FROM post"
        )
        await con.execute("DELETE FROM search_queue")
        await con.execute("ANALYZE")
    finally:
        await con.close()


# ---------------------------------------------------------------------------------------------
# 2. The measurements


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timings(count: int, call: Callable[[int], Awaitable[object]]) -> list[float]:
    for i in range(5):
        await call(i)  # warm up
    spent = []
    for i in range(count):
        started = time.perf_counter()
        await call(i)
        spent.append((time.perf_counter() - started) * 1000)
    return sorted(spent)


async def measure(url: str, people: int, topic_count: int, queries: int, seed: int) -> None:
    settings = load_settings({"FI_DATABASE_URL": url, "FI_BASE_URL": BASE_URL})
    instance.configure(settings)
    await db.connect(settings)
    rng = random.Random(seed + 1)
    local = people - people // 5
    viewers = [await Actor.get(id=rng.randint(1, local)) for _ in range(10)]
    common = [w for w in VOCABULARY if w.isalpha()][:40]
    names = topics(topic_count)
    cases: dict[str, Callable[[int], Awaitable[object]]] = {
        "full text, one common word": lambda i: search.search(viewers[i % 10], common[i % 40]),
        "full text, two words": lambda i: search.search(
            viewers[i % 10], f"{rng.choice(common)} {rng.choice(VOCABULARY)}"
        ),
        "full text, a rare word": lambda i: search.search(
            viewers[i % 10], f"zaak{rng.randrange(200_000)}"
        ),
        "expertise, two topics": lambda i: expertise.find_experts(
            rng.sample(names, 2), expertise.Filters(), viewers[i % 10]
        ),
    }
    print(f"{topic_count} topics, about {people * 3 // topic_count:,} people scored on each")
    print(f"{'query':<32}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for label, call in cases.items():
        spent = await timings(queries, call)
        figures = [percentile(spent, 0.5), percentile(spent, 0.95), spent[-1]]
        print(f"{label:<32}{len(spent):>5}" + "".join(f"{f:>9.1f}" for f in figures), flush=True)
    await Tortoise.close_connections()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--topics", type=int, default=400, help="topics on the instance")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=Path("bench/.data/search"))
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    sizes = {"generator": GENERATOR, "people": args.people, "posts": args.posts}
    sizes["topics"] = args.topics
    started = time.perf_counter()
    if args.database_url:
        url = args.database_url
        print(f"loading PostgreSQL: {args.people:,} people, {args.posts:,} posts", flush=True)
        asyncio.run(build_postgres(url, args.people, args.posts, args.topics, args.seed))
    else:
        path = args.data_dir / "db.sqlite3"
        url = f"sqlite://{path}"
        marker = args.data_dir / MARKER
        if args.rebuild or not marker.exists() or json.loads(marker.read_text()) != sizes:
            args.data_dir.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            print(f"loading SQLite: {args.people:,} people, {args.posts:,} posts", flush=True)
            build_sqlite(path, args.people, args.posts, args.topics, args.seed)
            marker.write_text(json.dumps(sizes))
        else:
            print(f"reusing {path}")
    print(f"ready after {time.perf_counter() - started:.1f} s", flush=True)
    asyncio.run(measure(url, args.people, args.topics, args.queries, args.seed))


if __name__ == "__main__":
    main()
