"""Reading projects: one by id, or a user's newest first, by status, a page at a time."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from services.common import errors
from services.common.caller import Caller
from services.common.db import Database
from services.common.pagination import PageTokens, page_size, query_key
from services.project import rules
from services.project.access import visible
from services.project.models import ProjectRow
from services.project.records import Project, ProjectPage, to_project

# The hottest read of the domain: one Core statement, run on asyncpg where it can (hot_reads.py).
_BY_ID = select(*ProjectRow.__table__.c).where(ProjectRow.__table__.c.id == bindparam("id"))


async def one(database: Database, project_id: int, caller: Caller) -> Project:
    """Return a project the caller may see (deleted ones too, until they are purged)."""
    row = await database.read_row(_BY_ID, {"id": project_id})
    return to_project(visible(row, project_id, caller))


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
    key = query_key(list="projects", owner=user_id, status=status, deleted=deleted)
    position = tokens.decode(page_token, key)
    query = select(ProjectRow).where(ProjectRow.owner_id == user_id)
    if status:
        query = query.where(ProjectRow.status == status)
    if not deleted:
        query = query.where(ProjectRow.deleted_at.is_(None))
    if position is not None:
        query = query.where(ProjectRow.id < int(position["id"]))
    query = query.order_by(ProjectRow.id.desc()).limit(size + 1)
    async with database.reader() as db:
        rows = list((await db.scalars(query)).all())
    found = rows[:size]
    token = tokens.encode({"id": found[-1].id}, key) if len(rows) > size else ""
    return ProjectPage([to_project(r) for r in found], token)
