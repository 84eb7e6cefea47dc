"""Federation throughput: outbound deliveries per second of one worker process, beside this
machine's RSA-2048 signing rate measured in the same run, and inbound accepts and processed
activities per second. Prints figures, judges nothing.

    .venv/bin/python bench/federation.py [--part both|outbound|inbound] [--deliveries 3000]
        [--database-url postgres://...] [--activities 5000] [--concurrency 32] [--runs 1]

Why: every delivery is signed with RSA-2048; the ratio of deliveries to one core's signing
rate says how much the rest (claiming, HTTP, recording) costs; the federation issue's goal
is at least 60 % of the sign-bound rate. The worker signs in threads (cryptography releases
the GIL while signing), so on several cores the ratio can pass 100 %; "per CPU-second"
divides by the process's CPU time over all its threads instead.

Outbound: a sink inbox runs in a subprocess (aiohttp.web on 127.0.0.1, on its own core:
it reads each body and answers 202, no verification). This process creates a local actor
with a key pair and queues ``--deliveries`` Create activities of about 2 KB, one inbox each
(one remote host, as when one busy server receives a burst), then runs the worker's
delivery loop (``outbox.worker.delivery_loop``, its default limits unless given) until
every delivery is recorded done. The clock runs from the loop's start to the last record.
The database is a fresh SQLite file in a temporary folder, or ``--database-url`` (migrated
if needed; the benchmark's own rows are deleted afterwards).

"Deliveries per CPU-second" is deliveries over the process's CPU time (all threads): on a
busy machine it is steadier than deliveries/s. The
load average says how busy the machine was.

Inbound (goals: 2,000 accepts/s, 500 processed/s): a real ``fediverse-intranet serve``
process (one uvicorn web process, background work off, fresh SQLite) receives
``--activities`` signed Create{Note} POSTs addressed to a person there, ``--concurrency`` at a
time, from this process (on two or more cores the instance's processes run on core 1 and
this one on core 0); the requests are signed before the clock starts. The sender's actor
document is served by this process and fetched once (its key is then cached). "Accepts/s" is
202s per second: size, JSON, policy, signature and origin checked, stored durably. Then one
``fediverse-intranet worker`` process handles the queue; "processed/s" is activities over
the time until none is pending, once with the worker's start-up (imports, connecting) and
once from the first activity done, with the outcomes (stored, ignored, failed) counted. Load
generator and server share the machine's cores: on 2 cores the figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from sink import running_sink  # bench/sink.py: this folder is on sys.path when run

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BODY_BYTES = 2048
BASE_URL = "http://intranet.bench"


# --- the sign-bound rate ------------------------------------------------------------------


def sign_rate(seconds: float = 2.0) -> float:
    """RSA-2048 PKCS#1 v1.5 SHA-256 signatures per second on one core, over a signing
    string shaped like a delivery's."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    message = (
        "(request-target): post /inbox\nhost: 127.0.0.1:40000\n"
        "date: Mon, 01 Jan 2024 00:00:00 GMT\ndigest: SHA-256=" + "A" * 44 + "\n"
        "content-type: application/activity+json"
    ).encode()
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(50):
            key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        count += 50
    return count / elapsed


# --- outbound -----------------------------------------------------------------------------


@dataclass
class Outbound:
    database: str
    deliveries: int
    seconds: float
    cpu_seconds: float
    max_in_flight: int
    per_host: int

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds


def _activity(n: int, actor_uri: str, run: str) -> str:
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{BASE_URL}/activities/{run}/{n}",
        "type": "Create",
        "actor": actor_uri,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"type": "Note", "content": ""},
    }
    padding = BODY_BYTES - len(json.dumps(activity, separators=(",", ":")).encode())
    activity["object"]["content"] = "x" * max(0, padding)
    return json.dumps(activity, separators=(",", ":"))


