"""The records the user domain hands out: accounts, sessions, tokens and sign-in outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.common.hot_reads import Found
from services.common.records import Record
from services.user.models import SessionRow, UserRow


@dataclass(frozen=True)
class User(Record):
    """An account as callers see it (never with its password hash)."""

    id: int
    email: str
    first_name: str
    last_name: str
    avatar_url: str
    locale: str
    role: str
    state: str
    email_verified: bool
    tier: str
    created_at: datetime | None
    updated_at: datetime | None
    last_login_at: datetime | None

    @property
    def name(self) -> str:
        """Return the resource name, "users/{id}" ("" for an undisclosed account)."""
        return f"users/{self.id}" if self.id else ""


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


@dataclass(frozen=True)
class TokenPair(Record):
    """The tokens of one session after a sign-in or refresh."""

    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    session_id: str
    user_id: int
    token_type: str = "Bearer"  # noqa: S105 (the scheme name, not a secret)


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
class OAuthStart(Record):
    """Where to send the browser, and the state that must come back."""

    authorization_url: str
    state: str
    expires_at: datetime


def to_user(row: UserRow | Found) -> User:
    """Copy a row into a record."""
    return User(
        id=row.id,
        email=row.email,
        first_name=row.first_name,
        last_name=row.last_name,
        avatar_url=row.avatar_url,
        locale=row.locale,
        role=row.role,
        state=row.state,
        email_verified=row.email_verified,
        tier=row.tier,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_login_at=row.last_login_at,
    )


def undisclosed_user(email: str, first_name: str, last_name: str) -> User:
    """Return what a registration answers: the new account's defaults, with no id."""
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


def to_session_info(row: SessionRow, current_session_id: str) -> SessionInfo:
    """Copy a session row into a record, marking the caller's own session."""
    return SessionInfo(
        id=row.id,
        user_id=row.user_id,
        user_agent=row.user_agent,
        ip_address=row.ip_address,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        current=row.id == current_session_id,
    )
