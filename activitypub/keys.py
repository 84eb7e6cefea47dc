"""Actor key pairs: make them, read the PEM that remote actors publish, name them.

Only RSA and Ed25519 are accepted: RSA is what Mastodon, GoToSocial and Fedify
publish as ``publicKeyPem``; Ed25519 is where the fediverse is moving (FEP-521a).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey
PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

# Below this an RSA signature proves little; every server we know of uses 2048 or more,
# a few old ones 1024, so 1024 is the floor rather than 2048.
MIN_RSA_BITS = 1024


class KeyFormatError(ValueError):
    """A key that is not PEM, or is of a kind we do not verify with."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str


def generate_rsa_key_pair(bits: int = 2048) -> KeyPair:
    """A new actor key pair: RSA, because every peer can verify RSA-SHA256."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return KeyPair(
        private_pem=private_pem(private_key), public_pem=public_pem(private_key.public_key())
    )


def private_pem(key: PrivateKey) -> str:
    """PKCS#8 PEM, unencrypted: the database column is the secret's protection."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def public_pem(key: PublicKey) -> str:
    """SubjectPublicKeyInfo PEM (``BEGIN PUBLIC KEY``), the form peers expect in publicKeyPem."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key(pem: str) -> PublicKey:
    """Read a remote actor's publicKeyPem; anything but RSA or Ed25519 is refused."""
    try:
        key = serialization.load_pem_public_key(pem.strip().encode("ascii"))
    except (ValueError, TypeError, UnicodeError) as exc:
        raise KeyFormatError("not a PEM public key") from exc
    return _checked(key)


@lru_cache(maxsize=1024)
def load_private_key(pem: str) -> PrivateKey:
    """Read one of our own keys.

    Cached because loading an RSA private key validates it, which costs about 120 ms
    here, some 70 times the cost of one signature.
    """
    try:
        key = serialization.load_pem_private_key(pem.strip().encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeError) as exc:
        raise KeyFormatError("not an unencrypted PEM private key") from exc
    if isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        _checked(key.public_key())
        return key
    raise KeyFormatError(f"unsupported key type {type(key).__name__}")


def fingerprint(key: PublicKey) -> str:
    """SHA-256 of the DER public key, in hex: enough to tell keys apart in logs."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + hashlib.sha256(der).hexdigest()


def _checked(key: object) -> PublicKey:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise KeyFormatError(f"RSA key of {key.key_size} bits is too short")
        return key
    raise KeyFormatError(f"unsupported key type {type(key).__name__}")
