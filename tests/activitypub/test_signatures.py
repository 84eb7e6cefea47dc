"""HTTP signatures as a peer sees them: what we send verifies, what a peer sends is
accepted or refused with the reason it will read in our 401."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from activitypub import keys
from activitypub.signatures import (
    SignatureError,
    VerifiedSignature,
    sign_request,
    sign_request_rfc9421,
    verify_request,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY_ID = "https://a.example/users/alice#main-key"
INBOX_URL = "https://b.example/users/bob/inbox"
INBOX = "/users/bob/inbox"
BODY = b'{"type":"Follow","actor":"https://a.example/users/alice"}'
JSON = {"Content-Type": "application/activity+json"}
FIXTURES = Path(__file__).parent / "fixtures"

RSA_PAIR = keys.generate_rsa_key_pair()
RSA_KEY = keys.load_private_key(RSA_PAIR.private_pem)
RSA_PUBLIC = keys.load_public_key(RSA_PAIR.public_pem)
ED_KEY = ed25519.Ed25519PrivateKey.generate()
ED_PUBLIC = ED_KEY.public_key()
OTHER_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)

SIGNERS = {"draft-cavage": sign_request, "rfc9421": sign_request_rfc9421}


class KeyStore:
    """A get_public_key for one key id: answers one key, another on refresh, and records
    its calls."""

    def __init__(self, first: object, refreshed: object = "same", key_id: str = KEY_ID) -> None:
        self.first = first
        self.refreshed = first if refreshed == "same" else refreshed
        self.key_id = key_id
        self.calls: list[tuple[str, bool]] = []

    async def __call__(self, key_id: str, refresh: bool) -> object:
        self.calls.append((key_id, refresh))
        if key_id != self.key_id:
            return None
        return self.refreshed if refresh else self.first


async def verify(
    headers,
    *,
    method: str = "POST",
    path: str = INBOX,
    body: bytes | None = BODY,
    key: object = RSA_PUBLIC,
    now: datetime = NOW,
    **options,
) -> VerifiedSignature:
    return await verify_request(method, path, headers, body, KeyStore(key), now=now, **options)


async def refused(headers, reason: str, **options) -> None:
    with pytest.raises(SignatureError) as info:
        await verify(headers, **options)
    assert info.value.reason == reason


def signed(scheme: str = "draft-cavage", *, key=RSA_KEY, body: bytes | None = BODY, **options):
    """Headers for a POST to Bob's inbox, signed now."""
    headers = JSON if body is not None else {}
    return SIGNERS[scheme]("POST", INBOX_URL, headers, body, KEY_ID, key, now=NOW, **options)


def cavage_header(lines: list[str], *, key=RSA_KEY, algorithm: str | None = "rsa-sha256", extra=""):
    """A draft-cavage Signature over a signing string written out by the test."""
    message = "\n".join(lines).encode()
    if isinstance(key, rsa.RSAPrivateKey):
        raw = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    else:
        raw = key.sign(message)
    names = " ".join(line.split(": ", 1)[0] for line in lines)
    params = [f'keyId="{KEY_ID}"']
    params += [f'algorithm="{algorithm}"'] if algorithm is not None else []
    params += [f'headers="{names}"'] + ([extra] if extra else [])
    params += [f'signature="{base64.b64encode(raw).decode()}"']
    return ",".join(params)


DATE = formatdate(NOW.timestamp(), usegmt=True)
DIGEST = "SHA-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode()
POST_LINES = [
    f"(request-target): post {INBOX}",
    "host: b.example",
    f"date: {DATE}",
    f"digest: {DIGEST}",
]
POST_FIELDS = {"Host": "b.example", "Date": DATE, "Digest": DIGEST}


# Round trips


async def test_cavage_rsa_is_signed_as_mastodon_signs_and_verifies():
    headers = signed()
    assert re.fullmatch(
        r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT", headers["Date"]
    )
    assert parsedate_to_datetime(headers["Date"]) == NOW
    assert headers["Host"] == "b.example"
    assert headers["Digest"] == DIGEST
    assert 'algorithm="rsa-sha256"' in headers["Signature"]
    assert 'headers="(request-target) host date digest content-type"' in headers["Signature"]
    assert await verify(headers) == VerifiedSignature(KEY_ID, "rsa-v1_5-sha256", "draft-cavage")


