"""Numbers from outside (URLs, forms, headers): plain ASCII digits within a range, or nothing.

``str.isdigit()`` and ``int()`` accept far more than digits a person types: ``'²'`` passes
``isdigit()`` and then fails ``int()``; ``int()`` takes ``'١٢'`` (Arabic-Indic digits),
``' 1'``, ``'+1'`` and ``'1_000'``; and a number past 2**31 - 1 is refused by PostgreSQL
(our ids are 32-bit) and past 2**63 - 1 by SQLite. Each of those was a 500. Every number
that comes from a request is read here, so one rule decides what a number is.
"""

from __future__ import annotations

import re

MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL; a larger parameter is refused
_DIGITS = re.compile(r"[0-9]{1,19}")  # [0-9], not \d: \d matches every script's digits


def parse_int(raw: str | None, *, low: int = 0, high: int = MAX_ID) -> int | None:
    """``raw`` as an int when it is 1-19 ASCII digits (no sign, space or separator) and
    within ``low``..``high``; otherwise None, for the caller to refuse in its own way."""
    if raw is None or not _DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if low <= value <= high else None
