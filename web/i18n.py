"""Dutch and English: message catalogues compiled at start-up, chosen per request.

Catalogues are ``web/locale/<lang>/LC_MESSAGES/messages.po`` (extract with ``make messages``);
they are compiled in memory, so no binary .mo files live in the repository.
"""

from __future__ import annotations

import gettext
import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = ("en", "nl")
DEFAULT_LOCALE = "en"
LOCALE_DIR = Path(__file__).parent / "locale"

_current: ContextVar[str] = ContextVar("locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> gettext.NullTranslations:
    po_file = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not po_file.exists():
        return gettext.NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def choose_locale(preferred: str, accept_language: str) -> str:
    """The account's choice if any, else the browser's Accept-Language, else English."""
    if preferred in LOCALES:
        return preferred
    wanted = []
    for part in accept_language.split(",")[:20]:
        tag = part.split(";")[0].strip().replace("-", "_")
        if tag:
            wanted.append(tag)
    return negotiate_locale(wanted, list(LOCALES)) or DEFAULT_LOCALE


def activate(locale: str) -> None:
    _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def current_locale() -> str:
    return _current.get()


def gettext_(message: str, **params: object) -> str:
    text = translations(_current.get()).gettext(message)
    return text % params if params else text


def ngettext_(singular: str, plural: str, n: int, **params: object) -> str:
    text = translations(_current.get()).ngettext(singular, plural, n)
    return text % {"num": n, **params}


def language_name(locale: str) -> str:
    return (Locale.parse(locale).get_display_name(locale) or locale).capitalize()
