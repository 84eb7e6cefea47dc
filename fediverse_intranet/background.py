"""Everything that runs in the background, composed in one place for ``serve`` and ``worker``:
the outbox worker (deliveries, housekeeping) and the inbox processor (received activities)."""

from __future__ import annotations

import asyncio

from inbox import processor
from outbox import worker


async def run(stop: asyncio.Event) -> None:
    """Until ``stop`` is set; each loop survives its own failed rounds."""
    await asyncio.gather(processor.run(stop), worker.run(stop))
