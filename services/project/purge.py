"""Purge projects deleted more than 30 days ago, with the artifacts they own in storage."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from services.common.storage import Storage
from services.project.project_service import Project, ProjectService

log = logging.getLogger(__name__)


def project_prefix(project_id: int) -> str:
    """Return the storage prefix under which a project's job outputs live."""
    return f"projects/{project_id}/"


async def purge_projects(
    service: ProjectService, storage: Storage, now: datetime | None = None
) -> list[Project]:
    """Delete expired soft-deleted projects and everything stored under their prefix."""
    purged = await service.purge_deleted(now)
    for project in purged:
        removed = await asyncio.to_thread(storage.delete_prefix, project_prefix(project.id))
        log.info("project artifacts purged", extra={"project_id": project.id, "objects": removed})
    return purged
