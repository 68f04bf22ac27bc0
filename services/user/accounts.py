"""Accounts: look-ups by id or email, profile changes, suspension and roles."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, select

from services.common import audit, errors
from services.common.db import Database, utcnow
from services.user.models import UserRow
from services.user.records import User, to_user
from services.user.rules import ROLES, STATES, email_violations, normalize_email, profile_changes
from services.user.session_check import DatabaseSessionCheck
from services.user.session_tokens import revoke_all

log = logging.getLogger(__name__)


_BY_ID = select(*UserRow.__table__.c).where(UserRow.__table__.c.id == bindparam("id"))


class Accounts:
    """Read and change accounts; changes that alter who may do what drop cached session checks."""

    def __init__(self, database: Database, session_check: DatabaseSessionCheck) -> None:
        self.database = database
        self.session_check = session_check

    async def get(self, user_id: int) -> User:
        """Return an account by id (GetMe's read: one statement on the hot-read path)."""
        row = await self.database.read_row(_BY_ID, {"id": user_id}, (f"users:{user_id}",))
        if row is None:
            raise errors.NotFound(f"users/{user_id} not found")
        return row.derived(to_user)

    async def get_by_email(self, email: str) -> User:
        """Return an account by email (case-insensitive)."""
        normalised = normalize_email(email)
        if violations := email_violations(normalised):
            raise errors.InvalidArgument(violations)
        async with self.database.reader() as db:
            row = await db.scalar(select(UserRow).where(UserRow.email == normalised))
        if row is None:
            raise errors.NotFound("no user with that email")
        return to_user(row)

    async def update_profile(self, user_id: int, changes: Mapping[str, Any]) -> User:
        """Change first_name, last_name, avatar_url and/or locale."""
        cleaned = profile_changes(changes)
        async with self.database.session() as db, db.begin():
            row = await db.get(UserRow, user_id, with_for_update=True)
            if row is None:
                raise errors.NotFound(f"users/{user_id} not found")
            for field, value in cleaned.items():
                setattr(row, field, value)
            row.updated_at = utcnow()
            return to_user(row)

    async def set_state(
        self, user_id: int, state: str, reason: str, actor: str | None = None
    ) -> User:
        """Suspend or reactivate an account; suspension ends every session at once.

        The change is audited as `user.suspend` or `user.reactivate` by `actor` (default: the
        authenticated caller), in the same transaction.
        """
        if state not in STATES:
            raise errors.InvalidArgument.field("state", "must be active or suspended")
        async with self.database.session() as db, db.begin():
            row = await db.get(UserRow, user_id, with_for_update=True)
            if row is None:
                raise errors.NotFound(f"users/{user_id} not found")
            row.state, row.updated_at = state, utcnow()
            if state == "suspended":
                self.session_check.forget(*await revoke_all(db, user_id, "suspended"))
            user = to_user(row)
            action = "user.suspend" if state == "suspended" else "user.reactivate"
            await audit.append(
                db, action, target=f"users/{user_id}", actor=actor, details={"reason": reason}
            )
        await self.session_check.revoked(user_id)
        log.info("user state changed", extra={"user_id": user_id, "state": state, "reason": reason})
        return user

    async def set_role(self, email: str, role: str) -> User:
        """Give an account a role."""
        if role not in ROLES:
            raise errors.InvalidArgument.field("role", f"must be one of {', '.join(ROLES)}")
        async with self.database.session() as db, db.begin():
            row = await db.scalar(
                select(UserRow).where(UserRow.email == normalize_email(email)).with_for_update()
            )
            if row is None:
                raise errors.NotFound("no user with that email")
            row.role, row.updated_at = role, utcnow()
            user = to_user(row)
            await audit.append(
                db, "user.set_role", target=f"users/{row.id}", details={"role": role}
            )
        await self.session_check.revoked(user.id)
        return user
