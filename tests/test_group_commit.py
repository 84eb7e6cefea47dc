"""``inbox.group_commit``: rows of concurrent requests written together, none lost."""

from __future__ import annotations

import asyncio

import pytest

from inbox.group_commit import GroupCommit


class Table:
    """A stand-in database table that refuses the row "bad" (and any write holding it)."""

    def __init__(self) -> None:
        self.rows: list[str] = []
        self.writes: list[list[str]] = []

    async def write(self, rows: list[str]) -> None:
        self.writes.append(rows)
        await asyncio.sleep(0.01)  # the commit takes a moment: more requests arrive meanwhile
        if "bad" in rows:
            raise ValueError("refused")
        self.rows.extend(rows)


async def test_rows_arriving_during_a_write_share_the_next_one():
    table = Table()
    commit = GroupCommit(table.write)
    first = asyncio.create_task(commit.add("r0"))
    await asyncio.sleep(0)  # the first is being written
    await asyncio.gather(first, *(commit.add(f"r{n}") for n in range(1, 40)))
    assert sorted(table.rows) == sorted(f"r{n}" for n in range(40))
    assert len(table.writes) == 2  # one alone, then the 39 that waited for it


async def test_one_refused_row_fails_only_its_own_request():
    table = Table()
    commit = GroupCommit(table.write)
    results = await asyncio.gather(
        *(commit.add(row) for row in ["a", "bad", "b"]), return_exceptions=True
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ValueError)
    assert sorted(table.rows) == ["a", "b"]


async def test_a_request_that_goes_away_does_not_stop_the_write():
    table = Table()
    commit = GroupCommit(table.write)
    leaving = asyncio.create_task(commit.add("gone"))
    staying = asyncio.create_task(commit.add("kept"))
    await asyncio.sleep(0)
    leaving.cancel()
    await staying
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert sorted(table.rows) == ["gone", "kept"]