async def outbound(args: argparse.Namespace, inbox: str, data_dir: str) -> Outbound:
    from fediverse_intranet import db, instance, urls
    from fediverse_intranet.models import Actor, Delivery, WorkState
    from fediverse_intranet.services import clock, keys, remote_client
    from fediverse_intranet.settings import load_settings
    from outbox import deliver, worker

    env = {
        "FI_DATA_DIR": data_dir,
        "FI_BASE_URL": BASE_URL,
        "FI_FEDERATION_PRIVATE_NETWORKS": "127.0.0.0/8",
    }
    if args.database_url:
        env["FI_DATABASE_URL"] = args.database_url
    settings = load_settings(env)
    instance.configure(settings)
    await db.migrate(settings.database_url)
    await db.connect(settings)
    run = secrets.token_hex(4)
    username = f"bench{run}"
    actor = await Actor.create(username=username, uri=urls.actor_uri(username))
    try:
        await keys.ensure_keys(actor)
        now = clock.now()
        rows = [
            Delivery(
                activity_id=f"{BASE_URL}/activities/{run}/{n}",
                body=_activity(n, actor.uri, run),
                inbox_url=inbox,
                host=inbox.split("/")[2],
                signer=actor,
                next_attempt_at=now,
            )
            for n in range(args.deliveries)
        ]
        await Delivery.bulk_create(rows, batch_size=500)

        stop = asyncio.Event()
        limits = {
            "max_in_flight": args.in_flight or deliver.MAX_IN_FLIGHT,
            "per_host": args.per_host or deliver.PER_HOST,
        }
        cpu0, start = time.process_time(), time.perf_counter()
        loop = asyncio.create_task(worker.delivery_loop(stop, **limits))
        mine = Delivery.filter(signer_id=actor.id, state=WorkState.DONE)
        while await mine.count() < args.deliveries:  # ~1 ms a poll
            if loop.done():
                await loop  # raises what ended it
                raise RuntimeError("the delivery loop ended early")
            await asyncio.sleep(0.1)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu0
        stop.set()
        await loop
        failed = await Delivery.filter(signer_id=actor.id).exclude(state=WorkState.DONE).count()
        if failed:
            print(f"warning: {failed} deliveries not done", file=sys.stderr)
        return Outbound(
            database="PostgreSQL" if not settings.is_sqlite else "SQLite",
            deliveries=args.deliveries,
            seconds=seconds,
            cpu_seconds=cpu,
            **limits,
        )
    finally:
        await Actor.filter(id=actor.id).delete()  # its deliveries go with it (cascade)
        await remote_client.close()
        await db.disconnect()


# --- inbound ------------------------------------------------------------------------------

SENDERS = 20  # people at the remote server who send; the worker handles them side by side


@dataclass
class Inbound:
    activities: int
    accept_seconds: float
    accepted: int
    concurrency: int
    process_seconds: float  # from starting the worker process, its start-up included
    steady_rate: float  # activities/s from the first done to the last: start-up excluded
    outcomes: dict[str, int]

    @property
    def accept_rate(self) -> float:
        return self.accepted / self.accept_seconds

    @property
    def process_rate(self) -> float:
        return self.activities / self.process_seconds


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.asynccontextmanager
async def _peer(key_pem: str) -> AsyncIterator[str]:
    """The remote server whose person signs the activities: serves only the actor document
    (fetched once by the instance, then cached). Yields the server's base URL; its people
    are ``/users/sender<n>``, all with the same key."""
    from aiohttp import web

    holder: dict[str, str] = {}

    async def actor(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        uri = f"{holder['base']}/users/{name}"
        document = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": uri,
            "type": "Person",
            "preferredUsername": name,
            "inbox": f"{uri}/inbox",
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": key_pem},
        }
        return web.json_response(document, content_type="application/activity+json")

    app = web.Application()
    app.router.add_get("/users/{name}", actor)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    holder["base"] = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield holder["base"]
    finally:
        await runner.cleanup()


def _signed_creates(
    count: int, peer: str, key_pem: str, inbox: str, recipient: str
) -> list[tuple[bytes, dict[str, str]]]:
    """Signed POSTs of Create{Note} addressed to a person here (so the worker stores each
    post), from SENDERS people in turn, made before the clock starts: the sender's signing
    is not what is measured."""
    from activitypub.signatures import sign_request

    requests = []
    for n in range(count):
        actor_uri = f"{peer}/users/sender{n % SENDERS}"
        note_id = f"{actor_uri}/notes/{n}"
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{note_id}/activity",
            "type": "Create",
            "actor": actor_uri,
            "to": [recipient],
            "object": {
                "id": note_id,
                "type": "Note",
                "attributedTo": actor_uri,
                "to": [recipient],
                "content": f"<p>Bench note {n}: "
                + "hoe vraag ik een paspoort aan voor een minderjarige? " * 8
                + "</p>",
                "published": "2026-11-22T10:00:00Z",
            },
        }
        body = json.dumps(activity, separators=(",", ":")).encode()
        headers = sign_request(
            "POST",
            inbox,
            {"Content-Type": "application/activity+json"},
            body,
            f"{actor_uri}#main-key",
            key_pem,
        )
        requests.append((body, headers))
    return requests


