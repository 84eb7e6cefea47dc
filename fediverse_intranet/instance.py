"""The settings of the instance this process serves, set once at start-up.

Ids (URLs under the base URL, ``fediverse_intranet.urls``) are built from here instead of
threading settings through every call.
"""

from __future__ import annotations

from fediverse_intranet.settings import Settings

_current: Settings | None = None


def configure(settings: Settings) -> None:
    global _current
    _current = settings


def current() -> Settings:
    if _current is None:
        raise RuntimeError("fediverse_intranet.instance.configure() was not called")
    return _current
