"""The JSON-LD context we write and the vocabulary's shared names: the public
audience, the media type, actor types, our presences, and the error a reader raises.
"""

from __future__ import annotations

from typing import Any

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"


SECURITY_CONTEXT = "https://w3id.org/security/v1"


PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


ACTIVITY_JSON = "application/activity+json"


# The terms Mastodon defines inline (app/lib/activitypub/adapter.rb, CONTEXT_EXTENSION_MAP),
# plus schema:knowsAbout for expertise topics. Mastodon's "schema" prefix ends in "#": kept so,
# because every peer matches PropertyValue by that expansion. Inline, because peers such as
# Fedify load only the contexts they ship.
CONTEXT_TERMS: dict[str, Any] = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag",
    "toot": "http://joinmastodon.org/ns#",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "suspended": "toot:suspended",
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    "knowsAbout": "schema:knowsAbout",
    # Lemmy's group terms (FEP-1b12 groups): who may post, and the group's moderators.
    "lemmy": "https://join-lemmy.org/ns#",
    "postingRestrictedToMods": "lemmy:postingRestrictedToMods",
    "moderators": {"@id": "lemmy:moderators", "@type": "@id"},
    # FEP-82f6 actor statuses (Smithereen's terms), and which presence a status stands for.
    "sm": "http://smithereen.software/ns#",
    "ActorStatus": "sm:ActorStatus",
    "status": {"@id": "sm:status", "@type": "@id"},
    "presence": "urn:fediverse-intranet:ns#presence",
}


CONTEXT: list[Any] = [AS_CONTEXT, SECURITY_CONTEXT, CONTEXT_TERMS]


ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})


# Our presences, with the plain-text fallback a status carries when it has no note of its own.
PRESENCE_TEXT = {
    "office": "In the office",
    "elsewhere": "Working elsewhere",
    "busy": "Busy",
    "away": "Away",
}


PRESENCES = frozenset(PRESENCE_TEXT)


class VocabularyError(ValueError):
    """A document that cannot be used; ``reason`` says why in words fit for a log or a 4xx."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
