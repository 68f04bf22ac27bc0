"""Proto <-> domain for the project service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from filmstudio.v1 import common_pb2, project_pb2

from services.common.convert import timestamp
from services.project.project_service import Project, StatusChange

STYLE: dict[int, str] = {
    common_pb2.STYLE_CINEMATIC: "cinematic",
    common_pb2.STYLE_DOCUMENTARY: "documentary",
    common_pb2.STYLE_NOIR: "noir",
    common_pb2.STYLE_ANIME: "anime",
    common_pb2.STYLE_WATERCOLOR: "watercolor",
    common_pb2.STYLE_SKETCH: "sketch",
}
ASPECT: dict[int, str] = {
    common_pb2.ASPECT_RATIO_16_9: "16:9",
    common_pb2.ASPECT_RATIO_9_16: "9:16",
    common_pb2.ASPECT_RATIO_1_1: "1:1",
}
RESOLUTION: dict[int, str] = {
    common_pb2.RESOLUTION_720P: "720p",
    common_pb2.RESOLUTION_1080P: "1080p",
}
STATUS: dict[int, str] = {
    int(value): name.removeprefix("PROJECT_STATUS_").lower()
    for name, value in common_pb2.ProjectStatus.items()
    if value
}


def _reverse(table: dict[int, str]) -> dict[str, int]:
    return {name: value for value, name in table.items()}


STYLE_VALUE, ASPECT_VALUE = _reverse(STYLE), _reverse(ASPECT)
RESOLUTION_VALUE, STATUS_VALUE = _reverse(RESOLUTION), _reverse(STATUS)


def enum_name(table: dict[int, str], value: int) -> str:
    """Map an enum number to its domain name; unknown numbers map to "?" to fail validation."""
    return table.get(value, "" if value == 0 else "?")


def fields_of(project: project_pb2.Project, paths: list[str]) -> dict[str, Any]:
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


def project_message(project: Project) -> project_pb2.Project:
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
        status=STATUS_VALUE.get(project.status, 0),  # type: ignore[arg-type]
        latest_job=f"jobs/{project.latest_job_id}" if project.latest_job_id else "",
        artifacts=[common_pb2.Artifact(**a) for a in project.artifacts],
        etag=project.etag,
        create_time=timestamp(project.created_at),
        update_time=timestamp(project.updated_at),
        delete_time=timestamp(project.deleted_at),
        purge_time=timestamp(project.purge_at),
    )


def change_message(change: StatusChange) -> project_pb2.ProjectStatusChange:
    """Return the proto of a status change."""
    return project_pb2.ProjectStatusChange(
        from_status=STATUS_VALUE.get(change.from_status, 0),  # type: ignore[arg-type]
        to_status=STATUS_VALUE.get(change.to_status, 0),  # type: ignore[arg-type]
        reason=change.reason,
        actor=change.actor,
        change_time=timestamp(change.changed_at),
    )
