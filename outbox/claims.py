"""Taking due deliveries off the queue so that no two workers send the same one.

A claim is a lease: ``claimed_until`` is set in the same statement that picks the rows, so
workers in other processes or on other machines skip them. A worker that dies leaves its
leases behind; when they run out, the deliveries are claimed again. Delivery is therefore
at least once, which ActivityPub tolerates: receivers dedupe by activity id. The lease
(5 min) outlasts the longest wait of a claimed job in one worker: 64 in flight, 8 per
host, 15 s timeout, so at most 8 rounds of 15 s.

On PostgreSQL the pick is ``FOR UPDATE SKIP LOCKED``: concurrent claimers never wait for
each other and never see each other's rows. SQLite has one writer at a time, and a single
``UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING id`` is atomic there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise import connections

from fediverse_intranet.models import Delivery, WorkState
from fediverse_intranet.services import clock, sql

DEFAULT_LEASE = timedelta(minutes=5)

# Due, not leased to a live worker, and not to a host that is resting. New deliveries go
# ahead of retries: a server that was down must not delay news to every other server.
_DUE = """
    SELECT d.id FROM delivery d
    WHERE d.state = :pending
      AND d.next_attempt_at <= :now
      AND (d.claimed_until IS NULL OR d.claimed_until <= :now)
      AND NOT EXISTS (
          SELECT 1 FROM delivery_host h
          WHERE h.host = d.host AND h.unavailable_until > :now
      )
    ORDER BY d.attempts, d.next_attempt_at, d.id
    LIMIT :n
"""

# What a worker needs to send and record a delivery, returned by the claim itself.
_COLUMNS = (
    "id",
    "activity_id",
    "body",
    "inbox_url",
    "host",
    "signer_id",
    "attempts",
    "next_attempt_at",
    "created_at",
)

_POSTGRES = f"""
    WITH picked AS ({_DUE} FOR UPDATE OF d SKIP LOCKED)
    UPDATE delivery SET claimed_until = :until
    FROM picked WHERE delivery.id = picked.id
    RETURNING {", ".join(f"delivery.{c} AS {c}" for c in _COLUMNS)}
"""  # noqa: S608 (constant fragments; every value is a bound parameter)

_SQLITE = f"""
    UPDATE delivery SET claimed_until = :until
    WHERE id IN ({_DUE})
    RETURNING {", ".join(_COLUMNS)}
"""  # noqa: S608 (constant fragments; every value is a bound parameter)


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed delivery: the row's values at claim time, without an ORM model (a worker
    claims hundreds a second, and building models cost more than the claim)."""

    id: int
    activity_id: str
    body: str
    inbox_url: str
    host: str
    signer_id: int
    attempts: int
    next_attempt_at: datetime
    created_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Job:
        values = {name: row[name] for name in _COLUMNS}
        for name in ("next_attempt_at", "created_at"):  # SQLite answers text
            if isinstance(values[name], str):
                values[name] = datetime.fromisoformat(values[name])
        return cls(**values)


def claim_statement(dialect: str) -> str:
    """The claiming statement for a database dialect, with ``:name`` parameters
    (``pending``, ``now``, ``until``, ``n``): public so tests can run it on raw connections."""
    return _POSTGRES if dialect == "postgres" else _SQLITE


async def claim(
    n: int, lease: timedelta = DEFAULT_LEASE, *, now: datetime | None = None
) -> list[Job]:
    """Lease up to ``n`` due deliveries to this worker; returns them in queue order."""
    if n < 1:
        return []
    current = now or clock.now()
    dialect = connections.get("default").capabilities.dialect
    rows = await sql.rows(
        claim_statement(dialect),
        pending=WorkState.PENDING.value,
        now=current,
        until=current + lease,
        n=n,
    )
    jobs = [Job.from_row(row) for row in rows]
    return sorted(jobs, key=lambda job: (job.attempts, job.next_attempt_at, job.id))


async def release(ids: Iterable[int], *, not_before: datetime | None = None) -> int:
    """Give leased deliveries back without counting an attempt (shutdown, resting host).

    ``not_before`` postpones them, so a resting host's deliveries are not claimed again at
    once by this or another worker.
    """
    wanted = list(ids)
    if not wanted:
        return 0
    changes: dict[str, object] = {"claimed_until": None}
    if not_before is not None:
        changes["next_attempt_at"] = not_before
    return await Delivery.filter(id__in=wanted, state=WorkState.PENDING).update(**changes)
