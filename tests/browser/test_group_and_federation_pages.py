"""The pages added with federation, groups and search, in a real Chromium, each checked
with axe-core (WCAG 2.1 A and AA) at desktop and phone width: the groups directory, the
create form (with its errors), a group page with a post, its members and settings pages,
groups elsewhere, search, Administration > Federation, Reports and Expertise directories,
and the consent page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import first_administrator

pytestmark = pytest.mark.browser


def test_group_federation_and_search_pages(new_context, a11y, server) -> None:
    at = server.url
    alice = new_context().new_page()
    first_administrator(alice, server)

    alice.goto("/groups")
    a11y.check(alice, "groups directory, empty", phone=True)
    alice.goto("/groups/new")
    alice.get_by_label("Handle").fill("x y")
    alice.get_by_role("button", name="Create group").click()
    expect(alice.locator("#error-handle")).to_contain_text("A handle has 1 to 30 letters")
    a11y.check(alice, "create group with errors", phone=True)
    alice.get_by_label("Name").fill("Omgevingswet")
    alice.get_by_label("Handle").fill("omgevingswet")
    alice.get_by_label("Description").fill("Alles over de **Omgevingswet**.")
    alice.get_by_label("Topics").fill("omgevingswet, ruimte")
    alice.get_by_role("button", name="Create group").click()
    expect(alice).to_have_url(f"{at}/groups/omgevingswet")
    a11y.check(alice, "group page", phone=True)

    alice.goto("/groups/omgevingswet/members")
    a11y.check(alice, "group members", phone=True)
    alice.goto("/groups/omgevingswet/settings")
    a11y.check(alice, "group settings", phone=True)
    alice.goto("/groups")
    a11y.check(alice, "groups directory", phone=True)
    alice.goto("/remote-groups")
    a11y.check(alice, "groups elsewhere", phone=True)

    alice.goto("/search?q=omgevingswet")
    expect(alice.get_by_role("main")).to_contain_text("Omgevingswet")
    a11y.check(alice, "search results", phone=True)
    alice.goto("/search?q=%22NEAR(")
    a11y.check(alice, "search with operators only", phone=True)

    for path, name in (
        ("/admin/federation", "admin federation"),
        ("/admin/reports", "admin reports"),
        ("/admin/directories", "admin expertise directories"),
        ("/settings/federation", "consent to be found elsewhere"),
    ):
        alice.goto(path)
        expect(alice.get_by_role("main")).to_be_visible()
        a11y.check(alice, name, phone=True)
