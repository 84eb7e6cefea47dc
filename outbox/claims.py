"""The delivery queue: due deliveries taken off it so that no two workers send the same one.

The mechanism (claim with a lease, release, back-off, at-least-once after a dead worker) is
the one every queue here shares, ``services.work_queue``; this module says which deliveries
are due and in what order. The lease (5 min) outlasts the longest wait of a claimed job in
one worker: 64 in flight, 8 per host, 15 s timeout, so at most 8 rounds of 15 s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fediverse_intranet.services.work_queue import DEFAULT_LEASE, WorkQueue, as_datetime
from outbox import policy

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

# Due, and not to a host that is resting. New deliveries go ahead of retries: a server
# that was down must not delay news to every other server.
QUEUE = WorkQueue(
    table="delivery",
    columns=_COLUMNS,
    backoff=policy.BACKOFF,
    jitter=policy.JITTER,
    lease=DEFAULT_LEASE,
    due="""t.next_attempt_at <= :now
        AND NOT EXISTS (
            SELECT 1 FROM delivery_host h
            WHERE h.host = t.host AND h.unavailable_until > :now
        )""",
    order="t.attempts, t.next_attempt_at, t.id",
)


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed delivery: the row's values at claim time, without an ORM model (a worker
    claims hundreds a second, and building models cost more than the claim). ``attempts``
    counts this one."""

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
        for name in ("next_attempt_at", "created_at"):
            values[name] = as_datetime(values[name])
        return cls(**values)


def claim_statement(dialect: str) -> str:
    """The claiming statement for a database dialect (see ``WorkQueue.claim_statement``)."""
    return QUEUE.claim_statement(dialect)


async def claim(
    n: int, lease: timedelta = DEFAULT_LEASE, *, now: datetime | None = None
) -> list[Job]:
    """Lease up to ``n`` due deliveries to this worker; returns them in queue order."""
    jobs = [Job.from_row(row) for row in await QUEUE.claim(n, lease=lease, now=now)]
    return sorted(jobs, key=lambda job: (job.attempts, job.next_attempt_at, job.id))


async def release(ids: Iterable[int], *, not_before: datetime | None = None) -> int:
    """Give leased deliveries back without counting an attempt (shutdown, resting host)."""
    return await QUEUE.release(ids, not_before=not_before)
