"""Federation throughput: outbound deliveries per second of one worker process, beside this
machine's RSA-2048 signing rate measured in the same run. Prints figures, judges nothing.

    .venv/bin/python bench/federation.py [--deliveries 3000] [--database-url postgres://...]

Why: every delivery is signed with RSA-2048, which holds the GIL, so one process can never
deliver faster than it can sign. The ratio of the two says how much the rest (claiming,
HTTP, recording) costs; the federation issue's goal is at least 60 % of the sign-bound rate.

Outbound: a sink inbox runs in a subprocess (aiohttp.web on 127.0.0.1, on its own core:
it reads each body and answers 202, no verification). This process creates a local actor
with a key pair and queues ``--deliveries`` Create activities of about 2 KB, one inbox each
(one remote host, as when one busy server receives a burst), then runs the worker's
delivery loop (``outbox.worker.delivery_loop``, its default limits unless given) until
every delivery is recorded done. The clock runs from the loop's start to the last record.
The database is a fresh SQLite file in a temporary folder, or ``--database-url`` (migrated
if needed; the benchmark's own rows are deleted afterwards).

"Deliveries per CPU-second" is the rate the worker would reach with a core to itself (its
process CPU time, not wall time): on a busy machine it is steadier than deliveries/s. The
load average says how busy the machine was.

Inbound: marked places below (``INBOUND``) are left for the inbox figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import sys
import tempfile
import time
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
    from fediverse_intranet import db, instance
    from fediverse_intranet.models import Actor, Delivery, WorkState
    from fediverse_intranet.services import clock, keys, remote_client
    from fediverse_intranet.settings import load_settings
    from outbox import deliver, worker

    env = {
        "FI_DATA_DIR": data_dir,
        "FI_BASE_URL": BASE_URL,
        "FI_FEDERATION_ALLOW_PRIVATE": "true",
    }
    if args.database_url:
        env["FI_DATABASE_URL"] = args.database_url
    settings = load_settings(env)
    instance.configure(settings)
    await db.migrate(settings.database_url)
    await db.connect(settings)
    run = secrets.token_hex(4)
    username = f"bench{run}"
    actor = await Actor.create(username=username, uri=instance.actor_uri(username))
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


# --- INBOUND: to be added by the inbox work -----------------------------------------------
# Measure verified inbox POSTs per second (size cap, parse, signature verify, durable insert)
# here, return the figures, and print them in the INBOUND place of ``report`` below.


def report(out: Outbound, signs_per_second: float, loop: str) -> None:
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} cores, {loop} event loop, "
        f"sink in a subprocess (aiohttp.web, 202), {out.database}"
    )
    print(
        f"\noutbound: one worker process's delivery loop, {out.max_in_flight} in flight, "
        f"{out.per_host} per host, one host, {BODY_BYTES}-byte bodies"
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
    print(f"  load average (1 min) after  {os.getloadavg()[0]:>8.2f}")
    # INBOUND: print the inbox figures here (verified POSTs/s beside the verify rate).
    print("\ninbound: not measured yet")


async def _main(args: argparse.Namespace) -> None:
    signs = sign_rate(args.sign_seconds)
    async with running_sink() as inbox_url:
        with tempfile.TemporaryDirectory(prefix="fi-bench-") as data_dir:
            out = await outbound(args, inbox_url, data_dir)
    report(out, signs, args.loop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=3000)
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
