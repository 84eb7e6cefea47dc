"""The moderators' report queue (services/reports.py), as the Flag handler and the admin
page use it."""

from __future__ import annotations

import pytest

from fediverse_intranet.errors import NotFound, PermissionDenied
from fediverse_intranet.models import Account, Actor, Post
from fediverse_intranet.services import posts, reports


async def _remote(name: str = "mallory") -> Actor:
    return await Actor.create(
        username=name, domain="elsewhere.test", uri=f"https://elsewhere.test/users/{name}"
    )


async def test_a_flag_keeps_only_our_posts_and_is_recorded_once(
    alice: Account, bob: Account
) -> None:
    mallory = await _remote()
    ours = await posts.create_post(bob.actor, posts.Draft("Over #paspoorten"))
    theirs = await Post.create(uri="https://elsewhere.test/notes/1", author=mallory)
    report = await reports.record_flag(
        uri="https://elsewhere.test/flags/1",
        reporter=mallory,
        origin="elsewhere.test",
        target=bob.actor,
        post_uris=[ours.uri, theirs.uri, "https://evil.test/x", ours.uri],
        comment="  spam  ",
    )
    assert reports.post_uris(report) == [ours.uri]
    assert report.comment == "spam"
    assert [p.id for p in await reports.reported_posts(report)] == [ours.id]
    again = await reports.record_flag(
        uri="https://elsewhere.test/flags/1",
        reporter=mallory,
        origin="elsewhere.test",
        target=bob.actor,
        post_uris=[],
        comment="other",
    )
    assert again.id == report.id
    assert [r.id for r in await reports.open_reports()] == [report.id]


async def test_resolve_closes_a_report_for_admins_only(alice: Account, bob: Account) -> None:
    report = await reports.record_flag(
        reporter=None, origin="", target=bob.actor, post_uris=[], comment="x" * 10_000
    )
    assert len(report.comment) == reports.MAX_COMMENT
    with pytest.raises(PermissionDenied):
        await reports.resolve(report.id, bob)
    resolved = await reports.resolve(report.id, alice)
    assert resolved.resolved_at is not None
    assert await reports.open_reports() == []
    first = resolved.resolved_at
    assert (await reports.resolve(report.id, alice)).resolved_at == first
    with pytest.raises(NotFound):
        await reports.resolve(report.id + 100, alice)
