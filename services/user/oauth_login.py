"""OAuth sign-in flow: one-time state with PKCE and nonce, then linking through verified email.

An identity already linked signs in to its account. Otherwise a provider-verified email that
matches an account links to it; if that account had not verified its own email, its password
is cleared and its sessions end, so a squatter who registered the address first gains nothing.
An unverified provider email never links and never creates an account.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import errors
from services.common.context import ClientInfo
from services.common.db import utcnow
from services.common.records import Record
from services.user.models import OAuthIdentityRow, OAuthStateRow, UserRow
from services.user.oauth import OAuthIdentity, OAuthProvider, new_pkce_pair
from services.user.sessions import revoke_all
from services.user.signin import AuthResult
from services.user.users import normalize_email, to_user

if TYPE_CHECKING:
    from services.user.user_service import UserService

STATE_TTL = timedelta(minutes=10)
PROVIDERS = ("google", "github")


@dataclass(frozen=True)
class OAuthStart(Record):
    """Where to send the browser, and the state that must come back."""

    authorization_url: str
    state: str
    expires_at: datetime


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _provider(service: UserService, provider: str) -> OAuthProvider:
    """Return a configured provider by name, or raise."""
    if provider not in PROVIDERS:
        raise errors.InvalidArgument.field("provider", "must be GOOGLE or GITHUB")
    if provider not in service.providers:
        raise errors.FailedPrecondition(
            f"{provider} sign-in is not configured", reason="PROVIDER_NOT_CONFIGURED"
        )
    return service.providers[provider]


async def start(service: UserService, provider: str) -> OAuthStart:
    """Create the one-time state, PKCE pair and nonce, and return the authorization URL."""
    client = _provider(service, provider)
    state = secrets.token_urlsafe(32)
    verifier, challenge = new_pkce_pair()
    nonce = secrets.token_urlsafe(16)
    now = utcnow()
    async with service.db.session() as db, db.begin():
        db.add(
            OAuthStateRow(
                state_hash=_hash(state),
                provider=provider,
                code_verifier=verifier,
                nonce=nonce,
                created_at=now,
                expires_at=now + STATE_TTL,
            )
        )
    url = client.authorization_url(state=state, code_challenge=challenge, nonce=nonce)
    return OAuthStart(authorization_url=url, state=state, expires_at=now + STATE_TTL)


async def complete(
    service: UserService, provider: str, code: str, state: str, client: ClientInfo
) -> AuthResult:
    """Spend the state, exchange the code, link or create the account, and open a session."""
    oauth = _provider(service, provider)
    errors.InvalidArgument.require(code=code, state=state)
    invalid_state = errors.Unauthenticated(
        "unknown, used or expired sign-in state", reason="OAUTH_STATE_INVALID"
    )
    async with service.db.session() as db, db.begin():
        row = await db.get(OAuthStateRow, _hash(state[:200]), with_for_update=True)
        if row is None or row.used_at is not None or row.expires_at <= utcnow():
            raise invalid_state
        if row.provider != provider:
            raise invalid_state
        # Spent before the exchange: a state works once even if the exchange fails.
        row.used_at = utcnow()
        verifier, nonce = row.code_verifier, row.nonce
    identity = await oauth.exchange(code=code, code_verifier=verifier, nonce=nonce)
    async with service.db.session() as db, db.begin():
        user, created = await _account_for(service, db, identity)
        if user.state != "active":
            raise errors.PermissionDenied("account suspended", reason="ACCOUNT_SUSPENDED")
        user.last_login_at = utcnow()
        tokens = await service.tokens.start(db, user, client, provider=provider)
        return AuthResult.of(tokens, to_user(user), created=created)


async def _account_for(
    service: UserService, db: AsyncSession, identity: OAuthIdentity
) -> tuple[UserRow, bool]:
    """Return the account an identity signs in to, linking or creating it as the rules allow."""
    link = await db.get(OAuthIdentityRow, (identity.provider, identity.subject))
    if link is not None:
        user = await db.get(UserRow, link.user_id, with_for_update=True)
        if user is not None:
            return user, False
    if not identity.email_verified:
        raise errors.FailedPrecondition(
            f"your {identity.provider} email address is not verified", reason="EMAIL_UNVERIFIED"
        )
    email = normalize_email(identity.email)
    now = utcnow()
    user = await db.scalar(select(UserRow).where(UserRow.email == email).with_for_update())
    created = user is None
    if user is None:
        user = UserRow(
            email=email,
            email_verified=True,
            first_name=identity.first_name[:100],
            last_name=identity.last_name[:100],
            avatar_url=identity.avatar_url[:2048]
            if identity.avatar_url.startswith("https://")
            else "",
            created_at=now,
            updated_at=now,
        )
        db.add(user)
        await db.flush()
    elif not user.email_verified:
        # Whoever set this account's password never proved the address; the provider did.
        user.password_hash = None
        user.email_verified = True
        user.updated_at = now
        service.session_check.forget(*await revoke_all(db, user.id, "oauth_takeover_defence"))
    db.add(
        OAuthIdentityRow(
            provider=identity.provider,
            subject=identity.subject,
            user_id=user.id,
            email=email,
            created_at=now,
        )
    )
    return user, created
