"""WebFinger on captured-shape answers: handles in, actor URLs out, and our own JRD."""

from __future__ import annotations

import copy
import json

import pytest

from activitypub.webfinger import (
    Handle,
    WebFingerError,
    build_jrd,
    is_activity_type,
    local_username,
    parse_handle,
    parse_jrd,
    webfinger_url,
)

# Shaped like mastodon.social's answer to
# /.well-known/webfinger?resource=acct:Gargron@mastodon.social (Mastodon 4.x).
MASTODON_JRD = json.loads(
    """
{
  "subject": "acct:Gargron@mastodon.social",
  "aliases": [
    "https://mastodon.social/@Gargron",
    "https://mastodon.social/users/Gargron"
  ],
  "links": [
    {
      "rel": "http://webfinger.net/rel/profile-page",
      "type": "text/html",
      "href": "https://mastodon.social/@Gargron"
    },
    {
      "rel": "self",
      "type": "application/activity+json",
      "href": "https://mastodon.social/users/Gargron"
    },
    {
      "rel": "http://ostatus.org/schema/1.0/subscribe",
      "template": "https://mastodon.social/authorize_interaction?uri={uri}"
    },
    {
      "rel": "http://webfinger.net/rel/avatar",
      "type": "image/png",
      "href": "https://files.mastodon.social/accounts/avatars/000/000/001/original/d.png"
    }
  ]
}
"""
)

# Pleroma/Akkoma also announce the JSON-LD form of the actor.
PLEROMA_LD_ONLY = {
    "subject": "acct:lain@pleroma.example",
    "aliases": ["https://pleroma.example/users/lain"],
    "links": [
        {
            "rel": "self",
            "type": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
            "href": "https://pleroma.example/users/lain",
        }
    ],
}


# --- handles -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "acct:alice@social.example.org",
        "@alice@social.example.org",
        "alice@social.example.org",
        "  @alice@Social.Example.ORG  ",
        "ACCT:alice@social.example.org.",
    ],
)
def test_handles_in_every_usual_form(text: str):
    assert parse_handle(text) == Handle("alice", "social.example.org")


def test_international_host_names_become_idna():
    handle = parse_handle("@anna@Bücher.example")
    assert handle.host == "xn--bcher-kva.example"
    assert handle.acct == "acct:anna@xn--bcher-kva.example"
    assert str(handle) == "@anna@xn--bcher-kva.example"


def test_a_port_is_kept():
    assert parse_handle("alice@localhost:3000").host == "localhost:3000"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "alice",
        "@alice",
        "alice@",
        "@@example.org",
        "ali ce@example.org",
        "alice/x@example.org",
        "alice@exa mple.org",
        "alice@example..org",
        "alice@-example.org",
        "alice@example.org:0",
        "alice@example.org:99999",
        "alice@example.org:http",
        "alice@exam_ple.org",
        "alice@[::1]",
        "https://example.org/users/alice",
        "a" * 400 + "@example.org",
    ],
)
def test_malformed_handles_are_refused(text: str):
    with pytest.raises(WebFingerError):
        parse_handle(text)


def test_the_webfinger_url():
    url = webfinger_url(Handle("alice", "social.example.org"))
    assert url == (
        "https://social.example.org/.well-known/webfinger?resource=acct:alice@social.example.org"
    )


def test_the_webfinger_url_escapes_the_user():
    url = webfinger_url(parse_handle("jürgen@example.org"), scheme="http")
    assert url == "http://example.org/.well-known/webfinger?resource=acct:j%C3%BCrgen@example.org"


# --- reading answers ---------------------------------------------------------------------


def test_a_mastodon_answer_gives_the_actor():
    jrd = parse_jrd(MASTODON_JRD)
    assert jrd.actor_url() == "https://mastodon.social/users/Gargron"
    assert jrd.subject == "acct:Gargron@mastodon.social"
    assert jrd.subject_handle() == Handle("Gargron", "mastodon.social")
    assert "https://mastodon.social/@Gargron" in jrd.aliases


def test_a_json_ld_self_link_with_the_activitystreams_profile_is_used():
    assert parse_jrd(PLEROMA_LD_ONLY).actor_url() == "https://pleroma.example/users/lain"


def test_the_activity_self_link_is_chosen_over_others():
    jrd = copy.deepcopy(MASTODON_JRD)
    jrd["links"].insert(0, {"rel": "self", "type": "text/html", "href": "https://x.example/@a"})
    assert parse_jrd(jrd).actor_url() == "https://mastodon.social/users/Gargron"


