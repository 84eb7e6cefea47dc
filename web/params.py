"""Numbers in the URLs and forms of web pages, read with the one rule of
``fediverse_intranet.numbers``: an id in the path that is not an id is a page that does not
exist (404); a cursor or a number in a query or form that is not one is a bad request (400)."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request

from fediverse_intranet.errors import InvalidInput, NotFound
from fediverse_intranet.numbers import MAX_ID, parse_int

BAD_NUMBER = "The request could not be understood."  # already in every catalogue


def path_id(request: Request, name: str, message: str = "This page does not exist.") -> int:
    """An id from the URL path, else :class:`NotFound` with ``message``."""
    value = parse_int(request.path_params[name], low=1)
    if value is None:
        raise NotFound(message)
    return value


def query_int(request: Request, name: str, *, low: int = 0, high: int = MAX_ID) -> int | None:
    """A number from the query string: None when absent, :class:`InvalidInput` (400) when
    present but not a plain number in range (empty included)."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    value = parse_int(raw, low=low, high=high)
    if value is None:
        raise InvalidInput(BAD_NUMBER)
    return value


def form_int(form: FormData, name: str, field: str | None = None) -> int | None:
    """An id from a form field: None when absent or empty, a form error when not an id."""
    raw = form.get(name, "")
    if raw == "":
        return None
    value = parse_int(raw if isinstance(raw, str) else None, low=1)
    if value is None:
        raise InvalidInput(BAD_NUMBER, field=field)
    return value
