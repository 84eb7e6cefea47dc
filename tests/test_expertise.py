"""Expertise scores and the finder's ranking, through the services: evidence, fading,
endorsements, synonyms, consent of remote people, and what must never count."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fediverse_intranet.errors import InvalidInput, NotFound, PermissionDenied
from fediverse_intranet.models import (
    Actor,
    ActorTopic,
    ExpertiseScore,
    Post,
    Presence,
    Tag,
    TopicLink,
    TopicLinkKind,
    Visibility,
)
from fediverse_intranet.services import endorsements, expertise, groups, posts, profiles
from fediverse_intranet.services.clock import now
from tests.conftest import make_account


async def person(name: str, topics: str = "", levels: dict[str, str] | None = None) -> Actor:
    account = await make_account(name)
    actor = await Actor.get(id=account.actor_id)
    await profiles.update_profile(
        actor, profiles.ProfileForm(display_name=name.title(), topics=topics, levels=levels or {})
    )
    return actor


async def post(author: Actor, text: str, visibility: Visibility = Visibility.PUBLIC) -> Post:
    return await posts.create_post(author, posts.Draft(text, visibility=visibility))


async def score(actor: Actor, topic: str) -> ExpertiseScore | None:
    return await ExpertiseScore.get_or_none(actor_id=actor.id, tag__name=topic)


def names(found: list[expertise.Expert]) -> list[str]:
    return [e.actor.username for e in found]


ALL = expertise.Filters()


def test_fade_halves_after_half_a_year():
    moment = now()
    assert expertise.fade(moment, moment) == pytest.approx(1.0)
    assert expertise.fade(moment - timedelta(days=180), moment) == pytest.approx(0.5)
    assert expertise.fade(moment - timedelta(days=360), moment) == pytest.approx(0.25)


async def test_endorsed_poster_outranks_one_who_only_declared(app):
    declared = await person("dora", "paspoorten", {"paspoorten": "3"})
    expert = await person("erik", "paspoorten", {"paspoorten": "1"})
    colleagues = [await person(f"c{i}") for i in range(3)]
    for colleague in colleagues:
        await endorsements.endorse(colleague, expert, "paspoorten")
    await post(expert, "Nieuwe regels voor #paspoorten")
    await post(expert, "Nog een vraag over #paspoorten beantwoord")
    await expertise.rescore(expert)  # what the worker does for new posts
    found = await expertise.find_experts(["paspoorten"], ALL, declared)
    assert names(found) == ["erik", "dora"]
    mine = await score(expert, "paspoorten")
    assert (mine.endorsements, mine.posts, mine.declared_level, mine.answers) == (3, 2, 1, 0)
    assert found[0].total > found[1].total


async def test_old_posts_count_less(app):
    fresh = await person("fresh")
    old = await person("old")
    await post(fresh, "about #archief")
    aged = await post(old, "about #archief")
    await Post.filter(id=aged.id).update(created_at=now() - timedelta(days=360))
    await expertise.rescore(fresh)
    await expertise.rescore(old)
    assert (await score(fresh, "archief")).score == pytest.approx(1.0, abs=0.01)
    assert (await score(old, "archief")).score == pytest.approx(0.25, abs=0.01)


async def test_hidden_posts_are_no_evidence(app):
    """Followers-only, direct, deleted and members-only posts never count or show up."""
    author = await person("geheim")
    await post(author, "#wob followers", Visibility.FOLLOWERS)
    await post(author, "#wob direct", Visibility.DIRECT)
    gone = await post(author, "#wob gone")
    await Post.filter(id=gone.id).update(deleted_at=now())
    closed = await groups.create_group(
        await make_account("owner"),
        groups.GroupForm(handle="wobclub", name="Wob club", access="closed"),
    )
    await post(author, "#wob for everybody")  # the one that counts
    owner = await Actor.get(username="owner")
    await posts.create_post(owner, posts.Draft("#wob in the club"), group=closed)
    await expertise.rescore(author)
    await expertise.rescore(owner)
    assert (await score(author, "wob")).posts == 1
    assert await score(owner, "wob") is None


async def test_several_keywords_all_matching_first(app):
    both = await person("both", "paspoorten reisdocumenten")
    one = await person("one", "paspoorten")
    for i in range(5):
        await post(one, f"#paspoorten {i}")
    await expertise.rescore(one)
    found = await expertise.find_experts(["paspoorten", "reisdocumenten"], ALL, both)
    assert names(found) == ["both", "one"]
    assert [e.matched for e in found] == [2, 1]


async def test_synonyms_count_as_canonical_and_related_is_weaker(app):
    await Tag.get_or_create(name="paspoort")
    await Tag.get_or_create(name="reisdocumenten")
    canonical, _ = await Tag.get_or_create(name="paspoorten")
    synonym = await Tag.get(name="paspoort")
    related = await Tag.get(name="reisdocumenten")
    await TopicLink.create(tag=synonym, canonical=canonical, kind=TopicLinkKind.SYNONYM)
    await TopicLink.create(tag=related, canonical=canonical, kind=TopicLinkKind.RELATED)
    syn = await person("syn", "paspoort")
    await person("rel", "reisdocumenten")
    assert await score(syn, "paspoorten") is not None  # stored under the canonical topic
    found = await expertise.find_experts(["paspoort"], ALL, syn)
    assert names(found) == ["syn", "rel"]
    assert found[1].total == pytest.approx(found[0].total * expertise.RELATED_WEIGHT)


async def test_groups_count_and_moderators_are_named(app):
    owner_account = await make_account("mod")
    group = await groups.create_group(
        owner_account,
        groups.GroupForm(handle="paszaken", name="Paspoortzaken", topics="paspoorten"),
    )
    secret = await groups.create_group(
        owner_account,
        groups.GroupForm(handle="geheim", name="Geheim", topics="paspoorten", access="secret"),
    )
    closed = await groups.create_group(
        owner_account,
        groups.GroupForm(handle="raad", name="Raad", topics="paspoorten", access="closed"),
    )
    assert group and secret and closed
    owner = await Actor.get(id=owner_account.actor_id)
    await expertise.rescore(owner)
    found = await expertise.find_experts(["paspoorten"], ALL, owner)
    assert names(found) == ["mod"]
    # Neither the secret group nor the closed one (whose moderators are for its members).
    assert found[0].moderated == ["Paspoortzaken"]
    assert found[0].scores[0].moderates == 2  # a count names nobody's group


async def test_remote_people_only_with_consent(app):
    viewer = await person("kijker")
    tag, _ = await Tag.get_or_create(name="paspoorten")
    remote = await Actor.create(
        username="rita", domain="gov-b.example", uri="https://gov-b.example/users/rita"
    )
    await ActorTopic.create(actor=remote, tag=tag, level=2)
    await expertise.rescore(remote)
    assert await expertise.find_experts(["paspoorten"], ALL, viewer) == []
    remote.indexable = True
    await remote.save()
    await expertise.rescore(remote)
    assert names(await expertise.find_experts(["paspoorten"], ALL, viewer)) == ["rita"]
    here = expertise.Filters(where="here")
    assert await expertise.find_experts(["paspoorten"], here, viewer) == []
    elsewhere = expertise.Filters(where="elsewhere")
    assert names(await expertise.find_experts(["paspoorten"], elsewhere, viewer)) == ["rita"]


async def test_team_and_presence_filters(app):
    viewer = await person("zoeker")
    inside = await person("binnen", "privacy")
    await person("buiten", "privacy")
    await profiles.set_presence(inside, Presence.OFFICE.value, "", None)
    inside.team = "Burgerzaken"
    await inside.save()
    present = expertise.Filters(present=True)
    assert names(await expertise.find_experts(["privacy"], present, viewer)) == ["binnen"]
    team = expertise.Filters(team="burgerzaken")
    assert names(await expertise.find_experts(["privacy"], team, viewer)) == ["binnen"]


async def test_unknown_topics_and_deactivated_people_find_nothing(app):
    viewer = await person("v")
    assert await expertise.find_experts(["bestaatniet"], ALL, viewer) == []
    assert await expertise.find_experts([], ALL, viewer) == []
    gone = await person("weg", "privacy")
    await gone.fetch_related("account")
    gone.account.is_active = False
    await gone.account.save()
    assert await expertise.find_experts(["privacy"], ALL, viewer) == []


async def test_endorsement_rules(app):
    a = await person("anna", "privacy")
    b = await person("bart", "privacy")
    with pytest.raises(InvalidInput):
        await endorsements.endorse(a, a, "privacy")
    with pytest.raises(NotFound):
        await endorsements.endorse(a, b, "paspoorten")  # not one of Bart's topics
    remote = await Actor.create(username="r", domain="x.example", uri="https://x.example/u/r")
    with pytest.raises(PermissionDenied):
        await endorsements.endorse(a, remote, "privacy")
    assert await endorsements.endorse(a, b, "privacy") is True
    assert await endorsements.endorse(a, b, "privacy") is False
    shown = await endorsements.on_profile(b, a)
    assert [(t.name, t.count, t.mine) for t in shown] == [("privacy", 1, True)]
    assert (await score(b, "privacy")).endorsements == 1
    assert await endorsements.withdraw(a, b, "privacy") is True
    assert (await score(b, "privacy")).endorsements == 0


async def test_levels_are_kept_and_checked(app):
    p = await person("lev", "privacy archief", {"privacy": "3"})
    assert await profiles.topic_levels(p) == [("archief", 0), ("privacy", 3)]
    await profiles.update_profile(p, profiles.ProfileForm(topics="privacy archief wob"))
    assert await profiles.topic_levels(p) == [("archief", 0), ("privacy", 3), ("wob", 0)]
    with pytest.raises(InvalidInput):
        await profiles.update_profile(
            p, profiles.ProfileForm(topics="privacy", levels={"privacy": "9"})
        )
    assert (await score(p, "privacy")).declared_level == 3


async def test_worker_refresh_rescores_new_posters(app):
    p = await person("nieuw")
    await post(p, "#omgevingswet")
    assert await score(p, "omgevingswet") is None  # not yet: the worker picks it up
    await expertise.refresh(now() - timedelta(minutes=10))
    assert (await score(p, "omgevingswet")).posts == 1


async def test_refresh_follows_appreciations_and_expired_presence_filters(app):
    author = await person("auteur")
    fan = await person("fan")
    written = await post(author, "#privacy")
    await expertise.rescore(author)
    await ExpertiseScore.filter(actor_id=author.id).update(updated_at=now() - timedelta(hours=2))
    await posts.set_like(written.id, fan, True)
    await Post.filter(id=written.id).update(created_at=now() - timedelta(hours=3))
    await Actor.filter(id=author.id).update(updated_at=now() - timedelta(hours=3))
    await expertise.refresh(now() - timedelta(minutes=10))
    assert (await score(author, "privacy")).appreciations == 1
    # A presence whose end time passed does not count as present today.
    await Actor.filter(id=author.id).update(
        presence=Presence.OFFICE, presence_until=now() - timedelta(minutes=1)
    )
    present = expertise.Filters(present=True)
    assert await expertise.find_experts(["privacy"], present, fan) == []


async def test_rescore_all_counts_everyone(app):
    await person("een", "privacy")
    await person("twee")
    await ExpertiseScore.all().delete()
    assert await expertise.rescore_all() == 2
    assert await ExpertiseScore.all().count() == 1


async def test_saved_profile_reaches_directory_readers_only_with_consent(app):
    from fediverse_intranet.models import Delivery
    from fediverse_intranet.services import remote_directory

    reader = await Actor.create(
        username="dir",
        domain="gov-b.example",
        uri="https://gov-b.example/actor",
        inbox_url="https://gov-b.example/inbox",
    )
    await remote_directory.remember_reader(reader)
    me = await person("deler", "privacy")
    assert await Delivery.all().count() == 0  # no consent: the directory does not list me
    me.indexable = True
    await me.save()
    await profiles.update_profile(me, profiles.ProfileForm(display_name="Deler", topics="wob"))
    sent = await Delivery.all()
    assert [d.inbox_url for d in sent] == ["https://gov-b.example/inbox"]
