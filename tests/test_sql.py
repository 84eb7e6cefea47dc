"""``services.sql``: the raw queries of the hot paths give what the ORM would have given."""

from __future__ import annotations

import pytest

from fediverse_intranet.models import Actor, Post, Visibility
from fediverse_intranet.services import sql


async def test_instances_are_the_models_the_orm_makes(alice, bob):
    post = await Post.create(
        uri="https://elders.example/notes/1",
        author=alice.actor,
        content_html="<p>hoi</p>",
        visibility=Visibility.FOLLOWERS,
    )
    [raw] = await sql.instances(Post, "SELECT * FROM post WHERE uri = :uri", uri=post.uri)
    orm = await Post.get(id=post.id)
    assert isinstance(raw, Post)
    assert {f: getattr(raw, f) for f in Post._meta.db_fields} == {
        f: getattr(orm, f) for f in Post._meta.db_fields
    }
    assert raw.visibility is Visibility.FOLLOWERS
    assert raw.created_at.tzinfo is not None


async def test_a_list_stands_for_as_many_parameters(alice, bob):
    uris = [alice.actor.uri, bob.actor.uri, "https://elsewhere.example/users/x"]
    found = await sql.instances(
        Actor,
        "SELECT * FROM actor WHERE uri IN (:uris) AND domain = :here AND uri != :skip ORDER BY id",
        uris=uris,
        here="",
        skip=bob.actor.uri,
    )
    assert [a.username for a in found] == ["alice"]
    with pytest.raises(ValueError, match="empty list"):
        await sql.rows("SELECT id FROM actor WHERE uri IN (:uris)", uris=[])
