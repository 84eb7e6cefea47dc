"""All routes of the web interface, gathered for the app factory."""

from __future__ import annotations

from starlette.routing import BaseRoute

from web.routes import (
    admin,
    admin_directories,
    admin_topics,
    auth,
    experts,
    groups,
    media,
    notifications,
    people,
    posts,
    remote_media,
    search,
    settings_federation,
    timelines,
)


def all_routes() -> list[BaseRoute]:
    return [
        *auth.routes,
        *timelines.routes,
        *posts.routes,
        *people.routes,
        *media.routes,
        *remote_media.routes,
        *groups.routes,
        *notifications.routes,
        *admin.routes,
        *admin_topics.routes,
        *experts.routes,
        *admin_directories.routes,
        *settings_federation.routes,
        *search.routes,
    ]
