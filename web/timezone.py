"""Times people type in forms are local (Europe/Amsterdam); the database keeps UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fediverse_intranet.errors import InvalidInput

LOCAL_ZONE = ZoneInfo("Europe/Amsterdam")


def parse_local_datetime(raw: str, field: str) -> datetime | None:
    """``2026-11-23T17:00`` from a datetime-local input, as UTC; empty means no time."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("Enter a date and time like 2026-11-23 17:00.", field=field) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=LOCAL_ZONE)
    return local.astimezone(UTC)


def local_input_value(value: datetime | None) -> str:
    """The value for a datetime-local input showing a stored UTC time."""
    return value.astimezone(LOCAL_ZONE).strftime("%Y-%m-%dT%H:%M") if value else ""
