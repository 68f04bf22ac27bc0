"""Mailed one-time tokens (email verification, password reset): issued, spent once, linked to."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import errors
from services.common.db import utcnow
from services.user.models import OneTimeTokenRow, UserRow

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"  # noqa: S105 (a token purpose, not a secret)
VERIFY_TTL = timedelta(hours=48)
RESET_TTL = timedelta(minutes=30)


def token_hash(token: str) -> str:
    """Return the stored form of a mailed token (tokens are never stored in clear)."""
    return hashlib.sha256(token.encode()).hexdigest()


def link(base_url: str, path: str, token: str = "") -> str:
    """Return a link to a page of the site, carrying a token when one is given."""
    # Links come from configuration, never from a request's Host header.
    url = f"{base_url.rstrip('/')}/{path}"
    return f"{url}?token={token}" if token else url


async def issue(db: AsyncSession, user_id: int, purpose: str, ttl: timedelta) -> str:
    """Store a new token for a user and purpose; return it in clear, for the mail."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(
        OneTimeTokenRow(
            token_hash=token_hash(token),
            user_id=user_id,
            purpose=purpose,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token


async def spend(
    db: AsyncSession, token: str, purpose: str, field: str = "token"
) -> tuple[OneTimeTokenRow, UserRow]:
    """Check a mailed token and mark it used, or raise InvalidArgument."""
    invalid = errors.InvalidArgument(
        [errors.FieldViolation(field, "is invalid, used or expired", "TOKEN_INVALID")]
    )
    if not token or len(token) > 200:
        raise invalid
    row = await db.get(OneTimeTokenRow, token_hash(token), with_for_update=True)
    now = utcnow()
    if row is None or row.purpose != purpose or row.used_at is not None or row.expires_at <= now:
        raise invalid
    user = await db.get(UserRow, row.user_id, with_for_update=True)
    if user is None:
        raise invalid
    if purpose == RESET_PASSWORD and (
        user.state != "active"
        or (user.password_changed_at is not None and user.password_changed_at > row.created_at)
    ):
        raise invalid
    row.used_at = now
    return row, user


async def invalidate_resets(db: AsyncSession, user_id: int, now: datetime) -> None:
    """Spend every pending reset token of a user (the password just changed)."""
    await db.execute(
        update(OneTimeTokenRow)
        .where(OneTimeTokenRow.user_id == user_id, OneTimeTokenRow.purpose == RESET_PASSWORD)
        .where(OneTimeTokenRow.used_at.is_(None))
        .values(used_at=now)
    )