@pytest.mark.parametrize("algorithm", ["hs2019", "HS2019", None])
async def test_hs2019_or_no_algorithm_with_an_rsa_key_is_rsa_sha256(algorithm):
    headers = {**POST_FIELDS, "Signature": cavage_header(POST_LINES, algorithm=algorithm)}
    result = await verify(headers)
    assert (result.algorithm, result.scheme) == ("rsa-v1_5-sha256", "draft-cavage")


async def test_hs2019_with_an_ed25519_key():
    headers = signed(key=ED_KEY)
    assert 'algorithm="hs2019"' in headers["Signature"]
    assert await verify(headers, key=ED_PUBLIC) == VerifiedSignature(
        KEY_ID, "ed25519", "draft-cavage"
    )


@pytest.mark.parametrize(
    ("key", "public", "algorithm"),
    [(RSA_KEY, RSA_PUBLIC, "rsa-v1_5-sha256"), (ED_KEY, ED_PUBLIC, "ed25519")],
    ids=["rsa", "ed25519"],
)
async def test_rfc9421_round_trip(key, public, algorithm):
    headers = signed("rfc9421", key=key)
    digest = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert headers["Content-Digest"] == f"sha-256=:{digest}:"
    assert headers["Signature-Input"].startswith(
        'sig1=("@method" "@target-uri" "@authority" "date" "content-digest");created='
    )
    assert f'keyid="{KEY_ID}"' in headers["Signature-Input"]
    assert await verify(headers, key=public) == VerifiedSignature(KEY_ID, algorithm, "rfc9421")


@pytest.mark.parametrize("scheme", SIGNERS)
async def test_a_get_without_body_is_signed_without_digest(scheme):
    headers = SIGNERS[scheme](
        "GET", INBOX_URL, {"Accept": "application/activity+json"}, None, KEY_ID, RSA_KEY, now=NOW
    )
    assert not {"digest", "content-digest"} & {name.lower() for name in headers}
    if scheme == "draft-cavage":
        assert 'headers="(request-target) host date accept"' in headers["Signature"]
    assert (await verify(headers, method="GET", body=None)).scheme == scheme
    await refused(headers, "bad signature", method="POST", body=None)


@pytest.mark.parametrize("scheme", SIGNERS)
async def test_the_query_string_is_part_of_what_is_signed(scheme):
    headers = SIGNERS[scheme]("GET", INBOX_URL + "?page=2", {}, None, KEY_ID, RSA_KEY, now=NOW)
    await verify(headers, method="GET", path=INBOX + "?page=2", body=None)
    await refused(headers, "bad signature", method="GET", path=INBOX + "?page=3", body=None)


@pytest.mark.parametrize("scheme", SIGNERS)
@pytest.mark.parametrize("case", [str.lower, str.upper, str.title])
async def test_header_names_match_whatever_their_case(scheme, case):
    headers = {case(name): value for name, value in signed(scheme).items()}
    assert (await verify(headers)).scheme == scheme


async def test_repeated_header_lines_are_joined_as_one_value():
    accept = {"Accept": "application/activity+json, application/ld+json"}
    headers = sign_request("GET", INBOX_URL, accept, None, KEY_ID, RSA_KEY, now=NOW)
    lines = [(name, value) for name, value in headers.items() if name != "Accept"]
    lines += [("accept", "application/activity+json"), ("accept", "application/ld+json")]
    assert (await verify(lines, method="GET", body=None)).key_id == KEY_ID


async def test_host_keeps_a_non_default_port_and_rfc9421_uses_the_given_scheme():
    url = "http://127.0.0.1:8000/users/bob/inbox"
    cavage = sign_request("POST", url, {}, BODY, KEY_ID, RSA_KEY, now=NOW)
    assert cavage["Host"] == "127.0.0.1:8000"
    assert sign_request("GET", "https://b.example:443/x", {}, None, KEY_ID, RSA_KEY)["Host"] == (
        "b.example"
    )
    rfc = sign_request_rfc9421("POST", url, {}, BODY, KEY_ID, RSA_KEY, now=NOW)
    assert (await verify(rfc, scheme="http")).scheme == "rfc9421"
    await refused(rfc, "bad signature")  # verified as https://127.0.0.1:8000/...


