"""Timeline benchmark on a realistically sized SQLite database. Prints figures, judges nothing.

    .venv/bin/python bench/timeline.py [--people 10000] [--posts 1000000] [--data-dir bench/.data]

1. Builds the database under the data folder with the real migrations, then fills it with the
   stdlib ``sqlite3`` module (people, a skewed follow graph, tags, tag follows, mutes, posts
   with tags, mentions and replies). A marker file remembers what was built: a later run with
   the same sizes reuses the database (``--rebuild`` forces a new one).
2. Connects the ORM as the app does and times the home timeline (pages 1, 2 and 5), the
   organisation and tag timelines and ``create_post``, printing p50/p95/p99/max in ms.

See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import multiprocessing
import os
import platform
import random
import resource
import sqlite3
import sys
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fediverse_intranet import db, instance
from fediverse_intranet.composition import compose
from fediverse_intranet.models import Actor
from fediverse_intranet.services import posts, sql, timelines
from fediverse_intranet.settings import load_settings

BASE_URL = "http://intranet.bench"
SECRET_KEY = "bench-only-secret-key-bench-only-secret-key"
DB_NAME = "db.sqlite3"  # the name load_settings() uses in FI_DATA_DIR
MARKER = "timeline-bench.json"
GENERATOR = 2  # bump when the data the loader makes changes, so old databases are rebuilt
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2g$bench-dummy-hash-not-a-real-password"
MEASURES = ("home", "organisation", "tag", "create")
BIG_TABLES = ("post", "post_tag", "mention", "follow", "tag_follow")

FIRST = (  # noqa: SIM905
    "Anna Bram Carla Daan Eva Femke Gijs Hanna Ingrid Jeroen Kees Lotte Mark Noor Olaf "
    "Petra Quinten Roos Sanne Thijs Ursula Vera Willem Yara Zeynep Ahmed Fatima Mohammed "
    "Priya Lars"
).split()
LAST = (  # noqa: SIM905
    "Jansen de_Vries van_den_Berg Bakker Visser Smit Meijer de_Boer Mulder de_Groot Bos "
    "Vos Peters Hendriks van_Leeuwen Dekker Brouwer de_Wit Dijkstra Smits de_Graaf "
    "van_der_Meer"
).split()
JOBS = (
    "Beleidsmedewerker",
    "Adviseur",
    "Teamleider",
    "Projectleider",
    "Jurist",
    "Communicatieadviseur",
    "Informatiemanager",
    "Ontwikkelaar",
    "Secretaresse",
    "Controller",
)
PLACES = ("Stadhuis", "Stadskantoor", "Werf Noord", "Thuis", "Locatie Zuid")
SENTENCES = (
    "Goedemorgen allemaal, de vergadering van vanmiddag is verplaatst naar zaal 3.",
    "Wie heeft er ervaring met de nieuwe zaaksysteem-koppeling?",
    "Mooi resultaat van het team: de aanvragen worden nu binnen vijf dagen afgehandeld.",
    "Let op: parkeren bij het stadskantoor kan deze week niet door werkzaamheden.",
    "Vandaag lunch met de nieuwe collega's, schuif gerust aan in het restaurant.",
    "Ik zoek iemand die mee wil lezen met de notitie over de omgevingswet.",
    "De presentatie van gisteren staat nu op het intranet, inclusief de vragen.",
    "Heeft iemand nog een werkplek over op de derde verdieping?",
    "Dank aan iedereen die heeft meegeholpen bij de open dag, het was druk!",
    "Na de zomer starten we met een pilot rond hybride werken.",
    "Reminder: de deadline voor de begroting is vrijdag om twaalf uur.",
    "Interessant artikel over datagedreven werken bij gemeenten, aanrader.",
    "Wie gaat er mee naar het congres over digitale dienstverlening?",
    "De koffieautomaat op de tweede verdieping is weer gerepareerd.",
    "We zoeken nog vrijwilligers voor de sportdag in september.",
    "Kort verslag van het overleg met de provincie: er komt een vervolgafspraak.",
    "Good morning, the English summary of the council decision is now available.",
    "Vergeet niet je uren te schrijven voor het einde van de maand.",
    "Het nieuwe beleid rond thuiswerken is vastgesteld, zie de bijlage.",
    "Felicitaties aan het team burgerzaken voor de hoge klanttevredenheid!",
)
MUTE_WORDS = ("vergadering", "parkeren", "lunch", "deadline", "congres", "koffieautomaat")
TAG_WORDS = (  # noqa: SIM905
    "omgevingswet digitalisering privacy avg duurzaamheid energie wonen zorg jeugd wmo "
    "participatie handhaving vergunningen begroting inkoop personeel hr ict "
    "informatiebeheer archief communicatie sport cultuur onderwijs mobiliteit parkeren "
    "afval water groen veiligheid openbare_orde burgerzaken dienstverlening data ai "
    "opensource cloud security innovatie projecten lunch borrel"
).split()


# Columns are named: later migrations add columns (with database defaults) to these tables.
ACTOR_COLUMNS = (
    "id username domain uri display_name bio job_title team location contact photo presence"
    " presence_note presence_until created_at updated_at"
)
POST_COLUMNS = (
    "id uri kind title source content_html visibility created_at edited_at deleted_at"
    " like_count reply_count author_id in_reply_to_id thread_root_id"
)


def insert(table: str, columns: str) -> str:
    names = columns.split()
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"


def tag_names(count: int) -> list[str]:
    names = list(TAG_WORDS[:count])
    for extra in itertools.count(2):
        if len(names) >= count:
            break
        names.extend(f"{word}{extra}" for word in TAG_WORDS[: count - len(names)])
    return names


def zipf_cumulative(count: int, exponent: float, offset: float = 1.0) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank + offset) ** exponent for rank in range(count)))


def progress(message: str, started: float) -> None:
    print(f"  [{time.perf_counter() - started:7.1f} s] {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# 1. Build the database


def build(db_path: Path, people: int, post_count: int, seed: int) -> None:
    """Run the migrations, then fill every table with ``sqlite3``. Runs in a child process."""
    started = time.perf_counter()
    asyncio.run(db.migrate(f"sqlite://{db_path}"))
    progress("migrations applied", started)

    rng = random.Random(seed)
    con = sqlite3.connect(db_path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-262144")  # 256 MB for the load only
    con.execute("PRAGMA temp_store=MEMORY")
    # Secondary indexes are dropped during the load and created again from the migration's
    # own SQL afterwards: one sorted build is much faster than a million random inserts.
    marks = ",".join("?" * len(BIG_TABLES))
    indexes = con.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        f" AND tbl_name IN ({marks})",
        BIG_TABLES,
    ).fetchall()
    for name, _ in indexes:
        con.execute(f'DROP INDEX "{name}"')

    now = datetime.now(UTC).replace(microsecond=0)
    year_ago = now - timedelta(days=365)

    def stamp(moment: datetime) -> str:
        return moment.isoformat(sep=" ", timespec="microseconds")

    old_stamps = [stamp(year_ago - timedelta(days=rng.uniform(0, 700))) for _ in range(2000)]

    # People: actor + account, grouped in teams of 6 to 40.
    team_of: list[int] = [0] * (people + 1)
    teams: list[list[int]] = []
    person = 1
    while person <= people:
        size = rng.randint(6, 40)
        members = list(range(person, min(people + 1, person + size)))
        for member in members:
            team_of[member] = len(teams)
        teams.append(members)
        person += size
    usernames = [""] + [f"p{i:06d}" for i in range(1, people + 1)]
    actors, accounts = [], []
    for i in range(1, people + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST).replace("_", " ")
        created = rng.choice(old_stamps)
        actors.append(
            (
                i,
                usernames[i],
                "",
                f"{BASE_URL}/users/{usernames[i]}",
                f"{first} {last}",
                "",
                rng.choice(JOBS),
                f"Team {team_of[i] + 1}",
                rng.choice(PLACES),
                "",
                "",
                "",
                "",
                None,
                created,
                created,
            )
        )
        role = "admin" if i == 1 else "communications" if i <= 5 else "member"
        email = f"{usernames[i]}@gemeente.bench"
        accounts.append((i, email, PASSWORD_HASH, role, 1, "", created, None, i))
    con.execute("BEGIN")
    con.executemany(insert("actor", ACTOR_COLUMNS), actors)
    con.executemany(
        "INSERT INTO account (id, email, password_hash, role, is_active, locale, created_at,"
        " last_login_at, actor_id) VALUES (?,?,?,?,?,?,?,?,?)",
        accounts,
    )
    con.execute("COMMIT")
    del actors, accounts
    progress(f"{people:,} people in {len(teams):,} teams", started)

    # Follow graph: 30 % teammates, the rest by a Zipf popularity, so that a few people
    # (directors, communications) have thousands of followers. 99 % follow 20-200 people
    # (log-normal, median about 55); 1 % follow 300-1,000 ("heavy" readers).
    person_ids = list(range(1, people + 1))
    by_popularity = person_ids[:]
    rng.shuffle(by_popularity)
    popularity_cw = zipf_cumulative(people, 1.05, offset=3.0)
    popular_people = [by_popularity[rank] for rank in range(people)]
    cap = max(1, min(1000, (people - 1) // 2))
    following: list[list[int]] = [[] for _ in range(people + 1)]
    follow_rows = []
    row_id = 0
    for i in person_ids:
        if rng.random() < 0.01:
            want = rng.randint(300, 1000)
        else:
            want = int(min(200, max(20, rng.lognormvariate(math.log(55), 0.55))))
        want = min(want, cap)
        chosen: set[int] = set()
        mates = [m for m in teams[team_of[i]] if m != i]
        chosen.update(rng.sample(mates, min(len(mates), int(want * 0.3))))
        while len(chosen) < want:
            for pick in rng.choices(popular_people, cum_weights=popularity_cw, k=want):
                if pick != i:
                    chosen.add(pick)
                    if len(chosen) == want:
                        break
        following[i] = sorted(chosen)
        for followee in following[i]:
            row_id += 1
            accepted = 0 if rng.random() < 0.005 else 1
            follow_rows.append((row_id, accepted, rng.choice(old_stamps), followee, i))
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO follow (id, accepted, created_at, followee_id, follower_id)"
        " VALUES (?,?,?,?,?)",
        follow_rows,
    )
    con.execute("COMMIT")
    del follow_rows
    progress(f"{row_id:,} follows", started)

    # Tags (Zipf popularity) and tag follows: half of the people follow none, the rest 1-5.
    tags = tag_names(200)
    tag_cw = zipf_cumulative(len(tags), 1.0)
    tag_ids = list(range(1, len(tags) + 1))
    tag_follow_rows = []
    for i in person_ids:
        if rng.random() < 0.5:
            continue
        wanted = set(rng.choices(tag_ids, cum_weights=tag_cw, k=rng.randint(1, 5)))
        for tag_id in sorted(wanted):
            tag_follow_rows.append((len(tag_follow_rows) + 1, rng.choice(old_stamps), i, tag_id))
    con.execute("BEGIN")
    tag_rows = list(zip(tag_ids, tags, strict=True))
    con.executemany("INSERT INTO tag (id, name) VALUES (?, ?)", tag_rows)
    con.executemany(
        "INSERT INTO tag_follow (id, created_at, actor_id, tag_id) VALUES (?,?,?,?)",
        tag_follow_rows,
    )
    # Mutes: 5 % of people mute 1-3 things (a person they follow, a tag or a word).
    mute_rows = []
    for i in person_ids:
        if rng.random() >= 0.05:
            continue
        seen: set[tuple[str, str]] = set()
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(("actor", "tag", "word"))
            target = None
            if kind == "actor" and following[i]:
                target = rng.choice(following[i])
                value = str(target)
            elif kind == "tag":
                value = tags[bisect_left(tag_cw, rng.random() * tag_cw[-1])]
            else:
                kind, value = "word", rng.choice(MUTE_WORDS)
            if (kind, value) not in seen:
                seen.add((kind, value))
                mute_rows.append(
                    (len(mute_rows) + 1, kind, value, rng.choice(old_stamps), i, target)
                )
    con.executemany(
        "INSERT INTO mute (id, kind, value, created_at, owner_id, target_id) VALUES (?,?,?,?,?,?)",
        mute_rows,
    )
    con.execute("COMMIT")
    progress(
        f"{len(tags)} tags, {len(tag_follow_rows):,} tag follows, {len(mute_rows):,} mutes", started
    )

    # Posts: authors by a log-normal activity (8 % never post, a few write thousands),
    # times sorted over the last year so that ids increase with time.
    activity = [0.0 if rng.random() < 0.08 else rng.lognormvariate(0, 1.3) for _ in person_ids]
    for rank in range(min(50, people)):
        activity[by_popularity[rank] - 1] *= 3  # popular people also post more
    author_cw = list(itertools.accumulate(activity))
    moments = sorted(rng.random() for _ in range(post_count))
    visibilities = ("public", "organisation", "followers", "direct")
    visibility_cw = (0.45, 0.87, 0.97, 1.0)  # 45 % public, 42 % organisation, 10 %, 3 %
    author = [0] * (post_count + 1)
    visibility = [""] * (post_count + 1)
    root = [0] * (post_count + 1)
    reply_count = [0] * (post_count + 1)
    parents = [0] * (post_count + 1)
    for pid in range(1, post_count + 1):
        author[pid] = person_ids[bisect_left(author_cw, rng.random() * author_cw[-1])]
        vis = visibilities[bisect_left(visibility_cw, rng.random())]
        if pid > 1 and rng.random() < 0.10:  # a reply to a recent post
            parent = pid - rng.randint(1, min(pid - 1, 3000))
            parents[pid] = parent
            root[pid] = root[parent] or parent
            reply_count[parent] += 1
            if visibility[parent] in ("followers", "direct"):
                vis = visibility[parent]
        visibility[pid] = vis
    progress("post metadata generated", started)

    span = (now - year_ago).total_seconds()
    post_rows, tag_rows, mention_rows = [], [], []
    stats = {"posts": 0, "post_tag": 0, "mention": 0, "replies": 0, "deleted": 0}
    chunk = 100_000

    def flush() -> None:
        con.execute("BEGIN")
        con.executemany(insert("post", POST_COLUMNS), post_rows)
        con.executemany("INSERT INTO post_tag (id, post_id, tag_id) VALUES (?,?,?)", tag_rows)
        con.executemany("INSERT INTO mention (id, actor_id, post_id) VALUES (?,?,?)", mention_rows)
        con.execute("COMMIT")
        stats["posts"] += len(post_rows)
        post_rows.clear(), tag_rows.clear(), mention_rows.clear()

    for pid in range(1, post_count + 1):
        me, vis, parent = author[pid], visibility[pid], parents[pid]
        created = year_ago + timedelta(seconds=moments[pid - 1] * span)
        created_at = stamp(created)
        if rng.random() < 0.003:  # deleted as delete_post() leaves it
            stats["deleted"] += 1
            post_rows.append(
                (pid, f"{BASE_URL}/posts/{pid}", "note", "", "", "", vis, created_at, None,
                 stamp(created + timedelta(hours=1)), 0, reply_count[pid], me,
                 parent or None, root[pid] or None)
            )  # fmt: skip
            continue
        mentioned: list[int] = []
        if parent:
            stats["replies"] += 1
            if author[parent] != me:
                mentioned.append(author[parent])
        if vis == "direct" or rng.random() < 0.02:  # with direct posts: ~5 % mention someone
            pool = following[me] or person_ids
            for _ in range(2 if vis == "direct" and rng.random() < 0.3 else 1):
                other = rng.choice(pool)
                if other != me and other not in mentioned:
                    mentioned.append(other)
        post_tags: list[int] = []
        if rng.random() < 0.15:
            post_tags.append(tag_ids[bisect_left(tag_cw, rng.random() * tag_cw[-1])])
            if rng.random() < 0.1:
                extra = tag_ids[bisect_left(tag_cw, rng.random() * tag_cw[-1])]
                if extra not in post_tags:
                    post_tags.append(extra)
        text = " ".join(rng.sample(SENTENCES, rng.randint(1, 3)))
        kind, title = "note", ""
        if rng.random() < 0.02:
            kind, title = "article", text.split(",")[0][:80]
            text = "\n\n".join(rng.sample(SENTENCES, 8))
        words_src, words_html = [], []
        for tag_id in post_tags:
            name = tags[tag_id - 1]
            words_src.append(f"#{name}")
            words_html.append(
                f'<a href="{BASE_URL}/tags/{name}" class="hashtag"'
                f' rel="nofollow noopener noreferrer">#{name}</a>'
            )
        for other in mentioned:
            if parent and other == author[parent]:
                continue  # a reply mentions the parent's author without writing the handle
            words_src.append(f"@{usernames[other]}")
            words_html.append(
                f'<a href="{BASE_URL}/@{usernames[other]}" class="mention"'
                f' rel="nofollow noopener noreferrer">@{usernames[other]}</a>'
            )
        source = " ".join([text, *words_src])
        paragraphs = text.split("\n\n")
        paragraphs[-1] = " ".join([paragraphs[-1], *words_html])
        html = "".join(f"<p>{p}</p>\n" for p in paragraphs)
        post_rows.append(
            (pid, f"{BASE_URL}/posts/{pid}", kind, title, source, html, vis, created_at, None,
             None, 0, reply_count[pid], me, parent or None, root[pid] or None)
        )  # fmt: skip
        for tag_id in post_tags:
            stats["post_tag"] += 1
            tag_rows.append((stats["post_tag"], pid, tag_id))
        for other in mentioned:
            stats["mention"] += 1
            mention_rows.append((stats["mention"], other, pid))
        if len(post_rows) >= chunk:
            flush()
            progress(f"posts {stats['posts']:,}/{post_count:,}", started)
    if post_rows:
        flush()
    progress(
        f"{post_count:,} posts: {stats['replies']:,} replies, {stats['post_tag']:,} post tags,"
        f" {stats['mention']:,} mentions, {stats['deleted']:,} deleted",
        started,
    )
    for name, statement in indexes:
        con.execute(statement)
        progress(f"index {name} rebuilt", started)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    progress("load done", started)


def ensure_database(data_dir: Path, people: int, post_count: int, seed: int, rebuild: bool) -> dict:
    """Reuse the database when the marker says it has these sizes, else build it anew."""
    db_path = data_dir / DB_NAME
    marker = data_dir / MARKER
    wanted = {"generator": GENERATOR, "people": people, "posts": post_count, "seed": seed}
    if not rebuild and db_path.exists() and marker.exists():
        built = json.loads(marker.read_text())
        if {k: built.get(k) for k in wanted} == wanted:
            print(f"reusing {db_path} (built {built['built_at']}, load took {built['load_s']} s)")
            return built
    data_dir.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    print(f"building {db_path}: {people:,} people, {post_count:,} posts", flush=True)
    started = time.perf_counter()
    # A child process, so that the measured process's peak RSS is the app's, not the loader's.
    loader = multiprocessing.get_context("fork").Process(
        target=build, args=(db_path, people, post_count, seed)
    )
    loader.start()
    loader.join()
    if loader.exitcode != 0:
        sys.exit(f"the load failed (exit code {loader.exitcode})")
    load_s = round(time.perf_counter() - started, 1)
    built = {
        **wanted,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_s": load_s,
        "loader_peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
        ),
        "max_post_id": post_count,
    }
    marker.write_text(json.dumps(built, indent=2) + "\n")
    print(f"load took {load_s} s (loader peak RSS {built['loader_peak_rss_mb']} MB)")
    return built


def prepare(db_path: Path, max_post_id: int, analyze: bool) -> None:
    """Apply new migrations, remove posts an interrupted run created, set planner statistics."""
    asyncio.run(db.migrate(f"sqlite://{db_path}"))
    con = sqlite3.connect(db_path, isolation_level=None)
    remove_bench_posts(con, max_post_id)
    has_stats = con.execute(
        "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
    ).fetchone()[0]
    if analyze:
        started = time.perf_counter()
        con.execute("ANALYZE")
        print(f"ANALYZE took {time.perf_counter() - started:.1f} s")
    elif has_stats:
        con.execute("DROP TABLE sqlite_stat1")  # as the app leaves it: no statistics
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    # Read the file once so every run starts with it in the OS page cache, as a busy server.
    with open(db_path, "rb") as handle:
        while handle.read(1 << 24):
            pass


def file_size(db_path: Path) -> int:
    files = [Path(f"{db_path}{suffix}") for suffix in ("", "-wal")]
    return sum(file.stat().st_size for file in files if file.exists())


def remove_bench_posts(con: sqlite3.Connection, max_post_id: int) -> int:
    tables = [
        name
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if any(column[1] == "post_id" for column in con.execute(f'PRAGMA table_info("{name}")'))
    ]
    con.execute("BEGIN")
    for table in tables:
        con.execute(f'DELETE FROM "{table}" WHERE post_id > ?', (max_post_id,))
    removed = con.execute("DELETE FROM post WHERE id > ?", (max_post_id,)).rowcount
    con.execute("COMMIT")
    return removed


# ---------------------------------------------------------------------------------------------
# 2. Measure


class Timings:
    def __init__(self) -> None:
        self.rows: list[tuple[str, list[float]]] = []

    def add(self, label: str, samples: list[float]) -> None:
        self.rows.append((label, samples))

    def print(self) -> None:
        print(f"\n{'what (ms)':<42}{'n':>5}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}")
        for label, samples in self.rows:
            if not samples:
                continue  # not measured (--only)
            ordered = sorted(samples)
            figures = [percentile(ordered, q) for q in (0.50, 0.95, 0.99)] + [ordered[-1]]
            print(f"{label:<42}{len(ordered):>5}" + "".join(f"{f:>9.1f}" for f in figures))


def load_average() -> str:
    """Other work on the machine slows every figure: say how busy it was."""
    return " ".join(f"{figure:.2f}" for figure in os.getloadavg())


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted samples."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def timed(call: Callable[[], Awaitable[object]]) -> tuple[float, object]:
    started = time.perf_counter()
    result = await call()
    return (time.perf_counter() - started) * 1000, result


def choose_viewers(db_path: Path, per_bucket: int, rng: random.Random) -> dict[str, list[int]]:
    """People at the light (bottom 10 %), median (45-55 %) and heavy (top 5 %) follow counts."""
    con = sqlite3.connect(db_path)
    counts = con.execute(
        "SELECT a.id, (SELECT count(*) FROM follow f WHERE f.follower_id = a.id AND f.accepted)"
        " AS n FROM actor a ORDER BY n, a.id"
    ).fetchall()
    con.close()
    total = len(counts)
    ranges = {"light": (0.0, 0.10), "median": (0.45, 0.55), "heavy": (0.95, 1.0)}
    buckets = {}
    for name, (low, high) in ranges.items():
        pool = counts[int(low * total) : max(int(low * total) + 1, int(high * total))]
        picked = rng.sample(pool, min(per_bucket, len(pool)))
        buckets[name] = [person for person, _ in picked]
        follows = sorted(n for _, n in picked)
        print(f"  {name:<7} viewers: {len(picked)}, following {follows[0]}-{follows[-1]}")
    return buckets


async def measure(data_dir: Path, built: dict, args: argparse.Namespace) -> None:
    db_path = data_dir / DB_NAME
    rng = random.Random(args.seed + 1)
    print("choosing viewers")
    buckets = choose_viewers(db_path, args.viewers // 3, rng)
    settings = load_settings(
        {"FI_DATA_DIR": str(data_dir), "FI_BASE_URL": BASE_URL, "FI_SECRET_KEY": SECRET_KEY}
    )
    instance.configure(settings)
    compose()  # create_post queues deliveries through the domain's as2 port
    await db.connect(settings)
    try:
        sample_ids = [person for ids in buckets.values() for person in ids]
        actors = {a.id: a for a in await Actor.filter(id__in=sample_ids)}
        sampled = {name: [actors[i] for i in ids] for name, ids in buckets.items()}
        viewers = [actors[i] for i in sample_ids]
        others = await Actor.filter(id__not_in=sample_ids).order_by("id").limit(args.warmup)
        tag_rows = await sql.rows(
            "SELECT t.name AS name, count(*) AS n FROM tag t JOIN post_tag pt ON pt.tag_id = t.id"
            " GROUP BY t.name ORDER BY n DESC, t.name"
        )
        tags = [r["name"] for r in tag_rows]
        # popular (top 10), middling (ranks 50-100) and rare (last 50) tags, in turn
        tag_pools = [tags[:10], tags[50:100] or tags, tags[-50:]]

        print(f"warming up ({len(others)} viewers, not measured)")
        for i, person in enumerate(others):
            if "home" in args.only:
                page = await timelines.home(person)
                await timelines.home(person, page.next_before)
            if "organisation" in args.only:
                await timelines.organisation(person)
            if "tag" in args.only:
                await timelines.tagged(person, rng.choice(tag_pools[i % 3]))

        print(f"measuring {len(viewers)} viewers (load average {load_average()})")
        home = {1: [], 2: [], 5: []}
        by_bucket: dict[str, list[float]] = {name: [] for name in sampled}
        home_sql_1, home_sql_5, organisation, organisation_5, tagged = [], [], [], [], []
        shown = []
        for name, people in sampled.items() if "home" in args.only else ():
            for person in people:
                cursor = None
                for number in range(1, 6):
                    ms, page = await timed(lambda p=person, c=cursor: timelines.home(p, c))
                    if number == 1:
                        shown.append(len(page.items))
                        by_bucket[name].append(ms)
                    if number == 1 or number == 2 or (number == 5 and cursor):
                        home[number].append(ms)
                    if number == 5 and cursor:
                        ms, _ = await timed(
                            lambda p=person, c=cursor: sql.ids(
                                timelines.HOME_SQL,
                                viewer=p.id,
                                before=c.posts,
                                n=timelines.PAGE_SIZE + 1,
                            )
                        )
                        home_sql_5.append(ms)
                    cursor = page.next_before
                    if cursor is None:
                        break
                ms, _ = await timed(
                    lambda p=person: sql.ids(
                        timelines.HOME_SQL,
                        viewer=p.id,
                        before=timelines.NEWEST,
                        n=timelines.PAGE_SIZE + 1,
                    )
                )
                home_sql_1.append(ms)
        for i, person in enumerate(viewers):
            if "organisation" in args.only:
                ms, page = await timed(lambda p=person: timelines.organisation(p))
                organisation.append(ms)
                cursor = page.next_before
                for _ in range(3):
                    page = await timelines.organisation(person, cursor)
                    cursor = page.next_before
                ms, _ = await timed(lambda p=person, c=cursor: timelines.organisation(p, c))
                organisation_5.append(ms)
            if "tag" in args.only:
                tag = rng.choice(tag_pools[i % 3])
                ms, _ = await timed(lambda p=person, t=tag: timelines.tagged(p, t))
                tagged.append(ms)

        created = []
        creates = args.creates if "create" in args.only else 0
        print(f"creating {creates} posts")
        for i in range(creates + 5 if creates else 0):
            author = viewers[i % len(viewers)]
            mentioned = viewers[(i * 7 + 3) % len(viewers)]
            draft = posts.Draft(
                f"Benchmark note {i}: wie weet hier meer van? #{rng.choice(tags[:50])}"
                f" @{mentioned.username}"
            )
            ms, _ = await timed(lambda a=author, d=draft: posts.create_post(a, d))
            if i >= 5:  # the first five warm up
                created.append(ms)
    finally:
        await db.disconnect()

    print(f"measured (load average {load_average()})")
    timings = Timings()
    timings.add("home, page 1", home[1])
    for name, samples in by_bucket.items():
        timings.add(f"  home page 1, {name} followers", samples)
    timings.add("home, page 2 (before= cursor of page 1)", home[2])
    timings.add("home, page 5", home[5])
    timings.add("HOME_SQL alone, page 1", home_sql_1)
    timings.add("HOME_SQL alone, page 5", home_sql_5)
    timings.add("organisation, page 1", organisation)
    timings.add("organisation, page 5", organisation_5)
    timings.add("tag, page 1 (popular/middling/rare tags)", tagged)
    timings.add("create_post (#tag @mention)", created)
    timings.print()

    con = sqlite3.connect(db_path, isolation_level=None)
    removed = remove_bench_posts(con, built["max_post_id"])
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    size = file_size(db_path)
    short = sum(1 for n in shown if n < timelines.PAGE_SIZE)
    if shown:
        print(f"\nhome page 1 items: {min(shown)}-{max(shown)} ({short} of {len(shown)} short)")
        print(f"home page 1 p95: {percentile(sorted(home[1]), 0.95):.1f} ms (goal: under 50 ms)")
    print(f"SQLite file: {size / 2**20:,.0f} MB ({db_path})")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process (ORM + measurements): {peak:,.0f} MB")
    print(f"removed the {removed} posts the benchmark created")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).parent / ".data")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--viewers", type=int, default=201, help="sampled viewers (3 buckets)")
    parser.add_argument("--warmup", type=int, default=30, help="viewers used only to warm up")
    parser.add_argument("--creates", type=int, default=200)
    parser.add_argument("--rebuild", action="store_true", help="build even if a match exists")
    parser.add_argument(
        "--only",
        type=lambda text: set(text.split(",")),
        default=set(MEASURES),
        help=f"comma-separated subset of {','.join(MEASURES)}",
    )
    parser.add_argument(
        "--analyze", action="store_true", help="run ANALYZE first (the app never does)"
    )
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    print(
        f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version},"
        f" {os.cpu_count()} cores, {platform.machine()}"
    )
    built = ensure_database(data_dir, args.people, args.posts, args.seed, args.rebuild)
    prepare(data_dir / DB_NAME, built["max_post_id"], args.analyze)
    print(f"planner statistics: {'ANALYZE' if args.analyze else 'none (as the app runs)'}")
    asyncio.run(measure(data_dir, built, args))


if __name__ == "__main__":
    main()
