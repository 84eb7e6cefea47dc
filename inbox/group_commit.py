"""Accepted activities written to the inbox table together: one INSERT and one commit for all
the requests that arrive while the previous write is under way (group commit).

Why: a peer is answered 202 only once its activity is stored durably, and one INSERT with
its own commit per request cost ~0.7 ms of the accepting process's time (the ORM's insert
plus two hand-offs to the database thread), more than verifying the signature. Written
together, a burst of 32 activities costs about what one did. Nothing is answered before
its row is committed; a request that arrives alone is written at once, without waiting
for company.

If a joint write fails, each row is tried alone, so one row the database refuses does not
fail the others; the requests whose rows were not stored get the error (and answer 503:
the peer tries again later).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Row = TypeVar("Row")

MAX_ROWS = 200  # rows per INSERT (an activity is typically ~2 KB, at most verify.MAX_BODY)


class GroupCommit(Generic[Row]):
    """Rows queued by many requests, written by one task at a time."""

    def __init__(self, write: Callable[[list[Row]], Awaitable[None]]) -> None:
        self._write = write
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[tuple[Row, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, row: Row) -> None:
        """Return once ``row`` is committed; raise what writing it raised."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (each test starts one): start afresh
            self._loop, self._waiting, self._writer = loop, [], None
        stored = loop.create_future()
        self._waiting.append((row, stored))
        if self._writer is None:
            self._writer = loop.create_task(self._write_waiting())
        # The write is the writer task's: a request that goes away (the peer hung up) leaves
        # it alone; its own row is still written, and the peer's retry is a duplicate.
        await stored

    async def _write_waiting(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_ROWS], self._waiting[MAX_ROWS:]
                await self._write_batch(batch)
        finally:
            self._writer = None

    async def _write_batch(self, batch: list[tuple[Row, asyncio.Future[None]]]) -> None:
        failure: Exception | None = None
        try:
            await self._write([row for row, _ in batch])
        except Exception as exc:
            if len(batch) > 1:
                log.warning("a joint inbox write of %s rows failed; writing them alone", len(batch))
                for one in batch:
                    await self._write_batch([one])
                return
            failure = exc
        for _, stored in batch:
            if stored.done():
                continue
            if failure is None:
                stored.set_result(None)
            else:
                stored.set_exception(failure)