@pytest.mark.parametrize(
    "self_link",
    [
        {"rel": "self", "type": "text/html", "href": "https://mastodon.social/@Gargron"},
        {"rel": "self", "type": "application/ld+json", "href": "https://m.example/users/g"},
        {"rel": "self", "href": "https://mastodon.social/users/Gargron"},
        {"rel": "self", "type": "application/activity+json"},
        {"rel": "self", "type": "application/activity+json", "href": "javascript:alert(1)"},
        {"rel": "self", "type": "application/activity+json", "href": "/users/Gargron"},
        {"rel": "alternate", "type": "application/activity+json", "href": "https://m.example/u"},
    ],
)
def test_no_usable_self_link_means_no_actor(self_link: dict):
    jrd = copy.deepcopy(MASTODON_JRD)
    jrd["links"] = [link for link in jrd["links"] if link["rel"] != "self"] + [self_link]
    with pytest.raises(WebFingerError, match="no self link"):
        parse_jrd(jrd).actor_url()


@pytest.mark.parametrize(
    "bad",
    [
        [],
        "acct:alice@example.org",
        {},
        {"subject": ""},
        {"subject": 42, "links": []},
        {"subject": "acct:a@b.example", "links": {"rel": "self"}},
        {"subject": "acct:a@b.example", "links": [{"type": "application/activity+json"}]},
        {"subject": "acct:a@b.example", "links": ["https://b.example/users/a"]},
        {"subject": "acct:a@b.example", "links": [{"rel": "self", "href": ["x"]}]},
        {"subject": "acct:a@b.example", "aliases": "https://b.example/users/a"},
        {"subject": "acct:a@b.example", "aliases": [None]},
    ],
)
def test_malformed_jrds_are_refused(bad: object):
    with pytest.raises(WebFingerError):
        parse_jrd(bad)


def test_unknown_members_are_ignored():
    jrd = dict(MASTODON_JRD, properties={"http://example.org/p": "v"}, expires="2030-01-01")
    assert parse_jrd(jrd).actor_url() == "https://mastodon.social/users/Gargron"


@pytest.mark.parametrize(
    ("media_type", "expected"),
    [
        ("application/activity+json", True),
        ("Application/Activity+JSON; charset=utf-8", True),
        ('application/ld+json; profile="https://www.w3.org/ns/activitystreams"', True),
        (
            'application/ld+json;profile="https://example.org/x https://www.w3.org/ns/activitystreams"',
            True,
        ),
        ("application/ld+json", False),
        ("application/json", False),
        (None, False),
    ],
)
def test_activity_media_types(media_type: str | None, expected: bool):
    assert is_activity_type(media_type) is expected


# --- serving -----------------------------------------------------------------------------


def test_our_jrd_reads_back_through_the_client_side():
    jrd = build_jrd(
        username="alice",
        host="Intranet.Example.NL",
        actor_url="https://intranet.example.nl/users/alice",
        profile_url="https://intranet.example.nl/@alice",
    )
    assert jrd == {
        "subject": "acct:alice@intranet.example.nl",
        "aliases": [
            "https://intranet.example.nl/@alice",
            "https://intranet.example.nl/users/alice",
        ],
        "links": [
            {
                "rel": "http://webfinger.net/rel/profile-page",
                "type": "text/html",
                "href": "https://intranet.example.nl/@alice",
            },
            {
                "rel": "self",
                "type": "application/activity+json",
                "href": "https://intranet.example.nl/users/alice",
            },
        ],
    }
    parsed = parse_jrd(json.loads(json.dumps(jrd)))
    assert parsed.actor_url() == "https://intranet.example.nl/users/alice"
    assert parsed.subject_handle() == Handle("alice", "intranet.example.nl")


def test_extra_aliases_and_the_subscribe_template():
    jrd = build_jrd(
        username="alice",
        host="intranet.example.nl",
        actor_url="https://intranet.example.nl/users/alice",
        profile_url="https://intranet.example.nl/@alice",
        aliases=["https://intranet.example.nl/users/alice", "https://old.example.nl/u/alice"],
        subscribe_template="https://intranet.example.nl/authorize_interaction?uri={uri}",
    )
    assert jrd["aliases"] == [
        "https://intranet.example.nl/@alice",
        "https://intranet.example.nl/users/alice",
        "https://old.example.nl/u/alice",
    ]
    assert jrd["links"][-1] == {
        "rel": "http://ostatus.org/schema/1.0/subscribe",
        "template": "https://intranet.example.nl/authorize_interaction?uri={uri}",
    }


@pytest.mark.parametrize(
    "resource",
    ["acct:alice@intranet.example.nl", "alice@Intranet.Example.NL", "@alice@intranet.example.nl"],
)
def test_the_resource_parameter_names_a_local_user(resource: str):
    assert local_username(resource, "intranet.example.nl") == "alice"


@pytest.mark.parametrize(
    "resource",
    ["acct:alice@elsewhere.example", "acct:alice", "https://intranet.example.nl/users/alice", ""],
)
def test_other_resources_are_refused(resource: str):
    with pytest.raises(WebFingerError):
        local_username(resource, "intranet.example.nl")
