"""Registration: a new account and its verification mail, with an answer that reveals nothing."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from services.common import errors
from services.common.db import utcnow
from services.user import passwords, recovery, throttle
from services.user.models import UserRow
from services.user.users import User, email_violations, name_violations, normalize_email

if TYPE_CHECKING:
    from services.user.user_service import UserService

log = logging.getLogger(__name__)


async def register(
    service: UserService, email: str, password: str, first_name: str, last_name: str
) -> User:
    """Create an account and mail a verification link; a taken address mails its owner instead."""
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
    password_hash = await passwords.hash_password(password, service.rounds)
    now = utcnow()
    async with service.db.session() as db, db.begin():
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
            await recovery.send_verification(service, db, row)
            log.info("user registered", extra={"user_id": row.id})
        else:
            service.outbox.enqueue(db, recovery.account_exists_mail(service, existing))
    service.outbox.flush_soon()
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
