"""Who may fetch ``/media/{name}``: anyone for the images of public posts and for photos in
actor documents (other servers show them without signing in); for any other image, whoever
may see its post, signed in here or as a server allowed to fetch the post; nobody else,
who gets the same 404 as for a file that was never there."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from static_peer import signed_headers

from fediverse_intranet import instance
from fediverse_intranet.models import (
    Actor,
    Attachment,
    GroupAccess,
    Post,
    Visibility,
)
from fediverse_intranet.services import groups, memberships
from fediverse_intranet.services.clock import now
from fediverse_intranet.services.groups import GroupForm
from tests.conftest import BASE_URL
from tests.test_signed_fetch import key, peers, posts, settings  # noqa: F401 (fixtures)

PRIVATE = "private, no-store"


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 128, 128)).save(out, "JPEG")
    return out.getvalue()


async def stored_file(name: str) -> str:
    folder = instance.current().media_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(jpeg())
    return name


async def attach(post_id: int, name: str) -> str:
    post = await Post.get(id=post_id)
    await Attachment.create(
        post=post,
        uploader_id=post.author_id,
        filename=await stored_file(name),
        media_type="image/jpeg",
        width=8,
        height=8,
    )
    return f"/media/{name}"


@pytest.fixture
async def images(posts) -> dict[str, str]:  # noqa: F811
    """An image on each of alice's posts (see test_signed_fetch: carla on gov-b follows
    her, dora on gov-b is mentioned in the direct one, mallory on gov-c is nobody)."""
    return {kind: await attach(post_id, f"{kind}-image.jpg") for kind, post_id in posts.items()}


def assert_not_there(response) -> None:
    assert response.status_code == 404
    assert response.headers["cache-control"] == PRIVATE
    assert "Cookie" in response.headers["vary"] and "Signature" in response.headers["vary"]
    assert not response.headers["content-type"].startswith("image/")


async def test_image_of_a_public_post_is_for_anyone_and_cacheable(client, images):
    response = await client.get(images["public"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"].startswith("public")
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("kind", ["organisation", "followers", "direct"])
async def test_image_of_a_non_public_post_is_404_without_sign_in(client, images, kind):
    assert_not_there(await client.get(images[kind]))
    assert_not_there(await client.get("/media/never-there.jpg"))


async def test_image_of_a_non_public_post_for_a_viewer_who_may_see_it(browser, images, bob):
    colleague = await browser(bob)  # organisation-only is for every colleague
    response = await colleague.get(images["organisation"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == PRIVATE
    assert "Cookie" in response.headers["vary"]
    # bob neither follows alice nor is mentioned: her followers-only and direct posts are not his.
    assert_not_there(await colleague.get(images["followers"]))
    assert_not_there(await colleague.get(images["direct"]))


async def test_signed_get_from_a_server_allowed_to_see_the_post(client, peers, images):  # noqa: F811
    b, c = peers

    async def signed(path: str, key_id: str, n: int):
        return await client.get(path, headers=signed_headers("GET", BASE_URL + path, key_id, n))

    allowed = await signed(images["followers"], key(b, "carla"), 0)
    assert allowed.status_code == 200 and allowed.headers["content-type"] == "image/jpeg"
    assert allowed.headers["cache-control"] == PRIVATE
    assert (await signed(images["direct"], key(b, "dora"), 1)).status_code == 200
    assert_not_there(await signed(images["followers"], key(c, "mallory"), 3))
    assert_not_there(await signed(images["organisation"], key(b, "carla"), 0))
    # A signature we cannot verify is ignored, as on every document: the answer of an
    # unsigned request (the private file is not there; the public one is served).
    assert_not_there(await signed(images["followers"], key(b, "carla"), 3))
    assert (await signed(images["public"], key(b, "carla"), 3)).status_code == 200


async def test_image_of_a_deleted_post_is_gone(client, images, posts):  # noqa: F811
    await Post.filter(id=posts["public"]).update(deleted_at=now())
    assert_not_there(await client.get(images["public"]))


async def test_image_of_a_members_only_group_post(client, browser, alice, bob):
    group = await groups.create_group(alice, GroupForm(name="Team", handle="team", access="closed"))
    post = await Post.create(
        uri="urn:uuid:members",
        author_id=alice.actor_id,
        source="for members",
        content_html="<p>for members</p>",
        visibility=Visibility.MEMBERS,
        group_id=group.id,
    )
    path = await attach(post.id, "members-image.jpg")
    assert_not_there(await client.get(path))
    assert_not_there(await (await browser(bob)).get(path))
    assert (await (await browser(alice)).get(path)).status_code == 200


async def test_photo_of_a_person_is_public_and_of_a_secret_group_for_its_members(
    client, browser, alice, bob
):
    await Actor.filter(id=alice.actor_id).update(photo=await stored_file("alice-photo.jpg"))
    person = await client.get("/media/alice-photo.jpg")
    assert person.status_code == 200 and person.headers["cache-control"].startswith("public")

    secret = await groups.create_group(
        alice, GroupForm(name="Quiet", handle="quiet", access="secret")
    )
    await Actor.filter(id=secret.actor_id).update(photo=await stored_file("quiet-photo.jpg"))
    assert_not_there(await client.get("/media/quiet-photo.jpg"))
    assert_not_there(await (await browser(bob)).get("/media/quiet-photo.jpg"))
    assert await memberships.is_member(secret, alice.actor)
    assert (await (await browser(alice)).get("/media/quiet-photo.jpg")).status_code == 200

    listed = await groups.create_group(
        alice, GroupForm(name="Open", handle="open", access=GroupAccess.OPEN.value)
    )
    await Actor.filter(id=listed.actor_id).update(photo=await stored_file("open-photo.jpg"))
    assert (await client.get("/media/open-photo.jpg")).status_code == 200