@given(body=st.binary(max_size=300), other=st.binary(max_size=300))
@settings(max_examples=40, deadline=None)
def test_any_body_round_trips_and_no_other_body_passes(body, other):
    for scheme in SIGNERS:
        headers = signed(scheme, body=body)
        assert asyncio.run(verify(headers, body=body)).scheme == scheme
        if other != body:
            with pytest.raises(SignatureError):
                asyncio.run(verify(headers, body=other))


# Key rotation


@pytest.mark.parametrize("scheme", SIGNERS)
async def test_a_rotated_key_is_fetched_again_once(scheme):
    store = KeyStore(first=OTHER_RSA.public_key(), refreshed=RSA_PUBLIC)
    result = await verify_request("POST", INBOX, signed(scheme), BODY, store, now=NOW)
    assert result.key_id == KEY_ID
    assert store.calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_a_key_rotated_from_rsa_to_ed25519_is_fetched_again():
    store = KeyStore(first=RSA_PUBLIC, refreshed=ED_PUBLIC)
    headers = signed("rfc9421", key=ED_KEY)
    assert (await verify_request("POST", INBOX, headers, BODY, store, now=NOW)).algorithm == (
        "ed25519"
    )
    assert store.calls == [(KEY_ID, False), (KEY_ID, True)]


@pytest.mark.parametrize("scheme", SIGNERS)
async def test_a_good_key_is_not_fetched_again(scheme):
    store = KeyStore(first=RSA_PUBLIC)
    await verify_request("POST", INBOX, signed(scheme), BODY, store, now=NOW)
    assert store.calls == [(KEY_ID, False)]


@pytest.mark.parametrize("scheme", SIGNERS)
async def test_a_wrong_key_is_refused_after_exactly_one_refresh(scheme):
    store = KeyStore(first=OTHER_RSA.public_key())
    with pytest.raises(SignatureError) as info:
        await verify_request("POST", INBOX, signed(scheme), BODY, store, now=NOW)
    assert info.value.reason == "bad signature"
    assert store.calls == [(KEY_ID, False), (KEY_ID, True)]


@pytest.mark.parametrize("scheme", SIGNERS)
async def test_an_unknown_key_is_refused_without_a_refresh(scheme):
    store = KeyStore(first=None)
    with pytest.raises(SignatureError) as info:
        await verify_request("POST", INBOX, signed(scheme), BODY, store, now=NOW)
    assert info.value.reason == "unknown key"
    assert store.calls == [(KEY_ID, False)]


# Refusals


async def test_no_signature():
    await refused({"Host": "b.example", "Date": DATE}, "missing signature")
    await refused({"Signature-Input": signed("rfc9421")["Signature-Input"]}, "missing signature")


@pytest.mark.parametrize(
    "headers",
    [
        {"Signature": "garbage"},
        {"Signature": 'keyId="k",keyId="k",signature="AAAA"'},
        {"Signature": 'algorithm="rsa-sha256",headers="date",signature="AAAA"'},
        {"Signature-Input": "sig1=(", "Signature": "sig1=:AAAA:"},
        {"Signature-Input": 'sig1=("@method");keyid="k"', "Signature": 'sig1="text"'},
        {"Signature-Input": 'sig1=("@method");created=?1;keyid="k"', "Signature": "sig1=:AA==:"},
        {"Signature-Input": 'sig1=("@method");keyid="k";foo=1', "Signature": "sig1=:AA==:"},
        {"Signature-Input": 'sig2=("@method");keyid="k"', "Signature": "sig1=:AA==:"},
    ],
    ids=lambda headers: next(iter(headers.values())),
)
async def test_a_malformed_header_is_refused(headers):
    await refused(headers, "malformed signature header")


async def test_a_signature_that_is_not_base64_is_malformed():
    header = cavage_header(POST_LINES).rsplit('signature="', 1)[0] + 'signature="!!!"'
    await refused({**POST_FIELDS, "Signature": header}, "malformed signature header")


