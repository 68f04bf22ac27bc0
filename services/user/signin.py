"""Password sign-in, refresh-token rotation and access-token checks."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from services.common import audit, errors
from services.common.context import current_client
from services.common.db import Database, utcnow
from services.common.tokens import ACCESS, REFRESH, TokenCodec, principal_from_claims
from services.user import passwords, throttle
from services.user.models import UserRow
from services.user.passwords import PasswordHasher
from services.user.records import AuthResult, TokenInfo, TokenPair, to_user
from services.user.rules import normalize_email
from services.user.session_check import DatabaseSessionCheck
from services.user.session_tokens import RefreshReuse, SessionTokens

log = logging.getLogger(__name__)

INVALID_LOGIN = "invalid email or password"
# Audit actions of sign-in.
LOGIN = "auth.login"
LOGIN_FAILED = "auth.login_failed"
# Sign-in refused for a while: too many failures for the account or from the address.
LOCKOUT = "auth.lockout"


class SignIn:
    """Open sessions with a password, rotate their refresh tokens, and check access tokens."""

    def __init__(
        self,
        database: Database,
        codec: TokenCodec,
        tokens: SessionTokens,
        hasher: PasswordHasher,
        session_check: DatabaseSessionCheck,
    ) -> None:
        self.database = database
        self.codec = codec
        self.tokens = tokens
        self.hasher = hasher
        self.session_check = session_check

    async def login(self, email: str, password: str) -> AuthResult:
        """Check a password and open a session; failures are throttled per account and address."""
        email = normalize_email(email)
        errors.InvalidArgument.require(email=email, password=password)
        passwords.check_input(password, "password")
        client = current_client()
        keys: list[str | None] = [f"login:{email}", throttle.address_key("login")]
        async with self.database.session() as db:
            async with db.begin():
                await throttle.check(db, keys)
                user = await db.scalar(select(UserRow).where(UserRow.email == email))
            # An unknown account still costs one bcrypt check, so timing does not tell.
            matched = await self.hasher.check(
                password, user.password_hash if user is not None else None
            )
            if user is None or not matched:
                async with db.begin():
                    locks = {
                        "account": await throttle.record_failure(
                            db, keys[0], throttle.ACCOUNT_POLICY
                        ),
                        "address": await throttle.record_failure(
                            db, keys[1], throttle.ADDRESS_POLICY
                        ),
                    }
                    await audit.append(
                        db,
                        LOGIN_FAILED,
                        target=f"users/{user.id}" if user is not None else "",
                        actor=audit.ANONYMOUS,
                        details={
                            "email": email,
                            "why": "unknown account" if user is None else "wrong password",
                            **audit.client_details(),
                        },
                    )
                    for scope, until in locks.items():
                        if until is not None:
                            await audit.append(
                                db,
                                LOCKOUT,
                                target=f"users/{user.id}" if user is not None else "",
                                actor=audit.ANONYMOUS,
                                details={
                                    "scope": scope,
                                    "email": email,
                                    "until": until.isoformat(),
                                    **audit.client_details(),
                                },
                            )
                raise errors.Unauthenticated(INVALID_LOGIN, reason="INVALID_CREDENTIALS")
            async with db.begin():
                user = await db.get(UserRow, user.id, with_for_update=True, populate_existing=True)
                if user is None or user.state != "active":
                    raise errors.PermissionDenied("account suspended", reason="ACCOUNT_SUSPENDED")
                await throttle.clear(db, f"login:{email}")
                user.last_login_at = utcnow()
                tokens = await self.tokens.start(db, user, client)
                result = AuthResult.of(tokens, to_user(user))
                await audit.append(
                    db,
                    LOGIN,
                    target=f"users/{user.id}",
                    actor=f"users/{user.id}",
                    details={"method": "password", **audit.client_details()},
                )
        log.info(
            "user signed in", extra={"user_id": result.user.id, "session_id": result.session_id}
        )
        return result

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate a refresh token; presenting a spent one revokes its whole session."""
        errors.InvalidArgument.require(refresh_token=refresh_token)
        reused: RefreshReuse | None = None
        async with self.database.session() as db, db.begin():
            try:
                pair = await self.tokens.rotate(db, refresh_token)
            except RefreshReuse as error:
                reused = error  # leave the block normally so the revocation commits
        if reused is not None:
            claims = self.codec.decode(refresh_token, expected_types=(REFRESH,))
            self.session_check.forget(str(claims.get("sid", "")))
            await self.session_check.revoked(str(claims.get("sub", "")))
            log.warning(
                "refresh token reuse; session revoked", extra={"session_id": claims.get("sid")}
            )
            raise reused
        return pair

    async def verify(self, access_token: str) -> TokenInfo:
        """Check an access token: signature, claims, type, session and account state."""
        claims = self.codec.decode(access_token, expected_types=(ACCESS,))
        principal = await self.session_check.current(principal_from_claims(claims))
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
