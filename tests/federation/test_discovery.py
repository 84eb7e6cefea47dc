"""Discovery over real HTTPS: WebFinger, NodeInfo and actor documents, as a peer finds us."""

from __future__ import annotations

import httpx

from tests.federation.conftest import Federation

ACTIVITY = "application/activity+json"


async def test_webfinger_nodeinfo_and_actor_over_https(federation: Federation) -> None:
    federation.accounts((federation.b, "dora"))
    b = federation.b
    async with httpx.AsyncClient(verify=federation.ca.client_context(), timeout=20) as peer:
        answer = await peer.get(
            f"{b.url}/.well-known/webfinger", params={"resource": "acct:dora@gov-b.test"}
        )
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/jrd+json")
        jrd = answer.json()
        assert jrd["subject"] == "acct:dora@gov-b.test"
        self_link = next(link for link in jrd["links"] if link.get("rel") == "self")
        assert self_link["href"] == "https://gov-b.test/users/dora"

        actor = await peer.get(self_link["href"], headers={"Accept": ACTIVITY})
        assert actor.status_code == 200
        person = actor.json()
        assert person["id"] == "https://gov-b.test/users/dora"
        assert person["inbox"].startswith("https://gov-b.test/")
        assert person["endpoints"]["sharedInbox"] == "https://gov-b.test/inbox"
        assert "BEGIN PUBLIC KEY" in person["publicKey"]["publicKeyPem"]

        unknown = await peer.get(
            f"{b.url}/.well-known/webfinger", params={"resource": "acct:nobody@gov-b.test"}
        )
        assert unknown.status_code == 404

        links = (await peer.get(f"{b.url}/.well-known/nodeinfo")).json()["links"]
        nodeinfo_url = next(link["href"] for link in links if link["rel"].endswith("/2.1"))
        assert nodeinfo_url.startswith("https://gov-b.test/")
        nodeinfo = (await peer.get(nodeinfo_url)).json()
        assert nodeinfo["version"] == "2.1"
        assert "activitypub" in nodeinfo["protocols"]
        assert nodeinfo["usage"]["users"]["total"] >= 1


async def test_each_instance_serves_its_own_name(federation: Federation) -> None:
    """Three processes, three names, three certificates: each answers as itself."""
    async with httpx.AsyncClient(verify=federation.ca.client_context(), timeout=20) as peer:
        for instance in federation.instances:
            answer = await peer.get(f"{instance.url}/actor", headers={"Accept": ACTIVITY})
            assert answer.status_code == 200
            assert answer.json()["id"].startswith(f"https://{instance.host}/")
