"""UserService: registration, sign-in, tokens, profile, password and sessions (ASVS level 2).

Recovery (password reset, email verification) lives in `recovery.py` and OAuth sign-in in
`oauth_login.py`; this class is the one entry point for all of them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import errors
from services.common.config import Settings, load_settings
from services.common.context import current_client
from services.common.db import Database, utcnow
from services.common.mail import Mail, Outbox, transport_from_settings
from services.common.pagination import (
    PageTokens,
    newest_first,
    newest_first_position,
    page_size,
    query_key,
)
from services.common.records import Record
from services.common.tokens import ACCESS, REFRESH, SigningKeys, TokenCodec, principal_from_claims
from services.user import oauth_login, passwords, recovery, throttle
from services.user.models import SessionRow, UserRow
from services.user.oauth import OAuthProvider, providers_from_settings
from services.user.sessions import (
    DatabaseSessionCheck,
    RefreshReuse,
    SessionTokens,
    TokenPair,
    revoke,
    revoke_all,
)
from services.user.users import (
    ROLES,
    User,
    avatar_violations,
    email_violations,
    locale_violations,
    name_violations,
    normalize_email,
    to_user,
)

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


@dataclass(frozen=True)
class SessionInfo(Record):
    """A live session as its owner sees it."""

    id: str
    user_id: int
    user_agent: str
    ip_address: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    current: bool


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
    ) -> None:
        self.db = db
        self.settings = settings or load_settings()
        self.codec = codec or _codec(self.settings, jwt_secret)
        self.session_check = session_check or DatabaseSessionCheck(db)
        self.outbox = outbox or Outbox(
            db, transport_from_settings(self.settings), self.settings.mail_from
        )
        self.providers = (
            providers if providers is not None else providers_from_settings(self.settings)
        )
        self.tokens = SessionTokens(
            self.codec,
            access_ttl=self.settings.access_token_ttl_seconds,
            refresh_ttl=self.settings.refresh_token_ttl_seconds,
            session_max_age=self.settings.session_max_age_seconds,
        )
        self.rounds = self.settings.bcrypt_rounds
        self.page_tokens = PageTokens(self.codec.derived_key("page-tokens"))
        self._dummy_hash = passwords.DummyHash(self.rounds)

    # --- Registration and sign-in --------------------------------------------------------

    async def register_user(
        self, email: str, password: str, first_name: str = "", last_name: str = ""
    ) -> User:
        """Create an account and mail a verification link.

        An address that is taken gets the same answer, in similar time, and its owner a mail;
        so the response never tells whether an account exists.
        """
        email = normalize_email(email)
        first_name, last_name = first_name.strip(), last_name.strip()
        violations = [
            *email_violations(email),
            *passwords.policy_violations(password, "password", email=email),
            *name_violations(first_name, "first_name"),
            *name_violations(last_name, "last_name"),
        ]
        if violations:
            raise errors.InvalidArgument(violations)
        password_hash = await passwords.hash_password(password, self.rounds)
        now = utcnow()
        async with self.db.session() as db, db.begin():
            # Registrations count against the address like failures, to slow down spam.
            address_key = throttle.address_key("register")
            await throttle.check(db, [address_key])
            await throttle.record_failure(db, address_key, throttle.REGISTER_POLICY)
            existing = await db.scalar(select(UserRow).where(UserRow.email == email))
            if existing is None:
                row = UserRow(
                    email=email,
                    password_hash=password_hash,
                    password_changed_at=now,
                    first_name=first_name,
                    last_name=last_name,
                    created_at=now,
                    updated_at=now,
                )
                db.add(row)
                await db.flush()
                await recovery.send_verification(self, db, row)
                log.info("user registered", extra={"user_id": row.id})
            else:
                self.outbox.enqueue(db, recovery.account_exists_mail(self, existing))
        self.outbox.flush_soon()
        return User(
            id=0,
            email=email,
            first_name=first_name,
            last_name=last_name,
            avatar_url="",
            locale="en-US",
            role="user",
            state="active",
            email_verified=False,
            tier="free",
            created_at=None,
            updated_at=None,
            last_login_at=None,
        )

    async def login(self, email: str, password: str) -> AuthResult:
        """Check a password and open a session; failures are throttled per account and address."""
        email = normalize_email(email)
        missing = [
            errors.FieldViolation(name, "is required")
            for name, value in (("email", email), ("password", password))
            if not value
        ]
        if missing:
            raise errors.InvalidArgument(missing)
        client = current_client()
        keys: list[str | None] = [f"login:{email}", throttle.address_key("login")]
        async with self.db.session() as db:
            async with db.begin():
                await throttle.check(db, keys)
                user = await db.scalar(select(UserRow).where(UserRow.email == email))
            stored = user.password_hash if user is not None else None
            # An unknown account still costs one bcrypt check, so timing does not tell.
            matched = await passwords.verify_password(
                password, stored or await self._dummy_hash.value()
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
                tokens = await self.tokens.start(db, user, client)
                result = AuthResult.of(tokens, to_user(user))
        log.info(
            "user signed in", extra={"user_id": result.user.id, "session_id": result.session_id}
        )
        return result

    async def refresh_token(self, refresh_token: str) -> TokenPair:
        """Rotate a refresh token; presenting a spent one revokes its whole session."""
        if not refresh_token:
            raise errors.InvalidArgument.field("refresh_token", "is required")
        reused: RefreshReuse | None = None
        async with self.db.session() as db, db.begin():
            try:
                pair = await self.tokens.rotate(db, refresh_token)
            except RefreshReuse as error:
                reused = error  # leave the block normally so the revocation commits
        if reused is not None:
            claims = self.codec.decode(refresh_token, expected_types=(REFRESH,))
            self.session_check.forget(str(claims.get("sid", "")))
            log.warning(
                "refresh token reuse; session revoked", extra={"session_id": claims.get("sid")}
            )
            raise reused
        return pair

    async def logout(self, user_id: int, session_id: str) -> None:
        """End a session at once."""
        await self.revoke_session(user_id, session_id, reason="logout")

    async def verify_token(self, access_token: str) -> TokenInfo:
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

    # --- Accounts ---------------------------------------------------------------------------

    async def get_user(self, user_id: int) -> User:
        """Return an account by id."""
        async with self.db.reader() as db:
            row = await db.get(UserRow, user_id)
        if row is None:
            raise errors.NotFound(f"users/{user_id} not found")
        return to_user(row)

    async def get_user_by_email(self, email: str) -> User:
        """Return an account by email (case-insensitive)."""
        normalised = normalize_email(email)
        if violations := email_violations(normalised):
            raise errors.InvalidArgument(violations)
        async with self.db.reader() as db:
            row = await db.scalar(select(UserRow).where(UserRow.email == normalised))
        if row is None:
            raise errors.NotFound("no user with that email")
        return to_user(row)

    async def update_user_profile(self, user_id: int, **changes: Any) -> User:
        """Change first_name, last_name, avatar_url and/or locale."""
        validators = {
            "first_name": lambda v: name_violations(v, "user.first_name"),
            "last_name": lambda v: name_violations(v, "user.last_name"),
            "avatar_url": lambda v: avatar_violations(v, "user.avatar_url"),
            "locale": lambda v: locale_violations(v, "user.locale"),
        }
        unknown = [field for field in changes if field not in validators]
        if unknown:
            raise errors.InvalidArgument(
                [errors.FieldViolation("update_mask", f"{f} cannot be updated") for f in unknown]
            )
        cleaned = {field: str(value).strip() for field, value in changes.items()}
        violations = [v for field, value in cleaned.items() for v in validators[field](value)]
        if violations:
            raise errors.InvalidArgument(violations)
        async with self.db.session() as db, db.begin():
            row = await db.get(UserRow, user_id, with_for_update=True)
            if row is None:
                raise errors.NotFound(f"users/{user_id} not found")
            for field, value in cleaned.items():
                setattr(row, field, value)
            row.updated_at = utcnow()
            return to_user(row)

    async def change_password(
        self, user_id: int, current_password: str, new_password: str, session_id: str = ""
    ) -> TokenPair:
        """Replace the password; every other session ends and this one gets fresh tokens."""
        async with self.db.reader() as db:
            row = await db.get(UserRow, user_id)
        if row is None:
            raise errors.NotFound(f"users/{user_id} not found")
        if row.password_hash is None or not await passwords.verify_password(
            current_password, row.password_hash
        ):
            raise errors.InvalidArgument.field("current_password", "is not the current password")
        if violations := passwords.policy_violations(new_password, "new_password", email=row.email):
            raise errors.InvalidArgument(violations)
        new_hash = await passwords.hash_password(new_password, self.rounds)
        async with self.db.session() as db, db.begin():
            user = await db.get(UserRow, user_id, with_for_update=True)
            if user is None:
                raise errors.NotFound(f"users/{user_id} not found")
            await self.store_password(db, user, new_hash, "password_changed", keep=session_id)
            current = await db.get(SessionRow, session_id) if session_id else None
            if current is None or current.revoked_at is not None:
                return await self.tokens.start(db, user, current_client())
            return await self.tokens.issue(db, user, current)

    async def store_password(
        self, db: AsyncSession, user: UserRow, new_hash: str, reason: str, keep: str = ""
    ) -> None:
        """Store a new hash and end pending resets and every session but `keep`."""
        now = utcnow()
        user.password_hash, user.password_changed_at, user.updated_at = new_hash, now, now
        await recovery.invalidate_resets(db, user.id, now)
        self.session_check.forget(*await revoke_all(db, user.id, reason, keep=keep or None))

    async def set_state(self, user_id: int, state: str, reason: str = "") -> User:
        """Suspend or reactivate an account; suspension ends every session at once."""
        if state not in ("active", "suspended"):
            raise errors.InvalidArgument.field("state", "must be active or suspended")
        async with self.db.session() as db, db.begin():
            row = await db.get(UserRow, user_id, with_for_update=True)
            if row is None:
                raise errors.NotFound(f"users/{user_id} not found")
            row.state, row.updated_at = state, utcnow()
            if state == "suspended":
                self.session_check.forget(*await revoke_all(db, user_id, "suspended"))
            user = to_user(row)
        self.session_check.forget_all()
        log.info("user state changed", extra={"user_id": user_id, "state": state, "reason": reason})
        return user

    async def suspend_user(self, user_id: int, reason: str = "") -> User:
        """Suspend an account."""
        return await self.set_state(user_id, "suspended", reason)

    async def reactivate_user(self, user_id: int, reason: str = "") -> User:
        """Reactivate a suspended account."""
        return await self.set_state(user_id, "active", reason)

    async def set_role(self, email: str, role: str) -> User:
        """Give an account a role (the command line makes the first admin)."""
        if role not in ROLES:
            raise errors.InvalidArgument.field("role", f"must be one of {', '.join(ROLES)}")
        async with self.db.session() as db, db.begin():
            row = await db.scalar(
                select(UserRow).where(UserRow.email == normalize_email(email)).with_for_update()
            )
            if row is None:
                raise errors.NotFound("no user with that email")
            row.role, row.updated_at = role, utcnow()
            user = to_user(row)
        self.session_check.forget_all()
        return user

    # --- Sessions -----------------------------------------------------------------------------

    async def list_sessions(
        self, user_id: int, current_session_id: str = "", size: int = 0, token: str = ""
    ) -> tuple[list[SessionInfo], str]:
        """List a user's live sessions, newest first, a page at a time."""
        limit = page_size(size, default=50)
        key = query_key(list="sessions", user=user_id)
        position = self.page_tokens.decode(token, key)
        live = (
            select(SessionRow)
            .where(SessionRow.user_id == user_id, SessionRow.revoked_at.is_(None))
            .where(SessionRow.expires_at > utcnow())
        )
        query = newest_first(live, SessionRow.created_at, SessionRow.id, position).limit(limit + 1)
        async with self.db.reader() as db:
            rows = list((await db.scalars(query)).all())
        page, more = rows[:limit], len(rows) > limit
        next_token = (
            self.page_tokens.encode(newest_first_position(page[-1].created_at, page[-1].id), key)
            if more
            else ""
        )
        return [
            SessionInfo(
                id=r.id,
                user_id=r.user_id,
                user_agent=r.user_agent,
                ip_address=r.ip_address,
                created_at=r.created_at,
                last_used_at=r.last_used_at,
                expires_at=r.expires_at,
                current=r.id == current_session_id,
            )
            for r in page
        ], next_token

    async def revoke_session(self, user_id: int, session_id: str, reason: str = "revoked") -> None:
        """End one of a user's sessions at once (NOT_FOUND for anyone else's)."""
        async with self.db.session() as db, db.begin():
            row = await db.get(SessionRow, session_id, with_for_update=True)
            if row is None or row.user_id != user_id:
                raise errors.NotFound(f"users/{user_id}/sessions/{session_id} not found")
            revoke(row, reason)
        self.session_check.forget(session_id)

    # --- Recovery and OAuth (see recovery.py and oauth_login.py) -------------------------------

    async def request_password_reset(self, email: str) -> None:
        """Mail a reset link if the account exists; answer the same either way."""
        await recovery.request_password_reset(self, email)

    async def reset_password(self, token: str, new_password: str) -> None:
        """Set a new password with a single-use reset token."""
        await recovery.reset_password(self, token, new_password)

    async def verify_email(self, token: str) -> User:
        """Confirm an email address with the token from the verification mail."""
        return await recovery.verify_email(self, token)

    async def start_oauth_login(self, provider: str) -> oauth_login.OAuthStart:
        """Begin an OAuth sign-in with PKCE; return the provider URL and the one-time state."""
        return await oauth_login.start(self, provider)

    async def complete_oauth_login(self, provider: str, code: str, state: str) -> AuthResult:
        """Finish an OAuth sign-in and open a session."""
        return await oauth_login.complete(self, provider, code, state, current_client())

    def mail(self, db: AsyncSession, mail: Mail) -> None:
        """Queue a mail in the caller's transaction."""
        self.outbox.enqueue(db, mail)
