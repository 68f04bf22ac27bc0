"""Mailed one-time tokens: email verification and password reset (OWASP forgot-password)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import errors
from services.common.db import utcnow
from services.common.mail import Mail
from services.user import passwords, throttle
from services.user.models import OneTimeTokenRow, UserRow
from services.user.users import User, email_violations, normalize_email, to_user

if TYPE_CHECKING:
    from services.user.user_service import UserService

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"  # noqa: S105 (a token purpose, not a secret)
VERIFY_TTL = timedelta(hours=48)
RESET_TTL = timedelta(minutes=30)


def token_hash(token: str) -> str:
    """Return the stored form of a mailed token (tokens are never stored in clear)."""
    return hashlib.sha256(token.encode()).hexdigest()


async def _issue(db: AsyncSession, user_id: int, purpose: str, ttl: timedelta) -> str:
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


def _link(service: UserService, path: str, token: str) -> str:
    # Links come from configuration, never from a request's Host header.
    return f"{service.settings.public_base_url.rstrip('/')}/{path}?token={token}"


async def send_verification(service: UserService, db: AsyncSession, user: UserRow) -> None:
    """Queue the verification mail of a new account."""
    token = await _issue(db, user.id, VERIFY_EMAIL, VERIFY_TTL)
    body = (
        f"Welcome to FilmStudio.\n\nConfirm your email address within 48 hours:\n"
        f"{_link(service, 'verify-email', token)}\n\n"
        "If you did not sign up, ignore this mail."
    )
    service.mail(db, Mail(user.email, "Confirm your FilmStudio email address", body))


def account_exists_mail(service: UserService, user: UserRow) -> Mail:
    """Tell an account's owner that someone tried to register with their address."""
    body = (
        "Someone tried to create a FilmStudio account with this email address, which already "
        f"has one. If it was you, sign in, or reset your password at "
        f"{service.settings.public_base_url.rstrip('/')}/forgot-password.\n"
    )
    return Mail(user.email, "You already have a FilmStudio account", body)


async def invalidate_resets(db: AsyncSession, user_id: int, now: datetime) -> None:
    """Spend every pending reset token of a user (the password just changed)."""
    await db.execute(
        update(OneTimeTokenRow)
        .where(OneTimeTokenRow.user_id == user_id, OneTimeTokenRow.purpose == RESET_PASSWORD)
        .where(OneTimeTokenRow.used_at.is_(None))
        .values(used_at=now)
    )


async def request_password_reset(service: UserService, email: str) -> None:
    """Mail a reset link when the account exists; the answer is the same either way."""
    email = normalize_email(email)
    if violations := email_violations(email):
        raise errors.InvalidArgument(violations)
    async with service.db.session() as db, db.begin():
        address_key = throttle.address_key("reset")
        await throttle.check(db, [address_key, f"reset:{email}"])
        await throttle.record_failure(db, address_key, throttle.RESET_POLICY)
        await throttle.record_failure(db, f"reset:{email}", throttle.RESET_POLICY)
        user = await db.scalar(select(UserRow).where(UserRow.email == email))
        if user is not None and user.state == "active":
            token = await _issue(db, user.id, RESET_PASSWORD, RESET_TTL)
            body = (
                "Someone asked to reset your FilmStudio password. The link works once, for 30 "
                f"minutes:\n{_link(service, 'reset-password', token)}\n\n"
                "If it was not you, ignore this mail; your password has not changed."
            )
            service.mail(db, Mail(user.email, "Reset your FilmStudio password", body))
    service.outbox.flush_soon()


async def _spend(
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


async def reset_password(service: UserService, token: str, new_password: str) -> None:
    """Set a new password with a reset token; every session ends and the owner is told."""
    if violations := passwords.policy_violations(new_password, "new_password"):
        raise errors.InvalidArgument(violations)
    new_hash = await passwords.hash_password(new_password, service.rounds)
    async with service.db.session() as db, db.begin():
        _, user = await _spend(db, token, RESET_PASSWORD)
        await service.store_password(db, user, new_hash, "password_reset")
        body = (
            "Your FilmStudio password was just reset and every device was signed out.\n"
            "If this was not you, reset it again at once and contact support."
        )
        service.mail(db, Mail(user.email, "Your FilmStudio password was reset", body))
    service.outbox.flush_soon()


async def verify_email(service: UserService, token: str) -> User:
    """Mark an address verified with the token from its verification mail."""
    async with service.db.session() as db, db.begin():
        _, user = await _spend(db, token, VERIFY_EMAIL)
        user.email_verified, user.updated_at = True, utcnow()
        return to_user(user)
