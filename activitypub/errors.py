"""One error type for federation, and the one rule for which HTTP answers are worth retrying.

Every failure of an exchange with another server is a :class:`FederationError` (or a
subclass named for where it arises): a ``reason`` a peer or a log can read, the HTTP
``status`` concerned (the one to answer when we refuse something, the one received when a
remote server refused us; None when no HTTP answer is involved) and ``retry``: whether the
same thing may succeed later. Each boundary maps it once: the inbox and the signed-fetch
routes answer ``status`` with the reason as JSON, the delivery worker and the inbox queue
retry or give up by ``retry``.

Which received statuses are final follows Mastodon, the server most of our peers run or
imitate (mastodon/mastodon ``JsonLdHelper#response_error_unsalvageable?``,
app/helpers/json_ld_helper.rb at f7a32a57): ``501``, or any 4xx except 401, 408 and 429.
Everything else is retried: other 5xx, 3xx (redirects a delivery does not follow),
timeouts and network errors. 401 is retried because the receiver may not have fetched a
new key yet; 403, 404 and 410 are not.
"""

from __future__ import annotations

RETRYABLE_4XX = frozenset({401, 408, 429})


def is_success(status: int) -> bool:
    return 200 <= status < 300


def is_final(status: int) -> bool:
    """True when the same request can never succeed, so retrying only wastes both sides'
    time (see the module docstring)."""
    return status == 501 or (400 <= status < 500 and status not in RETRYABLE_4XX)


def worth_retrying(status: int) -> bool:
    """Whether a request answered ``status`` (not a 2xx) may succeed if tried again later."""
    return not is_final(status)


class FederationError(Exception):
    """A federation exchange failed: why, the HTTP status concerned, and whether to retry.

    Without an explicit ``retry``, a received status decides by :func:`worth_retrying`;
    with no status either, the error is final.
    """

    def __init__(self, reason: str, status: int | None = None, *, retry: bool | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        if retry is None:
            retry = status is not None and status >= 300 and worth_retrying(status)
        self.retry = retry


RETRY_AFTER = "60"  # seconds, in answers that say trying again may help


Answer = tuple[int, dict[str, str], dict[str, str]]  # status, JSON body, headers


def answer(error: FederationError, default: int = 400) -> Answer:
    """How a boundary that refuses a peer answers: status, JSON body and headers.

    The error's status (``default`` when it names none), ``{"error": reason}``, and
    ``Retry-After`` when trying again later may help."""
    headers = {"Retry-After": RETRY_AFTER} if error.retry else {}
    return error.status or default, {"error": error.reason}, headers
