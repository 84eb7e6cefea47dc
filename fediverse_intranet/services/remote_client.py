"""The one HTTP client this process uses to talk to other servers, made from the settings."""

from __future__ import annotations

from activitypub.fetch import Fetcher
from fediverse_intranet import instance

_fetcher: Fetcher | None = None


def fetcher() -> Fetcher:
    global _fetcher
    if _fetcher is None:
        settings = instance.current()
        _fetcher = Fetcher(
            settings.base_url,
            allow_private=settings.federation_allow_private,
            extra_ca_file=settings.extra_ca_file or None,
        )
    return _fetcher


async def close() -> None:
    global _fetcher
    if _fetcher is not None:
        await _fetcher.close()
        _fetcher = None
