"""Delivery-shaped HTTP client benchmark: httpx vs aiohttp. Prints figures, judges nothing.

    .venv/bin/python bench/http_client.py [--duration 5] [--concurrency 50] [--rounds 1]

Why: every outbound delivery is one POST of a small JSON body, many in flight at once, so the
client's cost per request bounds how fast the outbox drains (PLATFORM.md quotes 520-675
signed deliveries/s with aiohttp vs 140-220/s with httpx; the federation issue says to choose
by measurement). This measures the client alone, without signing.

A minimal aiohttp.web server runs in a subprocess on 127.0.0.1 (its own core: the machine has
two) and answers every POST with 202 after reading the body. Each client then POSTs a 2 KB
JSON body from ``--concurrency`` tasks for ``--duration`` seconds after a one second warm-up,
over keep-alive connections. Rows: bare httpx.AsyncClient, bare aiohttp.ClientSession, and
``activitypub.fetch.Fetcher.post`` (aiohttp plus the address guard), so the guard's cost shows.
Clients alternate within each round to spread out drift. Figures: requests/s, latency
percentiles, client CPU per request (the delivery worker shares its core with RSA signing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from sink import running_sink  # bench/sink.py: this folder is on sys.path when run

ROOT = Path(__file__).resolve().parent.parent
Post = Callable[[], Awaitable[int]]


def _body() -> bytes:
    """A Create/Note activity padded to about 2 KB, like a typical delivery."""
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://intranet.bench/activities/1",
        "type": "Create",
        "actor": "https://intranet.bench/users/alice",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"type": "Note", "content": ""},
    }
    base = len(json.dumps(activity).encode())
    activity["object"]["content"] = "x" * (2048 - base)
    return json.dumps(activity).encode()


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    cpu: float
    latencies: list[float]


async def _drive(name: str, post: Post, concurrency: int, duration: float) -> Result:
    """Warm up for a second, then count completed requests from ``concurrency`` tasks."""
    latencies: list[float] = []
    errors = 0
    measuring = False
    stop_at = 0.0

    async def worker() -> None:
        nonlocal errors
        while True:
            start = time.perf_counter()
            if measuring and start >= stop_at:
                return
            try:
                status = await post()
            except Exception:
                status = 0
            if measuring:
                latencies.append(time.perf_counter() - start)
                if not 200 <= status < 300:
                    errors += 1

    warm_until = time.perf_counter() + 1.0
    tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
    await asyncio.sleep(max(0.0, warm_until - time.perf_counter()))
    cpu0, t0 = time.process_time(), time.perf_counter()
    stop_at = t0 + duration
    measuring = True
    await asyncio.gather(*tasks)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return Result(name, len(latencies), errors, seconds, cpu, latencies)


async def _httpx(url: str, body: bytes, headers: dict[str, str], run: Callable) -> Result:
    import httpx

    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits) as client:

        async def post() -> int:
            response = await client.post(url, content=body, headers=headers)
            return response.status_code

        return await run(f"httpx {httpx.__version__}", post)


async def _aiohttp(url: str, body: bytes, headers: dict[str, str], run: Callable) -> Result:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post() -> int:
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                return response.status

        return await run(f"aiohttp {aiohttp.__version__}", post)


async def _fetcher(url: str, body: bytes, headers: dict[str, str], run: Callable) -> Result:
    sys.path.insert(0, str(ROOT))
    from activitypub.fetch import Fetcher

    async with Fetcher("http://intranet.bench", allowed_networks=["127.0.0.0/8"]) as fetcher:

        async def post() -> int:
            status, _ = await fetcher.post(url, body, headers)
            return status

        return await run("Fetcher.post (aiohttp)", post)


def _print(results: list[Result]) -> None:
    print(
        f"{'client':<26}{'requests':>9}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'CPU us/req':>11}{'errors':>8}"
    )
    for r in results:
        ordered = sorted(r.latencies) or [0.0]
        p50 = statistics.median(ordered) * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        cpu_per = r.cpu / max(r.requests, 1) * 1e6
        print(
            f"{r.name:<26}{r.requests:>9}{r.requests / r.seconds:>9.0f}{p50:>8.1f}"
            f"{p99:>8.1f}{cpu_per:>11.0f}{r.errors:>8}"
        )


async def _main(args: argparse.Namespace) -> None:
    async with running_sink() as url:
        body = _body()
        headers = {"Content-Type": "application/activity+json"}

        async def run(name: str, post: Post) -> Result:
            return await _drive(name, post, args.concurrency, args.duration)

        clients = [_httpx, _aiohttp]
        if not args.no_fetcher:
            clients.append(_fetcher)
        print(
            f"Python {platform.python_version()}, {args.concurrency} concurrent POSTs of "
            f"{len(body)} bytes, {args.duration:g} s each after 1 s warm-up, server in a "
            f"subprocess (aiohttp.web), default asyncio loop"
        )
        for round_ in range(args.rounds):
            order = clients if round_ % 2 == 0 else list(reversed(clients))
            results = [await client(url, body, headers, run) for client in order]
            print(f"\nround {round_ + 1}")
            _print(sorted(results, key=lambda r: r.name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--no-fetcher", action="store_true", help="skip the Fetcher.post row")
    args = parser.parse_args()
    asyncio.run(_main(args))


if __name__ == "__main__":
    main()
