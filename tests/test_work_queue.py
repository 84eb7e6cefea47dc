"""One durable queue for inbox items and deliveries, one retry rule, one federation error.

A worker is killed for real (SIGKILL, in a process of its own) while it holds a lease; the
queue's clock (``services.clock``) is then moved past the lease, and a second claimer must
get the work, with the dead attempt counted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from aiohttp import web

from activitypub import errors
from activitypub.errors import FederationError
from activitypub.fetch import FetchError
from activitypub.keys import generate_rsa_key_pair
from activitypub.parse_activity import ActivityError
from activitypub.signatures import SignatureError
from fediverse_intranet import urls
from fediverse_intranet.errors import Unreachable
from fediverse_intranet.models import Actor, Delivery, InboxItem, WorkState
from fediverse_intranet.services import (
    clock,
    deliveries,
    remote_actors,
    remote_directory,
    remote_people,
    remote_posts,
    signed_requests,
)
from fediverse_intranet.services.remote_actors import RemoteActorError
from fediverse_intranet.services.work_queue import WorkQueue
from inbox import processor
from inbox.handlers import HandlerError
from inbox.verify import InboxRefusal
from outbox import claims, policy
from outbox import routes as outbox_routes
from outbox.deliver import Deliverer, Outcome, Result
from tests.conftest import BASE_URL, LOOPBACK, ROOT


@pytest.fixture
def settings(settings):
    """Loopback peers are allowed: the answering server below is one."""
    return dataclasses.replace(settings, federation_private_networks=LOOPBACK)


async def _items(count: int) -> list[int]:
    for n in range(count):
        await InboxItem.create(
            activity_id=f"https://a.example/{n}", activity_type="Bite", actor_uri="x", body="{}"
        )
    return list(await InboxItem.all().order_by("id").values_list("id", flat=True))


async def _deliveries(count: int) -> list[int]:
    pair = generate_rsa_key_pair()
    sender = await Actor.create(
        username="alice",
        uri=urls.actor_uri("alice"),
        public_key_pem=pair.public_pem,
        private_key_pem=pair.private_pem,
    )
    for n in range(count):
        activity = {"id": f"{BASE_URL}/activities/{n}", "type": "Create", "actor": sender.uri}
        await deliveries.enqueue(activity, sender, ["https://remote.example/inbox"])
    return list(await Delivery.all().order_by("id").values_list("id", flat=True))


# A worker that claims and then hangs, to be killed with SIGKILL while it holds the lease.
_HOLDER = """
import asyncio, sys
from fediverse_intranet import db
from fediverse_intranet.settings import load_settings
from inbox import processor
from outbox import claims

async def main():
    await db.connect(load_settings())
    if sys.argv[1] == "inbox":
        got = [item.id for item in await processor.claim(100)]
    else:
        got = [job.id for job in await claims.claim(100)]
    print(" ".join(map(str, got)), flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def _claim_and_get_killed(settings, queue: str) -> list[int]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "FI_DATA_DIR": str(settings.data_dir),
        "FI_DATABASE_URL": settings.database_url,
        "FI_BASE_URL": BASE_URL,
    }
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _HOLDER, queue, cwd=ROOT, env=env, stdout=subprocess.PIPE
    )
    try:
        assert worker.stdout is not None
        line = await asyncio.wait_for(worker.stdout.readline(), 60)
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    assert worker.returncode == -signal.SIGKILL
    return [int(n) for n in line.split()]


async def test_a_killed_workers_inbox_items_are_claimed_again_after_the_lease(app, settings, moved):
    wanted = await _items(3)
    assert await _claim_and_get_killed(settings, "inbox") == wanted

    leased = await InboxItem.all()
    assert all(item.claimed_until > clock.now() for item in leased)
    assert all(item.processed_at is None and item.attempts == 1 for item in leased)
    assert await processor.claim(10) == [], "claimed while the dead worker's lease holds"

    moved.advance(processor.LEASE + timedelta(seconds=1))
    again = await processor.claim(10)
    assert [item.id for item in again] == wanted
    assert all(item.attempts == 2 for item in again), "the dead attempt was not counted"


async def test_a_killed_workers_deliveries_are_claimed_again_after_the_lease(app, settings, moved):
    wanted = await _deliveries(3)
    assert sorted(await _claim_and_get_killed(settings, "outbox")) == wanted
    assert await claims.claim(10) == []

    moved.advance(claims.DEFAULT_LEASE + timedelta(seconds=1))
    again = await claims.claim(10)
    assert sorted(job.id for job in again) == wanted
    assert all(job.attempts == 2 for job in again), "the dead attempt was not counted"


async def test_a_delivery_that_kills_its_worker_every_time_is_given_up(app, moved):
    """Each claim counts an attempt, so a delivery whose sending kills the worker (every
    time, say it runs the process out of memory) ends instead of being claimed forever."""
    [delivery_id] = await _deliveries(1)
    for _ in range(policy.MAX_ATTEMPTS):
        assert len(await claims.claim(10)) == 1  # ... and the worker dies
        moved.advance(claims.DEFAULT_LEASE + timedelta(seconds=1))

    deliverer = Deliverer()  # nothing is sent: the job is refused first
    await deliverer.submit(await claims.claim(10))
    await deliverer.idle()
    await deliverer.close(0)

    row = await Delivery.get(id=delivery_id)
    assert row.state == WorkState.FAILED, (row.attempts, row.last_error)
    assert row.last_error == f"gave up after {policy.MAX_ATTEMPTS} attempts"
    assert row.claimed_until is None


