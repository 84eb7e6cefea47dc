"""Groups on three instances, end to end through the web pages (issue 4, point 6): an open
group at gov-a with members at gov-b and gov-c who all see one discussion; a closed group
that gives a non-member's server nothing by any route; a ban and an archive that stop a
member elsewhere from posting."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

import httpx

from tests.federation.conftest import Federation
from tests.federation.groups import (
    archive,
    create_group,
    join_remote,
    manage_member,
    post_in_group,
    remote_page,
    try_post_in_group,
    wait_for_thread,
    wait_remote_state,
)
from tests.federation.instances import Instance
from tests.federation.people import Person, eventually, forms_of, text_of
from tests.federation.test_flows import SignIn, fetch_as, marker

MEMBER = "You are a member."
REFUSED = {401, 403, 404, 410}
NOT_A_MEMBER = ("Only members can do this", "banned")


def handle(prefix: str) -> str:
    """A group handle no other test (or earlier run in this session) uses."""
    return f"{prefix}_{secrets.token_hex(3)}"


async def members_of(
    federation: Federation,
    sign_in: SignIn,
    host: Person,
    group: str,
    *elsewhere: tuple[Instance, str],
) -> list[Person]:
    """People elsewhere who found ``group`` (hosted by ``host``) from their own instance,
    joined it and were accepted."""
    federation.accounts(*elsewhere)
    people = [await sign_in(instance, name) for instance, name in elsewhere]
    full = f"{group}@{host.instance.host}"
    for person in people:
        await join_remote(person, full)
    for person in people:
        await wait_remote_state(person, full, MEMBER)
    return people


async def approved(moderator: Person, group: str, *people: Person) -> None:
    """``people`` elsewhere ask to join a closed group; ``moderator`` approves them on the
    members page once the requests are there."""
    full = f"{group}@{moderator.instance.host}"
    for person in people:
        await join_remote(person, full)
        await wait_remote_state(person, full, "Your request to join is waiting")

    async def requested() -> bool:
        shown = text_of(await moderator.page(f"/groups/{group}/members"))
        return all(person.handle in shown for person in people)

    await eventually(requested, f"{moderator.handle} sees the requests to join {group}")
    for person in people:
        await manage_member(moderator, group, person.handle, "approve")
    for person in people:
        await wait_remote_state(person, full, MEMBER)


async def settled(sender: Instance, receiver: Instance, text: str) -> list[tuple[str, str]]:
    """Once everything ``sender`` queued for ``receiver`` with ``text`` in it was answered
    (and, if taken, processed there): the receiver's inbox items for it, (state, error)."""

    async def answered() -> bool:
        rows = sender.query(
            "SELECT state FROM delivery WHERE host = ? AND body LIKE ?", receiver.host, f"%{text}%"
        )
        return bool(rows) and all(state != "pending" for (state,) in rows)

    async def processed() -> bool:
        return all(state != "pending" for state, _ in taken())

    def taken() -> list[tuple[str, str]]:
        return receiver.query("SELECT state, error FROM inbox_item WHERE body LIKE ?", f"%{text}%")

    await eventually(answered, f"{sender.host} delivered {text!r} to {receiver.host}")
    await eventually(processed, f"{receiver.host} processed {text!r}")
    return taken()


def stored(instance: Instance, text: str) -> int:
    """How many posts with ``text`` an instance keeps."""
    ((count,),) = instance.query(
        "SELECT count(*) FROM post WHERE content_html LIKE ? OR source LIKE ?",
        f"%{text}%",
        f"%{text}%",
    )
    return count


# --- an open group: one discussion on three instances ----------------------------------------


