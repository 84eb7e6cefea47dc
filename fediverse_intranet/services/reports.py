"""The moderators' report queue: complaints about people here, from other servers (``Flag``)
or from colleagues, until a moderator resolves them."""

from __future__ import annotations

import json
from collections.abc import Iterable

from fediverse_intranet.errors import NotFound, PermissionDenied
from fediverse_intranet.models import Account, Actor, Post, Report
from fediverse_intranet.services.clock import now

MAX_COMMENT = 5000  # characters; Mastodon caps a report comment at 1,000, others send more
MAX_POSTS = 50  # a Flag naming more posts is hostile or a mistake; the first ones suffice
OPEN_PAGE = 100


async def record_flag(
    *,
    reporter: Actor | None,
    origin: str,
    target: Actor,
    post_uris: Iterable[str],
    comment: str,
    uri: str = "",
) -> Report:
    """Queue a complaint about ``target`` (a person of this instance).

    Only the reported posts that are ours (stored here and written by someone here) are
    kept: a remote server cannot fill the queue with links to anything it likes. A Flag
    delivered again (same ``uri``) does not make a second report.
    """
    if uri:
        existing = await Report.filter(uri=uri).first()
        if existing is not None:
            return existing
    wanted = [u for u in dict.fromkeys(post_uris) if isinstance(u, str)][:MAX_POSTS]
    ours = set(
        await Post.filter(uri__in=wanted, author__domain="").values_list("uri", flat=True)
        if wanted
        else []
    )
    return await Report.create(
        uri=uri[:512],
        reporter=reporter,
        origin=origin[:255],
        target=target,
        post_uris=json.dumps([u for u in wanted if u in ours]),
        comment=comment.strip()[:MAX_COMMENT],
    )


async def open_reports(limit: int = OPEN_PAGE) -> list[Report]:
    """Unresolved reports, oldest first: the queue is worked from the front."""
    return (
        await Report.filter(resolved_at=None)
        .select_related("reporter", "target")
        .order_by("id")
        .limit(max(1, min(limit, OPEN_PAGE)))
    )


def post_uris(report: Report) -> list[str]:
    """The reported posts' ids (always ours, see ``record_flag``)."""
    try:
        value = json.loads(report.post_uris or "[]")
    except ValueError:
        return []
    return [u for u in value if isinstance(u, str)] if isinstance(value, list) else []


async def reported_posts(report: Report) -> list[Post]:
    """The reported posts still stored here, for links in the queue."""
    uris = post_uris(report)
    return await Post.filter(uri__in=uris).order_by("id") if uris else []


async def resolve(report_id: int, by: Account) -> Report:
    """Close a report. Only admins moderate; resolving twice keeps the first resolution."""
    if not by.is_admin:
        raise PermissionDenied("Only an administrator may do this.")
    report = await Report.filter(id=report_id).first()
    if report is None:
        raise NotFound("This report does not exist.")
    if report.resolved_at is None:
        report.resolved_at = now()
        report.resolved_by_id = by.id
        await report.save(update_fields=["resolved_at", "resolved_by_id"])
    return report