@pytest.mark.parametrize("algorithm", ["rsa-sha512", "hmac-sha256", "ed25519"])
async def test_an_unsupported_cavage_algorithm_is_refused(algorithm):
    headers = {**POST_FIELDS, "Signature": cavage_header(POST_LINES, algorithm=algorithm)}
    await refused(headers, "unsupported algorithm")


async def test_an_unsupported_rfc9421_algorithm_is_refused():
    headers = signed("rfc9421")
    headers["Signature-Input"] = headers["Signature-Input"].replace(
        'alg="rsa-v1_5-sha256"', 'alg="rsa-pss-sha512"'
    )
    await refused(headers, "unsupported algorithm")


async def test_rsa_sha256_declared_over_an_ed25519_key_is_refused():
    headers = {**POST_FIELDS, "Signature": cavage_header(POST_LINES, key=ED_KEY)}
    await refused(headers, "bad signature", key=ED_PUBLIC)


@pytest.mark.parametrize(
    ("dropped", "reason"),
    [
        ("(request-target)", "signature does not cover (request-target)"),
        ("host", "signature does not cover host"),
        ("date", "signature does not cover date"),
        ("digest", "signature does not cover digest"),
    ],
)
async def test_a_cavage_signature_must_cover_target_host_date_and_digest(dropped, reason):
    lines = [line for line in POST_LINES if not line.startswith(dropped + ":")]
    await refused({**POST_FIELDS, "Signature": cavage_header(lines)}, reason)


async def test_created_may_stand_in_for_date():
    created = int(NOW.timestamp())
    lines = [POST_LINES[0], POST_LINES[1], f"(created): {created}", POST_LINES[3]]
    extra = f"created={created}"
    headers = {**POST_FIELDS, "Signature": cavage_header(lines, algorithm="hs2019", extra=extra)}
    del headers["Date"]
    assert (await verify(headers)).scheme == "draft-cavage"
    await refused(headers, "date outside the allowed window", now=NOW + timedelta(hours=2))


@pytest.mark.parametrize(
    ("components", "reason"),
    [
        (("@target-uri", "@authority", "date"), "signature does not cover @method"),
        (("@method", "@authority", "date"), "signature does not cover @target-uri"),
        (("@method", "@path", "date"), "signature does not cover @target-uri"),
        (("@method", "@target-uri"), "signature does not cover date"),
    ],
)
async def test_an_rfc9421_signature_must_cover_method_target_and_time(components, reason):
    from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

    headers = {"Host": "b.example", "Date": DATE}
    message = type("Message", (), {"method": "GET", "url": INBOX_URL, "headers": headers})()
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.RSA_V1_5_SHA256,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={KEY_ID: RSA_KEY}),
    )
    signer.sign(message, key_id=KEY_ID, created=NOW, covered_component_ids=components)
    if reason.endswith("date"):  # no created parameter and no signed Date: no time at all
        headers["Signature-Input"] = re.sub(r";created=\d+", "", headers["Signature-Input"])
    await refused(headers, reason, method="GET", body=None)


async def test_path_and_authority_may_stand_in_for_the_target_uri():
    from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

    headers = {"Host": "b.example"}
    message = type("Message", (), {"method": "GET", "url": INBOX_URL, "headers": headers})()
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={KEY_ID: ED_KEY}),
    )
    signer.sign(
        message,
        key_id=KEY_ID,
        created=NOW,
        covered_component_ids=("@method", "@path", "@authority"),
    )
    result = await verify(headers, method="GET", body=None, key=ED_PUBLIC)
    assert result == VerifiedSignature(KEY_ID, "ed25519", "rfc9421")


@pytest.mark.parametrize("scheme", SIGNERS)
@pytest.mark.parametrize(
    ("signed_at", "accepted"),
    [
        (NOW - timedelta(minutes=64), True),
        (NOW - timedelta(minutes=66), False),
        (NOW + timedelta(minutes=59), True),
        (NOW + timedelta(minutes=61), False),
    ],
    ids=["64-min-old", "66-min-old", "59-min-ahead", "61-min-ahead"],
)
async def test_mastodons_time_window(scheme, signed_at, accepted):
    headers = SIGNERS[scheme]("POST", INBOX_URL, JSON, BODY, KEY_ID, RSA_KEY, now=signed_at)
    if accepted:
        assert (await verify(headers)).scheme == scheme
    else:
        await refused(headers, "date outside the allowed window")


