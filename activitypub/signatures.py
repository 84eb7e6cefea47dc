"""HTTP signatures as the fediverse uses them: draft-cavage (what Mastodon sends) and RFC 9421.

Signing returns the headers to send. Verifying returns who signed, or raises
``SignatureError`` whose ``reason`` is a short sentence fit for a JSON 401 body. The
caller looks keys up: an async ``get_public_key(key_id, refresh)``, so this module
knows nothing of actors, caches or HTTP clients.

RFC 9421 signature bases and their crypto come from the ``http-message-signatures``
package. Key lookup, the time window, digests and which components must be covered are
ours, because the package takes a synchronous key resolver, one algorithm fixed in
advance, the wall clock with a 5 s skew, and reports every failure as one exception type.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formatdate, parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import SplitResult, urlsplit

import http_sf
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    MappingKeyResolver,
    algorithms,
)
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from .errors import FederationError
from .keys import PrivateKey, PublicKey, load_private_key

Headers = Mapping[str, str] | Iterable[tuple[str, str]]
KeyLookup = Callable[[str, bool], Awaitable[PublicKey | None]]
Scheme = Literal["draft-cavage", "rfc9421"]

# Mastodon's window, app/lib/signed_request.rb (mastodon/mastodon@bed196e4,
# SignedRequest#matches_time_window?): EXPIRATION_WINDOW_LIMIT = 12.hours,
# CLOCK_SKEW_MARGIN = 1.hour, and a signature without `expires` expires
# `created_time + 5.minutes`. So it refuses a signature created more than 1 h in the
# future, or used more than 1 h after it expired: a plain Date-signed request is good
# for 5 min + 1 h = 65 min, an explicit `expires` for at most 12 h (+1 h) after creation.
CLOCK_SKEW = timedelta(hours=1)
DEFAULT_LIFETIME = timedelta(minutes=5)
EXPIRATION_LIMIT = timedelta(hours=12)
DEFAULT_MAX_AGE = DEFAULT_LIFETIME + CLOCK_SKEW

MISSING_SIGNATURE = "missing signature"
MALFORMED_SIGNATURE = "malformed signature header"
UNSUPPORTED_ALGORITHM = "unsupported algorithm"
MISSING_SIGNED_HEADER = "a signed header is missing"
MALFORMED_DATE = "malformed date"
OUTSIDE_WINDOW = "date outside the allowed window"
MISSING_DIGEST = "missing digest"
MALFORMED_DIGEST = "malformed digest"
UNSUPPORTED_DIGEST = "unsupported digest algorithm"
DIGEST_MISMATCH = "digest does not match the body"
UNKNOWN_KEY = "unknown key"
BAD_SIGNATURE = "bad signature"

_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
_CAVAGE_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([0-9]+))\s*(?:,|\Z)', re.ASCII)
_RFC9421_PARAMS = {"alg", "created", "expires", "keyid", "nonce", "tag"}


class SignatureError(FederationError):
    """A refused signature; ``reason`` says why in a few words a peer can read (answered
    401: signed again, with a key the receiver can fetch, it may pass)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, 401, retry=False)


@dataclass(frozen=True)
class VerifiedSignature:
    key_id: str
    algorithm: str  # as RFC 9421 names it: "rsa-v1_5-sha256" or "ed25519"
    scheme: Scheme


