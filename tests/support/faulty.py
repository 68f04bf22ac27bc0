"""Servicers of our own that fail on purpose, to drive the real interceptor chain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from filmstudio.v1 import ai_job_pb2, ai_job_pb2_grpc, project_pb2, project_pb2_grpc
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from services.bootstrap import SERVICES
from services.common import errors
from services.common.context import current_principal, current_request_id
from services.common.registry import ServiceSpec

SECRET_DETAIL = "db password is hunter2 at /srv/secret.py line 7"


class FaultyProjects(project_pb2_grpc.ProjectServiceServicer):
    """GetProject raises whatever its name asks for; UndeleteProject is slow."""

    async def GetProject(self, request: Any, context: Any) -> Any:
        failures: dict[str, Exception] = {
            "projects/not-found": errors.NotFound("project not found"),
            "projects/invalid": errors.InvalidArgument(
                [
                    errors.FieldViolation("project.title", "must not be empty"),
                    errors.FieldViolation("project.target_duration_seconds", "must be 10-600"),
                ]
            ),
            "projects/broke": errors.InsufficientCredits(user="users/7", required=5, available=2),
            "projects/stale": errors.Aborted("etag mismatch", reason="ETAG_MISMATCH"),
            "projects/busy": errors.ResourceExhausted("slow down", retry_after_seconds=1.5),
            "projects/crash": RuntimeError(SECRET_DETAIL),
            "projects/db-down": OperationalError("SELECT 1", {}, RuntimeError(SECRET_DETAIL)),
            "projects/db-busy": PoolTimeout(f"QueuePool limit reached ({SECRET_DETAIL})"),
            "projects/redis-down": RedisConnectionError(f"Error 111 connecting ({SECRET_DETAIL})"),
        }
        if request.name in failures:
            raise failures[request.name]
        principal = current_principal()
        return project_pb2.GetProjectResponse(
            project=project_pb2.Project(
                name=request.name,
                owner=principal.resource_name if principal else "",
                title=current_request_id() or "",
            )
        )

    async def UndeleteProject(self, request: Any, context: Any) -> Any:
        await asyncio.sleep(float(request.name.rpartition("/")[2] or 0))
        return project_pb2.UndeleteProjectResponse(project=project_pb2.Project(name=request.name))


class FaultyJobs(ai_job_pb2_grpc.AIJobServiceServicer):
    """WatchJob sends two events, then fails the way the job name asks."""

    async def WatchJob(self, request: Any, context: Any) -> AsyncIterator[Any]:
        for index in range(2):
            yield ai_job_pb2.WatchJobResponse(event=ai_job_pb2.JobEvent(id=str(index)))
        if request.name == "jobs/crash":
            raise RuntimeError(SECRET_DETAIL)
        raise errors.NotFound("job vanished")


def build_projects(app: object) -> FaultyProjects:
    """Build the faulty project servicer."""
    return FaultyProjects()


def build_jobs(app: object) -> FaultyJobs:
    """Build the faulty job servicer."""
    return FaultyJobs()


def faulty_specs() -> list[ServiceSpec]:
    """Return specs that host the faulty servicers in place of the real ones."""
    project, jobs = SERVICES["project"], SERVICES["jobs"]
    return [
        ServiceSpec(**{**project.__dict__, "builder": build_projects}),
        ServiceSpec(**{**jobs.__dict__, "builder": build_jobs}),
    ]
