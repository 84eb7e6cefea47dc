"""Sending claimed deliveries: sign, POST, and write down what happened.

``send`` does one HTTP attempt and classifies the answer (no database). ``Deliverer`` runs
many at once (up to ``max_in_flight`` jobs, at most ``per_host`` requests to one server,
so one slow server neither stalls the others nor gets one request at a time), records each
outcome with the retry policy, and keeps host health (``HostHealth``).

Signing runs on the event loop. RSA signing holds the GIL (PLATFORM.md: two threads sign
at 0.86x the rate of one), so a thread would add hand-over cost and no capacity; capacity
grows with worker processes (``fediverse-intranet worker``), each with its own loop.

Successes are written in batches (one UPDATE per status code every ``FLUSH_EVERY``): at
hundreds of deliveries a second, a commit per delivery would cost as much as the signing.
A crash before a flush loses nothing: those deliveries are still leased, and are sent
again when the lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from activitypub.errors import FederationError
from activitypub.fetch import Fetcher, FetchError
from activitypub.keys import PrivateKey, load_private_key
from activitypub.signatures import sign_request
from fediverse_intranet import urls
from fediverse_intranet.models import Actor, DeliveryHost, WorkState
from fediverse_intranet.services import clock, keys, remote_client, sql
from outbox import claims, policy
from outbox.claims import Job

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/activity+json"
MAX_IN_FLIGHT = 64
PER_HOST = 8
FLUSH_EVERY = 0.1
ERROR_CHARS = 500

T = TypeVar("T")


class Result(StrEnum):
    DONE = "done"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to; ``status`` is None when no HTTP answer came back."""

    result: Result
    status: int | None = None
    error: str = ""

    @classmethod
    def of(cls, error: FederationError) -> Outcome:
        """The one mapping of a federation error to a delivery outcome: retried or failed
        as its ``retry`` says, with the status received and the reason kept."""
        return cls(Result.RETRY if error.retry else Result.FAILED, error.status, str(error))


# RSA signing releases the GIL (cryptography runs it in Rust/OpenSSL), so signatures made in
# these threads run beside the event loop, on other cores when there are some.
_SIGNING = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="sign")