async def test_max_age_widens_the_window_for_a_signature_without_expiry():
    headers = signed("draft-cavage")
    await refused(headers, "date outside the allowed window", now=NOW + timedelta(hours=3))
    await verify(headers, now=NOW + timedelta(hours=3), max_age=timedelta(hours=4))


async def test_an_explicit_expiry_is_honoured_up_to_twelve_hours():
    headers = signed("rfc9421", expires=NOW + timedelta(hours=6))
    await verify(headers, now=NOW + timedelta(hours=6, minutes=59))
    await refused(
        headers, "date outside the allowed window", now=NOW + timedelta(hours=7, minutes=1)
    )
    far = signed("rfc9421", expires=NOW + timedelta(days=7))
    await verify(far, now=NOW + timedelta(hours=12, minutes=59))
    await refused(far, "date outside the allowed window", now=NOW + timedelta(hours=13, minutes=1))


async def test_a_malformed_date_is_refused():
    lines = [*POST_LINES[:2], "date: yesterday", POST_LINES[3]]
    headers = {**POST_FIELDS, "Date": "yesterday", "Signature": cavage_header(lines)}
    await refused(headers, "malformed date")


@pytest.mark.parametrize("scheme", SIGNERS)
async def test_a_body_changed_after_signing_is_refused(scheme):
    await refused(signed(scheme), "digest does not match the body", body=BODY + b" ")


@pytest.mark.parametrize(
    ("scheme", "digest"), [("draft-cavage", "Digest"), ("rfc9421", "Content-Digest")]
)
async def test_a_missing_digest_is_refused_when_there_is_a_body(scheme, digest):
    headers = signed(scheme)
    del headers[digest]
    await refused(headers, "missing digest")


async def test_a_digest_we_cannot_compute_is_refused():
    lines = [*POST_LINES[:3], "digest: MD5=1B2M2Y8AsgTpgAmY7PhCfg=="]
    headers = {
        **POST_FIELDS,
        "Digest": "MD5=1B2M2Y8AsgTpgAmY7PhCfg==",
        "Signature": cavage_header(lines),
    }
    await refused(headers, "unsupported digest algorithm")


async def test_a_sha512_digest_is_checked_too():
    sha512 = "SHA-512=" + base64.b64encode(hashlib.sha512(BODY).digest()).decode()
    lines = [*POST_LINES[:3], f"digest: {sha512}"]
    headers = {**POST_FIELDS, "Digest": sha512, "Signature": cavage_header(lines)}
    assert (await verify(headers)).scheme == "draft-cavage"
    await refused(headers, "digest does not match the body", body=b"{}")


@pytest.mark.parametrize("scheme", SIGNERS)
async def test_a_request_delivered_to_another_host_is_refused(scheme):
    headers = {**signed(scheme), "Host": "c.example"}
    await refused(headers, "bad signature")


async def test_a_signed_header_that_did_not_arrive_is_refused():
    headers = dict(POST_FIELDS, Signature=cavage_header([*POST_LINES, "content-type: x"]))
    await refused(headers, "a signed header is missing")


