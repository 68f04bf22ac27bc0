"""Email verification: the mail a new account gets, and spending its token."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import Database, utcnow
from services.common.mail import Mail, Outbox
from services.user.models import UserRow
from services.user.one_time_tokens import VERIFY_EMAIL, VERIFY_TTL, issue, link, spend
from services.user.records import User, to_user


async def send_verification(db: AsyncSession, outbox: Outbox, base_url: str, user: UserRow) -> None:
    """Queue the verification mail of a new account in the caller's transaction."""
    token = await issue(db, user.id, VERIFY_EMAIL, VERIFY_TTL)
    body = (
        f"Welcome to FilmStudio.\n\nConfirm your email address within 48 hours:\n"
        f"{link(base_url, 'verify-email', token)}\n\n"
        "If you did not sign up, ignore this mail."
    )
    outbox.enqueue(db, Mail(user.email, "Confirm your FilmStudio email address", body))


async def verify_email(database: Database, token: str) -> User:
    """Mark an address verified with the token from its verification mail."""
    async with database.session() as db, db.begin():
        _, user = await spend(db, token, VERIFY_EMAIL)
        user.email_verified, user.updated_at = True, utcnow()
        return to_user(user)
