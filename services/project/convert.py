"""Proto <-> domain for the project service."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from filmstudio.v1 import project_pb2

from services.common.convert import Link, artifact_message, timestamp
from services.common.enums import (
    ASPECT,
    ASPECT_VALUE,
    PROJECT_STATUS_VALUE,
    RESOLUTION,
    RESOLUTION_VALUE,
    STYLE,
    STYLE_VALUE,
    enum_name,
)
from services.project.records import Project, StatusChange


def fields_of(project: project_pb2.Project, paths: Iterable[str]) -> dict[str, Any]:
    """Read the named fields of a Project message as domain values."""
    readers: dict[str, Callable[[], Any]] = {
        "title": lambda: project.title,
        "script": lambda: project.script,
        "style": lambda: enum_name(STYLE, project.style),
        "target_duration_seconds": lambda: project.target_duration_seconds,
        "aspect_ratio": lambda: enum_name(ASPECT, project.aspect_ratio),
        "resolution": lambda: enum_name(RESOLUTION, project.resolution),
        "voice": lambda: project.voice,
    }
    return {path: readers[path]() if path in readers else None for path in paths}


def project_message(project: Project, link: Link | None = None) -> project_pb2.Project:
    """Return the proto of a project."""
    return project_pb2.Project(
        name=f"projects/{project.id}",
        owner=f"users/{project.owner_id}",
        title=project.title,
        script=project.script,
        style=STYLE_VALUE.get(project.style, 0),  # type: ignore[arg-type]
        target_duration_seconds=project.target_duration_seconds,
        aspect_ratio=ASPECT_VALUE.get(project.aspect_ratio, 0),  # type: ignore[arg-type]
        resolution=RESOLUTION_VALUE.get(project.resolution, 0),  # type: ignore[arg-type]
        voice=project.voice,
        status=PROJECT_STATUS_VALUE.get(project.status, 0),  # type: ignore[arg-type]
        latest_job=f"jobs/{project.latest_job_id}" if project.latest_job_id else "",
        artifacts=[artifact_message(a, link) for a in project.artifacts],
        etag=project.etag,
        create_time=timestamp(project.created_at),
        update_time=timestamp(project.updated_at),
        delete_time=timestamp(project.deleted_at),
        purge_time=timestamp(project.purge_at),
    )


def change_message(change: StatusChange) -> project_pb2.ProjectStatusChange:
    """Return the proto of a status change."""
    return project_pb2.ProjectStatusChange(
        from_status=PROJECT_STATUS_VALUE.get(change.from_status, 0),  # type: ignore[arg-type]
        to_status=PROJECT_STATUS_VALUE.get(change.to_status, 0),  # type: ignore[arg-type]
        reason=change.reason,
        actor=change.actor,
        change_time=timestamp(change.changed_at),
    )