async def test_open_group_is_one_discussion_on_three_instances(
    federation: Federation, sign_in: SignIn
) -> None:
    a, b, c = federation.a, federation.b, federation.c
    federation.accounts((a, "gina"))
    gina = await sign_in(a, "gina")
    name = "omgevingswet"  # the instances are new for each session
    here = await create_group(gina, name, "Omgevingswet", topics="omgevingswet, ruimte")
    gerrit, greet = await members_of(federation, sign_in, gina, name, (b, "gerrit"), (c, "greet"))
    there = f"/groups/{name}@gov-a.test"
    members = text_of(await gina.page(f"{here}/members"))
    assert "gerrit@gov-b.test" in members and "greet@gov-c.test" in members

    m = [marker() for _ in range(6)]
    # gov-a opens a thread, gov-b another; gov-c answers the first, gov-b answers gov-c;
    # gov-c and gov-a answer gov-b's thread.
    first = await post_in_group(gina, here, f"Welkom bij de Omgevingswet {m[0]}")
    second = await post_in_group(gerrit, there, f"Wie kent het DSO? {m[1]}")
    first_at_c = await greet.wait_for_post(m[0], there)
    await greet.write(f"Dank, vanuit gov-c {m[2]}", reply_to=first_at_c)
    first_at_b = await gerrit.wait_for_post(m[0], there)
    reply_at_b = await gerrit.wait_for_post(m[2], f"/posts/{first_at_b}")
    await gerrit.write(f"Graag gedaan, vanuit gov-b {m[3]}", reply_to=reply_at_b)
    second_at_c = await greet.wait_for_post(m[1], there)
    await greet.write(f"Wij gebruiken het {m[4]}", reply_to=second_at_c)
    second_at_a = await gina.wait_for_post(m[1], here)
    await gina.write(f"Zie de handreiking {m[5]}", reply_to=second_at_a)

    gina_, gerrit_, greet_ = "gina@gov-a.test", "gerrit@gov-b.test", "greet@gov-c.test"
    threads = {
        m[0]: {m[0]: (gina_, ""), m[2]: (greet_, m[0]), m[3]: (gerrit_, m[2])},
        m[1]: {m[1]: (gerrit_, ""), m[4]: (greet_, m[1]), m[5]: (gina_, m[1])},
    }
    roots = {
        gina: {m[0]: first, m[1]: second_at_a},
        gerrit: {m[0]: first_at_b, m[1]: second},
        greet: {m[0]: first_at_c, m[1]: second_at_c},
    }
    for person, ids in roots.items():
        for root, expected in threads.items():
            await wait_for_thread(person, ids[root], m, expected)
    # Each group page lists both threads; the members' home timelines include them.
    for person, path in ((gina, here), (gerrit, there), (greet, there)):
        shown = text_of(await person.page(path))
        assert m[0] in shown and m[1] in shown, f"{person.handle}'s {path}"
        assert await person.find_post(m[0]) is not None, f"{person.handle}'s home timeline"


# --- a closed group: nothing for a non-member's server ---------------------------------------


async def test_closed_group_gives_a_non_member_server_nothing(
    federation: Federation, sign_in: SignIn
) -> None:
    a, b, c = federation.a, federation.b, federation.c
    federation.accounts((a, "mona"), (b, "bram"), (c, "cees"))
    mona, bram, cees = await sign_in(a, "mona"), await sign_in(b, "bram"), await sign_in(c, "cees")
    # cees follows both members: whatever reached their followers would reach gov-c.
    for person in (mona, bram):
        await cees.follow(person.handle)
    for person in (mona, bram):
        await cees.wait_following(person.handle)

    name = handle("stadhuis")
    full, there = f"{name}@gov-a.test", f"/groups/{name}@gov-a.test"
    here = await create_group(mona, name, "Nieuw stadhuis", access="closed")
    await approved(mona, name, bram)

    tag = f"geheim{secrets.token_hex(3)}"
    secret, answer, public = marker(), marker(), marker()
    posted = await post_in_group(mona, here, f"Het budget is {secret} #{tag}")
    at_b = await bram.wait_for_post(secret, there)
    reply = await bram.write(f"Begrepen {answer} #{tag}", reply_to=at_b)
    await mona.wait_for_post(answer, f"/posts/{posted}")
    # Public posts of both, after the secret ones: once gov-c has them, it has had its chance.
    await mona.write(f"Openbaar nieuws {public}")
    await bram.write(f"Ook openbaar {public}")

    async def both_public() -> bool:
        return "Openbaar nieuws" in text_of(await cees.page("/")) and "Ook openbaar" in text_of(
            await cees.page("/")
        )

    await eventually(both_public, "cees sees both public posts")

    # gov-c's pages: timelines, the tag, both profiles, the group (found or opened).
    for path in ("/", "/organisation", f"/tags/{tag}", f"/@{mona.handle}", f"/@{bram.handle}"):
        shown = await cees.web.get(path)
        assert shown.status_code < 500 and secret not in shown.text and answer not in shown.text
    for path in (remote_page(full), there, f"{there}/members"):
        shown = await cees.web.get(path)
        assert shown.status_code < 500, f"{path}: {shown.status_code}"
        assert secret not in shown.text and answer not in shown.text, path
        assert "bram" not in shown.text, f"{path} lists the members"
    assert stored(c, secret) == 0 and stored(c, answer) == 0
    for instance in (a, b):
        leaked = instance.query(
            "SELECT inbox_url FROM delivery WHERE host = ? AND (body LIKE ? OR body LIKE ?)",
            c.host,
            f"%{secret}%",
            f"%{answer}%",
        )
        assert leaked == [], f"{instance.host} sent gov-c {leaked}"

    # Fetches of the posts' URLs: unsigned, as gov-c's instance actor, as cees.
    urls = {f"{a.url}/posts/{posted}": secret, f"{b.url}/posts/{reply}": answer}
    strangers = [None, (c, f"{c.url}/actor"), (c, cees.actor_id)]
    for url, text in urls.items():
        for signer in strangers:
            refused = await fetch_as(federation, url, signer)
            assert refused.status_code in REFUSED, f"{url} for {signer}: {refused.status_code}"
            assert text not in refused.text
        async with httpx.AsyncClient(verify=federation.ca.client_context()) as browser:
            page = await browser.get(url)  # a browser, signed in nowhere
        assert text not in page.text, f"{url} as a web page"
    # ... while a member's server may.
    allowed = await fetch_as(federation, f"{a.url}/posts/{posted}", (b, bram.actor_id))
    assert allowed.status_code == 200 and secret in allowed.text

    # The group's and the authors' collections, unsigned and signed by gov-c.
    group = f"{a.url}/users/{name}"
    collections = [
        f"{group}/outbox",
        f"{group}/followers",
        f"{group}/featured",
        f"{a.url}/users/mona/outbox",
        f"{b.url}/users/bram/outbox",
    ]
    for url in collections:
        for signer in (None, (c, f"{c.url}/actor")):
            shown = await fetch_as(federation, url, signer)
            assert shown.status_code < 500, f"{url}: {shown.status_code}"
            assert secret not in shown.text and answer not in shown.text, url
            assert "bram" not in shown.text or url.endswith("bram/outbox"), f"{url} lists members"

    # A secret group: gov-c cannot even learn that it exists.
    hidden = handle("geheim")
    await create_group(mona, hidden, "Geheim overleg", access="secret")
    whisper = marker()
    whispered = await post_in_group(mona, f"/groups/{hidden}", f"Onder ons {whisper}")
    async with httpx.AsyncClient(verify=federation.ca.client_context()) as peer:
        finger = await peer.get(
            f"{a.url}/.well-known/webfinger", params={"resource": f"acct:{hidden}@{a.host}"}
        )
    assert finger.status_code == 404, finger.status_code
    for url in (
        f"{a.url}/users/{hidden}",
        f"{a.url}/groups/{hidden}",
        f"{a.url}/users/{hidden}/outbox",
        f"{a.url}/posts/{whispered}",
    ):
        for signer in strangers:
            refused = await fetch_as(federation, url, signer)
            assert refused.status_code in REFUSED, f"{url} for {signer}: {refused.status_code}"
            assert whisper not in refused.text and "Geheim overleg" not in refused.text
    searched = await cees.web.get(remote_page(f"{hidden}@{a.host}"))
    assert 400 <= searched.status_code < 500, searched.status_code
    assert "Geheim overleg" not in searched.text
    assert not c.query("SELECT id FROM actor WHERE username = ?", hidden)


