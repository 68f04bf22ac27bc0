"""Reading projects: one by id, or a user's newest first, by status, a page at a time."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Boolean, bindparam, or_, select

from services.common import errors
from services.common.caller import Caller
from services.common.db import Database
from services.common.hot_reads import FoundRows
from services.common.pagination import PageTokens, page_size, query_key
from services.project import rules
from services.project.access import visible
from services.project.models import ProjectRow
from services.project.records import Project, ProjectPage, to_project

# The hottest read of the domain: one Core statement, run on asyncpg where it can (hot_reads.py).
_COLUMNS = ProjectRow.__table__.c
_BY_ID = select(*_COLUMNS).where(_COLUMNS.id == bindparam("id"))
# A page is one fixed statement too, so it is prepared once: the optional filters are switched
# by parameters (the (owner_id, id) index serves every combination), the keyset starts at
# _NO_POSITION when there is no page token.
_PAGE = (
    select(*_COLUMNS)
    .where(_COLUMNS.owner_id == bindparam("owner"))
    .where(or_(bindparam("any_status", type_=Boolean), _COLUMNS.status == bindparam("status")))
    .where(or_(bindparam("with_deleted", type_=Boolean), _COLUMNS.deleted_at.is_(None)))
    .where(_COLUMNS.id < bindparam("below"))
    .order_by(_COLUMNS.id.desc())
    .limit(bindparam("limit"))
)
_NO_POSITION = 2**63 - 1


async def one(database: Database, project_id: int, caller: Caller) -> Project:
    """Return a project the caller may see (deleted ones too, until they are purged)."""
    row = await database.read_row(_BY_ID, {"id": project_id}, (f"projects:{project_id}",))
    return visible(row, project_id, caller).derived(to_project)


async def page(
    database: Database,
    tokens: PageTokens,
    user_id: int,
    status: str,
    limit: int,
    page_token: str,
    deleted: bool,
) -> ProjectPage:
    """Return one page of a user's projects (keyset on id) and the token of the next."""
    if status and status not in rules.STATUSES:
        raise errors.InvalidArgument.field("status", "is not a project status")
    size = page_size(limit)

    def key() -> str:
        return query_key(list="projects", owner=user_id, status=status, deleted=deleted)

    position = tokens.decode(page_token, key()) if page_token else None
    rows = await database.read_rows(
        _PAGE,
        {
            "owner": user_id,
            "any_status": not status,
            "status": status,
            "with_deleted": deleted,
            "below": _NO_POSITION if position is None else int(position["id"]),
            "limit": size + 1,
        },
        (f"projects@{user_id}",),
    )
    # Every parameter above is in the row cache's key, so a kept read answers one query only:
    # the page made of it, next token and all, is the same for every call it serves.
    return rows.derived(lambda found: _page_of(found, size, tokens, key), key=_page_of)


def _page_of(rows: FoundRows, size: int, tokens: PageTokens, key: Callable[[], str]) -> ProjectPage:
    """Return the page of `size` projects in `rows`, with a next token when there are more."""
    found = rows[:size]
    token = tokens.encode({"id": found[-1].id}, key()) if len(rows) > size else ""
    return ProjectPage([r.derived(to_project) for r in found], token)
