"""A user's live sessions as their owner sees them: listed a page at a time, revoked one by one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from services.common import errors
from services.common.db import utcnow
from services.common.pagination import newest_first, newest_first_position, page_size, query_key
from services.common.records import Record
from services.user import sessions
from services.user.models import SessionRow

if TYPE_CHECKING:
    from services.user.user_service import UserService


@dataclass(frozen=True)
class SessionInfo(Record):
    """A live session as its owner sees it."""

    id: str
    user_id: int
    user_agent: str
    ip_address: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    current: bool


async def page(
    service: UserService, user_id: int, current_session_id: str, size: int, token: str
) -> tuple[list[SessionInfo], str]:
    """Return one page of a user's live sessions, newest first, and the next page's token."""
    limit = page_size(size, default=50)
    key = query_key(list="sessions", user=user_id)
    position = service.page_tokens.decode(token, key)
    live = (
        select(SessionRow)
        .where(SessionRow.user_id == user_id, SessionRow.revoked_at.is_(None))
        .where(SessionRow.expires_at > utcnow())
    )
    query = newest_first(live, SessionRow.created_at, SessionRow.id, position).limit(limit + 1)
    async with service.db.reader() as db:
        rows = list((await db.scalars(query)).all())
    found, more = rows[:limit], len(rows) > limit
    next_token = (
        service.page_tokens.encode(newest_first_position(found[-1].created_at, found[-1].id), key)
        if more
        else ""
    )
    return [
        SessionInfo(
            id=r.id,
            user_id=r.user_id,
            user_agent=r.user_agent,
            ip_address=r.ip_address,
            created_at=r.created_at,
            last_used_at=r.last_used_at,
            expires_at=r.expires_at,
            current=r.id == current_session_id,
        )
        for r in found
    ], next_token


async def revoke(service: UserService, user_id: int, session_id: str, reason: str) -> None:
    """End one of a user's sessions at once (NOT_FOUND for anyone else's)."""
    async with service.db.session() as db, db.begin():
        row = await db.get(SessionRow, session_id, with_for_update=True)
        if row is None or row.user_id != user_id:
            raise errors.NotFound(f"users/{user_id}/sessions/{session_id} not found")
        sessions.revoke(row, reason)
    service.session_check.forget(session_id)
