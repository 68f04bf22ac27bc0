"""The gRPC transport of ProjectService: proto in, domain call, proto out."""

from __future__ import annotations

import grpc
from filmstudio.v1 import project_pb2, project_pb2_grpc

from services.common.caller import caller_of
from services.common.context import require_principal
from services.common.convert import Link, resource_id, user_ref
from services.common.enums import PROJECT_STATUS, enum_name
from services.common.memo import PerRecord
from services.project import rules
from services.project.convert import change_message, fields_of, project_message
from services.project.project_service import ProjectService
from services.project.records import Project, ProjectPage

# Each RPC's context is typed with its own request and response: Context[Request, Response].
Context = grpc.aio.ServicerContext


class ProjectServicer(project_pb2_grpc.ProjectServiceServicer):
    """ProjectService over gRPC."""

    def __init__(self, service: ProjectService, link: Link | None = None) -> None:
        self.service = service
        # Artifacts carry download URLs when the process can make them (its storage).
        self.link = link
        # A cached project is read by many calls: its message is made once (memo.py).
        self._message: PerRecord[Project, project_pb2.Project] = PerRecord(
            lambda project: project_message(project, link)
        )
        # ...and so is a page's: a kept page (listing.py) answers every call for it.
        self._page_message: PerRecord[ProjectPage, project_pb2.ListProjectsResponse] = PerRecord(
            self._make_page_message
        )

    async def CreateProject(
        self,
        request: project_pb2.CreateProjectRequest,
        context: Context[project_pb2.CreateProjectRequest, project_pb2.CreateProjectResponse],
    ) -> project_pb2.CreateProjectResponse:
        fields = fields_of(request.project, rules.CREATE_FIELDS)
        project = await self.service.create_project(
            caller_of(require_principal()).user_id,
            fields["title"],
            fields["script"],
            style=fields["style"],
            target_duration=fields["target_duration_seconds"],
            aspect_ratio=fields["aspect_ratio"],
            resolution=fields["resolution"],
            voice=fields["voice"],
            request_id=request.request_id,
        )
        return project_pb2.CreateProjectResponse(project=project_message(project, self.link))

    async def GetProject(
        self,
        request: project_pb2.GetProjectRequest,
        context: Context[project_pb2.GetProjectRequest, project_pb2.GetProjectResponse],
    ) -> project_pb2.GetProjectResponse:
        project = await self.service.get_project(
            resource_id(request.name, "projects"), caller_of(require_principal())
        )
        return project_pb2.GetProjectResponse(project=self._message(project))

    async def ListProjects(
        self,
        request: project_pb2.ListProjectsRequest,
        context: Context[project_pb2.ListProjectsRequest, project_pb2.ListProjectsResponse],
    ) -> project_pb2.ListProjectsResponse:
        principal = require_principal()
        owner = user_ref(request.owner or "users/me", principal, "owner")
        page = await self.service.get_user_projects(
            owner,
            status=enum_name(PROJECT_STATUS, request.status),
            limit=request.page_size,
            page_token=request.page_token,
            show_deleted=request.show_deleted,
        )
        return self._page_message(page)

    def _make_page_message(self, page: ProjectPage) -> project_pb2.ListProjectsResponse:
        return project_pb2.ListProjectsResponse(
            projects=[self._message(p) for p in page.projects],
            next_page_token=page.next_page_token,
        )

    async def UpdateProject(
        self,
        request: project_pb2.UpdateProjectRequest,
        context: Context[project_pb2.UpdateProjectRequest, project_pb2.UpdateProjectResponse],
    ) -> project_pb2.UpdateProjectResponse:
        paths = rules.update_paths(request.update_mask.paths)
        project = await self.service.update_project(
            resource_id(request.project.name, "projects", "project.name"),
            caller_of(require_principal()),
            fields_of(request.project, paths),
            etag=request.project.etag,
        )
        return project_pb2.UpdateProjectResponse(project=project_message(project, self.link))

    async def DeleteProject(
        self,
        request: project_pb2.DeleteProjectRequest,
        context: Context[project_pb2.DeleteProjectRequest, project_pb2.DeleteProjectResponse],
    ) -> project_pb2.DeleteProjectResponse:
        project = await self.service.delete_project(
            resource_id(request.name, "projects"), caller_of(require_principal()), request.etag
        )
        return project_pb2.DeleteProjectResponse(project=project_message(project, self.link))

    async def UndeleteProject(
        self,
        request: project_pb2.UndeleteProjectRequest,
        context: Context[project_pb2.UndeleteProjectRequest, project_pb2.UndeleteProjectResponse],
    ) -> project_pb2.UndeleteProjectResponse:
        project = await self.service.undelete_project(
            resource_id(request.name, "projects"), caller_of(require_principal())
        )
        return project_pb2.UndeleteProjectResponse(project=project_message(project, self.link))

    async def UpdateProjectStatus(
        self,
        request: project_pb2.UpdateProjectStatusRequest,
        context: Context[
            project_pb2.UpdateProjectStatusRequest, project_pb2.UpdateProjectStatusResponse
        ],
    ) -> project_pb2.UpdateProjectStatusResponse:
        job_id = resource_id(request.job, "jobs", "job") if request.job else None
        project, change = await self.service.update_project_status(
            resource_id(request.name, "projects"),
            enum_name(PROJECT_STATUS, request.status) or "unspecified",
            caller_of(require_principal()),
            reason=request.reason,
            job_id=job_id,
        )
        return project_pb2.UpdateProjectStatusResponse(
            project=project_message(project, self.link), change=change_message(change)
        )
