"""Password reset by mail (OWASP forgot-password): a single-use, short-lived link."""

from __future__ import annotations

from sqlalchemy import select

from services.common import audit, errors
from services.common.db import Database
from services.common.mail import Mail, Outbox
from services.user import passwords, throttle
from services.user.models import UserRow
from services.user.one_time_tokens import RESET_PASSWORD, RESET_TTL, issue, link, spend
from services.user.password_change import store_password
from services.user.passwords import PasswordHasher
from services.user.rules import email_violations, normalize_email
from services.user.session_check import DatabaseSessionCheck


class PasswordReset:
    """Mail reset links, and set a new password with one."""

    def __init__(
        self,
        database: Database,
        outbox: Outbox,
        hasher: PasswordHasher,
        session_check: DatabaseSessionCheck,
        *,
        base_url: str,
    ) -> None:
        self.database = database
        self.outbox = outbox
        self.hasher = hasher
        self.session_check = session_check
        self.base_url = base_url

    async def request(self, email: str) -> None:
        """Mail a reset link when the account exists; the answer is the same either way."""
        email = normalize_email(email)
        if violations := email_violations(email):
            raise errors.InvalidArgument(violations)
        async with self.database.session() as db, db.begin():
            address_key = throttle.address_key("reset")
            await throttle.check(db, [address_key, f"reset:{email}"])
            await throttle.record_failure(db, address_key, throttle.RESET_POLICY)
            await throttle.record_failure(db, f"reset:{email}", throttle.RESET_POLICY)
            user = await db.scalar(select(UserRow).where(UserRow.email == email))
            if user is not None and user.state == "active":
                token = await issue(db, user.id, RESET_PASSWORD, RESET_TTL)
                body = (
                    "Someone asked to reset your FilmStudio password. The link works once, for 30 "
                    f"minutes:\n{link(self.base_url, 'reset-password', token)}\n\n"
                    "If it was not you, ignore this mail; your password has not changed."
                )
                self.outbox.enqueue(db, Mail(user.email, "Reset your FilmStudio password", body))
                await audit.append(
                    db,
                    "auth.password_reset_request",
                    target=f"users/{user.id}",
                    actor=audit.ANONYMOUS,
                    details=audit.client_details(),
                )
        self.outbox.flush_soon()

    async def reset(self, token: str, new_password: str) -> None:
        """Set a new password with a reset token; every session ends and the owner is told."""
        if violations := passwords.policy_violations(new_password, "new_password"):
            raise errors.InvalidArgument(violations)
        new_hash = await self.hasher.hash(new_password)
        async with self.database.session() as db, db.begin():
            _, user = await spend(db, token, RESET_PASSWORD)
            await store_password(
                db, user, new_hash, "password_reset", session_check=self.session_check
            )
            body = (
                "Your FilmStudio password was just reset and every device was signed out.\n"
                "If this was not you, reset it again at once and contact support."
            )
            self.outbox.enqueue(db, Mail(user.email, "Your FilmStudio password was reset", body))
            await audit.append(
                db,
                "auth.password_reset",
                target=f"users/{user.id}",
                actor=audit.ANONYMOUS,
                details=audit.client_details(),
            )
        await self.session_check.revoked(user.id)
        self.outbox.flush_soon()
