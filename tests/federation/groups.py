"""Groups through the web pages, for the federation tests: create one (/groups/new), find and
join one elsewhere (/remote-groups), post and reply in it (the composer on the group page),
moderate members (the members page) and archive it (the settings page).

Like ``people.py``, every step submits a form the page offers; nothing here touches a
database or sends an activity itself.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx

from tests.federation.people import Person, eventually, forms_of, text_of

_ARTICLE = re.compile(r"<article\b.*?</article>", re.S)
_POST_ID = re.compile(r'href="/posts/(\d+)"')
_REPLY_TO = re.compile(r'class="reply-to"><a href="/posts/(\d+)"')
_AUTHOR = re.compile(r'class="handle">@([^<\s]+)</span>')
_ROW = re.compile(r"<(li|tr)\b.*?</\1>", re.S)


def remote_page(handle: str) -> str:
    """Where someone looks up a group elsewhere: the remote group search, by handle."""
    return f"/remote-groups?q={quote('@' + handle, safe='@')}"


async def create_group(
    person: Person,
    handle: str,
    name: str,
    *,
    access: str = "open",
    kind: str = "theme",
    ends_on: str = "",
    topics: str = "",
) -> str:
    """``person`` fills in /groups/new and becomes the owner; returns the group page's path."""
    answer = await person.submit(
        "/groups/new",
        "/groups/new",
        name=name,
        handle=handle,
        kind=kind,
        access=access,
        ends_on=ends_on,
        topics=topics,
        description=f"{name}: a group of the federation tests.",
    )
    assert answer.status_code == 303, f"creating {handle}: {text_of(answer.text)[:400]}"
    assert answer.headers["location"] == f"/groups/{handle}"
    return answer.headers["location"]


async def join_remote(person: Person, handle: str) -> None:
    """Search ``@handle`` (a group elsewhere) on one's own instance and press Join (or Ask)."""
    path = remote_page(handle)
    answer = await person.submit(path, "/remote-groups/join")
    assert answer.status_code == 303, f"joining {handle}: {text_of(answer.text)[:400]}"


async def wait_remote_state(person: Person, handle: str, says: str) -> None:
    """Until the remote group search page says ``says`` ("You are a member." ...)."""

    async def shown() -> bool:
        return says in text_of(await person.page(remote_page(handle)))

    await eventually(shown, f"{person.handle} is told {says!r} about {handle}")


async def post_in_group(person: Person, group_path: str, text: str) -> int:
    """Write ``text`` with the composer on the group page; returns the post's local number."""
    answer = await person.submit(group_path, "/compose", source=text)
    assert answer.status_code == 303, f"posting in {group_path}: {text_of(answer.text)[:400]}"
    return int(answer.headers["location"].rsplit("/", 1)[1])


async def try_post_in_group(
    person: Person, group_path: str, handle: str, text: str
) -> httpx.Response:
    """Post into a group as a browser would: with the group page's composer if it shows one,
    else with the composer of /compose and the group named in it (a tab left open from before,
    or a hand-made form). Returns the answer, whatever it is."""
    html = await person.page(group_path)
    if any(form.action == "/compose" for form in forms_of(html)):
        return await person.submit_on(html, group_path, "/compose", source=text)
    return await person.submit("/compose", "/compose", source=text, group=handle)


async def thread(person: Person, post_id: int, markers: list[str]) -> dict[str, tuple[str, str]]:
    """The thread page of ``post_id`` as ``person`` sees it: for each marker shown, the
    author's full handle and the marker of the post it answers ("" for none, "?" for a post
    not shown), so that what two instances show can be compared."""
    html, host = await person.page(f"/posts/{post_id}"), person.instance.host
    cards: dict[str, tuple[str, str, str]] = {}  # local id -> (marker, author, parent id)
    for article in _ARTICLE.findall(html):
        text = text_of(article)
        found = [m for m in markers if m in text]
        number, author = _POST_ID.search(article), _AUTHOR.search(article)
        if len(found) != 1 or number is None or author is None:
            continue
        parent = _REPLY_TO.search(article)
        name = author.group(1) if "@" in author.group(1) else f"{author.group(1)}@{host}"
        cards[number.group(1)] = (found[0], name, parent.group(1) if parent else "")
    return {
        marker: (author, cards[parent][0] if parent in cards else parent and "?")
        for marker, author, parent in cards.values()
    }


async def wait_for_thread(
    person: Person, post_id: int, markers: list[str], expected: dict[str, tuple[str, str]]
) -> None:
    """Until ``person``'s thread page of ``post_id`` shows ``expected`` (see :func:`thread`)."""
    seen: dict[str, tuple[str, str]] = {}

    async def same() -> bool:
        seen.clear()
        seen.update(await thread(person, post_id, markers))
        return seen == expected

    try:
        await eventually(same, f"{person.handle} shows the thread of post {post_id}")
    except AssertionError as failure:
        raise AssertionError(f"{failure}: {seen} instead of {expected}") from None


async def manage_member(moderator: Person, group: str, member: str, action: str) -> None:
    """On the members page of ``group``, press ``action`` (approve, ban ...) for ``member``."""
    path = f"/groups/{group}/members"
    html = await moderator.page(path)
    rows = [row.group(0) for row in _ROW.finditer(html) if f"@{member}<" in row.group(0)]
    pattern = re.compile(rf"/groups/{re.escape(group)}/members/\d+/{action}")
    actions = [f.action for row in rows for f in forms_of(row) if pattern.fullmatch(f.action)]
    assert actions, f"no {action} for {member} on {path}: {text_of(html)[:600]}"
    answer = await moderator.submit_on(html, path, actions[0])
    assert answer.status_code == 303, f"{action} {member}: {text_of(answer.text)[:400]}"


async def archive(owner: Person, group: str) -> None:
    """The owner presses "Archive the group" in the group's settings."""
    path = f"/groups/{group}/settings"
    answer = await owner.submit(path, f"/groups/{group}/archive")
    assert answer.status_code == 303, f"archiving {group}: {text_of(answer.text)[:400]}"
