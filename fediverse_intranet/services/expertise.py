"""Who knows what: a score per person per topic from the evidence, and the expertise finder.

The score (documented in docs/architecture.md, "Expertise scores") is

    score = declared + 2·endorsements + 3·answers + Σ fade(post) + 0.25·Σ likes·fade(post)
            + 1·groups + 2·moderates

where ``declared`` is 1 + 0.5·level for a declared topic (0 when not declared) and
``fade(post) = 0.5 ** (age_days / 180)``: a post counts half after half a year. Only posts
everybody here may open (public and organisation, not deleted) count, so the explanation
never reveals a members-only or followers-only post. Secret groups do not count either.
A synonym an admin merged counts as its canonical topic.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from fediverse_intranet.models import (
    Actor,
    ActorTopic,
    ExpertiseScore,
    GroupAccess,
    MemberRole,
    Membership,
    MemberState,
    Post,
    Tag,
    TopicLink,
    TopicLinkKind,
)
from fediverse_intranet.services import sql
from fediverse_intranet.services.clock import now

HALF_LIFE_DAYS = 180.0
WEIGHTS = {
    "endorsement": 2.0,
    "answer": 3.0,
    "post": 1.0,
    "appreciation": 0.25,
    "group": 1.0,
    "moderates": 2.0,
}
RELATED_WEIGHT = 0.5  # a related topic's score counts half
MAX_KEYWORDS = 5
STALE_AFTER = timedelta(days=1)


def fade(created_at: datetime, moment: datetime) -> float:
    """How much a post of that age still counts: 1 today, 0.5 after HALF_LIFE_DAYS."""
    age_days = max((moment - created_at).total_seconds(), 0.0) / 86400
    return 0.5 ** (age_days / HALF_LIFE_DAYS)


def declared_points(level: int) -> float:
    return 1.0 + 0.5 * max(0, min(level, 3))


@dataclass
class Evidence:
    """What one person has on one topic, before it becomes a score."""

    declared_level: int = -1  # -1 not declared, 0 declared without a level, 1-3 the level
    endorsements: int = 0
    posts: int = 0
    faded_posts: float = 0.0
    appreciations: int = 0
    faded_appreciations: float = 0.0
    answers: int = 0  # accepted answers: questions do not exist yet, so always 0
    groups: int = 0
    moderates: int = 0

    @property
    def score(self) -> float:
        declared = declared_points(self.declared_level) if self.declared_level >= 0 else 0.0
        return (
            declared
            + WEIGHTS["endorsement"] * self.endorsements
            + WEIGHTS["answer"] * self.answers
            + WEIGHTS["post"] * self.faded_posts
            + WEIGHTS["appreciation"] * self.faded_appreciations
            + WEIGHTS["group"] * self.groups
            + WEIGHTS["moderates"] * self.moderates
        )


async def synonyms() -> dict[int, int]:
    """tag id -> canonical tag id, for the synonyms admins merged."""
    rows = await TopicLink.filter(kind=TopicLinkKind.SYNONYM).values_list("tag_id", "canonical_id")
    return dict(rows)


def _scorable(actor: Actor) -> bool:
    """Local people always; remote people only with their consent (``indexable``)."""
    return actor.kind == "person" and (actor.is_local or actor.indexable)


async def evidence_of(actor: Actor, moment: datetime | None = None) -> dict[int, Evidence]:
    """The evidence per (canonical) tag id for one person."""
    moment = moment or now()
    canon = await synonyms()
    found: dict[int, Evidence] = defaultdict(Evidence)

    def of(tag_id: int) -> Evidence:
        return found[canon.get(tag_id, tag_id)]

    for tag_id, level in await ActorTopic.filter(actor_id=actor.id).values_list("tag_id", "level"):
        item = of(tag_id)
        item.declared_level = max(item.declared_level, level)
    for row in await sql.rows(
        "SELECT pt.tag_id AS tag_id, p.created_at AS created_at, p.like_count AS likes"
        " FROM post p JOIN post_tag pt ON pt.post_id = p.id"
        " WHERE p.author_id = :actor AND p.deleted_at IS NULL"
        " AND p.visibility IN ('public', 'organisation')",
        actor=actor.id,
    ):
        item = of(row["tag_id"])
        weight = fade(_aware(row["created_at"]), moment)
        item.posts += 1
        item.faded_posts += weight
        item.appreciations += row["likes"] or 0
        item.faded_appreciations += (row["likes"] or 0) * weight
    for tag_id, count in await endorsement_counts(actor):
        of(tag_id).endorsements += count
    for row in await sql.rows(
        "SELECT t.tag_id AS tag_id, m.role AS role FROM membership m"
        " JOIN community g ON g.id = m.group_id"
        " JOIN actor_topic t ON t.actor_id = g.actor_id"
        " WHERE m.actor_id = :actor AND m.state = 'member' AND g.access <> 'secret'",
        actor=actor.id,
    ):
        item = of(row["tag_id"])
        if row["role"] in ("owner", "moderator"):
            item.moderates += 1
        else:
            item.groups += 1
    return dict(found)


async def endorsement_counts(actor: Actor) -> list[tuple[int, int]]:
    rows = await sql.rows(
        "SELECT tag_id, COUNT(*) AS n FROM endorsement WHERE person_id = :actor GROUP BY tag_id",
        actor=actor.id,
    )
    return [(row["tag_id"], row["n"]) for row in rows]


def _aware(value: Any) -> datetime:
    """SQLite hands back text or naive datetimes; PostgreSQL aware ones."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def rescore(actor: Actor) -> int:
    """Recompute one person's scores from their evidence; returns how many topics they have.

    Call it after their profile or endorsements change; the worker refreshes the rest.
    """
    found = await evidence_of(actor) if _scorable(actor) else {}
    async with in_transaction():
        await ExpertiseScore.filter(actor_id=actor.id).delete()
        await ExpertiseScore.bulk_create(
            [
                ExpertiseScore(
                    actor_id=actor.id,
                    tag_id=tag_id,
                    score=round(item.score, 4),
                    declared_level=max(item.declared_level, 0),
                    endorsements=item.endorsements,
                    posts=item.posts,
                    appreciations=item.appreciations,
                    answers=item.answers,
                    groups=item.groups,
                    moderates=item.moderates,
                )
                for tag_id, item in found.items()
                if item.score > 0
            ]
        )
    return len(found)


