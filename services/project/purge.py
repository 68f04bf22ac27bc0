"""Purge projects deleted more than 30 days ago, with the artifacts they own in storage."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, select

from services.common.db import Database, utcnow
from services.common.storage import Storage
from services.project.models import ProjectRow
from services.project.records import UNDELETE_WINDOW, Project, to_project

log = logging.getLogger(__name__)


class DeletedProjects(Protocol):
    """What purging needs of the project service: rows deleted for good (`purge_deleted`)."""

    async def purge_deleted(self, now: datetime | None = None) -> list[Project]:
        """Delete for good the projects deleted more than 30 days ago; return them."""
        ...


def project_prefix(project_id: int) -> str:
    """Return the storage prefix under which a project's job outputs live."""
    return f"projects/{project_id}/"


async def delete_expired(database: Database, now: datetime | None = None) -> list[Project]:
    """Delete the rows of projects deleted more than 30 days ago; return what they were."""
    cutoff = (now or utcnow()) - UNDELETE_WINDOW
    async with database.session() as db, db.begin():
        rows = list(
            (
                await db.scalars(
                    select(ProjectRow).where(ProjectRow.deleted_at <= cutoff).with_for_update()
                )
            ).all()
        )
        purged = [to_project(r) for r in rows]
        if rows:
            await db.execute(delete(ProjectRow).where(ProjectRow.id.in_([r.id for r in rows])))
    if purged:
        log.info("projects purged", extra={"count": len(purged)})
    return purged


async def purge_projects(
    service: DeletedProjects, storage: Storage, now: datetime | None = None
) -> list[Project]:
    """Delete expired soft-deleted projects and everything stored under their prefix."""
    purged = await service.purge_deleted(now)
    for project in purged:
        removed = await asyncio.to_thread(storage.delete_prefix, project_prefix(project.id))
        log.info("project artifacts purged", extra={"project_id": project.id, "objects": removed})
    return purged