# Signing


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key: str | PrivateKey,
    *,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign draft-cavage style, as Mastodon does; returns ``headers`` plus Host, Date,
    Digest (for a body) and Signature.

    ``url`` must be exactly what the HTTP client will send (already percent-encoded).
    RSA keys say ``rsa-sha256``, which every peer accepts; Ed25519 keys say ``hs2019``.
    """
    if '"' in key_id:
        raise ValueError("a key id cannot contain a double quote")
    key = _private_key(private_key)
    parts = urlsplit(url)
    out = _prepared_headers(headers, parts, now, drop={"signature", "digest"})
    if body is not None:
        out["Digest"] = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    fields = _header_fields(out)
    covered = ["host", "date"] + [n for n in ("digest", "content-type", "accept") if n in fields]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"(request-target): {method.lower()} {target}"]
    lines += [f"{name}: {fields[name]}" for name in covered]
    signature = base64.b64encode(_sign(key, _wire("\n".join(lines)))).decode()
    algorithm = "rsa-sha256" if isinstance(key, rsa.RSAPrivateKey) else "hs2019"
    out["Signature"] = (
        f'keyId="{key_id}",algorithm="{algorithm}",'
        f'headers="(request-target) {" ".join(covered)}",signature="{signature}"'
    )
    return out


def sign_request_rfc9421(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key: str | PrivateKey,
    *,
    now: datetime | None = None,
    expires: datetime | None = None,
    label: str = "sig1",
) -> dict[str, str]:
    """Sign per RFC 9421 (``Signature-Input``, ``Signature``, ``Content-Digest`` for a body).

    Covers ``@method @target-uri @authority date`` and ``content-digest``, Fedify's choice;
    Mastodon 4.4+ needs ``@method``, ``@target-uri`` and ``created``. Without ``expires``
    a verifier gives the signature minutes (Mastodon: 5 min plus 1 h of clock skew).
    """
    key = _private_key(private_key)
    parts = urlsplit(url)
    drop = {"signature", "signature-input", "content-digest"}
    out = _prepared_headers(headers, parts, now, drop=drop)
    algorithm = _algorithm_for(key)
    if algorithm is None:
        raise TypeError(f"cannot sign with a {type(key).__name__}")
    signer = HTTPMessageSigner(
        signature_algorithm=algorithm,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: key}),
    )
    try:
        signer.sign(
            _Message(method.upper(), url, out),
            key_id=key_id,
            created=now or datetime.now(UTC),
            expires=expires,
            label=label,
            covered_component_ids=("@method", "@target-uri", "@authority", "date"),
            body=body,
        )
    except HTTPMessageSignaturesException as exc:
        raise ValueError(f"cannot sign this request: {exc}") from exc
    return out


# Verifying


async def verify_request(
    method: str,
    path_with_query: str,
    headers: Headers,
    body: bytes | None,
    get_public_key: KeyLookup,
    *,
    now: datetime | None = None,
    max_age: timedelta = DEFAULT_MAX_AGE,
    scheme: str = "https",
) -> VerifiedSignature:
    """Check a request's signature, whichever of the two schemes it uses.

    ``path_with_query`` is the target as it came on the request line, still
    percent-encoded (in ASGI: ``scope["raw_path"]`` plus ``?`` and ``query_string``).
    ``headers`` may be any mapping or list of pairs; names are matched without case and
    repeated fields are joined with ", ". ``max_age`` bounds a signature that names no
    expiry. ``scheme`` is the public scheme, for RFC 9421's ``@target-uri``.

    ``get_public_key(key_id, refresh)`` returns the key or None; when a signature fails
    with the key it gave, it is asked once more with ``refresh=True`` (the actor may have
    rotated its key). It may decline a refresh it made recently by answering the same key,
    as Mastodon does. Everything cheap is checked before it is called.
    """
    fields = _header_fields(headers)
    request = _Request(method, path_with_query, fields, body or b"")
    clock = _Clock(now or datetime.now(UTC), max_age)
    if "signature-input" in fields:
        return await _verify_rfc9421(request, get_public_key, clock, scheme)
    if "signature" in fields:
        return await _verify_cavage(request, get_public_key, clock)
    raise SignatureError(MISSING_SIGNATURE)


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    fields: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class _Clock:
    now: datetime
    max_age: timedelta

    def check(self, created: float, expires: int | None) -> None:
        """Mastodon's window (see CLOCK_SKEW). Compares without float conversion of the
        untrusted integers, which may be arbitrarily large."""
        now = self.now.replace(tzinfo=self.now.tzinfo or UTC).timestamp()
        skew = int(CLOCK_SKEW.total_seconds())
        if created > now + skew:
            raise SignatureError(OUTSIDE_WINDOW)
        if expires is None:
            if created < now - self.max_age.total_seconds():
                raise SignatureError(OUTSIDE_WINDOW)
        elif now > min(expires, created + int(EXPIRATION_LIMIT.total_seconds())) + skew:
            raise SignatureError(OUTSIDE_WINDOW)


async def _verify_cavage(
    request: _Request, get_public_key: KeyLookup, clock: _Clock
) -> VerifiedSignature:
    params = _cavage_params(request.fields["signature"])
    key_id, encoded = params.get("keyId"), params.get("signature")
    if not key_id or not encoded:
        raise SignatureError(MALFORMED_SIGNATURE)
    declared = params.get("algorithm", "hs2019").lower()
    if declared not in ("rsa-sha256", "hs2019"):
        raise SignatureError(UNSUPPORTED_ALGORITHM)
    names = params.get("headers", "(created)").lower().split()
    _require(names, "(request-target)", "host")
    if "date" not in names and "(created)" not in names:
        raise SignatureError("signature does not cover date")
    if request.body:
        _require(names, "digest")

    if "(created)" in names:
        created: float = _int_param(params, "created")
    else:
        created = _http_date(request.fields.get("date"))
    clock.check(created, _int_param(params, "expires") if "(expires)" in names else None)
    if request.body or "digest" in names:
        _check_digest(request.fields.get("digest"), request.body)

    # Mastodon and Fedify have signed (request-target) without the query string, so
    # Mastodon also tries that form (signed_request.rb, include_query_string: false).
    targets = [request.target]
    if "?" in request.target:
        targets.append(request.target.split("?", 1)[0])
    messages = [_cavage_message(request, names, params, target) for target in targets]
    signature = _b64decode(encoded, MALFORMED_SIGNATURE)

    def attempt(key: PublicKey) -> str | None:
        algorithm = _algorithm_for(key)
        if algorithm is None or (declared == "rsa-sha256" and algorithm is algorithms.ED25519):
            return None
        if any(_verify(key, signature, message) for message in messages):
            return algorithm.algorithm_id
        return None

    algorithm_id = await _with_rotation(key_id, get_public_key, attempt)
    return VerifiedSignature(key_id, algorithm_id, "draft-cavage")


def _cavage_params(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    position = 0
    while position < len(value):
        match = _CAVAGE_PARAM.match(value, position)
        if match is None or match.group(1) in params:
            raise SignatureError(MALFORMED_SIGNATURE)
        quoted, number = match.group(2), match.group(3)
        params[match.group(1)] = quoted if quoted is not None else number
        position = match.end()
    return params


def _cavage_message(
    request: _Request, names: list[str], params: dict[str, str], target: str
) -> bytes:
    lines = []
    for name in names:
        if name == "(request-target)":
            value = f"{request.method.lower()} {target}"
        elif name in ("(created)", "(expires)"):
            value = str(_int_param(params, name[1:-1]))
        elif name in request.fields:
            value = request.fields[name]
        else:
            raise SignatureError(MISSING_SIGNED_HEADER)
        lines.append(f"{name}: {value}")
    return _wire("\n".join(lines))


async def _verify_rfc9421(
    request: _Request, get_public_key: KeyLookup, clock: _Clock, scheme: str
) -> VerifiedSignature:
    if "signature" not in request.fields:
        raise SignatureError(MISSING_SIGNATURE)
    inputs = _sf_dictionary(request.fields["signature-input"])
    signatures = _sf_dictionary(request.fields["signature"])
    # Any label will do: whichever we pick must verify in full.
    label = next((label for label in inputs if label in signatures), None)
    if label is None:
        raise SignatureError(MALFORMED_SIGNATURE)
    (components, params), (signature, _) = inputs[label], signatures[label]
    if not isinstance(components, list) or not isinstance(signature, bytes):
        raise SignatureError(MALFORMED_SIGNATURE)
    if not all(isinstance(item, str) for item, _ in components):
        raise SignatureError(MALFORMED_SIGNATURE)
    names = [item for item, _ in components]
    key_id, declared = _rfc9421_params(params)
    if declared is not None and declared not in _ALGORITHM_BY_ID:
        raise SignatureError(UNSUPPORTED_ALGORITHM)

    _require(names, "@method")
    if "@target-uri" not in names:
        has_authority = "@authority" in names or "host" in names
        if not (has_authority and ("@path" in names or "@request-target" in names)):
            raise SignatureError("signature does not cover @target-uri")
    if request.body:
        _require(names, "content-digest")
    if "created" in params:
        created: float = params["created"]
    elif "date" in names:
        created = _http_date(request.fields.get("date"))
    else:
        raise SignatureError("signature does not cover date")
    clock.check(created, params.get("expires"))
    if request.body or "content-digest" in names:
        _check_content_digest(request.fields.get("content-digest"), request.body)
    host = request.fields.get("host")
    if host is None or any(n not in request.fields for n in names if not n.startswith("@")):
        raise SignatureError(MISSING_SIGNED_HEADER)

    # The package verifies one signature: show it only the label we chose.
    fields = dict(request.fields)
    fields["signature-input"] = http_sf.ser({label: inputs[label]})
    fields["signature"] = http_sf.ser({label: signatures[label]})
    message = _Message(request.method.upper(), f"{scheme}://{host}{request.target}", fields)

    def attempt(key: PublicKey) -> str | None:
        algorithm = _algorithm_for(key)
        if algorithm is None or (declared is not None and declared != algorithm.algorithm_id):
            return None
        verifier = _Verifier(
            signature_algorithm=algorithm,
            key_resolver=MappingKeyResolver(public_keys={key_id: key}, private_keys={}),
        )
        try:
            verifier.verify(message, max_age=None)
        except HTTPMessageSignaturesException as exc:
            if isinstance(exc.__cause__, InvalidSignature):
                return None
            raise SignatureError(MALFORMED_SIGNATURE) from exc
        return algorithm.algorithm_id

    algorithm_id = await _with_rotation(key_id, get_public_key, attempt)
    return VerifiedSignature(key_id, algorithm_id, "rfc9421")


def _rfc9421_params(params: dict[str, Any]) -> tuple[str, str | None]:
    """The signature's metadata, type-checked; answers (keyid, alg)."""
    if not set(params) <= _RFC9421_PARAMS:
        raise SignatureError(MALFORMED_SIGNATURE)
    key_id, declared = params.get("keyid"), params.get("alg")
    if not isinstance(key_id, str) or not key_id:
        raise SignatureError(MALFORMED_SIGNATURE)
    if any(type(params[name]) is not int for name in ("created", "expires") if name in params):
        raise SignatureError(MALFORMED_SIGNATURE)
    if any(not isinstance(params[name], str) for name in ("alg", "nonce", "tag") if name in params):
        raise SignatureError(MALFORMED_SIGNATURE)
    return key_id, declared


