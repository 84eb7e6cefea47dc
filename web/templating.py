"""Jinja2 set-up: autoescaped templates, translations and date formatting in one place."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time, format_timedelta
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse

from fediverse_intranet.services.clock import now
from web import i18n

TIMEZONE = "Europe/Amsterdam"

env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
env.install_gettext_callables(i18n.gettext_, i18n.ngettext_, newstyle=True)  # type: ignore[attr-defined]


def _when(value: datetime | None, style: str = "medium") -> str:
    """A moment in the reader's language; ``day``: the weekday and date with the time in
    minutes, as an event or a poll's end is read ("donderdag 14 mei 2026 19:00")."""
    if value is None:
        return ""
    zone, locale = ZoneInfo(TIMEZONE), i18n.current_locale()
    if style == "day":
        day = format_date(value.astimezone(zone), "full", locale=locale)
        return f"{day} {format_time(value, 'short', tzinfo=zone, locale=locale)}"
    return format_datetime(value, style, tzinfo=zone, locale=locale)


def _ago(value: datetime | None) -> str:
    if value is None:
        return ""
    return format_timedelta(
        value - now(), add_direction=True, threshold=1, locale=i18n.current_locale()
    )


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def _trusted(html: str) -> Markup:
    """Only for HTML that went through ``content.sanitize_html`` before it was stored."""
    return Markup(html)  # noqa: S704


env.filters.update(when=_when, ago=_ago, iso=_iso, sanitised=_trusted)
env.globals.update(language_name=i18n.language_name, LOCALES=i18n.LOCALES)


def render(name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    html = env.get_template(name).render(context)
    return HTMLResponse(html, status_code=status_code)