async def _post_all(
    inbox: str, requests: list[tuple[bytes, dict[str, str]]], concurrency: int
) -> tuple[float, int, dict[int, int]]:
    """POST every request, ``concurrency`` at a time; (seconds, accepted, statuses)."""
    import aiohttp

    statuses: dict[int, int] = {}
    pending = iter(requests)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def sender() -> None:
            for body, headers in pending:
                async with session.post(inbox, data=body, headers=headers) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1

        start = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        seconds = time.perf_counter() - start
    return seconds, statuses.get(202, 0), statuses


async def _wait_until_up(url: str, process: asyncio.subprocess.Process) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if process.returncode is not None:
                raise RuntimeError("the instance did not start")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError("the instance did not answer /healthz in 30 s")


def _queue_counts(database: Path) -> dict[str, int]:
    """Inbox items by outcome, read straight from the instance's SQLite file."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(database)) as conn:
        rows = conn.execute(
            "SELECT state, CASE WHEN error LIKE 'ignored:%' THEN 'ignored' ELSE '' END, "
            "count(*) FROM inbox_item GROUP BY 1, 2"
        ).fetchall()
        posts = conn.execute(
            "SELECT count(*) FROM post p JOIN actor a ON a.id = p.author_id WHERE a.domain != ''"
        ).fetchone()[0]
    counts = {f"{state}{' (' + note + ')' if note else ''}": n for state, note, n in rows}
    counts["remote posts stored"] = posts
    return counts


SERVER_CORE, GENERATOR_CORE = 1, 0


def _on_core(core: int) -> Callable[[], None] | None:
    """Pin a process to one core when there are two or more: the instance measured on one,
    this load generator on the other, so neither takes the other's time (unpinned, the
    accept rate varied by a quarter from run to run on this 2-core machine)."""
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return None
    return lambda: os.sched_setaffinity(0, {core})


async def inbound(args: argparse.Namespace, data_dir: str) -> Inbound:
    """One web process (uvicorn, as ``serve`` runs it, background work off) takes signed
    Creates; then one ``fediverse-intranet worker`` process processes them."""
    from activitypub.keys import generate_rsa_key_pair

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "FI_DATA_DIR": data_dir,
        "FI_BASE_URL": base,
        "FI_PORT": str(port),
        "FI_BIND_HOST": "127.0.0.1",
        "FI_FEDERATION_PRIVATE_NETWORKS": "127.0.0.0/8",
        "FI_WORKER_IN_WEB": "false",
    }
    cli = [sys.executable, "-m", "fediverse_intranet.cli"]

    async def run(*argv: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *cli,
            *argv,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            preexec_fn=_on_core(SERVER_CORE),
        )

    if await (await run("migrate")).wait() != 0:
        raise RuntimeError("could not migrate the database")
    setup = await run(
        "user",
        "create",
        "ontvanger",
        "--email",
        "o@bench.example",
        "--password",
        "bench-password-1",
    )
    if await setup.wait() != 0:
        raise RuntimeError("could not create the receiving person")
    keys = generate_rsa_key_pair()
    pin_generator = _on_core(GENERATOR_CORE)
    if pin_generator is not None:
        pin_generator()
    async with _peer(keys.public_pem) as peer:
        inbox, recipient = f"{base}/inbox", f"{base}/users/ontvanger"
        requests = _signed_creates(args.activities, peer, keys.private_pem, inbox, recipient)
        server = await run("serve")
        try:
            await _wait_until_up(f"{base}/healthz", server)
            await _post_all(inbox, requests[:SENDERS], 4)  # each key fetched once, connections warm
            seconds, accepted, statuses = await _post_all(
                inbox, requests[SENDERS:], args.concurrency
            )
        finally:
            server.terminate()
            await server.wait()
        if accepted != len(requests) - SENDERS:
            print(f"warning: answers {statuses}", file=sys.stderr)
        database = Path(data_dir) / "db.sqlite3"
        worker = await run("worker")
        start = time.perf_counter()
        running: tuple[float, int] | None = None  # when the first were done, and how many left
        try:
            while pending := _queue_counts(database).get("pending", 0):
                if worker.returncode is not None:
                    raise RuntimeError("the worker ended early")
                if running is None and pending < len(requests):
                    running = (time.perf_counter(), pending)
                await asyncio.sleep(0.05)
            end = time.perf_counter()
            process_seconds = end - start
            steady_rate = running[1] / (end - running[0]) if running else 0.0
        finally:
            worker.terminate()
            await worker.wait()
    return Inbound(
        activities=len(requests),
        accept_seconds=seconds,
        accepted=accepted,
        concurrency=args.concurrency,
        process_seconds=process_seconds,
        steady_rate=steady_rate,
        outcomes=_queue_counts(database),
    )


def report(out: Outbound | None, inb: Inbound | None, signs_per_second: float, loop: str) -> None:
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, {loop} event loop")
    print(f"RSA-2048 signs/s, one core    {signs_per_second:>8.0f}")
    if out is not None:
        report_outbound(out, signs_per_second)
    if inb is not None:
        report_inbound(inb)
    print(f"\nload average (1 min) after    {os.getloadavg()[0]:>8.2f}")


def report_outbound(out: Outbound, signs_per_second: float) -> None:
    print(
        f"\noutbound: one worker process's delivery loop, {out.max_in_flight} in flight, "
        f"{out.per_host} per host, one host, {BODY_BYTES}-byte bodies, {out.database}, "
        "sink in a subprocess (aiohttp.web, 202)"
    )
    print(f"  deliveries                  {out.deliveries:>8}")
    print(f"  seconds                     {out.seconds:>8.2f}")
    print(f"  deliveries/s                {out.rate:>8.0f}")
    per_cpu_second = out.deliveries / out.cpu_seconds
    print(f"  CPU ms per delivery         {out.cpu_seconds / out.deliveries * 1000:>8.2f}")
    print(f"  deliveries per CPU-second   {per_cpu_second:>8.0f}")
    print(f"  RSA-2048 signs/s, one core  {signs_per_second:>8.0f}")
    print(f"  deliveries/s / signs/s      {out.rate / signs_per_second:>8.0%}")
    print(f"  per CPU-second / signs/s    {per_cpu_second / signs_per_second:>8.0%}")


def report_inbound(inb: Inbound) -> None:
    print(
        "\ninbound: one web process (uvicorn, background work off), SQLite; "
        f"signed Create{{Note}} POSTs, {inb.concurrency} at a time from this process"
    )
    print(f"  accepted (202)              {inb.accepted:>8}")
    print(f"  seconds                     {inb.accept_seconds:>8.2f}")
    print(f"  accepts/s (verified, stored){inb.accept_rate:>8.0f}")
    print("then one `fediverse-intranet worker` process handles the queue")
    print(f"  activities                  {inb.activities:>8}")
    print(f"  seconds, start-up included  {inb.process_seconds:>8.2f}")
    print(f"  processed/s, same           {inb.process_rate:>8.0f}")
    print(f"  processed/s once running    {inb.steady_rate:>8.0f}")
    for outcome, n in sorted(inb.outcomes.items()):
        print(f"  {outcome:<28}{n:>8}")


async def _main(args: argparse.Namespace) -> None:
    signs = sign_rate(args.sign_seconds)
    out = inb = None
    if args.part in ("both", "outbound"):
        async with running_sink() as inbox_url:
            with tempfile.TemporaryDirectory(prefix="fi-bench-") as data_dir:
                out = await outbound(args, inbox_url, data_dir)
    if args.part in ("both", "inbound"):
        runs = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="fi-bench-") as data_dir:
                runs.append(await inbound(args, data_dir))
        inb = runs[0] if len(runs) == 1 else _median_run(runs)
    report(out, inb, signs, args.loop)


def _median_run(runs: list[Inbound]) -> Inbound:
    """Each run on a line, and the median of each rate (this machine's speed varies by a
    fifth from minute to minute: one run alone can mislead)."""
    print(f"inbound, {len(runs)} runs: accepts/s, processed/s once running")
    for n, run in enumerate(runs, 1):
        print(f"  run {n}: {run.accept_rate:6.0f} {run.steady_rate:6.0f}")
    middle = len(runs) // 2
    by_accepts = sorted(runs, key=lambda run: run.accept_rate)[middle]
    by_processing = sorted(runs, key=lambda run: run.steady_rate)[middle]
    return dataclasses.replace(
        by_accepts,
        process_seconds=by_processing.process_seconds,
        steady_rate=by_processing.steady_rate,
        outcomes=by_processing.outcomes,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["both", "outbound", "inbound"], default="both")
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--activities", type=int, default=5000, help="inbound POSTs")
    parser.add_argument("--concurrency", type=int, default=32, help="inbound POSTs at once")
    parser.add_argument("--runs", type=int, default=1, help="inbound runs; medians printed")
    parser.add_argument("--in-flight", type=int, default=0, help="default: the worker's")
    parser.add_argument("--per-host", type=int, default=0, help="default: the worker's")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--sign-seconds", type=float, default=2.0)
    parser.add_argument(
        "--loop",
        choices=["asyncio", "uvloop"],
        default="asyncio",
        help="asyncio: what `fediverse-intranet worker` runs; uvloop: what uvicorn picks",
    )
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        uvloop.run(_main(args))
    else:
        asyncio.run(_main(args))


if __name__ == "__main__":
    main()
