"""Content negotiation: whether an ``Accept`` header asks for the ActivityStreams form of
a URL that also has an HTML page.
"""

from __future__ import annotations

import math

from .webfinger import is_activity_type


def prefers_activity_json(accept: str) -> bool:
    """Whether an ``Accept`` header asks for ActivityStreams JSON rather than a web page.

    Only an explicit ``application/activity+json``, or ``application/ld+json`` with the
    ActivityStreams profile, counts; wildcards never do, so a browser's
    ``text/html,...,*/*;q=0.8`` gets the page. When both are named, the higher q wins and a
    tie goes to JSON (the peer named it on purpose). ``q=0`` means "not this".
    """
    best_activity = best_page = 0.0
    for media_range in _split_unquoted(accept, ","):
        media_type, *params = _split_unquoted(media_range, ";")
        kept, quality = [media_type.strip()], 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                quality = _quality(value)
            else:
                kept.append(param.strip())
        main = kept[0].lower()
        if is_activity_type("; ".join(kept)):
            best_activity = max(best_activity, quality)
        elif main in ("text/html", "application/xhtml+xml"):
            best_page = max(best_page, quality)
    return best_activity > 0 and best_activity >= best_page


def _quality(value: str) -> float:
    try:
        quality = float(value.strip())
    except ValueError:
        return 0.0
    return min(max(quality, 0.0), 1.0) if math.isfinite(quality) else 0.0


def _split_unquoted(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside double quotes (a profile URI list is quoted)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()] or [""]