async def test_released_work_is_claimed_at_once_without_using_an_attempt(app):
    await _items(2)
    held = await processor.claim(10)
    assert await processor.release(held) == 2
    again = await processor.claim(10)
    assert [item.attempts for item in again] == [1, 1]

    await _deliveries(2)
    jobs = await claims.claim(10)
    assert await claims.release(job.id for job in jobs) == 2
    assert [job.attempts for job in await claims.claim(10)] == [1, 1]


async def test_a_stale_worker_cannot_record_over_a_newer_claim(app, moved):
    [item_id] = await _items(1)
    [stale] = await processor.claim(1, lease=timedelta(seconds=1))
    moved.advance(timedelta(seconds=2))
    [fresh] = await processor.claim(1)
    assert fresh.attempts == stale.attempts + 1
    assert await processor.QUEUE.settle([item_id], stale.attempts, error="stale") == 0
    assert (await InboxItem.get(id=item_id)).error == ""


def test_both_queues_are_one_mechanism():
    assert isinstance(processor.QUEUE, WorkQueue) and isinstance(claims.QUEUE, WorkQueue)
    for queue in (processor.QUEUE, claims.QUEUE):
        assert "SKIP LOCKED" in queue.claim_statement("postgres")
        assert "RETURNING" in queue.claim_statement("sqlite")
    assert processor.QUEUE.lease == claims.QUEUE.lease


# --- one retry rule -----------------------------------------------------------------------


def test_one_rule_says_which_statuses_are_worth_retrying():
    for status in range(300, 600):
        final = errors.is_final(status)
        assert policy.is_permanent(status) is final
        assert FetchError("refused", status).retry is not final
        assert FederationError("refused", status).retry is not final
    assert {s for s in range(400, 600) if not errors.is_final(s)} >= {401, 408, 429, 500, 503}
    assert errors.is_final(404) and errors.is_final(410) and errors.is_final(501)


@pytest.fixture
async def answering() -> AsyncIterator[Callable[[int], str]]:
    """A server on loopback whose /status/{code} answers that code."""

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]))

    application = web.Application()
    application.router.add_get("/status/{code}", status)
    runner = web.AppRunner(application)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield lambda code: f"http://127.0.0.1:{port}/status/{code}"
    await runner.cleanup()


@pytest.mark.parametrize(("code", "retry"), [(404, False), (403, False), (503, True)])
async def test_fetching_an_actor_or_a_post_follows_the_one_rule(app, answering, code, retry):
    """Before, an actor that answered 404 was retried for an hour (only 410 was final)
    while a post that answered 404 was not: two rules."""
    with pytest.raises(RemoteActorError) as actor:
        await remote_actors.resolve_actor(answering(code))
    with pytest.raises(remote_posts.NotTaken) as post:
        await remote_posts.fetch(answering(code))
    assert f"HTTP {code}" in actor.value.reason and f"HTTP {code}" in post.value.reason
    assert actor.value.retry is retry
    assert post.value.retry is retry


# --- one error type -----------------------------------------------------------------------


def test_every_federation_error_carries_reason_status_and_retry():
    made = [
        FetchError("timed out"),
        FetchError("refused", 502),
        SignatureError("bad signature"),
        signed_requests.Unverified(403, "blocked"),
        InboxRefusal(404, "no such person here"),
        ActivityError("no type"),
        HandlerError("down", retry=True),
        RemoteActorError("gone"),
        remote_posts.NotTaken("gone"),
        outbox_routes.Refused(400, "before must be an id"),
    ]
    for error in made:
        assert isinstance(error, FederationError), type(error)
        assert error.reason and isinstance(error.retry, bool)
    statuses = [error.status for error in made]
    assert statuses == [None, 502, 401, 403, 404, 400, None, None, None, 400]
    assert [error.retry for error in made] == [
        True,
        True,
        False,
        False,
        False,
        False,
        True,
        False,
        False,
        False,
    ]


def test_there_is_one_unreachable():
    assert remote_people.Unreachable is remote_directory.Unreachable is Unreachable
    assert Unreachable.retry


def test_each_boundary_maps_an_error_once():
    assert errors.answer(InboxRefusal(413, "too big")) == (413, {"error": "too big"}, {})
    assert errors.answer(InboxRefusal(503, "later", retry=True)) == (
        503,
        {"error": "later"},
        {"Retry-After": errors.RETRY_AFTER},
    )
    assert errors.answer(HandlerError("no status")) == (400, {"error": "no status"}, {})
    assert Outcome.of(FetchError("refused", 410)) == Outcome(
        Result.FAILED, 410, "refused (HTTP 410)"
    )
    assert Outcome.of(FetchError("timed out")).result is Result.RETRY
