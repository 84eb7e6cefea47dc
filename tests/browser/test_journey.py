"""A new instance, as its first people use it, in a real Chromium against the real server.

Alice sets the instance up and invites Bob; Bob joins, fills in his profile and asks about
#paspoorten; Alice finds Bob by his expertise, follows him and sees his question on her home
page. Every page on the way is checked with axe-core (WCAG 2.1 A and AA), at desktop width
and at phone width (375x740), where nothing may scroll sideways either. Locators are labels
and roles, so the test also proves that the forms are labelled and the landmarks named.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

ALICE_PASSWORD = "alice-correct-horse"
BOB_PASSWORD = "bob-battery-staple"
QUESTION = "Wie weet meer over #paspoorten?"
SCREENSHOTS = Path("/tmp/fediverse-intranet-screenshots")
TAG_HREF = re.compile(r"/tags/paspoorten$")


def main_nav(page: Page, name: str | re.Pattern) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def test_first_people_on_a_new_instance(new_context, a11y, server) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    at = server.url

    # --- Alice opens the fresh site and is sent to the first-administrator setup -----------
    alice_context = new_context()
    alice = alice_context.new_page()
    alice.goto("/")
    expect(alice).to_have_url(f"{at}/setup")
    expect(alice.get_by_role("heading", level=1)).to_have_text("Set up this instance")
    a11y.check(alice, "setup", phone=True)

    alice.get_by_label("Your name").fill("Alice de Vries")
    alice.get_by_label("Username").fill("alice")
    alice.get_by_label("Email address").fill("alice@gemeente-x.nl")
    alice.get_by_label("Password", exact=True).fill(ALICE_PASSWORD)
    alice.get_by_label("Password again", exact=True).fill(ALICE_PASSWORD)
    alice.get_by_role("button", name="Create administrator").click()
    expect(alice).to_have_url(f"{at}/settings/profile?welcome=1")
    expect(alice.get_by_role("heading", name="Welcome!")).to_be_visible()

    # --- Alice invites Bob; the link is shown once -----------------------------------------
    main_nav(alice, "Administration")
    alice.get_by_role("navigation", name="Administration").get_by_role(
        "link", name="Invitations"
    ).click()
    expect(alice).to_have_url(f"{at}/admin/invitations")
    a11y.check(alice, "admin invitations", phone=True)
    alice.get_by_label("Email address (optional)").fill("bob@gemeente-x.nl")
    alice.get_by_label("Role").select_option("member")
    alice.get_by_role("button", name="Create invitation link").click()
    invitation = alice.get_by_label("Invitation link")
    expect(invitation).to_have_value(re.compile(rf"^{re.escape(at)}/invite/[\w-]+$"))
    link = invitation.input_value()
    a11y.check(alice, "admin invitations, link shown", phone=True)
    alice.goto("/admin/invitations")  # a new visit: the link is not shown again
    expect(alice.get_by_label("Invitation link")).to_have_count(0)
    expect(alice.get_by_role("region", name="Waiting to be used")).to_contain_text(
        "bob@gemeente-x.nl"
    )

    # --- Bob, in a browser of his own, opens the link and joins ----------------------------
    bob_context = new_context()
    bob = bob_context.new_page()
    bob.goto(link)
    expect(bob.get_by_role("heading", level=1)).to_have_text("You are invited")
    expect(bob.get_by_label("Email address")).to_have_value("bob@gemeente-x.nl")
    a11y.check(bob, "invitation join", phone=True)
    bob.get_by_label("Your name").fill("Bob Bakker")
    bob.get_by_label("Username").fill("bob")
    bob.get_by_label("Password", exact=True).fill(BOB_PASSWORD)
    bob.get_by_role("button", name="Join").click()

    # --- Bob fills in his profile -----------------------------------------------------------
    expect(bob).to_have_url(f"{at}/settings/profile?welcome=1")
    a11y.check(bob, "settings profile", phone=True)
    bob.get_by_label("Function").fill("Beleidsmedewerker reisdocumenten")
    bob.get_by_label("Team", exact=True).fill("Burgerzaken")
    bob.get_by_label("Expertise topics").fill("paspoorten, identiteitskaarten")
    bob.get_by_role("button", name="Save profile").click()
    expect(bob).to_have_url(f"{at}/settings/profile?saved=profile")
    expect(bob.get_by_role("status")).to_have_text("Your profile was saved.")
    expect(bob.get_by_label("Expertise topics")).to_have_value(
        re.compile(r"paspoorten.*identiteitskaarten|identiteitskaarten.*paspoorten")
    )

    # --- Bob asks his question from the home page -------------------------------------------
    main_nav(bob, "Home")
    expect(bob).to_have_url(f"{at}/")
    bob.get_by_label("Message").fill(QUESTION)
    bob.get_by_label("Who can see this").select_option("public")
    bob.get_by_role("button", name="Post", exact=True).click()
    expect(bob).to_have_url(re.compile(rf"^{re.escape(at)}/posts/\d+$"))
    post_url = bob.url
    post = bob.locator("article.post-focus")
    expect(post).to_contain_text("Wie weet meer over #paspoorten?")
    expect(post.get_by_role("link", name="#paspoorten")).to_have_attribute("href", TAG_HREF)
    a11y.check(bob, "post page (author)", phone=True)

    # --- Alice finds Bob in the people directory by his expertise and follows him ----------
    main_nav(alice, "People")
    expect(alice).to_have_url(f"{at}/people")
    a11y.check(alice, "people directory", phone=True)
    alice.get_by_label("Expertise topic", exact=True).fill("paspoorten")
    alice.get_by_role("main").get_by_role("search").get_by_role("button", name="Search").click()
    results = alice.get_by_role("region", name="Results")
    expect(results.get_by_role("status")).to_have_text("1 person knows about this topic")
    results.get_by_role("link", name="Bob Bakker").click()
    expect(alice).to_have_url(f"{at}/@bob")
    expect(alice.get_by_role("heading", level=1)).to_have_text("Bob Bakker")
    expect(alice.get_by_text("Beleidsmedewerker reisdocumenten")).to_be_visible()
    expect(alice.get_by_role("link", name="paspoorten", exact=True)).to_be_visible()
    a11y.check(alice, "profile of Bob", phone=True)
    alice.get_by_role("button", name="Follow Bob Bakker", exact=True).click()
    expect(alice).to_have_url(f"{at}/@bob")
    expect(alice.get_by_role("button", name="Unfollow Bob Bakker", exact=True)).to_be_visible()
    expect(alice.get_by_text("1 follower", exact=True)).to_be_visible()
    a11y.check(alice, "profile of Bob, followed", phone=True)
    alice.screenshot(path=str(SCREENSHOTS / "profile.png"), full_page=True)

    # --- Alice's home timeline now shows Bob's question with its #paspoorten link ----------
    main_nav(alice, "Home")
    expect(alice).to_have_url(f"{at}/")
    timeline = alice.get_by_role("region", name="From people and topics you follow")
    card = timeline.get_by_role("article").filter(has_text="Wie weet meer over")
    expect(card).to_have_count(1)
    expect(card.get_by_role("link", name="Bob Bakker", exact=True)).to_be_visible()
    expect(card.get_by_role("link", name="#paspoorten")).to_have_attribute("href", TAG_HREF)
    a11y.check(alice, "home", phone=True)
    alice.screenshot(path=str(SCREENSHOTS / "home.png"), full_page=True)
    alice.set_viewport_size({"width": 375, "height": 740})
    alice.screenshot(path=str(SCREENSHOTS / "home-phone.png"), full_page=True)
    alice.set_viewport_size({"width": 1280, "height": 900})

    # The post page as a reader sees it, and the compose page.
    card.get_by_role("link").filter(has=alice.locator("time")).click()  # the time links the post
    expect(alice).to_have_url(post_url)
    a11y.check(alice, "post page (reader)", phone=True)
    main_nav(alice, "Write")
    expect(alice).to_have_url(f"{at}/compose")
    a11y.check(alice, "compose", phone=True)

    # --- Bob is told that Alice follows him -------------------------------------------------
    main_nav(bob, re.compile(r"^Notifications"))
    expect(bob).to_have_url(f"{at}/notifications")
    expect(bob.get_by_role("link", name="Alice de Vries follows you")).to_be_visible()
    a11y.check(bob, "notifications", phone=True)

    # --- Bob switches the site to Nederlands with the footer form ---------------------------
    footer = bob.get_by_role("contentinfo")
    footer.get_by_label("Language").select_option("nl")
    footer.get_by_role("button").click()
    expect(bob).to_have_url(f"{at}/notifications")
    expect(bob.locator("html")).to_have_attribute("lang", "nl")
    a11y.check(bob, "notifications in Dutch", phone=True)

    # --- Alice signs out and back in --------------------------------------------------------
    alice.get_by_role("button", name="Sign out").click()
    expect(alice).to_have_url(f"{at}/login")
    expect(alice.get_by_role("navigation", name="Main")).to_have_count(0)
    a11y.check(alice, "login", phone=True)
    alice.get_by_label("Username or email address").fill("alice")
    alice.get_by_label("Password", exact=True).fill(ALICE_PASSWORD)
    alice.get_by_role("button", name="Sign in").click()
    expect(alice).to_have_url(f"{at}/")
    expect(alice.get_by_role("button", name="Sign out")).to_be_visible()
    expect(timeline.get_by_role("article").filter(has_text="Wie weet meer over")).to_have_count(1)

    # The pages ran clean: no blocked resources or scripts, no errors in the console.
    assert alice_context.problems == []
    assert bob_context.problems == []
    a11y.assert_clean()
