"""Who is calling: turn a bearer token into a Principal, and decide if it may call an RPC."""

from __future__ import annotations

import time
from typing import Protocol

from filmstudio.v1 import options_pb2

from services.common import errors
from services.common.context import Principal
from services.common.tokens import ACCESS, SERVICE, TokenCodec, principal_from_claims


class Authenticator(Protocol):
    """Verify a bearer token; raise Unauthenticated when it is not acceptable."""

    async def authenticate(self, token: str) -> Principal:
        """Return the caller the token stands for."""
        ...


class SessionCheck(Protocol):
    """Tell whether a user's session is still live (not revoked, user not suspended)."""

    async def current(self, principal: Principal) -> Principal | None:
        """Return the caller as it stands now, or None when the token must be refused."""
        ...


# Verified tokens remembered per process: services call with the same token thousands of times.
VERIFIED_CACHE_SIZE = 4096
# Our tokens are under 1 KB; a longer Authorization value is refused before it is parsed.
MAX_AUTHORIZATION_BYTES = 4096


class JwtAuthenticator:
    """Accept access and service JWTs; consult a session check for users when one is set.

    A token whose signature and claims were verified is remembered until it expires (by its
    exact text, so a hit is the same signed bytes): verifying a signature costs more than the
    rest of a small call. Sessions are still checked on every call.
    """

    def __init__(self, codec: TokenCodec, session_check: SessionCheck | None = None) -> None:
        self._codec = codec
        self.session_check = session_check
        self._verified: dict[str, tuple[Principal, float]] = {}

    def _verify(self, token: str) -> Principal:
        """Return the caller of a token, verifying it unless it was verified and is unexpired."""
        remembered = self._verified.get(token)
        if remembered is not None and time.time() < remembered[1]:
            return remembered[0]
        claims = self._codec.decode(token, expected_types=(ACCESS, SERVICE))
        principal = principal_from_claims(claims)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            del self._verified[next(iter(self._verified))]  # the oldest
        # PyJWT accepts a token while now < exp + leeway; a hit must not outlive that.
        self._verified[token] = (principal, float(claims["exp"]) + self._codec.leeway)
        return principal

    async def authenticate(self, token: str) -> Principal:
        """Verify signature and claims, then the session, and return the caller."""
        principal = self._verify(token)
        if self.session_check is None or principal.is_service:
            return principal
        current = await self.session_check.current(principal)
        if current is None:
            raise errors.Unauthenticated(
                "session revoked or account suspended", reason="SESSION_REVOKED"
            )
        return current


def bearer_token(authorization: str | None) -> str | None:
    """Extract the token of an `Authorization: Bearer <token>` value."""
    if not authorization:
        return None
    if len(authorization) > MAX_AUTHORIZATION_BYTES:
        raise errors.Unauthenticated(
            f"the authorization value is too long (at most {MAX_AUTHORIZATION_BYTES} bytes)",
            reason="TOKEN_INVALID",
        )
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthenticated(
            "authorization must be 'Bearer <token>'", reason="TOKEN_INVALID"
        )
    return token.strip()


def authorize(access: int, principal: Principal | None, method: str) -> None:
    """Raise unless the caller satisfies the RPC's access policy."""
    if access == options_pb2.ACCESS_PUBLIC:
        return
    if access == options_pb2.ACCESS_UNSPECIFIED:
        raise errors.PermissionDenied(f"{method} declares no access policy", reason="NO_POLICY")
    if principal is None:
        raise errors.Unauthenticated(f"{method} needs credentials", reason="CREDENTIALS_MISSING")
    if access == options_pb2.ACCESS_USER:
        return
    if access == options_pb2.ACCESS_ADMIN and principal.is_admin:
        return
    if access == options_pb2.ACCESS_INTERNAL and principal.is_service:
        return
    needed = options_pb2.Access.Name(access).removeprefix("ACCESS_").lower()
    raise errors.PermissionDenied(
        f"{method} is for {needed} callers", reason="ACCESS_DENIED", metadata={"needs": needed}
    )
