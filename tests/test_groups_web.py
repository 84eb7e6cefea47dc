"""Groups in the browser: directory, create form, group page, joining, members, moderation,
and the 404 that hides secret groups and members-only posts."""

from __future__ import annotations

from fediverse_intranet.models import (
    ActorTopic,
    Group,
    Membership,
    MemberState,
    Post,
    Role,
    Tag,
    Visibility,
)
from fediverse_intranet.services import memberships, posts
from tests.conftest import make_account
from tests.test_groups import make_group


async def test_create_a_group_in_the_browser_and_fix_form_errors(browser, bob):
    person = await browser(bob)
    page = await person.get("/groups/new")
    assert page.status_code == 200
    assert 'value="unit"' not in page.text  # only admins and communications staff
    bad = await person.submit("/groups/new", {"handle": "x y", "name": "", "kind": "theme"})
    assert bad.status_code == 400
    assert "A handle has 1 to 30 letters" in bad.text and 'value="x y"' in bad.text
    nameless = await person.submit("/groups/new", {"handle": "xy", "name": " ", "kind": "theme"})
    assert nameless.status_code == 400
    assert "Give the group a name." in nameless.text
    tampered = await person.submit(
        "/groups/new",
        {"handle": "burgerzaken", "name": "Burgerzaken", "kind": "unit", "access": "open"},
    )
    assert tampered.status_code == 403
    made = await person.submit(
        "/groups/new",
        {
            "handle": "omgevingswet",
            "name": "Omgevingswet",
            "kind": "theme",
            "access": "open",
            "description": "Alles over **de wet**",
            "topics": "omgevingswet",
        },
    )
    assert made.status_code == 303
    assert made.headers["location"] == "/groups/omgevingswet"
    page = (await person.get("/groups/omgevingswet")).text
    assert "<strong>de wet</strong>" in page
    assert "Group settings" in page and "Leave the group" in page
    assert await Group.all().count() == 1


async def test_join_post_and_leave_an_open_group(browser, alice, bob):
    await make_group(alice)
    person = await browser(bob)
    page = (await person.get("/groups/omgevingswet")).text
    assert "Join the group" in page and "Post in this group" not in page
    assert (await person.submit("/groups/omgevingswet/join")).status_code == 303
    page = (await person.get("/groups/omgevingswet")).text
    assert "Post in this group" in page and 'name="group" value="omgevingswet"' in page
    sent = await person.submit(
        "/compose", {"source": "Vraag over de wet", "group": "omgevingswet", "kind": "note"}
    )
    assert sent.status_code == 303
    post = await Post.get(source="Vraag over de wet")
    assert post.group_id is not None and post.visibility == Visibility.PUBLIC
    page = (await person.get("/groups/omgevingswet")).text
    assert "Vraag over de wet" in page
    assert "Vraag over de wet" in (await person.get("/")).text
    await person.submit("/groups/omgevingswet/leave")
    assert not await memberships.is_member(await Group.get(), bob.actor)
    refused = await person.submit(
        "/compose", {"source": "nog iets", "group": "omgevingswet", "kind": "note"}
    )
    assert refused.status_code == 403
    assert "Join the group first" in refused.text


async def test_secret_groups_and_members_only_posts_are_404_to_outsiders(browser, alice, bob):
    secret = await make_group(alice, handle="geheim", access="secret", name="Geheim")
    post = await posts.create_post(alice.actor, posts.Draft("vertrouwelijk"), group=secret)
    outsider = await browser(bob)
    for url in ("/groups/geheim", "/groups/geheim/members", f"/posts/{post.id}"):
        assert (await outsider.get(url)).status_code == 404, url
    for url in ("/groups/geheim/join", f"/groups/geheim/posts/{post.id}/remove"):
        assert (await outsider.submit(url)).status_code == 404, url
    assert "Geheim" not in (await outsider.get("/groups?q=geheim")).text
    composed = await outsider.submit("/compose", {"source": "hoi", "group": "geheim"})
    assert composed.status_code == 404
    assert "vertrouwelijk" not in (await outsider.get("/@alice")).text
    assert await Post.filter(group=secret).count() == 1


async def test_closed_group_request_approval_by_a_moderator(browser, alice, bob):
    await make_group(alice, handle="stadhuis", access="closed", name="Nieuw stadhuis")
    group = await Group.get()
    requester = await browser(bob)
    page = (await requester.get("/groups/stadhuis")).text
    assert "Only members can see who is in this group." in page
    assert (await requester.get("/groups/stadhuis/members")).status_code == 404
    await requester.submit("/groups/stadhuis/join")
    assert "Withdraw my request" in (await requester.get("/groups/stadhuis")).text
    owner = await browser(alice)
    assert "Someone asks to join Nieuw stadhuis" in (await owner.get("/notifications")).text
    members_page = (await owner.get("/groups/stadhuis/members")).text
    assert "Requests to join" in members_page and "Bob Burger" in members_page
    approved = await owner.submit(f"/groups/stadhuis/members/{bob.actor_id}/approve")
    assert approved.status_code == 303
    assert await memberships.is_member(group, bob.actor)
    again = await owner.submit(f"/groups/stadhuis/members/{bob.actor_id}/approve")
    assert again.status_code == 409
    assert "There is no open request from this person." in again.text
    not_allowed = await requester.submit(f"/groups/stadhuis/members/{alice.actor_id}/ban")
    assert not_allowed.status_code == 403


