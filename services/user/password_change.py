"""Password changes by the account's owner, and storing a new hash (shared with resets)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from services.common import errors
from services.common.context import current_client
from services.common.db import utcnow
from services.user import passwords, recovery
from services.user.models import SessionRow, UserRow
from services.user.sessions import TokenPair, revoke_all

if TYPE_CHECKING:
    from services.user.user_service import UserService


async def change(
    service: UserService, user_id: int, current_password: str, new_password: str, session_id: str
) -> TokenPair:
    """Replace the password; every other session ends and this one gets fresh tokens."""
    async with service.db.reader() as db:
        row = await db.get(UserRow, user_id)
    if row is None:
        raise errors.NotFound(f"users/{user_id} not found")
    if row.password_hash is None or not await passwords.verify_password(
        current_password, row.password_hash
    ):
        raise errors.InvalidArgument.field("current_password", "is not the current password")
    if violations := passwords.policy_violations(new_password, "new_password", email=row.email):
        raise errors.InvalidArgument(violations)
    new_hash = await passwords.hash_password(new_password, service.rounds)
    async with service.db.session() as db, db.begin():
        user = await db.get(UserRow, user_id, with_for_update=True)
        if user is None:
            raise errors.NotFound(f"users/{user_id} not found")
        await store(service, db, user, new_hash, "password_changed", keep=session_id)
        current = await db.get(SessionRow, session_id) if session_id else None
        if current is None or current.revoked_at is not None:
            return await service.tokens.start(db, user, current_client())
        return await service.tokens.issue(db, user, current)


async def store(
    service: UserService,
    db: AsyncSession,
    user: UserRow,
    new_hash: str,
    reason: str,
    keep: str = "",
) -> None:
    """Store a new hash and end pending resets and every session but `keep`."""
    now = utcnow()
    user.password_hash, user.password_changed_at, user.updated_at = new_hash, now, now
    await recovery.invalidate_resets(db, user.id, now)
    service.session_check.forget(*await revoke_all(db, user.id, reason, keep=keep or None))
