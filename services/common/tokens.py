"""JWT signing and verification with a pinned algorithm, issuer, audience and token type."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from services.common import errors
from services.common.config import Settings
from services.common.context import Principal, PrincipalKind

ACCESS = "access"
REFRESH = "refresh"
SERVICE = "service"
SERVICE_TOKEN_TTL_SECONDS = 3600


@dataclass(frozen=True)
class SigningKeys:
    """The key that signs tokens and the key that verifies them (equal for HMAC)."""

    algorithm: str
    signing_key: str
    verifying_key: str

    def prepared(self) -> tuple[Any, Any]:
        """Return (signing, verifying) keys parsed once: PyJWT re-parses string keys per call."""
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        return (
            algorithm.prepare_key(self.signing_key),
            jwt.PyJWK(
                json.loads(algorithm.to_jwk(algorithm.prepare_key(self.verifying_key))),
                self.algorithm,
            ),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> SigningKeys:
        """Load keys for the configured algorithm."""
        if settings.jwt_algorithm.startswith("HS"):
            secret = settings.signing_secret()
            return cls(settings.jwt_algorithm, secret, secret)
        if settings.jwt_private_key is None or settings.jwt_public_key is None:
            raise errors.Unavailable("JWT_PRIVATE_KEY and JWT_PUBLIC_KEY are required")
        return cls(
            settings.jwt_algorithm,
            settings.jwt_private_key.get_secret_value(),
            settings.jwt_public_key,
        )


class TokenCodec:
    """Encode and decode FilmStudio JWTs; every decode checks alg, iss, aud, exp, sub and typ."""

    def __init__(self, keys: SigningKeys, *, issuer: str, audience: str, leeway: int = 30):
        self._keys = keys
        self._signing_key, self._verifying_key = keys.prepared()
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway

    @property
    def leeway(self) -> int:
        """Seconds of clock skew tolerated on exp, nbf and iat."""
        return self._leeway

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenCodec:
        """Build the codec from settings."""
        return cls(
            SigningKeys.from_settings(settings),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway=settings.jwt_leeway_seconds,
        )

    def encode(
        self,
        *,
        subject: str,
        token_type: str,
        ttl_seconds: int,
        claims: Mapping[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """Sign a token and return it with its claims."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_seconds,
            "jti": uuid.uuid4().hex,
            "typ": token_type,
            **(claims or {}),
        }
        token = jwt.encode(payload, self._signing_key, algorithm=self._keys.algorithm)
        return token, payload

    def decode(self, token: str, *, expected_types: tuple[str, ...]) -> dict[str, Any]:
        """Verify a token and return its claims, or raise Unauthenticated."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._verifying_key,
                algorithms=[self._keys.algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "jti", "typ"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise errors.Unauthenticated("token expired", reason="TOKEN_EXPIRED") from exc
        except jwt.PyJWTError as exc:
            raise errors.Unauthenticated("invalid token", reason="TOKEN_INVALID") from exc
        if claims.get("typ") not in expected_types:
            raise errors.Unauthenticated("wrong token type", reason="TOKEN_INVALID")
        return claims

    def derived_key(self, purpose: str) -> bytes:
        """Return a key for another purpose (page tokens, ...), derived from the signing key."""
        return hmac.new(self._keys.signing_key.encode(), purpose.encode(), hashlib.sha256).digest()

    def issue_service_token(
        self, service: str, ttl_seconds: int = SERVICE_TOKEN_TTL_SECONDS
    ) -> str:
        """Mint a token for an internal service or worker."""
        token, _ = self.encode(subject=service, token_type=SERVICE, ttl_seconds=ttl_seconds)
        return token


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """Turn verified access or service claims into the caller."""
    if claims["typ"] == SERVICE:
        return Principal(PrincipalKind.SERVICE, str(claims["sub"]), role="service")
    return Principal(
        PrincipalKind.USER,
        str(claims["sub"]),
        role=str(claims.get("role", "user")),
        session_id=claims.get("sid"),
        token_id=claims.get("jti"),
    )


class ServiceToken:
    """A service token minted on demand and renewed well before it expires."""

    RENEW_BEFORE_SECONDS = 300

    def __init__(self, codec: TokenCodec, service: str) -> None:
        self._codec = codec
        self._service = service
        self._token, self._expires = "", 0.0

    def __call__(self) -> str:
        """Return a token with at least five minutes to live."""
        if time.time() > self._expires - self.RENEW_BEFORE_SECONDS:
            self._token = self._codec.issue_service_token(self._service)
            self._expires = time.time() + SERVICE_TOKEN_TTL_SECONDS
        return self._token
