"""Accounts: look-ups by id or email, profile changes, suspension and roles."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from services.common import errors
from services.common.db import utcnow
from services.user.models import UserRow
from services.user.sessions import revoke_all
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

if TYPE_CHECKING:
    from services.user.user_service import UserService

log = logging.getLogger(__name__)


async def get(service: UserService, user_id: int) -> User:
    """Return an account by id."""
    async with service.db.reader() as db:
        row = await db.get(UserRow, user_id)
    if row is None:
        raise errors.NotFound(f"users/{user_id} not found")
    return to_user(row)


async def get_by_email(service: UserService, email: str) -> User:
    """Return an account by email (case-insensitive)."""
    normalised = normalize_email(email)
    if violations := email_violations(normalised):
        raise errors.InvalidArgument(violations)
    async with service.db.reader() as db:
        row = await db.scalar(select(UserRow).where(UserRow.email == normalised))
    if row is None:
        raise errors.NotFound("no user with that email")
    return to_user(row)


async def update_profile(service: UserService, user_id: int, changes: dict[str, Any]) -> User:
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
    async with service.db.session() as db, db.begin():
        row = await db.get(UserRow, user_id, with_for_update=True)
        if row is None:
            raise errors.NotFound(f"users/{user_id} not found")
        for field, value in cleaned.items():
            setattr(row, field, value)
        row.updated_at = utcnow()
        return to_user(row)


async def set_state(service: UserService, user_id: int, state: str, reason: str) -> User:
    """Suspend or reactivate an account; suspension ends every session at once."""
    if state not in ("active", "suspended"):
        raise errors.InvalidArgument.field("state", "must be active or suspended")
    async with service.db.session() as db, db.begin():
        row = await db.get(UserRow, user_id, with_for_update=True)
        if row is None:
            raise errors.NotFound(f"users/{user_id} not found")
        row.state, row.updated_at = state, utcnow()
        if state == "suspended":
            service.session_check.forget(*await revoke_all(db, user_id, "suspended"))
        user = to_user(row)
    service.session_check.forget_all()
    log.info("user state changed", extra={"user_id": user_id, "state": state, "reason": reason})
    return user


async def set_role(service: UserService, email: str, role: str) -> User:
    """Give an account a role."""
    if role not in ROLES:
        raise errors.InvalidArgument.field("role", f"must be one of {', '.join(ROLES)}")
    async with service.db.session() as db, db.begin():
        row = await db.scalar(
            select(UserRow).where(UserRow.email == normalize_email(email)).with_for_update()
        )
        if row is None:
            raise errors.NotFound("no user with that email")
        row.role, row.updated_at = role, utcnow()
        user = to_user(row)
    service.session_check.forget_all()
    return user
