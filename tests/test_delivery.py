"""The delivery queue as a peer sees it: signed POSTs that arrive, retries that back off,
refusals that stick, resting hosts, and no job lost or taken twice by competing workers.

A real inbox runs on 127.0.0.1 in the test (aiohttp.web): it verifies every signature with
the sender's public key, records what it received and answers as the test tells it. Time is
moved by patching ``clock.now`` (the queue's times); HTTP dates stay real.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from activitypub.fetch import Fetcher
from activitypub.keys import KeyPair, PublicKey, generate_rsa_key_pair, load_public_key
from activitypub.signatures import SignatureError, verify_request
from fediverse_intranet import urls
from fediverse_intranet.models import Actor, Delivery, DeliveryHost, WorkState
from fediverse_intranet.services import clock, deliveries
from outbox import claims, policy, worker
from outbox.deliver import Deliverer

ROOT = Path(__file__).resolve().parent.parent
BASE_URL = "http://intranet.test"
TIMEOUT = 0.5  # the fetcher's total timeout here: a hanging inbox costs the test this long
HANG = "hang"


# --- a remote inbox -----------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified_key: str | None
    activity_id: str


@dataclass
class Sink:
    """An inbox on 127.0.0.1 that checks signatures like a real one (401 when bad) and
    otherwise answers ``answer`` (a status or HANG), after ``delay`` seconds."""

    public_keys: dict[str, PublicKey] = field(default_factory=dict)
    answer: int | str = 202
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/inbox"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def activity_ids(self) -> list[str]:
        return [r.activity_id for r in self.received]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/inbox", self._inbox)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _lookup(self, key_id: str, refresh: bool) -> PublicKey | None:
        return self.public_keys.get(key_id)

    async def _inbox(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {name: value for name, value in request.headers.items()}
        try:
            signed = await verify_request(
                "POST", request.raw_path, request.headers.items(), body, self._lookup
            )
        except SignatureError as exc:
            return web.json_response({"error": exc.reason}, status=401)
        self.received.append(
            Received(request.raw_path, headers, body, signed.key_id, json.loads(body)["id"])
        )
        if self.answer == HANG:
            await asyncio.sleep(30)
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=int(self.answer))


# --- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture(scope="session")
def key_pair() -> KeyPair:
    return generate_rsa_key_pair()


@pytest.fixture
async def sender(app, key_pair: KeyPair) -> Actor:
    """A local person with keys (made directly: an account would cost an argon2 hash)."""
    return await Actor.create(
        username="alice",
        uri=urls.actor_uri("alice"),
        public_key_pem=key_pair.public_pem,
        private_key_pem=key_pair.private_pem,
    )


async def _sink(sender: Actor) -> Sink:
    sink = Sink({urls.key_id(sender): load_public_key(sender.public_key_pem)})
    await sink.start()
    return sink


@pytest.fixture
async def sink(sender: Actor) -> AsyncIterator[Sink]:
    server = await _sink(sender)
    yield server
    await server.stop()


@pytest.fixture
async def other_sink(sender: Actor) -> AsyncIterator[Sink]:
    server = await _sink(sender)
    yield server
    await server.stop()


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(
        BASE_URL, allowed_networks=["127.0.0.1/32"], total_timeout=TIMEOUT, connect_timeout=TIMEOUT
    ) as client:
        yield client


def activity(n: int, sender: Actor) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{BASE_URL}/activities/{n}",
        "type": "Create",
        "actor": sender.uri,
        "object": {"type": "Note", "content": f"note {n} — ünïcode"},
    }


async def enqueue(sender: Actor, inbox: str, *numbers: int) -> None:
    for n in numbers:
        await deliveries.enqueue(activity(n, sender), sender, [inbox])


async def one_round(deliverer: Deliverer, n: int = 100) -> int:
    """What one worker turn does: claim what is due, send it all, record it."""
    jobs = await claims.claim(n)
    await deliverer.submit(jobs)
    await deliverer.idle()
    return len(jobs)


async def states() -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in await Delivery.all().values_list("state", flat=True):
        counts[str(state)] = counts.get(str(state), 0) + 1
    return counts


def near(moment: datetime | None, expected: datetime, slack: timedelta) -> bool:
    assert moment is not None
    return abs(moment - expected) <= slack


# --- the policy ---------------------------------------------------------------------------


def test_policy_table() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    nominal = [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=6),
        timedelta(hours=12),
        timedelta(hours=24),
    ]
    for attempts, delay in enumerate(nominal, start=1):
        assert policy.next_attempt(attempts, t0, jitter=lambda: 0.5) == t0 + delay
        assert policy.next_attempt(attempts, t0, jitter=lambda: 0.0) == t0 + delay * 0.8
        assert policy.next_attempt(attempts, t0, jitter=lambda: 0.999999) <= t0 + delay * 1.2
    assert policy.next_attempt(len(nominal) + 1, t0) is None
    assert policy.next_attempt(0, t0) == t0
    # About two days in all, and a delivery never expires before its retries are over.
    assert timedelta(hours=40) <= sum(nominal, timedelta()) <= timedelta(hours=50)
    assert sum(nominal, timedelta()) * 1.2 < policy.MAX_AGE

    permanent = {400, 403, 404, 405, 410, 413, 422, 501}
    transient = {401, 408, 429, 500, 502, 503, 504, 301, 302, 307, 308}
    assert {s for s in permanent | transient if policy.is_permanent(s)} == permanent
    assert all(policy.is_success(s) for s in (200, 201, 202, 204))
    assert not any(policy.is_success(s) for s in (199, 300, 410, 500))

    assert policy.host_rest(9) is None
    assert policy.host_rest(10) == timedelta(minutes=1)
    assert policy.host_rest(11) == timedelta(minutes=2)
    assert policy.host_rest(12) == timedelta(minutes=4)
    assert policy.host_rest(40) == timedelta(hours=12)
    assert policy.host_rest(10_000) == timedelta(hours=12)

    assert not policy.expired(t0, t0 + timedelta(days=2))
    assert policy.expired(t0, t0 + timedelta(days=3, seconds=1))


# --- sending ------------------------------------------------------------------------------


async def test_queued_delivery_arrives_signed(sender, sink, fetcher) -> None:
    await enqueue(sender, sink.url, 1)
    stored = await Delivery.get()
    assert await one_round(Deliverer(fetcher)) == 1

    [got] = sink.received
    assert got.verified_key == urls.key_id(sender)
    assert got.body == stored.body.encode()
    assert got.headers["Content-Type"] == "application/activity+json"
    signature = got.headers["Signature"]
    assert 'algorithm="rsa-sha256"' in signature
    assert 'headers="(request-target) host date digest content-type"' in signature
    row = await Delivery.get(id=stored.id)
    assert row.state == WorkState.DONE
    assert (row.attempts, row.last_status, row.claimed_until) == (1, 202, None)
    assert row.delivered_at is not None
    assert await claims.claim(10) == []


async def test_server_error_is_retried_later_then_delivered(sender, sink, fetcher, moved) -> None:
    sink.answer = 500
    deliverer = Deliverer(fetcher)
    await enqueue(sender, sink.url, 1)
    await one_round(deliverer)

    row = await Delivery.get()
    assert (row.state, row.attempts, row.last_status) == (WorkState.PENDING, 1, 500)
    assert near(row.next_attempt_at, moved() + timedelta(minutes=1), timedelta(seconds=13))
    assert await one_round(deliverer) == 0, "retried before its backoff was over"

    moved.advance(timedelta(minutes=2))
    sink.answer = 202
    assert await one_round(deliverer) == 1
    row = await Delivery.get()
    assert (row.state, row.attempts, row.last_status) == (WorkState.DONE, 2, 202)
    assert sink.activity_ids() == [f"{BASE_URL}/activities/1"] * 2
    host = await DeliveryHost.get(host=sink.host)
    assert host.failures == 0 and host.last_success_at is not None


async def test_gone_is_final(sender, sink, fetcher, moved) -> None:
    sink.answer = 410
    deliverer = Deliverer(fetcher)
    await enqueue(sender, sink.url, 1)
    await one_round(deliverer)

    row = await Delivery.get()
    assert (row.state, row.attempts, row.last_status) == (WorkState.FAILED, 1, 410)
    moved.advance(timedelta(days=3))
    assert await one_round(deliverer) == 0
    assert len(sink.received) == 1
    # A final answer shows the host is up: it does not count towards a rest.
    assert await DeliveryHost.filter(host=sink.host, failures__gt=0).count() == 0


async def test_hanging_inbox_times_out_and_is_retried(sender, sink, fetcher, moved) -> None:
    sink.answer = HANG
    deliverer = Deliverer(fetcher)
    await enqueue(sender, sink.url, 1)
    await asyncio.wait_for(one_round(deliverer), timeout=TIMEOUT * 10)

    row = await Delivery.get()
    assert (row.state, row.attempts, row.last_status) == (WorkState.PENDING, 1, None)
    assert "timed out" in row.last_error
    moved.advance(timedelta(minutes=2))
    sink.answer = 202
    assert await one_round(deliverer) == 1
    assert (await Delivery.get()).state == WorkState.DONE


async def test_too_old_delivery_is_failed_without_sending(sender, sink, fetcher, moved) -> None:
    await enqueue(sender, sink.url, 1)
    moved.advance(policy.MAX_AGE + timedelta(minutes=1))
    await one_round(Deliverer(fetcher))
    assert (await Delivery.get()).state == WorkState.FAILED
    assert sink.received == []


async def test_failing_host_rests_and_its_deliveries_wait(
    sender, sink, other_sink, fetcher, moved
) -> None:
    sink.answer = 503
    threshold = policy.HOST_FAILURE_THRESHOLD
    deliverer = Deliverer(fetcher, per_host=1)  # one at a time: the count is exact
    await enqueue(sender, sink.url, *range(threshold + 5))
    await one_round(deliverer)

    assert len(sink.received) == threshold, "kept sending to a host that kept failing"
    host = await DeliveryHost.get(host=sink.host)
    assert host.failures == threshold
    assert near(host.unavailable_until, moved() + policy.HOST_REST_FIRST, timedelta(seconds=5))
    tried = await Delivery.filter(attempts=1)
    waiting = await Delivery.filter(attempts=0)
    assert len(tried) == threshold and len(waiting) == 5
    assert all(d.next_attempt_at == host.unavailable_until for d in waiting)
    assert all(d.claimed_until is None and d.state == WorkState.PENDING for d in waiting)

    # New deliveries to the resting host wait; other hosts are served as usual.
    await enqueue(sender, sink.url, 100)
    await enqueue(sender, other_sink.url, 101)
    assert [d.inbox_url for d in await claims.claim(100)] == [other_sink.url]

    # After the rest one probe goes out; it fails, and the rest doubles.
    moved.advance(timedelta(minutes=2))
    await claims.release([d.id for d in await Delivery.filter(inbox_url=other_sink.url)])
    await one_round(deliverer)
    assert len(sink.received) == threshold + 1
    host = await DeliveryHost.get(host=sink.host)
    assert host.failures == threshold + 1
    assert near(host.unavailable_until, moved() + 2 * policy.HOST_REST_FIRST, timedelta(seconds=5))

    # The host recovers: everything that waited is delivered, and its record is cleared.
    moved.advance(timedelta(minutes=3))
    sink.answer = 202
    await one_round(deliverer)
    assert await states() == {"done": threshold + 7}
    assert sorted(set(sink.activity_ids())) == sorted(
        f"{BASE_URL}/activities/{n}" for n in [*range(threshold + 5), 100]
    )
    host = await DeliveryHost.get(host=sink.host)
    assert (host.failures, host.unavailable_until) == (0, None)


# --- claiming -----------------------------------------------------------------------------


async def _queue(sender: Actor, count: int) -> set[int]:
    now = clock.now()
    await Delivery.bulk_create(
        [
            Delivery(
                activity_id=f"{BASE_URL}/activities/{n}",
                body="{}",
                inbox_url=f"https://remote{n % 7}.example/inbox",
                host=f"remote{n % 7}.example",
                signer=sender,
                next_attempt_at=now,
            )
            for n in range(count)
        ]
    )
    return set(await Delivery.all().values_list("id", flat=True))


async def test_concurrent_claimers_never_share_a_job(sender) -> None:
    everything = await _queue(sender, 300)

    async def claimer() -> list[int]:
        got: list[int] = []
        while (jobs := await claims.claim(7)) and len(got) <= len(everything):
            got += [job.id for job in jobs]
            await asyncio.sleep(0)
        return got

    results = await asyncio.gather(*(claimer() for _ in range(4)))
    taken = [job_id for result in results for job_id in result]
    assert len(taken) == len(set(taken)), "a job was claimed twice"
    assert set(taken) == everything


async def test_new_deliveries_go_ahead_of_retries(sender) -> None:
    await _queue(sender, 6)
    earlier = clock.now() - timedelta(hours=1)
    await Delivery.filter(id__in=[1, 2]).update(attempts=3, next_attempt_at=earlier)
    assert [job.id for job in await claims.claim(4)] == [3, 4, 5, 6]
    assert [job.id for job in await claims.claim(10)] == [1, 2]


_CLAIMER = """
import asyncio, json, sys, pathlib
from fediverse_intranet import db
from fediverse_intranet.settings import load_settings
from outbox import claims

