"""NodeInfo 2.1: what software a server runs and how busy it is, for crawlers and peers.

Two documents: the discovery JRD at ``/.well-known/nodeinfo`` that links to the schema
version we serve, and the NodeInfo 2.1 document itself
(http://nodeinfo.diaspora.software/ns/schema/2.1). Pure functions; the caller counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SCHEMA_21 = "http://nodeinfo.diaspora.software/ns/schema/2.1"
CONTENT_TYPE_21 = f'application/json; profile="{SCHEMA_21}#"'
PATH_21 = "/nodeinfo/2.1"

_SOFTWARE_NAME = re.compile(r"[a-z0-9-]+")  # the schema's pattern for software.name


@dataclass(frozen=True)
class Usage:
    """Counts of people and posts; ``local_posts`` counts what the fediverse may see."""

    users_total: int
    active_month: int
    active_halfyear: int
    local_posts: int


def discovery(base_url: str) -> dict[str, Any]:
    """The ``/.well-known/nodeinfo`` links document."""
    return {"links": [{"rel": SCHEMA_21, "href": f"{base_url}{PATH_21}"}]}


def document(
    *,
    software_name: str,
    version: str,
    usage: Usage,
    open_registrations: bool,
    node_name: str,
    repository: str | None = None,
    homepage: str | None = None,
) -> dict[str, Any]:
    """The NodeInfo 2.1 document. Raises ``ValueError`` for a name the schema refuses."""
    if not _SOFTWARE_NAME.fullmatch(software_name):
        raise ValueError(f"software name {software_name!r} must match [a-z0-9-]+")
    software: dict[str, str] = {"name": software_name, "version": version}
    if repository:
        software["repository"] = repository
    if homepage:
        software["homepage"] = homepage
    return {
        "version": "2.1",
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": open_registrations,
        "usage": {
            "users": {
                "total": usage.users_total,
                "activeMonth": usage.active_month,
                "activeHalfyear": usage.active_halfyear,
            },
            "localPosts": usage.local_posts,
        },
        "metadata": {"nodeName": node_name},
    }
