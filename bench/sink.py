"""The inbox the benchmarks deliver to: a separate process that reads each body and answers
202, so the benchmark process measures only the sending side."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path


def serve() -> None:
    """Run the sink; prints its port on the first line of stdout."""
    from aiohttp import web

    async def inbox(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=202, text="")

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/inbox", inbox)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        print(runner.addresses[0][1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


@contextlib.asynccontextmanager
async def running_sink() -> AsyncIterator[str]:
    """Start the sink in its own process; yields its inbox URL and stops it afterwards."""
    server = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__)), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert server.stdout is not None
        port = int(await server.stdout.readline())
        yield f"http://127.0.0.1:{port}/inbox"
    finally:
        server.terminate()
        await server.wait()


if __name__ == "__main__":
    serve()