class _Verifier(HTTPMessageVerifier):
    """The package's verifier without its wall-clock checks: _Clock applies Mastodon's."""

    require_created = False

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        return None


@dataclass
class _Message:
    """The request shape http-message-signatures reads: method, absolute URL, headers."""

    method: str
    url: str
    headers: dict[str, str]


async def _with_rotation(
    key_id: str, get_public_key: KeyLookup, attempt: Callable[[PublicKey], str | None]
) -> str:
    """Try the key we have; on failure, once more with a freshly fetched one."""
    for refresh in (False, True):
        key = await get_public_key(key_id, refresh)
        if key is None:
            raise SignatureError(UNKNOWN_KEY)
        algorithm_id = attempt(key)
        if algorithm_id is not None:
            return algorithm_id
    raise SignatureError(BAD_SIGNATURE)


# Shared pieces


_ALGORITHM_BY_ID = {a.algorithm_id: a for a in (algorithms.RSA_V1_5_SHA256, algorithms.ED25519)}


def _algorithm_for(key: object) -> type[algorithms.HTTPSignatureAlgorithm] | None:
    """The algorithm a key signs with: the key type decides, as hs2019 and RFC 9421 intend."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return algorithms.RSA_V1_5_SHA256
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return algorithms.ED25519
    return None


def _header_fields(headers: Headers) -> dict[str, str]:
    """Lower-case names, trimmed values, repeated fields joined with ", " (both specs)."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    fields: dict[str, list[str]] = {}
    for name, value in items:
        fields.setdefault(name.strip().lower(), []).append(value.strip(" \t"))
    return {name: ", ".join(values) for name, values in fields.items()}


