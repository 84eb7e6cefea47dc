"""Nothing is lost, nothing doubled: the receiving instance is killed (SIGKILL, as in a crash)
in the middle of a burst of 50 posts, started again, and every post arrives exactly once."""

from __future__ import annotations

import asyncio

from tests.federation.conftest import Federation
from tests.federation.instances import Instance
from tests.federation.people import eventually, text_of
from tests.federation.test_flows import SignIn, marker

BURST = 50
KILL_AFTER = 5  # posts arrived before the receiver is killed


def fast_forward(sender: Instance, receiver: Instance) -> None:
    """Let the database-kept waits after a crash pass at once, as if the clock moved on.

    The sender retries a failed delivery after a minute (±20 %); the receiver's items that
    the killed process had claimed stay leased to it for five minutes. Both are right for
    production and slow for a test, so their times are moved to now. The sender's rest for a
    host that failed ten times in a row (one minute, kept in the worker's memory too) is
    waited for for real. What is asserted, nothing lost and nothing twice, does not depend on
    any of these times.
    """
    sender.execute("UPDATE delivery SET next_attempt_at = created_at WHERE state = 'pending'")
    receiver.execute(
        "UPDATE inbox_item SET claimed_until = NULL, next_attempt_at = NULL WHERE state = 'pending'"
    )


def arrived(receiver: Instance, author_uri: str, tag: str) -> list[tuple[str, int]]:
    """Each post of the burst the receiver has stored, with how many times it has it."""
    return receiver.query(
        "SELECT post.content_html, count(*) FROM post JOIN actor ON actor.id = post.author_id"
        " WHERE actor.uri = ? AND post.content_html LIKE ? GROUP BY post.content_html",
        author_uri,
        f"%{tag}%",
    )


async def test_receiver_killed_mid_burst_gets_everything_once(
    federation: Federation, sign_in: SignIn
) -> None:
    a, b = federation.a, federation.b
    federation.accounts((a, "rita"), (b, "sam"))
    rita, sam = await sign_in(a, "rita"), await sign_in(b, "sam")
    await rita.ensure_following(sam.handle)
    tag = marker()

    async def burst() -> None:
        for n in range(BURST):
            await sam.write(f"Burst {tag} number {n:02d}")

    posting = asyncio.create_task(burst())

    async def some_arrived() -> bool:
        return len(arrived(a, sam.actor_id, tag)) >= KILL_AFTER

    await eventually(some_arrived, f"the first {KILL_AFTER} posts arrive")
    a.kill()
    await posting  # the rest of the burst is written while the receiver is down
    assert len(arrived(a, sam.actor_id, tag)) < BURST, "the burst was over before the kill"
    a.start()

    async def all_arrived() -> list[tuple[str, int]] | None:
        fast_forward(sender=b, receiver=a)
        stored = arrived(a, sam.actor_id, tag)
        return stored if len(stored) == BURST else None

    stored = await eventually(all_arrived, f"all {BURST} posts arrive", seconds=150)
    assert {count for _, count in stored} == {1}, "a post arrived more than once"

    async def queue_empty() -> bool:
        # Items accepted (202) before the kill, perhaps half processed, are all done.
        return a.query("SELECT count(*) FROM inbox_item WHERE state = 'pending'") == [(0,)]

    await eventually(queue_empty, "gov-a's inbox queue is worked off")
    # rita reads the last post to arrive (after the restart), as any other.
    ((latest,),) = a.query(
        "SELECT max(post.id) FROM post JOIN actor ON actor.id = post.author_id WHERE actor.uri = ?",
        sam.actor_id,
    )
    assert tag in text_of(await rita.page(f"/posts/{latest}"))
