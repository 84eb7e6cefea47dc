"""The composition root's wiring: the domain's ports get their implementations here.

The app factory, the CLI and the background runner call :func:`compose` before any service
runs; with ``app.py``, ``cli.py`` and ``background.py`` this is the only code under
``fediverse_intranet/`` that may import ``inbox/``, ``outbox/`` and ``web/``
(``tests/test_architecture.py``).
"""

from __future__ import annotations

from fediverse_intranet.services import as2
from outbox import documents


def compose() -> None:
    """Install the outbox's ActivityStreams documents as the domain's ``as2`` port."""
    as2.install(documents)
