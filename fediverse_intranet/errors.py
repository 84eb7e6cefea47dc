"""Typed domain errors. Each carries a message key and the form field it concerns.

Services raise these; each HTTP boundary maps them to a status in one place
(``web/errors.py``), so a person sees a clear message and never a stack trace.
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule said no. ``message`` is an English msgid, translated where it is shown."""

    status = 400

    def __init__(self, message: str, field: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.params = params


class InvalidInput(DomainError):
    status = 400


class NotFound(DomainError):
    status = 404


class PermissionDenied(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class RateLimited(DomainError):
    status = 429


class Unreachable(DomainError):
    """Another server did not answer usefully, shown to a person as a form error: the face
    of a ``FederationError`` whose ``retry`` is true. Trying again later may help."""

    status = 400
    retry = True


def N_(message: str) -> str:
    """Marks an English msgid for extraction (``make messages``) where it is not said at once."""
    return message
