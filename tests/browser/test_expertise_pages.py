"""The expertise pages in a real Chromium, each checked with axe-core (WCAG 2.1 A and AA) at
desktop and phone width: topic levels in the profile settings, the finder with its chips,
filters and explanations, and Administration > Topics."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import first_administrator

pytestmark = pytest.mark.browser


def test_expertise_pages(new_context, a11y, server) -> None:
    at = server.url
    alice = new_context().new_page()
    first_administrator(alice, server)

    alice.get_by_label("Expertise topics").fill("paspoorten, reisdocumenten")
    alice.get_by_role("button", name="Save profile").click()
    alice.get_by_label("paspoorten").select_option("3")
    alice.get_by_role("button", name="Save profile").click()
    expect(alice.get_by_label("paspoorten")).to_have_value("3")
    a11y.check(alice, "profile settings with levels", phone=True)

    alice.get_by_role("navigation", name="Main").get_by_role("link", name="Experts").click()
    expect(alice).to_have_url(f"{at}/experts")
    a11y.check(alice, "finder, empty", phone=True)
    alice.get_by_role("link", name="paspoorten").click()
    alice.get_by_label("Add topics").fill("reisdocumenten")
    alice.get_by_role("button", name="Find experts").click()
    results = alice.get_by_role("region", name="Results")
    expect(results).to_contain_text("Alice de Vries")
    expect(results).to_contain_text("declares: expert")
    a11y.check(alice, "finder with results", phone=True)

    alice.goto("/admin/topics")
    a11y.check(alice, "admin topics", phone=True)
    alice.get_by_label("Topic", exact=True).fill("paspoort")
    alice.get_by_label("Main topic").fill("paspoorten")
    alice.get_by_role("button", name="Link topics").click()
    expect(alice.get_by_role("status")).to_contain_text("The topics are linked.")
    a11y.check(alice, "admin topics with a link", phone=True)
    alice.goto("/@alice")
    a11y.check(alice, "profile with levels", phone=True)
