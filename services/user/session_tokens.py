"""Sessions and their tokens: open, issue, rotate with reuse detection, and revoke.

The interceptor's cheap check of a session is in `session_check.py`.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import audit, errors
from services.common.context import ClientInfo
from services.common.db import utcnow
from services.common.tokens import ACCESS, REFRESH, TokenCodec
from services.user.models import RefreshTokenRow, SessionRow, UserRow
from services.user.records import TokenPair


class SessionTokens:
    """Mint and rotate the tokens of sessions."""

    def __init__(
        self,
        codec: TokenCodec,
        *,
        access_ttl: int,
        refresh_ttl: int,
        session_max_age: int,
        reuse_grace: int = 0,
    ) -> None:
        self.codec = codec
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.session_max_age = session_max_age
        self.reuse_grace = timedelta(seconds=reuse_grace)

    async def start(
        self, db: AsyncSession, user: UserRow, client: ClientInfo, provider: str = "password"
    ) -> TokenPair:
        """Open a session for the user and return its first tokens."""
        now = utcnow()
        row = SessionRow(
            id=secrets.token_hex(16),
            user_id=user.id,
            created_at=now,
            last_used_at=now,
            expires_at=now + timedelta(seconds=self.session_max_age),
            user_agent=client.user_agent[:512],
            ip_address=client.ip_address[:64],
            provider=provider,
        )
        db.add(row)
        await db.flush()
        return await self.issue(db, user, row)

    async def issue(self, db: AsyncSession, user: UserRow, session: SessionRow) -> TokenPair:
        """Mint a fresh access and refresh token for a live session."""
        now = utcnow()
        subject = str(user.id)
        claims = {"sid": session.id, "role": user.role}
        access, access_claims = self.codec.encode(
            subject=subject, token_type=ACCESS, ttl_seconds=self.access_ttl, claims=claims
        )
        refresh_ttl = min(self.refresh_ttl, int((session.expires_at - now).total_seconds()))
        refresh, refresh_claims = self.codec.encode(
            subject=subject, token_type=REFRESH, ttl_seconds=max(refresh_ttl, 1), claims=claims
        )
        refresh_expiry = datetime.fromtimestamp(refresh_claims["exp"], tz=now.tzinfo)
        db.add(
            RefreshTokenRow(
                jti=refresh_claims["jti"],
                session_id=session.id,
                created_at=now,
                expires_at=refresh_expiry,
            )
        )
        return TokenPair(
            access_token=access,
            access_token_expires_at=datetime.fromtimestamp(access_claims["exp"], tz=now.tzinfo),
            refresh_token=refresh,
            refresh_token_expires_at=refresh_expiry,
            session_id=session.id,
            user_id=user.id,
        )

    async def rotate(self, db: AsyncSession, refresh_token: str) -> TokenPair:
        """Spend a refresh token for a new pair; a reused one revokes its whole session.

        A token spent within the reuse grace gets a fresh pair of the same session instead:
        two tabs that refresh at once both carry on. The caller must commit even when this
        raises RefreshReuse, so the revocation sticks.
        """
        claims = self.codec.decode(refresh_token, expected_types=(REFRESH,))
        token = await db.get(RefreshTokenRow, claims["jti"], with_for_update=True)
        if token is None:
            raise errors.Unauthenticated("unknown refresh token", reason="TOKEN_INVALID")
        session = await db.get(SessionRow, token.session_id, with_for_update=True)
        user = await db.get(UserRow, int(claims["sub"]))
        now = utcnow()
        if session is None or user is None:
            raise errors.Unauthenticated("session ended", reason="SESSION_REVOKED")
        if token.used_at is not None and now - token.used_at > self.reuse_grace:
            revoke(session, "refresh_token_reuse", now)
            # A spent token coming back means it was copied: whoever holds it is not known.
            await audit.append(
                db,
                REFRESH_REUSE,
                target=f"users/{user.id}",
                actor=audit.ANONYMOUS,
                details={"session": session.id, **audit.client_details()},
            )
            raise RefreshReuse()
        if session.revoked_at is not None or session.expires_at <= now:
            raise errors.Unauthenticated("session ended", reason="SESSION_REVOKED")
        if user.state != "active":
            raise errors.PermissionDenied("account suspended", reason="ACCOUNT_SUSPENDED")
        token.used_at = token.used_at or now  # the grace runs from the first use
        session.last_used_at = now
        return await self.issue(db, user, session)


# The audit action of a spent refresh token presented again.
REFRESH_REUSE = "auth.refresh_reuse"


class RefreshReuse(errors.Unauthenticated):
    """A spent refresh token came back: its session family has been revoked."""

    def __init__(self) -> None:
        super().__init__(
            "refresh token already used; the session has been revoked",
            reason="REFRESH_TOKEN_REUSED",
        )


def revoke(session: SessionRow, reason: str, now: datetime | None = None) -> None:
    """Mark a session revoked (its access and refresh tokens die with it)."""
    if session.revoked_at is None:
        session.revoked_at = now or utcnow()
        session.revoke_reason = reason


async def revoke_all(
    db: AsyncSession, user_id: int, reason: str, *, keep: str | None = None
) -> list[str]:
    """Revoke every live session of a user except `keep`; return the revoked ids."""
    query = select(SessionRow.id).where(
        SessionRow.user_id == user_id, SessionRow.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(SessionRow.id != keep)
    ids = list((await db.scalars(query)).all())
    if ids:
        await db.execute(
            update(SessionRow)
            .where(SessionRow.id.in_(ids))
            .values(revoked_at=utcnow(), revoke_reason=reason)
        )
    return ids