# --- a ban and an archive stop a member elsewhere --------------------------------------------


async def refused_everywhere(
    federation: Federation, answer: httpx.Response, text: str, *reasons: str
) -> None:
    """What someone on gov-b just tried to post into a group at gov-a: refused at once
    with a reason on the page, or sent and refused by gov-a; either way stored nowhere but
    (at most) at gov-b, and never shown at gov-a or gov-c."""
    a, b, c = federation.a, federation.b, federation.c
    if answer.status_code == 303:
        taken = await settled(b, a, text)
        assert all(state != "done" or error for state, error in taken), taken
    else:
        assert 400 <= answer.status_code < 500, answer.status_code
        shown = text_of(answer.text)
        assert any(reason in shown for reason in reasons), f"no reason given: {shown[:600]}"
        assert stored(b, text) == 0
    assert stored(a, text) == 0 and stored(c, text) == 0


async def test_a_ban_at_the_group_stops_a_member_elsewhere(
    federation: Federation, sign_in: SignIn
) -> None:
    a = federation.a
    federation.accounts((a, "hanna"))
    hanna = await sign_in(a, "hanna")
    name = handle("ruimte")
    full, there = f"{name}@gov-a.test", f"/groups/{name}@gov-a.test"
    here = await create_group(hanna, name, "Ruimtelijke ordening")
    hugo, hilde = await members_of(
        federation, sign_in, hanna, name, (federation.b, "hugo"), (federation.c, "hilde")
    )
    before = marker()
    await post_in_group(hugo, there, f"Nog mag ik {before}")
    await hanna.wait_for_post(before, here)
    await hilde.wait_for_post(before, there)

    await manage_member(hanna, name, hugo.handle, "ban")
    # At once (gov-b may not have heard yet: then gov-a refuses it) ...
    early = marker()
    answer = await try_post_in_group(hugo, there, full, f"Snel nog even {early}")
    await refused_everywhere(federation, answer, early, *NOT_A_MEMBER)

    # ... and once gov-b has the group's announced ban: he is banned there too, and told so.
    async def told() -> bool:
        shown = text_of(await hugo.page(remote_page(full)))
        return MEMBER not in shown and "banned" in shown

    await eventually(told, "gov-b hears that hugo is banned")
    after = marker()
    answer = await try_post_in_group(hugo, there, full, f"Toch nog even {after}")
    await refused_everywhere(federation, answer, after, *NOT_A_MEMBER)
    # What hanna posts after it reaches hilde; hugo's attempt never does.
    later = marker()
    await post_in_group(hanna, here, f"Verder zonder hugo {later}")
    await hilde.wait_for_post(later, there)
    for person, path in ((hanna, here), (hilde, there)):
        shown = text_of(await person.page(path))
        assert early not in shown and after not in shown, f"{person.handle}'s {path}"


