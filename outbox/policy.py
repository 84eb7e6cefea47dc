"""When to try a delivery again, when to give up, and when to leave a failing server alone.

Pure functions of counts and times, so the numbers can be read and tested in one place. The
choices follow Mastodon, the server most of our peers run or imitate (mastodon/mastodon):

- Which answers are final: the one rule for every exchange, ``activitypub.errors``
  (Mastodon's ``response_error_unsalvageable?``: 501, or any 4xx except 401, 408 and 429).
  ``ActivityPub::DeliveryWorker`` (app/workers/activitypub/delivery_worker.rb) stops on
  those and retries everything else: other 5xx, 3xx (redirects are not followed), timeouts
  and network errors.
- How long to retry: the same worker has ``retry: 16`` with
  ``sidekiq_retry_in { (count**4) + 15 + rand(0.5 * count**4) }``, about 50 h before
  jitter (sum of c^4 + 15 for c = 0..15 is 178,552 s) and about 62 h on average with it.
  We retry for about two days as well, with fewer, rounder steps (see ``BACKOFF``).
- Host health: Mastodon counts failed attempts per host two ways. A circuit breaker
  (Stoplight, ``STOPLIGHT_FAILURE_THRESHOLD = 10``, ``STOPLIGHT_COOL_OFF_TIME = 60`` s)
  stops sending to an inbox after 10 consecutive failures and tries it again a minute
  later; ``DeliveryFailureTracker`` (app/lib/delivery_failure_tracker.rb,
  ``FAILURE_DAYS_THRESHOLD = 7``) marks a domain unavailable after failures on 7 different
  days and sends nothing more until it hears from it. An answer that is final (a 410) counts
  neither as a failure nor as a success there, and any 2xx resets the host. We keep the
  breaker's threshold and first rest, and let the rest double with each failed probe up to
  ``HOST_REST_MAX``; deliveries waiting for a resting host do not use up their attempts,
  and ``MAX_AGE`` bounds how long they may wait.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from activitypub import errors
from fediverse_intranet.services import work_queue

# Delay after the n-th failed attempt (BACKOFF[n - 1]); after the last one we give up.
# Eight attempts in all, the last about 44.6 h after the first (36-54 h with jitter).
BACKOFF: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
# Each delay is stretched or shrunk by up to this fraction, so deliveries that failed
# together (a server restarting) do not all come back in the same second.
JITTER = 0.2
# A delivery older than this is failed without being sent: it waited behind a resting host
# for longer than its own retries could have lasted (the longest schedule is about 54 h).
MAX_AGE = timedelta(days=3)

# Consecutive failed attempts to one host (no success in between) that make it rest.
HOST_FAILURE_THRESHOLD = 10
HOST_REST_FIRST = timedelta(minutes=1)
HOST_REST_MAX = timedelta(hours=12)


def next_attempt(
    attempts: int, now: datetime, *, jitter: Callable[[], float] = random.random
) -> datetime | None:
    """When to try again after ``attempts`` failed attempts, or None to give up.

    ``jitter`` returns a number in [0, 1); 0.5 gives the nominal delay. It is a parameter
    so that tests can pin it.
    """
    return work_queue.retry_at(BACKOFF, attempts, now, spread=JITTER, jitter=jitter)


is_success = errors.is_success
is_permanent = errors.is_final  # the one rule, shared with every fetch


def expired(created_at: datetime, now: datetime) -> bool:
    """A delivery too old to send: its news is stale and its retries would be over."""
    return now - created_at > MAX_AGE


def host_rest(failures: int) -> timedelta | None:
    """How long a host rests after ``failures`` consecutive failures; None: not yet.

    The rest doubles with every failed probe (1, 2, 4 ... min), up to ``HOST_REST_MAX``.
    """
    if failures < HOST_FAILURE_THRESHOLD:
        return None
    doublings = min(failures - HOST_FAILURE_THRESHOLD, 16)
    return min(HOST_REST_FIRST * (2**doublings), HOST_REST_MAX)
