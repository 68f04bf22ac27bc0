"""A user's projects, newest first, filtered by status, a page at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from services.common import errors
from services.common.pagination import page_size, query_key
from services.project import rules
from services.project.models import ProjectRow
from services.project.records import ProjectPage, to_project

if TYPE_CHECKING:
    from services.project.project_service import ProjectService


async def page(
    service: ProjectService, user_id: int, status: str, limit: int, page_token: str, deleted: bool
) -> ProjectPage:
    """Return one page of a user's projects (keyset on id) and the token of the next."""
    if status and status not in rules.STATUSES:
        raise errors.InvalidArgument.field("status", "is not a project status")
    size = page_size(limit)
    key = query_key(list="projects", owner=user_id, status=status, deleted=deleted)
    position = service.page_tokens.decode(page_token, key)
    query = select(ProjectRow).where(ProjectRow.owner_id == user_id)
    if status:
        query = query.where(ProjectRow.status == status)
    if not deleted:
        query = query.where(ProjectRow.deleted_at.is_(None))
    if position is not None:
        query = query.where(ProjectRow.id < int(position["id"]))
    query = query.order_by(ProjectRow.id.desc()).limit(size + 1)
    async with service.db.reader() as db:
        rows = list((await db.scalars(query)).all())
    found = rows[:size]
    token = service.page_tokens.encode({"id": found[-1].id}, key) if len(rows) > size else ""
    return ProjectPage([to_project(r) for r in found], token)