def _prepared_headers(
    headers: Mapping[str, str], parts: SplitResult, now: datetime | None, drop: set[str]
) -> dict[str, str]:
    out = {name: value for name, value in headers.items() if name.lower() not in drop}
    present = {name.lower() for name in out}
    if "host" not in present:
        out["Host"] = _authority(parts)
    if "date" not in present:
        out["Date"] = formatdate((now or datetime.now(UTC)).timestamp(), usegmt=True)
    return out


def _authority(parts: SplitResult) -> str:
    """The Host header an HTTP client sends for this URL: default ports left out."""
    if not parts.hostname:
        raise ValueError("the URL has no host")
    host = parts.hostname
    host = f"[{host}]" if ":" in host else host.encode("idna").decode("ascii")
    port = parts.port
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return host if port in (None, default) else f"{host}:{port}"


def _private_key(private_key: str | PrivateKey) -> PrivateKey:
    return load_private_key(private_key) if isinstance(private_key, str) else private_key


def _sign(key: PrivateKey, message: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(message)


def _verify(key: PublicKey, signature: bytes, message: bytes) -> bool:
    """RSA means RSASSA-PKCS1-v1_5 with SHA-256 even under hs2019: what Mastodon and
    GoToSocial sign with, though draft-cavage-12 would have RSA-PSS there."""
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _wire(text: str) -> bytes:
    """The bytes a header carried: ASGI servers decode header bytes as Latin-1."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _require(names: list[str], *required: str) -> None:
    for name in required:
        if name not in names:
            raise SignatureError(f"signature does not cover {name}")


def _int_param(params: dict[str, str], name: str) -> int:
    try:
        return int(params[name])
    except (KeyError, ValueError) as exc:  # ValueError: also past int()'s digit limit
        raise SignatureError(MALFORMED_SIGNATURE) from exc


def _http_date(value: str | None) -> float:
    if value is None:
        raise SignatureError(MISSING_SIGNED_HEADER)
    try:
        moment = parsedate_to_datetime(value)
        return moment.replace(tzinfo=moment.tzinfo or UTC).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError) as exc:
        raise SignatureError(MALFORMED_DATE) from exc


def _b64decode(value: str, reason: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError(reason) from exc


def _sf_dictionary(value: str, reason: str = MALFORMED_SIGNATURE) -> dict[str, Any]:
    try:
        parsed = http_sf.parse(value.encode("latin-1"), tltype="dictionary")
    except (http_sf.StructuredFieldError, ValueError, TypeError, UnicodeError) as exc:
        raise SignatureError(reason) from exc
    if not isinstance(parsed, dict):
        raise SignatureError(reason)
    return parsed


def _check_digest(value: str | None, body: bytes) -> None:
    """``Digest: SHA-256=<base64>[, SHA-512=...]``; every digest we know must match."""
    if value is None:
        raise SignatureError(MISSING_DIGEST)
    offered: dict[str, bytes] = {}
    for part in value.split(","):
        algorithm, separator, encoded = part.strip().partition("=")
        if not separator:
            raise SignatureError(MALFORMED_DIGEST)
        if algorithm.lower() in _DIGESTS:
            offered[algorithm.lower()] = _b64decode(encoded.strip(), MALFORMED_DIGEST)
    _compare_digests(offered, body)


def _check_content_digest(value: str | None, body: bytes) -> None:
    """RFC 9530 ``Content-Digest: sha-256=:<base64>:``."""
    if value is None:
        raise SignatureError(MISSING_DIGEST)
    parsed = _sf_dictionary(value, MALFORMED_DIGEST)
    offered = {name: member[0] for name, member in parsed.items() if name in _DIGESTS}
    if not all(isinstance(digest, bytes) for digest in offered.values()):
        raise SignatureError(MALFORMED_DIGEST)
    _compare_digests(offered, body)


def _compare_digests(offered: dict[str, bytes], body: bytes) -> None:
    if not offered:
        raise SignatureError(UNSUPPORTED_DIGEST)
    for algorithm, claimed in offered.items():
        if not hmac.compare_digest(claimed, _DIGESTS[algorithm](body).digest()):
            raise SignatureError(DIGEST_MISMATCH)
