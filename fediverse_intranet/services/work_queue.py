"""One durable queue mechanism for every table of work: claim with a lease, release, back off.

Inbox items (``inbox/processor.py``) and deliveries (``outbox/claims.py``) are rows with a
``state``, ``attempts``, ``next_attempt_at`` and ``claimed_until``; a :class:`WorkQueue`
names the table and what is due in it, and does the rest the same way for both:

- A claim is a lease: one statement picks due rows, sets ``claimed_until`` and counts the
  attempt, so workers in other processes or on other machines skip them. On PostgreSQL the
  pick is ``FOR UPDATE SKIP LOCKED`` (concurrent claimers never wait for each other nor see
  each other's rows); SQLite has one writer at a time, and a single ``UPDATE ... WHERE id
  IN (SELECT ... LIMIT n) RETURNING`` is atomic there.
- A worker that dies (SIGKILL, a lost machine) leaves its leases behind; when they run out
  the rows are claimed again, so work is done at least once (handlers and receivers are
  written to be repeatable). The attempt was counted at the claim, so a row that kills its
  worker every time runs out of attempts instead of looping forever.
- ``release`` gives leased rows back without using up an attempt (shutdown, a resting host).
- ``retry_at`` is the one back-off rule: the queue's schedule, stretched by its jitter.
- Outcomes are written with ``settle``, guarded by the attempt count the claim returned: a
  worker whose lease ran out (and whose row was claimed again meanwhile) writes nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise import connections

from fediverse_intranet.models import WorkState
from fediverse_intranet.services import clock, sql

DEFAULT_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class WorkQueue:
    """A table of work. ``due`` is an extra SQL condition on the row alias ``t`` (it may use
    ``:now``); ``order`` the pick order; ``columns`` what a claim returns; ``backoff`` the
    delay after the n-th failed attempt (``backoff[n - 1]``), after the last one it fails."""

    table: str
    columns: tuple[str, ...]
    backoff: tuple[timedelta, ...]
    due: str = "TRUE"
    order: str = "t.id"
    jitter: float = 0.0  # each delay stretched or shrunk by up to this fraction
    lease: timedelta = DEFAULT_LEASE

    @property
    def max_attempts(self) -> int:
        return len(self.backoff) + 1

    def exhausted(self, attempts: int) -> str | None:
        """Why a claimed row is given up without being tried, or None: past the last
        attempt, a worker died on each one (attempts are counted at the claim)."""
        if attempts > self.max_attempts:
            return f"gave up after {attempts - 1} attempts"
        return None

    def _pick(self) -> str:
        return f"""
            SELECT t.id FROM {self.table} t
            WHERE t.state = :pending
              AND (t.claimed_until IS NULL OR t.claimed_until <= :now)
              AND ({self.due})
            ORDER BY {self.order}
            LIMIT :n
        """  # noqa: S608 (our constant fragments; every value is a bound parameter)

    def claim_statement(self, dialect: str) -> str:
        """The claiming statement for a dialect, with ``:name`` parameters (``pending``,
        ``now``, ``until``, ``n``): public so tests can run it on raw connections."""
        table = self.table
        if dialect == "postgres":
            returned = ", ".join(f"{table}.{c} AS {c}" for c in self.columns)
            return f"""
                WITH picked AS ({self._pick()} FOR UPDATE OF t SKIP LOCKED)
                UPDATE {table} SET claimed_until = :until, attempts = {table}.attempts + 1
                FROM picked WHERE {table}.id = picked.id
                RETURNING {returned}
            """  # noqa: S608 (constant fragments; every value is a bound parameter)
        return f"""
            UPDATE {table} SET claimed_until = :until, attempts = attempts + 1
            WHERE id IN ({self._pick()})
            RETURNING {", ".join(self.columns)}
        """  # noqa: S608 (constant fragments; every value is a bound parameter)

    async def claim(
        self, n: int, *, lease: timedelta | None = None, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Lease up to ``n`` due rows to this worker; their ``attempts`` include this one."""
        if n < 1:
            return []
        current = now or clock.now()
        dialect = connections.get("default").capabilities.dialect
        return await sql.rows(
            self.claim_statement(dialect),
            pending=WorkState.PENDING.value,
            now=current,
            until=current + (lease or self.lease),
            n=n,
        )

    async def release(self, ids: Iterable[int], *, not_before: datetime | None = None) -> int:
        """Give leased rows back without using up an attempt; ``not_before`` postpones them
        (a resting host's deliveries are then not claimed again at once)."""
        wanted = list(ids)
        if not wanted:
            return 0
        later = ", next_attempt_at = :later" if not_before is not None else ""
        params: dict[str, Any] = {"ids": wanted, "pending": WorkState.PENDING.value}
        if not_before is not None:
            params["later"] = not_before
        statement = (
            f"UPDATE {self.table} SET claimed_until = NULL, attempts = attempts - 1{later}"  # noqa: S608
            " WHERE id IN (:ids) AND state = :pending AND claimed_until IS NOT NULL"
            " RETURNING id"
        )  # constant fragments; every value is a bound parameter
        released = await sql.rows(statement, **params)
        return len(released)

    def retry_at(
        self, attempts: int, now: datetime, *, jitter: Callable[[], float] = random.random
    ) -> datetime | None:
        """When to try again after ``attempts`` failed attempts, or None to give up."""
        return retry_at(self.backoff, attempts, now, spread=self.jitter, jitter=jitter)

    async def settle(self, ids: Sequence[int], attempts: int, **changes: Any) -> int:
        """Write an outcome to rows claimed with ``attempts``, ending their lease."""
        if not ids:
            return 0
        names = list(changes)
        assignments = ", ".join(f"{name} = :{name}" for name in names)
        statement = (
            f"UPDATE {self.table} SET claimed_until = NULL, {assignments}"  # noqa: S608
            " WHERE id IN (:ids) AND attempts = :attempts RETURNING id"
        )  # column names are our code's, never a request's; values are bound parameters
        updated = await sql.rows(statement, ids=list(ids), attempts=attempts, **changes)
        return len(updated)


def retry_at(
    backoff: Sequence[timedelta],
    attempts: int,
    now: datetime,
    *,
    spread: float = 0.0,
    jitter: Callable[[], float] = random.random,
) -> datetime | None:
    """The one back-off rule: ``backoff[attempts - 1]`` after ``now``, stretched or shrunk by
    up to ``spread``; None once the schedule is over (give up).

    ``jitter`` returns a number in [0, 1); 0.5 gives the nominal delay (tests pin it).
    Spreading keeps rows that failed together (a server restarting) from all coming back in
    the same second."""
    if attempts < 1:
        return now
    if attempts > len(backoff):
        return None
    factor = 1 + spread * (2 * jitter() - 1) if spread else 1
    return now + backoff[attempts - 1] * factor


def as_datetime(value: Any) -> Any:
    """A timestamp column as a datetime: SQLite answers raw statements with text."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value
