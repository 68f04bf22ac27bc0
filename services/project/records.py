"""What the project domain hands out: projects, status changes and pages."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.common.hot_reads import Found
from services.common.records import Record
from services.project.models import ProjectRow, ProjectStatusChangeRow

UNDELETE_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Project(Record):
    """A film project as callers see it."""

    id: int
    owner_id: int
    title: str
    script: str
    style: str
    target_duration_seconds: int
    aspect_ratio: str
    resolution: str
    voice: str
    status: str
    latest_job_id: int | None
    artifacts: list[dict[str, Any]]
    etag: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None

    @property
    def purge_at(self) -> datetime | None:
        """Return when a soft-deleted project is purged for good."""
        return self.deleted_at + UNDELETE_WINDOW if self.deleted_at else None


@dataclass(frozen=True)
class StatusChange(Record):
    """One recorded transition."""

    from_status: str
    to_status: str
    reason: str
    actor: str
    job_id: int | None
    changed_at: datetime


@dataclass(frozen=True)
class ProjectPage(Record):
    """One page of a listing."""

    projects: list[Project]
    next_page_token: str


def etag_of(row: ProjectRow | Found) -> str:
    """Return the opaque etag of a project's current version."""
    return hashlib.sha256(f"{row.id}:{row.version}".encode()).hexdigest()[:20]


def to_project(row: ProjectRow | Found) -> Project:
    """Copy a row (ORM object, or a Core row of the same columns) into a record."""
    return Project(
        id=row.id,
        owner_id=row.owner_id,
        title=row.title,
        script=row.script,
        style=row.style,
        target_duration_seconds=row.target_duration_seconds,
        aspect_ratio=row.aspect_ratio,
        resolution=row.resolution,
        voice=row.voice,
        status=row.status,
        latest_job_id=row.latest_job_id,
        artifacts=list(row.artifacts or []),
        etag=etag_of(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
        deleted_at=row.deleted_at,
    )


def to_change(row: ProjectStatusChangeRow) -> StatusChange:
    """Copy a status history row into a record."""
    return StatusChange(
        from_status=row.from_status,
        to_status=row.to_status,
        reason=row.reason,
        actor=row.actor,
        job_id=row.job_id,
        changed_at=row.changed_at,
    )
