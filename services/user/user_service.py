"""UserService: registration, sign-in, tokens, profile, password and sessions (ASVS level 2).

This class holds the dependencies and is the one entry point of the domain; it hands each use
case only what it uses: registration in `registration.py`, sign-in and tokens in `signin.py`,
look-ups, profiles, suspension and roles in `accounts.py`, password changes in
`password_change.py`, the session list in `session_listing.py`, password reset in
`password_reset.py`, email verification in `email_verification.py` and OAuth sign-in in
`oauth_login.py`. The records it hands out are in `records.py`; the sessions' tokens are minted
in `session_tokens.py` and checked by the interceptor through `session_check.py`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.config import Settings, explicit_settings
from services.common.context import current_client
from services.common.db import Database
from services.common.mail import Mail, Outbox, transport_from_settings
from services.common.pagination import PageTokens
from services.common.tokens import SigningKeys, TokenCodec
from services.user import email_verification
from services.user.accounts import Accounts
from services.user.models import UserRow
from services.user.new_accounts import NewAccountHooks
from services.user.oauth import OAuthProvider, providers_from_settings
from services.user.oauth_login import OAuthLogin
from services.user.password_change import PasswordChange, store_password
from services.user.password_reset import PasswordReset
from services.user.passwords import PasswordHasher
from services.user.records import AuthResult, OAuthStart, SessionInfo, TokenInfo, TokenPair, User
from services.user.registration import Registration
from services.user.session_check import DatabaseSessionCheck
from services.user.session_listing import SessionListing
from services.user.session_tokens import SessionTokens
from services.user.signin import SignIn

# The records stay importable from here, where callers have always found them.
__all__ = ["AuthResult", "SessionInfo", "TokenInfo", "UserService"]


def _codec(settings: Settings, jwt_secret: str | None) -> TokenCodec:
    if jwt_secret is None:
        return TokenCodec.from_settings(settings)
    keys = SigningKeys("HS256", jwt_secret, jwt_secret)
    return TokenCodec(
        keys,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        leeway=settings.jwt_leeway_seconds,
    )


class UserService:
    """Accounts and authentication."""

    def __init__(
        self,
        db: Database,
        jwt_secret: str | None = None,
        *,
        settings: Settings | None = None,
        codec: TokenCodec | None = None,
        session_check: DatabaseSessionCheck | None = None,
        outbox: Outbox | None = None,
        providers: dict[str, OAuthProvider] | None = None,
        new_accounts: NewAccountHooks | None = None,
    ) -> None:
        # In-process use, as the product docs show it: defaults, never the environment.
        settings = settings if settings is not None else explicit_settings()
        self.db = db
        self.settings = settings
        self.codec = codec or _codec(settings, jwt_secret)
        self.session_check = session_check or DatabaseSessionCheck(db)
        self.outbox = outbox or Outbox(db, transport_from_settings(settings), settings.mail_from)
        self.providers = providers if providers is not None else providers_from_settings(settings)
        self.tokens = SessionTokens(
            self.codec,
            access_ttl=settings.access_token_ttl_seconds,
            refresh_ttl=settings.refresh_token_ttl_seconds,
            session_max_age=settings.session_max_age_seconds,
            reuse_grace=settings.refresh_reuse_grace_seconds,
        )
        self.hasher = PasswordHasher(settings.bcrypt_rounds, settings.password_hash_concurrency)
        self.page_tokens = PageTokens(self.codec.derived_key("page-tokens"))
        base_url = settings.public_base_url
        check = self.session_check
        new_accounts = new_accounts or NewAccountHooks()
        self.registration = Registration(
            db, self.outbox, self.hasher, base_url=base_url, new_accounts=new_accounts
        )
        self.signin = SignIn(db, self.codec, self.tokens, self.hasher, check)
        self.accounts = Accounts(db, check)
        self.password_change = PasswordChange(db, self.tokens, self.hasher, check)
        self.password_reset = PasswordReset(db, self.outbox, self.hasher, check, base_url=base_url)
        self.session_listing = SessionListing(db, self.page_tokens, check)
        self.oauth_login = OAuthLogin(db, self.tokens, check, self.providers, new_accounts)

    # --- Registration and sign-in (see registration.py and signin.py) -----------------------------

    async def register_user(
        self, email: str, password: str, first_name: str = "", last_name: str = ""
    ) -> User:
        """Create an account and mail a verification link.

        An address that is taken gets the same answer, in similar time, and its owner a mail;
        so the response never tells whether an account exists.
        """
        return await self.registration.register(email, password, first_name, last_name)

    async def login(self, email: str, password: str) -> AuthResult:
        """Check a password and open a session; failures are throttled per account and address."""
        return await self.signin.login(email, password)

    async def refresh_token(self, refresh_token: str) -> TokenPair:
        """Rotate a refresh token; presenting a spent one revokes its whole session."""
        return await self.signin.refresh(refresh_token)

    async def logout(self, user_id: int, session_id: str) -> None:
        """End a session at once."""
        await self.revoke_session(user_id, session_id, reason="logout")

    async def verify_token(self, access_token: str) -> TokenInfo:
        """Check an access token: signature, claims, type, session and account state."""
        return await self.signin.verify(access_token)

    # --- Accounts (see accounts.py and password_change.py) ----------------------------------------

    async def get_user(self, user_id: int) -> User:
        """Return an account by id."""
        return await self.accounts.get(user_id)

    async def get_user_by_email(self, email: str) -> User:
        """Return an account by email (case-insensitive)."""
        return await self.accounts.get_by_email(email)

    async def update_user_profile(self, user_id: int, **changes: Any) -> User:
        """Change first_name, last_name, avatar_url and/or locale."""
        return await self.accounts.update_profile(user_id, changes)

    async def change_password(
        self, user_id: int, current_password: str, new_password: str, session_id: str = ""
    ) -> TokenPair:
        """Replace the password; every other session ends and this one gets fresh tokens."""
        return await self.password_change.change(
            user_id, current_password, new_password, session_id
        )

    async def store_password(
        self, db: AsyncSession, user: UserRow, new_hash: str, reason: str, keep: str = ""
    ) -> None:
        """Store a new hash and end pending resets and every session but `keep`.

        Runs in the caller's transaction: after it commits, `session_check.revoked(user.id)`
        makes the ended sessions fail in every process.
        """
        await store_password(
            db, user, new_hash, reason, session_check=self.session_check, keep=keep
        )

    async def set_state(
        self, user_id: int, state: str, reason: str = "", actor: str | None = None
    ) -> User:
        """Suspend or reactivate an account; suspension ends every session at once (audited)."""
        return await self.accounts.set_state(user_id, state, reason, actor)

    async def suspend_user(self, user_id: int, reason: str = "", actor: str | None = None) -> User:
        """Suspend an account."""
        return await self.set_state(user_id, "suspended", reason, actor)

    async def reactivate_user(
        self, user_id: int, reason: str = "", actor: str | None = None
    ) -> User:
        """Reactivate a suspended account."""
        return await self.set_state(user_id, "active", reason, actor)

    async def set_role(self, email: str, role: str) -> User:
        """Give an account a role (the command line makes the first admin)."""
        return await self.accounts.set_role(email, role)

    # --- Sessions (see session_listing.py) --------------------------------------------------------

    async def list_sessions(
        self, user_id: int, current_session_id: str = "", size: int = 0, token: str = ""
    ) -> tuple[list[SessionInfo], str]:
        """List a user's live sessions, newest first, a page at a time."""
        return await self.session_listing.page(user_id, current_session_id, size, token)

    async def revoke_session(self, user_id: int, session_id: str, reason: str = "revoked") -> None:
        """End one of a user's sessions at once (NOT_FOUND for anyone else's)."""
        await self.session_listing.revoke(user_id, session_id, reason)

    # --- Recovery and OAuth (see password_reset.py, email_verification.py, oauth_login.py) --------

    async def request_password_reset(self, email: str) -> None:
        """Mail a reset link if the account exists; answer the same either way."""
        await self.password_reset.request(email)

    async def reset_password(self, token: str, new_password: str) -> None:
        """Set a new password with a single-use reset token."""
        await self.password_reset.reset(token, new_password)

    async def verify_email(self, token: str) -> User:
        """Confirm an email address with the token from the verification mail."""
        return await email_verification.verify_email(self.db, token)

    async def start_oauth_login(self, provider: str) -> OAuthStart:
        """Begin an OAuth sign-in with PKCE; return the provider URL and the one-time state."""
        return await self.oauth_login.start(provider)

    async def complete_oauth_login(self, provider: str, code: str, state: str) -> AuthResult:
        """Finish an OAuth sign-in and open a session."""
        return await self.oauth_login.complete(provider, code, state, current_client())

    def mail(self, db: AsyncSession, mail: Mail) -> None:
        """Queue a mail in the caller's transaction."""
        self.outbox.enqueue(db, mail)