async def test_an_archived_project_refuses_new_posts_everywhere(
    federation: Federation, sign_in: SignIn
) -> None:
    federation.accounts((federation.a, "ida"))
    ida = await sign_in(federation.a, "ida")
    name = handle("project")
    full, there = f"{name}@gov-a.test", f"/groups/{name}@gov-a.test"
    ends_on = (date.today() + timedelta(days=90)).isoformat()
    here = await create_group(ida, name, "Nieuw stadhuis", kind="project", ends_on=ends_on)
    (ivo,) = await members_of(federation, sign_in, ida, name, (federation.b, "ivo"))
    earlier = marker()
    await post_in_group(ida, here, f"Oplevering gepland {earlier}")
    at_b = await ivo.wait_for_post(earlier, there)

    await archive(ida, name)
    shown = await ida.page(here)
    assert "Archived." in text_of(shown)
    assert all(form.action != "/compose" for form in forms_of(shown)), "a composer is shown"
    # At gov-a nobody can post in it, not even its owner ...
    late = marker()
    answer = await try_post_in_group(ida, here, name, f"Nog een laatste {late}")
    assert 400 <= answer.status_code < 500 and "archived" in text_of(answer.text)
    assert stored(federation.a, late) == 0
    # ... what a member at gov-b sends at once, gov-a does not take (or gov-b refuses it) ...
    early = marker()
    answer = await try_post_in_group(ivo, there, full, f"Na de oplevering {early}")
    await refused_everywhere(federation, answer, early, "archived")

    # ... and once gov-b has the group's Update, gov-b itself says no, to a post or a reply.
    async def read_only() -> bool:
        return "Archived." in text_of(await ivo.page(there))

    await eventually(read_only, "gov-b shows the group as archived")
    shown = await ivo.page(there)
    assert all(form.action != "/compose" for form in forms_of(shown)), "a composer at gov-b"
    post, reply = marker(), marker()
    refused = [
        (post, await try_post_in_group(ivo, there, full, f"Toch nog {post}")),
        (reply, await ivo.submit(f"/compose?reply_to={at_b}", "/compose", source=reply)),
    ]
    for text, answer in refused:
        assert 400 <= answer.status_code < 500, f"gov-b took {text}: {answer.status_code}"
        await refused_everywhere(federation, answer, text, "archived")
    shown = text_of(await ida.page(here))
    assert earlier in shown and all(m not in shown for m in (early, post, reply))


async def test_closed_group_members_on_two_other_servers_see_each_other(
    federation: Federation, sign_in: SignIn
) -> None:
    """The group at gov-a announces a post from gov-b to gov-c, which verifies it at gov-b:
    gov-b must serve a members-only post to the servers of the group and its members."""
    a, b, c = federation.a, federation.b, federation.c
    federation.accounts((a, "mila"), (b, "berend"), (c, "carla"))
    mila, berend, carla = (
        await sign_in(a, "mila"),
        await sign_in(b, "berend"),
        await sign_in(c, "carla"),
    )
    name = handle("inkoop")
    there = f"/groups/{name}@gov-a.test"
    here = await create_group(mila, name, "Inkoop", access="closed")
    await approved(mila, name, berend, carla)

    question, answer = marker(), marker()
    asked = await post_in_group(berend, there, f"Welke leverancier? {question}")
    at_a = await mila.wait_for_post(question, here)
    announced = await settled(a, c, question)  # the group's Announce, embedding it
    assert stored(c, question) == 1, f"gov-c did not take it: {announced}"
    seen = await carla.wait_for_post(question, there)
    await carla.write(f"Die van vorig jaar {answer}", reply_to=seen)
    await berend.wait_for_post(answer, f"/posts/{asked}")
    await mila.wait_for_post(answer, f"/posts/{at_a}")  # a group page lists threads only
    for signer in ((a, f"{a.url}/actor"), (c, f"{c.url}/actor"), (c, carla.actor_id)):
        fetched = await fetch_as(federation, f"{b.url}/posts/{asked}", signer)
        assert fetched.status_code == 200 and question in fetched.text, (signer, fetched)