@dataclass(frozen=True)
class Signer:
    """A local actor's key, parsed once (parsing a PEM costs a third of a signature), in
    the shape the fetcher's ``signed_by`` wants."""

    key_id: str
    private_key: PrivateKey

    @classmethod
    def of(cls, key_id: str, private_key_pem: str) -> Signer:
        return cls(key_id, load_private_key(private_key_pem))

    async def __call__(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> dict[str, str]:
        # Covers (request-target) host date digest content-type, as Mastodon expects.
        return await asyncio.get_running_loop().run_in_executor(
            _SIGNING, sign_request, method, url, headers, body, self.key_id, self.private_key
        )


async def send(job: Job, signer: Signer, fetcher: Fetcher) -> Outcome:
    """POST one delivery, signed; classify the answer by the retry policy."""
    try:
        status, answer = await fetcher.post(
            job.inbox_url,
            job.body.encode("utf-8"),
            {"Content-Type": CONTENT_TYPE},
            signed_by=signer,
        )
    except FetchError as exc:
        return Outcome.of(exc)
    if policy.is_success(status):
        return Outcome(Result.DONE, status)
    return Outcome.of(FederationError(f"HTTP {status}: {answer}".strip(), status))


async def record_failure(job: Job, outcome: Outcome, now: datetime) -> WorkState:
    """Record a failed attempt (counted by the claim): schedule the next one, or give up."""
    attempts = job.attempts
    error = outcome.error[:ERROR_CHARS]
    retry_at = policy.next_attempt(attempts, now) if outcome.result is Result.RETRY else None
    state = WorkState.PENDING if retry_at is not None else WorkState.FAILED
    if outcome.result is Result.RETRY and retry_at is None:
        error = f"gave up after {attempts} attempts; last: {error}"[:ERROR_CHARS]
    changes: dict[str, object] = {
        "state": state.value,
        "last_status": outcome.status,
        "last_error": error,
    }
    if retry_at is not None:
        changes["next_attempt_at"] = retry_at
    await claims.QUEUE.settle([job.id], job.attempts, **changes)
    return state


class HostHealth:
    """Consecutive failures per host, kept in ``delivery_host`` and mirrored in memory.

    Failures that arrive while a host already rests are not counted: they belong to the
    burst that was in flight when it was marked, so each probe after a rest counts once and
    the rest doubles per failed probe, not per request (see ``policy.host_rest``).
    """

    def __init__(self) -> None:
        self._resting: dict[str, datetime] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def resting_until(self, host: str, now: datetime) -> datetime | None:
        until = self._resting.get(host)
        if until is not None and until <= now:
            del self._resting[host]
            return None
        return until

    async def failed(self, host: str, now: datetime) -> datetime | None:
        """Count one failure; returns when the host may be tried again if it now rests."""
        async with self._locks.setdefault(host, asyncio.Lock()):
            until = await self._count_failure(host, now)
        if until is not None and until > now:
            self._resting[host] = until
            return until
        return None

    async def _count_failure(self, host: str, now: datetime) -> datetime | None:
        await sql.rows(
            "INSERT INTO delivery_host (host, failures) VALUES (:host, 0)"
            " ON CONFLICT (host) DO NOTHING",
            host=host,
        )
        counted = await sql.rows(
            "UPDATE delivery_host SET failures = failures + 1 WHERE host = :host"
            " AND (unavailable_until IS NULL OR unavailable_until <= :now) RETURNING failures",
            host=host,
            now=now,
        )
        if not counted:  # already resting, perhaps marked by another worker
            row = await DeliveryHost.get_or_none(host=host)
            return row.unavailable_until if row else None
        failures = counted[0]["failures"]
        rest = policy.host_rest(failures)
        if rest is None:
            return None
        # Only if no other worker counted a failure meanwhile: its count (higher) decides.
        await DeliveryHost.filter(host=host, failures=failures).update(unavailable_until=now + rest)
        log.warning("delivery: %s failed %d times in a row, resting %s", host, failures, rest)
        return now + rest

    async def succeeded(self, hosts: Iterable[str], now: datetime) -> None:
        """Any 2xx shows the host is back: forget its failures (rows exist only for hosts
        that have failed, so a healthy fediverse costs one cheap UPDATE per flush)."""
        wanted = list(set(hosts))
        if not wanted:
            return
        for host in wanted:
            self._resting.pop(host, None)
        await DeliveryHost.filter(host__in=wanted).update(
            failures=0, unavailable_until=None, last_success_at=now
        )


async def _settle(work: Awaitable[T]) -> T:
    """Finish a database write even if our task is cancelled meanwhile (a write cut in two
    can leave SQLite "within a transaction"), then let the cancellation through."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


class Deliverer:
    """Sends claimed deliveries concurrently and records every outcome.

    ``free`` says how many more jobs it will take; the worker claims that many. Call
    ``close`` at shutdown: in-flight jobs get ``grace`` seconds to finish, the rest are
    released for another worker (or the next start).
    """

    def __init__(
        self,
        fetcher: Fetcher | None = None,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
        per_host: int = PER_HOST,
        on_room: Callable[[], None] | None = None,
    ) -> None:
        self.max_in_flight = max_in_flight
        self.per_host = per_host
        # Claim in batches (a quarter of the slots), not one job per freed slot.
        self.refill = max(1, max_in_flight // 4)
        self.hosts = HostHealth()
        self.counts: Counter[str] = Counter()
        self._fetcher = fetcher
        self._on_room = on_room
        self._jobs: dict[asyncio.Task[None], Job] = {}
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._signers: dict[int, Signer] = {}
        self._delivered: list[tuple[int, int, int, str]] = []  # (id, attempts, status, host)
        self._flusher: asyncio.Task[None] | None = None

    @property
    def in_flight(self) -> int:
        return len(self._jobs)

    @property
    def free(self) -> int:
        return self.max_in_flight - len(self._jobs)

    @property
    def fetcher(self) -> Fetcher:
        return self._fetcher or remote_client.fetcher()

    async def submit(self, jobs: Iterable[Job]) -> None:
        """Start sending claimed jobs; returns at once."""
        jobs = list(jobs)
        await self._load_signers({job.signer_id for job in jobs})
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_loop())
        for job in jobs:
            task = asyncio.create_task(self._run(job))
            self._jobs[task] = job
            task.add_done_callback(self._finished)

    async def idle(self) -> None:
        """Wait until every submitted job is sent and recorded (tests and benchmarks)."""
        while self._jobs:
            await asyncio.wait(list(self._jobs))
        await self.flush()

    async def close(self, grace: float = 10.0) -> None:
        """Stop: let in-flight jobs finish for ``grace`` seconds, release the others."""
        pending: set[asyncio.Task[None]] = set(self._jobs)
        if pending:
            _, pending = await asyncio.wait(pending, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if pending:
            log.info("delivery: released %d unfinished deliveries at shutdown", len(pending))
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        await self.flush()

    async def flush(self) -> None:
        """Write the buffered successes: one UPDATE per status code, one for the hosts."""
        batch, self._delivered = self._delivered, []
        if not batch:
            return
        try:
            await _settle(self._write_delivered(batch))
        except Exception:  # still leased: they are sent again once the lease runs out
            log.exception("delivery: could not record %d deliveries", len(batch))

    async def _write_delivered(self, batch: list[tuple[int, int, int, str]]) -> None:
        current = clock.now()
        grouped: dict[tuple[int, int], list[int]] = {}
        for job_id, attempts, status, _ in batch:
            grouped.setdefault((attempts, status), []).append(job_id)
        for (attempts, status), ids in grouped.items():
            await claims.QUEUE.settle(
                ids,
                attempts,
                state=WorkState.DONE.value,
                delivered_at=current,
                last_status=status,
                last_error="",
            )
        await self.hosts.succeeded((host for *_, host in batch), current)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            await self.flush()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._jobs.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())
        if self._on_room is not None and self.free >= self.refill:
            self._on_room()

    async def _load_signers(self, signer_ids: set[int]) -> None:
        missing = signer_ids - self._signers.keys()
        if not missing:
            return
        for actor in await Actor.filter(id__in=missing):
            if not actor.private_key_pem:
                await keys.ensure_keys(actor)
            if actor.private_key_pem:
                self._signers[actor.id] = Signer.of(urls.key_id(actor), actor.private_key_pem)

    def _slot(self, host: str) -> asyncio.Semaphore:
        slot = self._host_slots.get(host)
        if slot is None:
            slot = self._host_slots[host] = asyncio.Semaphore(self.per_host)
        return slot

    async def _run(self, job: Job) -> None:
        """One job from claim to record. Cancelled before it is recorded (shutdown), the
        job is released, so the next worker to claim it sends it."""
        recording = False
        try:
            refusal = self._refusal(job)
            if refusal is not None:
                recording = True
                await self._record(job, refusal)
                return
            async with self._slot(job.host):
                resting = self.hosts.resting_until(job.host, clock.now())
                if resting is None:
                    outcome = await send(job, self._signers[job.signer_id], self.fetcher)
                    # Recorded while holding the slot: the next job to this host must see
                    # the rest that this failure may start.
                    recording = True
                    await self._record(job, outcome)
                    return
            # Not an attempt: wait for the host's rest to end without using up retries.
            recording = True
            await _settle(claims.release([job.id], not_before=resting))
            self.counts["postponed"] += 1
        except asyncio.CancelledError:
            if not recording:
                await _settle(claims.release([job.id]))
                self.counts["released"] += 1
            raise

    def _refusal(self, job: Job) -> Outcome | None:
        """A job that must not be sent at all, and why."""
        exhausted = claims.QUEUE.exhausted(job.attempts)
        if exhausted is not None:
            return Outcome(Result.FAILED, None, exhausted)
        if policy.expired(job.created_at, clock.now()):
            return Outcome(Result.FAILED, None, "expired before it could be sent")
        if job.signer_id not in self._signers:
            return Outcome(Result.FAILED, None, "the signer has no key")
        return None

    async def _record(self, job: Job, outcome: Outcome) -> None:
        self.counts[outcome.result.value] += 1
        if outcome.result is Result.DONE:
            self._delivered.append((job.id, job.attempts, outcome.status or 0, job.host))
        else:
            await _settle(self._record_failure(job, outcome))

    async def _record_failure(self, job: Job, outcome: Outcome) -> None:
        current = clock.now()
        state = await record_failure(job, outcome, current)
        if outcome.result is Result.RETRY:
            # Final answers (a 410) show the host is up: Mastodon counts them neither way.
            await self.hosts.failed(job.host, current)
        log.info("delivery %s to %s: %s (%s)", job.activity_id, job.inbox_url, state, outcome.error)