async def rescore_all() -> int:
    """Every person who may be found (the ``rescore`` command); returns how many."""
    count = 0
    async for actor in Actor.filter(kind="person"):
        await rescore(actor)
        count += 1
    return count


async def refresh(since: datetime, stale: int = 500) -> int:
    """The worker's share: people who posted, were appreciated, changed groups or whose
    profile changed (or was fetched again) since ``since``, and the ``stale`` people scored
    longest ago (so scores keep fading)."""
    ids = set(await Post.filter(created_at__gte=since).values_list("author_id", flat=True))
    # profiles saved or fetched again (remote topics and consent arrive this way)
    ids |= set(await Actor.filter(updated_at__gte=since).values_list("id", flat=True))
    ids |= set(
        await sql.ids(
            "SELECT DISTINCT p.author_id AS id FROM post_like l JOIN post p ON p.id = l.post_id"
            " WHERE l.created_at >= :since",
            since=since,
        )
    )
    ids |= set(
        await sql.ids(
            "SELECT DISTINCT actor_id AS id FROM membership WHERE updated_at >= :since",
            since=since,
        )
    )
    old = now() - STALE_AFTER
    ids |= set(
        await ExpertiseScore.filter(updated_at__lt=old)
        .order_by("updated_at")
        .limit(stale)
        .values_list("actor_id", flat=True)
    )
    for actor in await Actor.filter(id__in=ids, kind="person"):
        await rescore(actor)
    return len(ids)


# --- the finder ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    where: str = "all"  # "here", "elsewhere" or "all"
    team: str = ""
    present: bool = False


@dataclass
class Expert:
    actor: Actor
    total: float
    matched: int
    scores: list[ExpertiseScore] = field(default_factory=list)
    moderated: list[str] = field(default_factory=list)  # names of groups they moderate


async def resolve(names: list[str]) -> list[tuple[str, list[tuple[int, float]]]]:
    """Each keyword with the tag ids it finds: itself (or its canonical topic) at weight 1,
    its synonyms at 1 and related topics at RELATED_WEIGHT. Unknown keywords find nothing."""
    tags = {t.name: t.id for t in await Tag.filter(name__in=names)}
    canon = await synonyms()
    result = []
    for name in names:
        weights: dict[int, float] = {}
        if name in tags:
            main = canon.get(tags[name], tags[name])
            weights[main] = 1.0
            for link in await TopicLink.filter(kind=TopicLinkKind.RELATED).filter(
                Q(canonical_id=main) | Q(tag_id=main)
            ):
                other = link.tag_id if link.canonical_id == main else link.canonical_id
                weights.setdefault(canon.get(other, other), RELATED_WEIGHT)
        result.append((name, list(weights.items())))
    return result


