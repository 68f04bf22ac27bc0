"""Finding users: substring of email or name, state, role and creation range, newest first.

On PostgreSQL the substring match runs on the pg_trgm GIN indexes of `models.py`, so it reads
only matching rows; the page is a keyset on id, sealed into a token bound to the filters.

The planner cannot tell a rare substring from a common one (its estimate comes from a sampled
histogram), and guessing wrong either walks the whole primary key for a rare name or reads every
match of a common one. So the search decides for it: it first looks for the page among the newest
`RECENT_WINDOW` rows, which fills at once when the text is common, and only when that page comes
up short asks the trigram indexes, which are then reading a rare match.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import aliased

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
# Rows the common-text probe reads, newest first: a page fills there when 1 row in ~100 matches.
RECENT_WINDOW = 2000


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
    below = None if position is None else int(position["id"])
    async with database.reader() as db:
        rows: list[UserRow] = []
        if text:
            probe = _matching(_newest(below), found, text).limit(size + 1)
            rows = list((await db.scalars(probe)).all())
        if len(rows) <= size:
            # Rare text: `id + 0` keeps the planner off the primary key, onto the trigram indexes.
            everywhere = _matching(UserRow, found, text, below, rare=bool(text))
            rows = list((await db.scalars(everywhere.limit(size + 1))).all())
    page = rows[:size]
    token = tokens.encode({"id": page[-1].id}, key) if len(rows) > size else ""
    return UserPage([to_user(row) for row in page], token)


def _newest(below: int | None) -> type[UserRow]:
    """Return the newest RECENT_WINDOW users (below the id `below`) as an entity to filter."""
    recent = select(UserRow)
    if below is not None:
        recent = recent.where(UserRow.id < below)
    window = recent.order_by(UserRow.id.desc()).limit(RECENT_WINDOW).subquery()
    return aliased(UserRow, window)


def _matching(
    user: type[UserRow],
    found: UserFilter,
    text: str,
    below: int | None = None,
    *,
    rare: bool = False,
) -> Select[UserRow]:
    """Return the users of `user` that match every filter, newest first."""
    query = select(user)
    if text:
        pattern = _pattern(text)
        query = query.where(
            or_(
                user.email.ilike(pattern, escape="\\"),
                user.first_name.ilike(pattern, escape="\\"),
                user.last_name.ilike(pattern, escape="\\"),
            )
        )
    if found.state:
        query = query.where(user.state == found.state)
    if found.role:
        query = query.where(user.role == found.role)
    if found.created_after is not None:
        query = query.where(user.created_at >= found.created_after)
    if found.created_before is not None:
        query = query.where(user.created_at < found.created_before)
    if below is not None:
        query = query.where(user.id < below)
    return query.order_by((user.id + 0).desc() if rare else user.id.desc())
