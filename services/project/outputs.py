"""What a project's latest successful job produced: its artifacts and the job's id."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.caller import Caller
from services.common.db import utcnow
from services.project.access import live
from services.project.records import Project, to_project


async def record(
    db: AsyncSession, project_id: int, job_id: int, artifacts: list[dict[str, Any]]
) -> Project:
    """Store a job's outputs on its live project, in the open transaction; a new version."""
    row = await live(db, project_id, Caller(None, is_admin=True))
    row.latest_job_id, row.artifacts = job_id, list(artifacts)
    # A new version: a client's etag read before the outputs arrived no longer matches.
    row.version += 1
    row.updated_at = utcnow()
    return to_project(row)