async def find_experts(
    tags: list[str], filters: Filters, viewer: Actor, limit: int = 20
) -> list[Expert]:
    """The people who know most about ``tags`` (normalised topic names), best first.

    One SQL statement does the ranking::

        WITH k(tag_id, kw, weight) AS (VALUES (?, ?, ?), ...)
        SELECT s.actor_id, SUM(s.score * k.weight) AS total, COUNT(DISTINCT k.kw) AS matched
        FROM k JOIN expertise_score s ON s.tag_id = k.tag_id      -- index (tag_id, score)
        JOIN actor a ON a.id = s.actor_id AND <consent, organisation, team, presence>
        GROUP BY s.actor_id ORDER BY matched DESC, total DESC, s.actor_id LIMIT ?

    so people matching all keywords come first, then by summed score. A second small query
    loads the scores of the shown people for the explanation.
    """
    keywords = await resolve(tags[:MAX_KEYWORDS])
    pairs = [(tag_id, i, w) for i, (_, ids) in enumerate(keywords) for tag_id, w in ids]
    if not pairs:
        return []
    params: dict[str, Any] = {"limit": limit}
    # Our own numbers (tag ids from the database, keyword positions, weights), never text
    # someone typed: written inline so both databases see plain typed literals.
    values = [f"({int(t)}, {int(k)}, {float(w)!r})" for t, k, w in pairs]
    where = [
        "a.kind = 'person'",
        "(a.domain <> '' OR EXISTS (SELECT 1 FROM account ac"
        " WHERE ac.actor_id = a.id AND ac.is_active))",
        "(a.domain = '' OR a.indexable)",
    ]
    if filters.where == "here":
        where.append("a.domain = ''")
    elif filters.where == "elsewhere":
        where.append("a.domain <> ''")
    if filters.team:
        where.append("LOWER(a.team) = LOWER(:team)")
        params["team"] = filters.team
    if filters.present:
        where.append(
            "a.presence IN ('office', 'elsewhere', 'busy')"
            " AND (a.presence_until IS NULL OR a.presence_until > :now)"
        )
        params["now"] = now()
    statement = (
        f"WITH k(tag_id, kw, weight) AS (VALUES {', '.join(values)})"  # noqa: S608
        " SELECT s.actor_id AS id, SUM(s.score * k.weight) AS total,"
        " COUNT(DISTINCT k.kw) AS matched"
        " FROM k JOIN expertise_score s ON s.tag_id = k.tag_id"
        " JOIN actor a ON a.id = s.actor_id"
        f" WHERE {' AND '.join(where)}"
        " GROUP BY s.actor_id ORDER BY matched DESC, total DESC, s.actor_id LIMIT :limit"
    )
    ranked = await sql.rows(statement, **params)
    return await _explain(ranked, {tag_id for tag_id, _, _ in pairs})


async def _explain(ranked: list[dict[str, Any]], tag_ids: set[int]) -> list[Expert]:
    ids = [row["id"] for row in ranked]
    actors = {a.id: a for a in await Actor.filter(id__in=ids)}
    experts = {
        row["id"]: Expert(actors[row["id"]], float(row["total"]), int(row["matched"]))
        for row in ranked
        if row["id"] in actors
    }
    for score in (
        await ExpertiseScore.filter(actor_id__in=ids, tag_id__in=tag_ids)
        .select_related("tag")
        .order_by("-score")
    ):
        experts[score.actor_id].scores.append(score)
    moderated = (
        await Membership.filter(
            actor_id__in=ids,
            state=MemberState.MEMBER,
            role__in=(MemberRole.OWNER, MemberRole.MODERATOR),
            # A closed group's moderators are listed to its members only: shown to all
            # here, only open groups' moderators are named.
            group__access=GroupAccess.OPEN,
            group__actor__topics__tag_id__in=tag_ids,
        )
        .distinct()
        .values("actor_id", "group__actor__display_name", "group__actor__username")
    )
    for row in moderated:
        name = row["group__actor__display_name"] or row["group__actor__username"]
        if name not in experts[row["actor_id"]].moderated:
            experts[row["actor_id"]].moderated.append(name)
    return [experts[i] for i in ids if i in experts]