async def test_invitations_roles_and_bans_on_the_members_page(browser, alice, bob):
    carol = await make_account("carol")
    await make_group(alice, handle="geheim", access="secret", name="Geheim")
    group = await Group.get()
    owner = await browser(alice)
    unknown = await owner.submit("/groups/geheim/members/invite", {"handle": "nobody"})
    assert unknown.status_code == 404 and "Nobody with this name is known here." in unknown.text
    await owner.submit("/groups/geheim/members/invite", {"handle": "carol"})
    invited = await browser(carol)
    assert "You are invited to join Geheim" in (await invited.get("/notifications")).text
    assert "Accept the invitation" in (await invited.get("/groups/geheim")).text
    await invited.submit("/groups/geheim/join")
    assert await memberships.is_member(group, carol.actor)

    bad_role = await owner.submit(
        f"/groups/geheim/members/{carol.actor_id}/role", {"role": "emperor"}
    )
    assert bad_role.status_code == 400
    await owner.submit(f"/groups/geheim/members/{carol.actor_id}/role", {"role": "moderator"})
    row = await Membership.get(group=group, actor_id=carol.actor_id)
    assert row.role.value == "moderator"
    last_owner = await owner.submit(
        f"/groups/geheim/members/{alice.actor_id}/role", {"role": "member"}
    )
    assert last_owner.status_code == 403

    await owner.submit("/groups/geheim/members/invite", {"handle": "bob"})
    await memberships.join(group, bob.actor)
    await invited.submit(f"/groups/geheim/members/{bob.actor_id}/ban")
    assert (await Membership.get(group=group, actor_id=bob.actor_id)).state == MemberState.BANNED
    assert "Lift the ban" in (await owner.get("/groups/geheim/members")).text
    assert (await owner.submit("/groups/geheim/members/abc/ban")).status_code == 404


async def test_moderation_buttons_pin_lock_and_remove(browser, alice, bob):
    group = await make_group(alice)
    await memberships.join(group, bob.actor)
    post = await posts.create_post(bob.actor, posts.Draft("eerste draad"), group=group)
    owner = await browser(alice)
    page = (await owner.get("/groups/omgevingswet")).text
    assert f"/groups/omgevingswet/posts/{post.id}/pin" in page
    assert (
        "Pin"
        not in (await (await browser(bob)).get("/groups/omgevingswet"))
        .text.split("eerste draad")[1]
        .split("</article>")[0]
    )
    await owner.submit(f"/groups/omgevingswet/posts/{post.id}/pin")
    await owner.submit(f"/groups/omgevingswet/posts/{post.id}/lock")
    thread = (await (await browser(bob)).get(f"/posts/{post.id}")).text
    assert "This thread is locked" in thread
    assert (await owner.submit(f"/groups/omgevingswet/posts/{post.id}/explode")).status_code == 404
    await owner.submit(f"/groups/omgevingswet/posts/{post.id}/remove")
    assert (await Post.get(id=post.id)).deleted_at is not None


async def test_directory_search_filter_and_suggestions(browser, alice, bob):
    tag, _ = await Tag.get_or_create(name="ruimte")
    await ActorTopic.create(actor_id=bob.actor_id, tag=tag)
    await make_group(alice, handle="ruimtelijk", name="Ruimtelijke ordening", topics="ruimte")
    comms = await make_account("comms", Role.COMMUNICATIONS)
    await make_group(comms, handle="burgerzaken", name="Burgerzaken", kind="unit")
    person = await browser(bob)
    page = (await person.get("/groups")).text
    assert "Suggested for you" in page and "Ruimtelijke ordening" in page
    found = (await person.get("/groups?q=burger")).text
    assert "1 group found" in found and "Burgerzaken" in found
    units = (await person.get("/groups?kind=unit")).text
    assert "Burgerzaken" in units and "Organisational unit" in units
    bad = await person.get("/groups?kind=castle")
    assert bad.status_code == 400 and "Choose an option from the list." in bad.text


async def test_archived_project_page_shows_banner_and_no_composer(browser, alice):
    from datetime import timedelta

    from fediverse_intranet.services import groups

    ends = (groups.today() + timedelta(days=2)).isoformat()
    await make_group(alice, handle="stadhuis", kind="project", ends_on=ends)
    owner = await browser(alice)
    await owner.submit("/groups/stadhuis/archive")
    page = (await owner.get("/groups/stadhuis")).text
    assert "This group is read-only" in page and "Post in this group" not in page
    refused = await owner.submit("/compose", {"source": "te laat", "group": "stadhuis"})
    assert refused.status_code == 403
    bad_reopen = await owner.submit("/groups/stadhuis/reopen", {"ends_on": "gisteren"})
    assert bad_reopen.status_code == 400
    await owner.submit("/groups/stadhuis/reopen", {"ends_on": ends})
    assert "Post in this group" in (await owner.get("/groups/stadhuis")).text


async def test_a_groups_handle_as_a_profile_address_leads_to_the_group_page(browser, alice):
    await make_group(alice)
    person = await browser(alice)
    answer = await person.get("/@omgevingswet")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/groups/omgevingswet"
