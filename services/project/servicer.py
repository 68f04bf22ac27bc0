"""The gRPC transport of ProjectService: proto in, domain call, proto out."""

from __future__ import annotations

from typing import Any

from filmstudio.v1 import project_pb2, project_pb2_grpc

from services.common import errors
from services.common.app import App
from services.common.caller import caller_of
from services.common.context import require_principal
from services.common.convert import resource_id, user_ref
from services.common.enums import PROJECT_STATUS, enum_name
from services.project import rules
from services.project.convert import change_message, fields_of, project_message
from services.project.project_service import ProjectService

Context = Any
CREATE_FIELDS = ["title", "script", *rules.DEFAULTS]


class ProjectServicer(project_pb2_grpc.ProjectServiceServicer):
    """ProjectService over gRPC."""

    def __init__(self, service: ProjectService) -> None:
        self.service = service

    async def CreateProject(self, request: Any, context: Context) -> Any:
        caller = caller_of(require_principal())
        if caller.user_id is None:
            raise errors.InvalidArgument.field("project.owner", "a user must create projects")
        fields = fields_of(request.project, CREATE_FIELDS)
        project = await self.service.create_project(
            caller.user_id,
            fields["title"],
            fields["script"],
            style=fields["style"],
            target_duration=fields["target_duration_seconds"],
            aspect_ratio=fields["aspect_ratio"],
            resolution=fields["resolution"],
            voice=fields["voice"],
            request_id=request.request_id,
        )
        return project_pb2.CreateProjectResponse(project=project_message(project))

    async def GetProject(self, request: Any, context: Context) -> Any:
        project = await self.service.get_project(
            resource_id(request.name, "projects"), caller_of(require_principal())
        )
        return project_pb2.GetProjectResponse(project=project_message(project))

    async def ListProjects(self, request: Any, context: Context) -> Any:
        principal = require_principal()
        owner = user_ref(request.owner or "users/me", principal, "owner")
        page = await self.service.get_user_projects(
            owner,
            status=enum_name(PROJECT_STATUS, request.status),
            limit=request.page_size,
            page_token=request.page_token,
            show_deleted=request.show_deleted,
        )
        return project_pb2.ListProjectsResponse(
            projects=[project_message(p) for p in page.projects],
            next_page_token=page.next_page_token,
        )

    async def UpdateProject(self, request: Any, context: Context) -> Any:
        paths = list(request.update_mask.paths)
        if paths == ["*"]:
            paths = list(rules.EDITABLE)
        project = await self.service.update_project(
            resource_id(request.project.name, "projects", "project.name"),
            caller_of(require_principal()),
            fields_of(request.project, paths),
            etag=request.project.etag,
        )
        return project_pb2.UpdateProjectResponse(project=project_message(project))

    async def DeleteProject(self, request: Any, context: Context) -> Any:
        project = await self.service.delete_project(
            resource_id(request.name, "projects"), caller_of(require_principal()), request.etag
        )
        return project_pb2.DeleteProjectResponse(project=project_message(project))

    async def UndeleteProject(self, request: Any, context: Context) -> Any:
        project = await self.service.undelete_project(
            resource_id(request.name, "projects"), caller_of(require_principal())
        )
        return project_pb2.UndeleteProjectResponse(project=project_message(project))

    async def UpdateProjectStatus(self, request: Any, context: Context) -> Any:
        job_id = resource_id(request.job, "jobs", "job") if request.job else None
        project, change = await self.service.update_project_status(
            resource_id(request.name, "projects"),
            enum_name(PROJECT_STATUS, request.status) or "unspecified",
            caller_of(require_principal()),
            reason=request.reason,
            job_id=job_id,
        )
        return project_pb2.UpdateProjectStatusResponse(
            project=project_message(project), change=change_message(change)
        )


def build(app: App) -> ProjectServicer:
    """Build the servicer on the app's database."""
    return ProjectServicer(app.project_service())
