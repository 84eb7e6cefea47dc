"""An expert at gov-b is found from gov-a: consent, the directory, topics and presence.

brenda@gov-b declares the topic paspoorten, says she is in the office and lets colleagues
elsewhere find her (Settings > Beyond this server); bart@gov-b declares the same topic
without that consent. gov-a's administrator connects gov-a to gov-b's expertise directory
(Administration > Expertise directories). gov-a then knows brenda's topic and presence,
and nothing of bart's topics; when brenda withdraws her consent, gov-a forgets her topic.
"""

from __future__ import annotations

from tests.federation.conftest import Federation
from tests.federation.instances import Instance
from tests.federation.people import Person, eventually, forms_of, text_of
from tests.federation.test_flows import SignIn

TOPIC = "paspoorten"


def topics_at(instance: Instance, actor_id: str) -> list[str]:
    rows = instance.query(
        "SELECT t.name FROM actor_topic x JOIN tag t ON t.id = x.tag_id"
        " JOIN actor a ON a.id = x.actor_id WHERE a.uri = ? ORDER BY t.name",
        actor_id,
    )
    return [name for (name,) in rows]


async def declare(person: Person, consent: bool, presence: str = "") -> None:
    """Topic, function and (optionally) presence and consent, through the settings pages."""
    answer = await person.submit(
        "/settings/profile", "/settings/profile", topics=TOPIC, job_title="Adviseur"
    )
    assert answer.status_code == 303, text_of(answer.text)[:300]
    if presence:
        answer = await person.submit(
            "/settings/presence", "/settings/presence", presence=presence, until_choice="none"
        )
        assert answer.status_code == 303, text_of(answer.text)[:300]
    html = await person.page("/settings/federation")
    (form,) = [f for f in forms_of(html) if f.action == "/settings/federation"]
    fields = {k: v for k, v in form.fields.items() if k != "indexable"}  # the box unticked
    if consent:
        fields["indexable"] = "on"
    answer = await person.web.post("/settings/federation", data=fields)
    assert answer.status_code == 303, text_of(answer.text)[:300]


async def test_an_expert_at_gov_b_is_found_from_gov_a(
    federation: Federation, sign_in: SignIn
) -> None:
    a, b = federation.a, federation.b
    federation.accounts((b, "brenda"), (b, "bart"))
    federation.accounts((a, "dirk"), admin=True)
    brenda, bart = await sign_in(b, "brenda"), await sign_in(b, "bart")
    await declare(brenda, consent=True, presence="office")
    await declare(bart, consent=False)
    assert b.query("SELECT indexable FROM actor WHERE uri = ?", brenda.actor_id) == [(1,)]

    dirk = await sign_in(a, "dirk")
    answer = await dirk.submit(
        "/admin/directories", "/admin/directories", domain=b.host, op="connect"
    )
    assert answer.status_code == 303, text_of(answer.text)[:300]
    assert answer.headers["location"].endswith("found=1")
    assert b.host in text_of(await dirk.page("/admin/directories"))

    # gov-a holds brenda's topic and presence, and none of bart's topics.
    assert topics_at(a, brenda.actor_id) == [TOPIC]
    assert topics_at(a, bart.actor_id) == []
    assert a.query(
        "SELECT indexable, presence, domain FROM actor WHERE uri = ?", brenda.actor_id
    ) == [(1, "office", b.host)]

    # The expertise finder at gov-a shows her, where she works, and that she is in.
    finder = await dirk.web.get(f"/experts?topic={TOPIC}")
    if finder.status_code != 404:  # the finder page exists
        assert finder.status_code == 200
        seen = text_of(finder.text)
        assert "brenda" in seen.lower() and b.host in seen, seen[:800]
        assert "In the office" in seen
        assert "bart" not in seen.lower()

    # Her profile at gov-a says so too.
    profile = text_of(await dirk.page(f"/@{brenda.handle}"))
    assert "In the office" in profile, profile[:800]

    # She withdraws her consent: gov-b tells gov-a (a reader of its directory) at once.
    await declare(brenda, consent=False)

    async def forgotten() -> bool:
        return topics_at(a, brenda.actor_id) == []

    await eventually(forgotten, "gov-a forgot brenda's topics after she withdrew consent")
    assert a.query("SELECT indexable FROM actor WHERE uri = ?", brenda.actor_id) == [(0,)]