async def main():
    await db.connect(load_settings())
    print("ready", flush=True)
    go = pathlib.Path(sys.argv[1])
    while not go.exists():
        await asyncio.sleep(0.005)
    got = []
    while (jobs := await claims.claim(5)) and len(got) <= int(sys.argv[2]):
        got += [job.id for job in jobs]
        await asyncio.sleep(0.002)
    print(json.dumps(got), flush=True)
    await db.disconnect()

asyncio.run(main())
"""


async def test_claimers_in_separate_processes_never_share_a_job(sender, settings, tmp_path) -> None:
    everything = await _queue(sender, 400)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "FI_DATA_DIR": str(settings.data_dir),
        "FI_DATABASE_URL": settings.database_url,
        "FI_BASE_URL": BASE_URL,
    }
    go = tmp_path / "go"
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CLAIMER,
            str(go),
            str(len(everything)),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert await asyncio.wait_for(process.stdout.readline(), 20) == b"ready\n"
        go.touch()
        outputs = [await asyncio.wait_for(p.communicate(), 20) for p in processes]
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
    results = [json.loads(out.strip()) for out, _ in outputs]
    taken = [job_id for result in results for job_id in result]
    assert all(results), "one process took everything: they did not compete"
    assert len(taken) == len(set(taken)), "a job was claimed by both processes"
    assert set(taken) == everything


@pytest.mark.skipif(
    not os.environ.get("FI_TEST_DATABASE_URL"), reason="PostgreSQL only (FI_TEST_DATABASE_URL)"
)
async def test_postgres_claims_skip_rows_locked_by_another_connection(sender, settings) -> None:
    import asyncpg

    everything = await _queue(sender, 20)
    url = settings.database_url.replace("postgres://", "postgresql://", 1)
    names: list[str] = []

    def positional(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    statement = re.sub(r"(?<!:):([a-z_]+)", positional, claims.claim_statement("postgres"))
    now = clock.now()
    values = {"pending": "pending", "now": now, "until": now + timedelta(minutes=5), "n": 5}
    args = [values[name] for name in names]
    first, second = await asyncpg.connect(url), await asyncpg.connect(url)
    try:
        transaction = first.transaction()
        await transaction.start()
        held = {row["id"] for row in await first.fetch(statement, *args)}
        # The first claim is not committed: its rows are locked, not yet leased.
        other = {row["id"] for row in await asyncio.wait_for(second.fetch(statement, *args), 5)}
        await transaction.commit()
        rest = {row["id"] for row in await second.fetch(statement, *args)}
    finally:
        await first.close()
        await second.close()
    assert len(held) == len(other) == 5
    assert not held & other and not held & rest
    assert held | other | rest <= everything


async def test_a_dead_workers_lease_runs_out(sender, sink, fetcher, moved) -> None:
    await enqueue(sender, sink.url, 1, 2, 3)
    assert len(await claims.claim(10, lease=timedelta(minutes=1))) == 3  # then "dies"
    assert await claims.claim(10) == []
    moved.advance(timedelta(minutes=1, seconds=1))
    assert await one_round(Deliverer(fetcher)) == 3
    assert await states() == {"done": 3}


# --- the worker loop ----------------------------------------------------------------------


async def _until(condition: Callable[[], Any], within: float) -> None:
    """Poll ``condition`` (a peer would see the result; there is no event to wait on)."""
    for _ in range(int(within / 0.02)):
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not reached within {within} s")


async def test_restart_mid_burst_loses_nothing(sender, sink, fetcher) -> None:
    total = 200
    await enqueue(sender, sink.url, *range(total))
    sink.delay = 0.01

    async def loop(stop: asyncio.Event) -> Deliverer:
        return await worker.delivery_loop(
            stop, fetcher=fetcher, max_in_flight=16, per_host=8, idle_wait=0.05, grace=0.0
        )

    stop = asyncio.Event()
    first = asyncio.create_task(loop(stop))

    async def some_arrived() -> bool:
        return len(sink.received) >= total // 4

    await _until(some_arrived, 20)
    stop.set()
    counts = (await first).counts
    assert counts["released"] > 0, "the stop did not interrupt anything in flight"
    assert await Delivery.filter(state=WorkState.PENDING).count() > 0
    assert await Delivery.filter(claimed_until__not_isnull=True, state="pending").count() == 0

    stop = asyncio.Event()
    second = asyncio.create_task(loop(stop))

    async def all_done() -> bool:
        return await Delivery.filter(state=WorkState.DONE).count() == total

    try:
        await _until(all_done, 20)
    finally:
        stop.set()
        await second
    expected = {f"{BASE_URL}/activities/{n}" for n in range(total)}
    assert set(sink.activity_ids()) == expected
    duplicates = len(sink.received) - total
    assert duplicates <= counts["released"], "sent again what had been recorded as sent"


async def test_wake_starts_delivery_at_once(sender, sink, fetcher) -> None:
    stop = asyncio.Event()
    loop = asyncio.create_task(
        worker.delivery_loop(stop, fetcher=fetcher, idle_wait=30.0, grace=1.0)
    )
    try:
        await asyncio.sleep(0.1)  # the loop found nothing and waits
        await enqueue(sender, sink.url, 1)
        worker.wake()

        async def arrived() -> bool:
            return len(sink.received) == 1

        await _until(arrived, 5)
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
    assert (await Delivery.get()).state == WorkState.DONE
