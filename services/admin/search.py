"""Finding users: substring of email or name, state, role and creation range, newest first.

On PostgreSQL the substring match runs on the pg_trgm GIN indexes of `models.py`, so it reads
only matching rows; the page is a keyset on id, sealed into a token bound to the filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from services.admin.records import UserPage
from services.common import errors
from services.common.db import Database
from services.common.errors import FieldViolation
from services.common.pagination import PageTokens, page_size, query_key
from services.user.models import UserRow
from services.user.records import to_user
from services.user.rules import ROLES, STATES

# Trigram indexes need three characters to narrow anything; shorter text would read every row.
MIN_QUERY, MAX_QUERY = 3, 100


@dataclass(frozen=True)
class UserFilter:
    """What a search asks for; empty fields do not filter."""

    text: str = ""
    state: str = ""
    role: str = ""
    created_after: datetime | None = None
    created_before: datetime | None = None


def check(found: UserFilter) -> None:
    """Raise InvalidArgument naming every bad filter."""
    bad: list[FieldViolation] = []
    text = found.text.strip()
    if text and not MIN_QUERY <= len(text) <= MAX_QUERY:
        bad.append(
            FieldViolation("query", f"must be {MIN_QUERY} to {MAX_QUERY} characters", "LENGTH")
        )
    if found.state and found.state not in STATES:
        bad.append(FieldViolation("state", "is not a user state", "INVALID_VALUE"))
    if found.role and found.role not in ROLES:
        bad.append(FieldViolation("role", "is not a role", "INVALID_VALUE"))
    after, before = found.created_after, found.created_before
    if after is not None and before is not None and after >= before:
        bad.append(
            FieldViolation("created_before", "must be later than created_after", "INVALID_RANGE")
        )
    if bad:
        raise errors.InvalidArgument(bad)


def _pattern(text: str) -> str:
    """Return a LIKE pattern that matches `text` anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search(
    database: Database, tokens: PageTokens, found: UserFilter, limit: int, page_token: str
) -> UserPage:
    """Return one page of matching users, newest first, and the token of the next."""
    check(found)
    size = page_size(limit)
    text = found.text.strip()
    key = query_key(
        list="admin-users",
        q=text.lower(),
        state=found.state,
        role=found.role,
        after=found.created_after,
        before=found.created_before,
    )
    position = tokens.decode(page_token, key)
    query = select(UserRow)
    if text:
        pattern = _pattern(text)
        query = query.where(
            or_(
                UserRow.email.ilike(pattern, escape="\\"),
                UserRow.first_name.ilike(pattern, escape="\\"),
                UserRow.last_name.ilike(pattern, escape="\\"),
            )
        )
    if found.state:
        query = query.where(UserRow.state == found.state)
    if found.role:
        query = query.where(UserRow.role == found.role)
    if found.created_after is not None:
        query = query.where(UserRow.created_at >= found.created_after)
    if found.created_before is not None:
        query = query.where(UserRow.created_at < found.created_before)
    if position is not None:
        query = query.where(UserRow.id < int(position["id"]))
    query = query.order_by(UserRow.id.desc()).limit(size + 1)
    async with database.reader() as db:
        rows = list((await db.scalars(query)).all())
    page = rows[:size]
    token = tokens.encode({"id": page[-1].id}, key) if len(rows) > size else ""
    return UserPage([to_user(row) for row in page], token)