@given(
    headers=st.dictionaries(
        st.sampled_from(
            [
                "Signature",
                "signature",
                "Signature-Input",
                "Date",
                "Digest",
                "Content-Digest",
                "Host",
            ]
        ),
        st.one_of(
            st.text(max_size=120),
            st.from_regex(
                r'keyId="[^"]{0,20}",(algorithm="(rsa-sha256|hs2019|x)",)?'
                r'headers="((\(request-target\)|\(created\)|host|date|digest) ?){0,5}",'
                r'(created=[0-9]{1,30},)?signature="[A-Za-z0-9+/=]{0,40}"',
                fullmatch=True,
            ),
            st.from_regex(
                r'sig1=\(("@?[a-z-]{1,12}" ?){0,4}\)(;created=-?[0-9]{1,25})?'
                r'(;keyid="[a-z:/#.]{0,20}")?(;alg="[a-z0-9_-]{0,16}")?(;expires=-?[0-9]{1,25})?',
                fullmatch=True,
            ),
            st.from_regex(r"(sha-256|sha-512|SHA-256)=:?[A-Za-z0-9+/=]{0,50}:?", fullmatch=True),
        ),
        max_size=6,
    ),
    method=st.sampled_from(["GET", "POST", "get", "ΠOST"]),
    path=st.text(max_size=30),
    body=st.binary(max_size=40),
)
@settings(max_examples=150, deadline=None)
def test_garbage_only_ever_raises_signature_error(headers, method, path, body):
    try:
        asyncio.run(verify(headers, method=method, path=path, body=body))
    except SignatureError as error:
        assert error.reason and len(error.reason) < 80
    else:
        pytest.fail("garbage was accepted")


@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_a_tampered_signed_request_only_ever_raises_signature_error(data):
    headers = signed(data.draw(st.sampled_from(list(SIGNERS))))
    name = data.draw(st.sampled_from(sorted(headers)))
    value = headers[name]
    start = data.draw(st.integers(0, len(value)))
    end = data.draw(st.integers(start, len(value)))
    replacement = data.draw(st.text(max_size=8))
    headers[name] = value[:start] + replacement + value[end:]
    try:
        result = asyncio.run(verify(headers))
    except SignatureError:
        return
    # Accepted: the change touched nothing signed (an unsigned header, the algorithm
    # parameter, spacing), so the signer is still who it was.
    assert result.key_id == KEY_ID


# A real Mastodon signer, frozen in Mastodon's own test suite (see the fixture's source)

MASTODON = json.loads((FIXTURES / "mastodon_signature_vectors.json").read_text())


@pytest.mark.parametrize("vector", MASTODON["vectors"], ids=lambda vector: vector["name"])
async def test_mastodon_signed_requests(vector):
    public = keys.load_public_key(MASTODON["public_key_pem"])
    store = KeyStore(first=public, key_id=MASTODON["key_id"])
    now = datetime.fromisoformat(MASTODON["now"].replace("Z", "+00:00"))
    try:
        result = await verify_request(
            vector["method"],
            vector["path"],
            vector["headers"],
            vector["body"].encode(),
            store,
            now=now,
        )
    except SignatureError as error:
        assert error.reason == vector["expect"]
    else:
        assert vector["expect"] == "accepted"
        assert result.key_id == MASTODON["key_id"]
        assert result.algorithm == "rsa-v1_5-sha256"


# Keys


def test_a_generated_key_pair_is_pem_that_loads_back():
    pair = keys.generate_rsa_key_pair()
    assert pair.private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert pair.public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    public = keys.load_public_key(pair.public_pem)
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    assert keys.fingerprint(public) == keys.fingerprint(
        keys.load_private_key(pair.private_pem).public_key()
    )
    assert keys.fingerprint(public) != keys.fingerprint(RSA_PUBLIC)


def test_ed25519_and_pkcs1_rsa_public_keys_load():
    assert isinstance(keys.load_public_key(keys.public_pem(ED_PUBLIC)), ed25519.Ed25519PublicKey)
    pkcs1 = RSA_PUBLIC.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    assert keys.fingerprint(keys.load_public_key(pkcs1.decode())) == keys.fingerprint(RSA_PUBLIC)


@pytest.mark.parametrize(
    ("pem", "reason"),
    [
        (
            keys.public_pem(ec.generate_private_key(ec.SECP256R1()).public_key()),
            "unsupported key type",
        ),
        ("-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----", "not a PEM public key"),
        ("", "not a PEM public key"),
        ("clé", "not a PEM public key"),
        (keys.public_pem(rsa.RSAPublicNumbers(65537, (1 << 511) + 1).public_key()), "too short"),
    ],
    ids=["ec", "bad-base64", "empty", "non-ascii", "rsa-512"],
)
def test_other_keys_are_refused_with_a_typed_error(pem, reason):
    with pytest.raises(keys.KeyFormatError) as info:
        keys.load_public_key(pem)
    assert reason in info.value.reason
