"""A user's live sessions as their owner sees them: listed a page at a time, revoked one by one."""

from __future__ import annotations

from sqlalchemy import select

from services.common import audit, errors
from services.common.db import Database, utcnow
from services.common.pagination import (
    PageTokens,
    newest_first,
    newest_first_position,
    page_size,
    query_key,
)
from services.user.models import SessionRow
from services.user.records import SessionInfo, to_session_info
from services.user.session_check import DatabaseSessionCheck
from services.user.session_tokens import revoke

# Audit actions of ending a session: signing out of it, or ending it from another one.
LOGOUT = "auth.logout"
SESSION_REVOKE = "auth.session_revoke"


class SessionListing:
    """List and end the sessions of one user."""

    def __init__(
        self, database: Database, page_tokens: PageTokens, session_check: DatabaseSessionCheck
    ) -> None:
        self.database = database
        self.page_tokens = page_tokens
        self.session_check = session_check

    async def page(
        self, user_id: int, current_session_id: str, size: int, token: str
    ) -> tuple[list[SessionInfo], str]:
        """Return one page of a user's live sessions, newest first, and the next page's token."""
        limit = page_size(size, default=50)
        key = query_key(list="sessions", user=user_id)
        position = self.page_tokens.decode(token, key)
        live = (
            select(SessionRow)
            .where(SessionRow.user_id == user_id, SessionRow.revoked_at.is_(None))
            .where(SessionRow.expires_at > utcnow())
        )
        query = newest_first(live, SessionRow.created_at, SessionRow.id, position).limit(limit + 1)
        async with self.database.reader() as db:
            rows = list((await db.scalars(query)).all())
        found, more = rows[:limit], len(rows) > limit
        next_token = (
            self.page_tokens.encode(newest_first_position(found[-1].created_at, found[-1].id), key)
            if more
            else ""
        )
        return [to_session_info(row, current_session_id) for row in found], next_token

    async def revoke(self, user_id: int, session_id: str, reason: str) -> None:
        """End one of a user's sessions at once (NOT_FOUND for anyone else's)."""
        async with self.database.session() as db, db.begin():
            row = await db.get(SessionRow, session_id, with_for_update=True)
            if row is None or row.user_id != user_id:
                raise errors.NotFound(f"users/{user_id}/sessions/{session_id} not found")
            live = row.revoked_at is None
            revoke(row, reason)
            if live:  # revoking an ended session again changes nothing worth recording
                await audit.append(
                    db,
                    LOGOUT if reason == "logout" else SESSION_REVOKE,
                    target=f"users/{user_id}",
                    details={"session": session_id, "reason": reason, **audit.client_details()},
                )
        self.session_check.forget(session_id)
        await self.session_check.revoked(user_id)
