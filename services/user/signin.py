"""Password sign-in, refresh-token rotation and access-token checks, and the records they return."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from services.common import errors
from services.common.context import current_client
from services.common.db import utcnow
from services.common.records import Record
from services.common.tokens import ACCESS, REFRESH, principal_from_claims
from services.user import passwords, throttle
from services.user.models import UserRow
from services.user.sessions import RefreshReuse, TokenPair
from services.user.users import User, normalize_email, to_user

if TYPE_CHECKING:
    from services.user.user_service import UserService

log = logging.getLogger(__name__)

INVALID_LOGIN = "invalid email or password"


@dataclass(frozen=True)
class AuthResult(Record):
    """The outcome of a sign-in: the session's tokens and the user."""

    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    token_type: str
    session_id: str
    user: User
    created: bool = False

    @classmethod
    def of(cls, tokens: TokenPair, user: User, created: bool = False) -> AuthResult:
        """Combine a token pair with its user."""
        return cls(
            access_token=tokens.access_token,
            access_token_expires_at=tokens.access_token_expires_at,
            refresh_token=tokens.refresh_token,
            refresh_token_expires_at=tokens.refresh_token_expires_at,
            token_type=tokens.token_type,
            session_id=tokens.session_id,
            user=user,
            created=created,
        )


@dataclass(frozen=True)
class TokenInfo(Record):
    """What a verified access token says."""

    user_id: int
    role: str
    session_id: str
    expires_at: datetime


async def login(service: UserService, email: str, password: str) -> AuthResult:
    """Check a password and open a session; failures are throttled per account and address."""
    email = normalize_email(email)
    errors.InvalidArgument.require(email=email, password=password)
    client = current_client()
    keys: list[str | None] = [f"login:{email}", throttle.address_key("login")]
    async with service.db.session() as db:
        async with db.begin():
            await throttle.check(db, keys)
            user = await db.scalar(select(UserRow).where(UserRow.email == email))
        stored = user.password_hash if user is not None else None
        # An unknown account still costs one bcrypt check, so timing does not tell.
        matched = await passwords.verify_password(
            password, stored or await service._dummy_hash.value()
        )
        if user is None or stored is None or not matched:
            async with db.begin():
                await throttle.record_failure(db, keys[0], throttle.ACCOUNT_POLICY)
                await throttle.record_failure(db, keys[1], throttle.ADDRESS_POLICY)
            raise errors.Unauthenticated(INVALID_LOGIN, reason="INVALID_CREDENTIALS")
        async with db.begin():
            user = await db.get(UserRow, user.id, with_for_update=True, populate_existing=True)
            if user is None or user.state != "active":
                raise errors.PermissionDenied("account suspended", reason="ACCOUNT_SUSPENDED")
            await throttle.clear(db, f"login:{email}")
            user.last_login_at = utcnow()
            tokens = await service.tokens.start(db, user, client)
            result = AuthResult.of(tokens, to_user(user))
    log.info("user signed in", extra={"user_id": result.user.id, "session_id": result.session_id})
    return result


async def refresh(service: UserService, refresh_token: str) -> TokenPair:
    """Rotate a refresh token; presenting a spent one revokes its whole session."""
    errors.InvalidArgument.require(refresh_token=refresh_token)
    reused: RefreshReuse | None = None
    async with service.db.session() as db, db.begin():
        try:
            pair = await service.tokens.rotate(db, refresh_token)
        except RefreshReuse as error:
            reused = error  # leave the block normally so the revocation commits
    if reused is not None:
        claims = service.codec.decode(refresh_token, expected_types=(REFRESH,))
        service.session_check.forget(str(claims.get("sid", "")))
        log.warning("refresh token reuse; session revoked", extra={"session_id": claims.get("sid")})
        raise reused
    return pair


async def verify(service: UserService, access_token: str) -> TokenInfo:
    """Check an access token: signature, claims, type, session and account state."""
    claims = service.codec.decode(access_token, expected_types=(ACCESS,))
    principal = await service.session_check.current(principal_from_claims(claims))
    if principal is None:
        raise errors.Unauthenticated(
            "session revoked or account suspended", reason="SESSION_REVOKED"
        )
    return TokenInfo(
        user_id=int(principal.subject),
        role=principal.role,
        session_id=principal.session_id or "",
        expires_at=datetime.fromtimestamp(claims["exp"], tz=utcnow().tzinfo),
    )
