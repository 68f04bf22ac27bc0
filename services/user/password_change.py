"""Password changes by the account's owner, and storing a new hash (shared with resets)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.common import audit, errors
from services.common.context import current_client
from services.common.db import Database, utcnow
from services.user import passwords
from services.user.models import SessionRow, UserRow
from services.user.one_time_tokens import invalidate_resets
from services.user.passwords import PasswordHasher
from services.user.records import TokenPair
from services.user.session_check import DatabaseSessionCheck
from services.user.session_tokens import SessionTokens, revoke_all


async def store_password(
    db: AsyncSession,
    user: UserRow,
    new_hash: str,
    reason: str,
    *,
    session_check: DatabaseSessionCheck,
    keep: str = "",
) -> None:
    """Store a new hash and end pending resets and every session but `keep`."""
    now = utcnow()
    user.password_hash, user.password_changed_at, user.updated_at = new_hash, now, now
    await invalidate_resets(db, user.id, now)
    session_check.forget(*await revoke_all(db, user.id, reason, keep=keep or None))


class PasswordChange:
    """Replace a password its owner knows."""

    def __init__(
        self,
        database: Database,
        tokens: SessionTokens,
        hasher: PasswordHasher,
        session_check: DatabaseSessionCheck,
    ) -> None:
        self.database = database
        self.tokens = tokens
        self.hasher = hasher
        self.session_check = session_check

    async def change(
        self, user_id: int, current_password: str, new_password: str, session_id: str
    ) -> TokenPair:
        """Replace the password; every other session ends and this one gets fresh tokens."""
        async with self.database.reader() as db:
            row = await db.get(UserRow, user_id)
        if row is None:
            raise errors.NotFound(f"users/{user_id} not found")
        passwords.check_input(current_password, "current_password")
        if row.password_hash is None or not await self.hasher.check(
            current_password, row.password_hash
        ):
            raise errors.InvalidArgument.field("current_password", "is not the current password")
        if violations := passwords.policy_violations(new_password, "new_password", email=row.email):
            raise errors.InvalidArgument(violations)
        new_hash = await self.hasher.hash(new_password)
        async with self.database.session() as db, db.begin():
            user = await db.get(UserRow, user_id, with_for_update=True)
            if user is None:
                raise errors.NotFound(f"users/{user_id} not found")
            await store_password(
                db,
                user,
                new_hash,
                "password_changed",
                session_check=self.session_check,
                keep=session_id,
            )
            current = await db.get(SessionRow, session_id) if session_id else None
            if current is None or current.revoked_at is not None:
                pair = await self.tokens.start(db, user, current_client())
            else:
                pair = await self.tokens.issue(db, user, current)
            await audit.append(
                db,
                "auth.password_change",
                target=f"users/{user_id}",
                actor=f"users/{user_id}",
                details=audit.client_details(),
            )
        await self.session_check.revoked(user_id)
        return pair
