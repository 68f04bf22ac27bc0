"""OAuth sign-in flow: one-time state with PKCE and nonce, then linking through verified email.

An identity already linked signs in to its account. Otherwise a provider-verified email that
matches an account links to it; if that account had not verified its own email, its password
is cleared and its sessions end, so a squatter who registered the address first gains nothing.
An unverified provider email never links and never creates an account.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import audit, errors
from services.common.context import ClientInfo
from services.common.db import Database, utcnow
from services.user.models import OAuthIdentityRow, OAuthStateRow, UserRow
from services.user.new_accounts import NewAccountHooks
from services.user.oauth import OAuthIdentity, OAuthProvider, new_pkce_pair
from services.user.records import AuthResult, OAuthStart, to_user
from services.user.rules import normalize_email
from services.user.session_check import DatabaseSessionCheck
from services.user.session_tokens import SessionTokens, revoke_all

STATE_TTL = timedelta(minutes=10)
PROVIDERS = ("google", "github")


def state_hash(state: str) -> str:
    """Return the stored form of a sign-in state (states are never stored in clear)."""
    return hashlib.sha256(state.encode()).hexdigest()


class OAuthLogin:
    """Sign in through the configured identity providers."""

    def __init__(
        self,
        database: Database,
        tokens: SessionTokens,
        session_check: DatabaseSessionCheck,
        providers: dict[str, OAuthProvider],
        new_accounts: NewAccountHooks | None = None,
    ) -> None:
        self.database = database
        self.tokens = tokens
        self.session_check = session_check
        self.providers = providers
        self.new_accounts = new_accounts or NewAccountHooks()

    def provider(self, provider: str) -> OAuthProvider:
        """Return a configured provider by name, or raise."""
        if provider not in PROVIDERS:
            raise errors.InvalidArgument.field("provider", "must be GOOGLE or GITHUB")
        if provider not in self.providers:
            raise errors.FailedPrecondition(
                f"{provider} sign-in is not configured", reason="PROVIDER_NOT_CONFIGURED"
            )
        return self.providers[provider]

    async def start(self, provider: str) -> OAuthStart:
        """Create the one-time state, PKCE pair and nonce, and return the authorization URL."""
        client = self.provider(provider)
        state = secrets.token_urlsafe(32)
        verifier, challenge = new_pkce_pair()
        nonce = secrets.token_urlsafe(16)
        now = utcnow()
        async with self.database.session() as db, db.begin():
            db.add(
                OAuthStateRow(
                    state_hash=state_hash(state),
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
        self, provider: str, code: str, state: str, client: ClientInfo
    ) -> AuthResult:
        """Spend the state, exchange the code, link or create the account, and open a session."""
        oauth = self.provider(provider)
        errors.InvalidArgument.require(code=code, state=state)
        invalid_state = errors.Unauthenticated(
            "unknown, used or expired sign-in state", reason="OAUTH_STATE_INVALID"
        )
        async with self.database.session() as db, db.begin():
            row = await db.get(OAuthStateRow, state_hash(state[:200]), with_for_update=True)
            if row is None or row.used_at is not None or row.expires_at <= utcnow():
                raise invalid_state
            if row.provider != provider:
                raise invalid_state
            # Spent before the exchange: a state works once even if the exchange fails.
            row.used_at = utcnow()
            verifier, nonce = row.code_verifier, row.nonce
        identity = await oauth.exchange(code=code, code_verifier=verifier, nonce=nonce)
        async with self.database.session() as db, db.begin():
            user, created = await self._account_for(db, identity)
            if user.state != "active":
                raise errors.PermissionDenied("account suspended", reason="ACCOUNT_SUSPENDED")
            user.last_login_at = utcnow()
            tokens = await self.tokens.start(db, user, client, provider=provider)
            result = AuthResult.of(tokens, to_user(user), created=created)
            await audit.append(
                db,
                "auth.login",
                target=f"users/{user.id}",
                actor=f"users/{user.id}",
                details={
                    "method": provider,
                    "ip": client.ip_address,
                    "user_agent": client.user_agent,
                },
            )
        if created:
            await self.new_accounts.created(result.user.id)
        else:
            # An existing account's sessions may have ended (the takeover defence): everywhere.
            await self.session_check.revoked(result.user.id)
        return result

    async def _account_for(self, db: AsyncSession, identity: OAuthIdentity) -> tuple[UserRow, bool]:
        """Return the account an identity signs in to, linking or creating it as the rules allow."""
        link = await db.get(OAuthIdentityRow, (identity.provider, identity.subject))
        if link is not None:
            user = await db.get(UserRow, link.user_id, with_for_update=True)
            if user is not None:
                return user, False
        if not identity.email_verified:
            raise errors.FailedPrecondition(
                f"your {identity.provider} email address is not verified",
                reason="EMAIL_UNVERIFIED",
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
            self.session_check.forget(*await revoke_all(db, user.id, "oauth_takeover_defence"))
        db.add(
            OAuthIdentityRow(
                provider=identity.provider,
                subject=identity.subject,
                user_id=user.id,
                email=email,
                created_at=now,
            )
        )
        await audit.append(
            db,
            "auth.oauth_link",
            target=f"users/{user.id}",
            actor=f"users/{user.id}",
            details={"provider": identity.provider, "new_account": created, "email": email},
        )
        return user, created
