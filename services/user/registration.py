"""Registration: a new account and its verification mail, with an answer that reveals nothing."""

from __future__ import annotations

import logging

from sqlalchemy import select

from services.common import errors
from services.common.db import Database, utcnow
from services.common.mail import Mail, Outbox
from services.user import passwords, throttle
from services.user.email_verification import send_verification
from services.user.models import UserRow
from services.user.new_accounts import NewAccountHooks
from services.user.one_time_tokens import link
from services.user.passwords import PasswordHasher
from services.user.records import User, undisclosed_user
from services.user.rules import email_violations, name_from_email, name_violations, normalize_email

log = logging.getLogger(__name__)


def account_exists_mail(base_url: str, user: UserRow) -> Mail:
    """Tell an account's owner that someone tried to register with their address."""
    body = (
        "Someone tried to create a FilmStudio account with this email address, which already "
        f"has one. If it was you, sign in, or reset your password at "
        f"{link(base_url, 'forgot-password')}.\n"
    )
    return Mail(user.email, "You already have a FilmStudio account", body)


class Registration:
    """Create accounts."""

    def __init__(
        self,
        database: Database,
        outbox: Outbox,
        hasher: PasswordHasher,
        *,
        base_url: str,
        new_accounts: NewAccountHooks | None = None,
    ) -> None:
        self.database = database
        self.outbox = outbox
        self.hasher = hasher
        self.base_url = base_url
        self.new_accounts = new_accounts or NewAccountHooks()

    async def register(self, email: str, password: str, first_name: str, last_name: str) -> User:
        """Create an account and mail a verification link; a taken address mails its owner.

        Email and password are all it takes; with no name given, the address's local part
        stands in, so that the studio can greet the user by a name (changed with the profile).
        """
        email = normalize_email(email)
        first_name, last_name = first_name.strip(), last_name.strip()
        if not first_name and not last_name:
            first_name = name_from_email(email)
        violations = [
            *email_violations(email),
            *passwords.policy_violations(password, "password", email=email),
            *name_violations(first_name, "first_name"),
            *name_violations(last_name, "last_name"),
        ]
        if violations:
            raise errors.InvalidArgument(violations)
        password_hash = await self.hasher.hash(password)
        now = utcnow()
        created: int | None = None
        async with self.database.session() as db, db.begin():
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
                await send_verification(db, self.outbox, self.base_url, row)
                created = row.id
                log.info("user registered", extra={"user_id": row.id})
            else:
                self.outbox.enqueue(db, account_exists_mail(self.base_url, existing))
        if created is not None:
            await self.new_accounts.created(created)
        self.outbox.flush_soon()
        return undisclosed_user(email, first_name, last_name)
