"""Signing keys for audience-scoped tokens: generation, loading, JWKs and thumbprints.

PyJWT (with ``cryptography``) does the cryptography; this module only chooses and
describes keys. It is imported when tokens are first used, so ``import rttp`` does not
pay for it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

try:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
except ImportError as exc:  # pragma: no cover - the auth extra is not installed
    raise ImportError(
        "audience-scoped tokens need PyJWT with cryptography: pip install 'trio-rttp[auth]'"
    ) from exc

__all__ = ["ACCEPTED_ALGORITHMS", "SigningKey", "jwk_of", "load_key", "new_key", "thumbprint"]

#: the asymmetric algorithms tokens may use (never ``none``, never a shared secret)
ACCEPTED_ALGORITHMS = ("EdDSA", "ES256", "RS256")
_REQUIRED_MEMBERS = {
    "OKP": ("crv", "kty", "x"),
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
}


def thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 thumbprint of a public JWK (SHA-256, base64url): the key's ``kid``."""
    members = {name: jwk[name] for name in _REQUIRED_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def _algorithm_of(private: Any) -> str:
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    if isinstance(private, ec.EllipticCurvePrivateKey) and isinstance(private.curve, ec.SECP256R1):
        return "ES256"
    if isinstance(private, rsa.RSAPrivateKey):
        if private.key_size < 2048:
            raise ValueError(f"an RS256 key must have at least 2048 bits, got {private.key_size}")
        return "RS256"
    raise ValueError(f"a signing key must be Ed25519, P-256 or RSA, got {type(private).__name__}")


def jwk_of(public: Any, algorithm: str) -> dict[str, Any]:
    """The public JWK of ``public`` for ``algorithm``, with ``kid``, ``alg`` and ``use``."""
    jwk: dict[str, Any] = jwt.get_algorithm_by_name(algorithm).to_jwk(public, as_dict=True)
    jwk.update(kid=thumbprint(jwk), alg=algorithm, use="sig")
    return jwk


@dataclass
class SigningKey:
    """A private key, its algorithm and public JWK; ``retired_at`` is when a newer key
    took over signing (it still verifies the tokens it signed until they expire)."""

    private: Any
    algorithm: str
    jwk: dict[str, Any]
    retired_at: float | None = None

    @property
    def kid(self) -> str:
        """The key id: the JWK thumbprint."""
        return str(self.jwk["kid"])


def load_key(key: Any) -> SigningKey:
    """A SigningKey from a ``cryptography`` private key or its PEM (str or bytes)."""
    if isinstance(key, (str, bytes)):
        pem = key.encode("ascii") if isinstance(key, str) else key
        key = serialization.load_pem_private_key(pem, password=None)
    algorithm = _algorithm_of(key)
    return SigningKey(key, algorithm, jwk_of(key.public_key(), algorithm))


def new_key(algorithm: str = "EdDSA") -> SigningKey:
    """A freshly generated key for ``algorithm`` (EdDSA, ES256 or RS256)."""
    if algorithm == "EdDSA":
        private: Any = ed25519.Ed25519PrivateKey.generate()
    elif algorithm == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        raise ValueError(
            f"token algorithm must be one of {', '.join(ACCEPTED_ALGORITHMS)}, got {algorithm!r}"
        )
    return load_key(private)
