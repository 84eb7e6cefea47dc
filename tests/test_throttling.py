"""Sign-in throttling holds when guesses arrive at once: the attempt is counted before its
password is checked, so sixteen parallel guesses cannot all be checked against a limit of 5."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from conftest import PASSWORD

from fediverse_intranet.errors import InvalidInput, RateLimited
from fediverse_intranet.models import LoginFailure
from fediverse_intranet.services import accounts
from fediverse_intranet.services.clock import now

GUESSES = 16


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords argon2 really verified (the real check, only counted)."""
    seen: list[str] = []
    real = accounts.verify_password

    async def counting(password_hash: str, password: str) -> bool:
        seen.append(password)
        return await real(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", counting)
    return seen


async def _guess(login: str, password: str, address: str) -> str:
    try:
        await accounts.authenticate(login, password, address)
    except RateLimited:
        return "throttled"
    except InvalidInput:
        return "wrong"
    return "signed in"


async def test_parallel_guesses_for_one_name_check_at_most_five(bob, checked):
    answers = await asyncio.gather(
        *(_guess("bob", f"guess number {n}", f"10.0.0.{n}") for n in range(GUESSES))
    )
    assert len(checked) <= accounts.MAX_FAILURES_PER_LOGIN
    assert answers.count("wrong") == len(checked)
    assert answers.count("throttled") >= GUESSES - accounts.MAX_FAILURES_PER_LOGIN
    # The right password is refused too, without being checked, until the window passes.
    assert await _guess("bob", PASSWORD, "10.0.1.1") == "throttled"
    assert PASSWORD not in checked
    await LoginFailure.all().update(created_at=now() - timedelta(minutes=16))
    assert await _guess("bob", PASSWORD, "10.0.1.1") == "signed in"


async def test_parallel_guesses_from_one_address_check_at_most_the_address_limit(app, checked):
    limit = accounts.MAX_FAILURES_PER_ADDRESS
    answers = await asyncio.gather(
        *(_guess(f"ghost{n}", "some guess here", "10.9.9.9") for n in range(limit + GUESSES))
    )
    assert len(checked) <= limit
    assert answers.count("throttled") >= GUESSES
    assert await _guess("ghost-other", "some guess here", "10.9.9.9") == "throttled"


async def test_throttled_attempts_do_not_prolong_the_wait(bob):
    for n in range(accounts.MAX_FAILURES_PER_LOGIN):
        assert await _guess("bob", f"guess number {n}", "10.0.0.1") == "wrong"
    for _ in range(10):
        assert await _guess("bob", "yet another guess", "10.0.0.1") == "throttled"
    assert await LoginFailure.filter(login="bob").count() == accounts.MAX_FAILURES_PER_LOGIN


async def test_parallel_sign_in_forms_are_throttled_over_http(browser, bob, checked):
    person = await browser()
    token = person.csrf
    answers = await asyncio.gather(
        *(
            person.post(
                "/login",
                data={"csrf_token": token, "login": "bob", "password": f"guess {n} of many"},
            )
            for n in range(GUESSES)
        )
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert len(checked) <= accounts.MAX_FAILURES_PER_LOGIN
    assert statuses.count(400) == len(checked)
    assert statuses.count(429) == GUESSES - len(checked)
