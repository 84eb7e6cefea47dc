"""The one origin rule: which URLs belong to the same server.

A server may speak only for its own URLs (an activity's id on its actor's server, a key on
its owner's, an object on its author's). Two URLs share an origin when their scheme, host
and port are the same, compared as a browser does: the scheme and host case-insensitively,
the host in its ASCII (IDNA) form with any trailing dot dropped, and a missing port as the
scheme's default (``https://a.example`` is ``https://A.example:443/``). ``http`` and
``https`` on one host are two origins. Anything unparsable, without a host or not http(s)
has no origin and matches nothing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .addresses import DEFAULT_PORTS, UnsafeURL, ascii_host

Origin = tuple[str, str, int]


def origin(url: str) -> Origin | None:
    """``(scheme, ascii host, port)`` of an http(s) URL, or None when it has none."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            return None
        host = ascii_host(parts.hostname)
        return (scheme, host, parts.port or DEFAULT_PORTS[scheme]) if host else None
    except (ValueError, UnsafeURL):  # a bad port, a malformed IPv6 literal, a bad IDN
        return None


def same_origin(a: str, b: str) -> bool:
    """Same scheme, host and port: one server may only speak for its own URLs."""
    mine = origin(a)
    return mine is not None and mine == origin(b)
