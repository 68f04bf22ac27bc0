"""The gRPC transport of AdminService: proto in, domain call, proto out."""

from __future__ import annotations

import grpc
from filmstudio.v1 import admin_pb2, admin_pb2_grpc

from services.admin.admin_service import AdminService
from services.admin.audit_log import AuditFilter
from services.admin.convert import (
    ROLE_FILTER,
    STATE_FILTER,
    audit_message,
    details_message,
    failed_message,
    filter_name,
    moment,
    stats_message,
)
from services.admin.search import UserFilter
from services.ai_job.convert import job_message
from services.common.caller import caller_of
from services.common.context import require_principal
from services.common.convert import Link, resource_id
from services.common.enums import JOB_TYPE, enum_name
from services.credits.convert import credits_message, transaction_message
from services.project.convert import project_message
from services.user.convert import user_message

# Each RPC's context is typed with its own request and response: Context[Request, Response].
Context = grpc.aio.ServicerContext


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):
    """AdminService over gRPC."""

    def __init__(self, service: AdminService, link: Link | None = None) -> None:
        self.service = service
        self.link = link

    async def GetSystemStats(
        self,
        request: admin_pb2.GetSystemStatsRequest,
        context: Context[admin_pb2.GetSystemStatsRequest, admin_pb2.GetSystemStatsResponse],
    ) -> admin_pb2.GetSystemStatsResponse:
        stats = await self.service.get_system_stats()
        return admin_pb2.GetSystemStatsResponse(stats=stats_message(stats))

    async def SearchUsers(
        self,
        request: admin_pb2.SearchUsersRequest,
        context: Context[admin_pb2.SearchUsersRequest, admin_pb2.SearchUsersResponse],
    ) -> admin_pb2.SearchUsersResponse:
        filters = UserFilter(
            text=request.query,
            state=filter_name(STATE_FILTER, request.state),
            role=filter_name(ROLE_FILTER, request.role),
            created_after=moment(request.created_after, request.HasField("created_after")),
            created_before=moment(request.created_before, request.HasField("created_before")),
        )
        page = await self.service.search_users(filters, request.page_size, request.page_token)
        return admin_pb2.SearchUsersResponse(
            users=[user_message(u) for u in page.users], next_page_token=page.next_page_token
        )

    async def GetUserDetails(
        self,
        request: admin_pb2.GetUserDetailsRequest,
        context: Context[admin_pb2.GetUserDetailsRequest, admin_pb2.GetUserDetailsResponse],
    ) -> admin_pb2.GetUserDetailsResponse:
        details = await self.service.get_user_details(resource_id(request.name, "users"))
        return details_message(details, self.link)

    async def SuspendUser(
        self,
        request: admin_pb2.SuspendUserRequest,
        context: Context[admin_pb2.SuspendUserRequest, admin_pb2.SuspendUserResponse],
    ) -> admin_pb2.SuspendUserResponse:
        outcome = await self.service.suspend_user(
            resource_id(request.name, "users"), request.reason, caller_of(require_principal())
        )
        return admin_pb2.SuspendUserResponse(user=user_message(outcome.user))

    async def ReactivateUser(
        self,
        request: admin_pb2.ReactivateUserRequest,
        context: Context[admin_pb2.ReactivateUserRequest, admin_pb2.ReactivateUserResponse],
    ) -> admin_pb2.ReactivateUserResponse:
        user = await self.service.reactivate_user(
            resource_id(request.name, "users"), request.reason, caller_of(require_principal())
        )
        return admin_pb2.ReactivateUserResponse(user=user_message(user))

    async def GrantCredits(
        self,
        request: admin_pb2.GrantCreditsRequest,
        context: Context[admin_pb2.GrantCreditsRequest, admin_pb2.GrantCreditsResponse],
    ) -> admin_pb2.GrantCreditsResponse:
        result = await self.service.grant_credits(
            resource_id(request.user, "users", "user"),
            request.amount,
            request.reason,
            request.request_id,
            caller_of(require_principal()),
            expires_at=moment(request.expire_time, request.HasField("expire_time")),
        )
        return admin_pb2.GrantCreditsResponse(
            transaction=transaction_message(result.transaction),
            credits=credits_message(result.credits),
        )

    async def ListFailedJobs(
        self,
        request: admin_pb2.ListFailedJobsRequest,
        context: Context[admin_pb2.ListFailedJobsRequest, admin_pb2.ListFailedJobsResponse],
    ) -> admin_pb2.ListFailedJobsResponse:
        page = await self.service.get_failed_jobs(
            job_type=enum_name(JOB_TYPE, request.job_type),
            start=moment(request.start_time, request.HasField("start_time")),
            end=moment(request.end_time, request.HasField("end_time")),
            limit=request.page_size,
            page_token=request.page_token,
        )
        return admin_pb2.ListFailedJobsResponse(
            jobs=[job_message(f.job, self.link) for f in page.jobs],
            failures=[failed_message(f, self.link) for f in page.jobs],
            next_page_token=page.next_page_token,
        )

    async def GetModerationQueue(
        self,
        request: admin_pb2.GetModerationQueueRequest,
        context: Context[admin_pb2.GetModerationQueueRequest, admin_pb2.GetModerationQueueResponse],
    ) -> admin_pb2.GetModerationQueueResponse:
        page = await self.service.get_moderation_queue(request.page_size, request.page_token)
        return admin_pb2.GetModerationQueueResponse(
            projects=[project_message(p, self.link) for p in page.projects],
            next_page_token=page.next_page_token,
        )

    async def ApproveProject(
        self,
        request: admin_pb2.ApproveProjectRequest,
        context: Context[admin_pb2.ApproveProjectRequest, admin_pb2.ApproveProjectResponse],
    ) -> admin_pb2.ApproveProjectResponse:
        project = await self.service.approve_project(
            resource_id(request.name, "projects"), caller_of(require_principal()), request.note
        )
        return admin_pb2.ApproveProjectResponse(project=project_message(project, self.link))

    async def RejectProject(
        self,
        request: admin_pb2.RejectProjectRequest,
        context: Context[admin_pb2.RejectProjectRequest, admin_pb2.RejectProjectResponse],
    ) -> admin_pb2.RejectProjectResponse:
        project = await self.service.reject_project(
            resource_id(request.name, "projects"), request.reason, caller_of(require_principal())
        )
        return admin_pb2.RejectProjectResponse(project=project_message(project, self.link))

    async def ListAuditLog(
        self,
        request: admin_pb2.ListAuditLogRequest,
        context: Context[admin_pb2.ListAuditLogRequest, admin_pb2.ListAuditLogResponse],
    ) -> admin_pb2.ListAuditLogResponse:
        filters = AuditFilter(
            actor=request.actor,
            action=request.action,
            target=request.target,
            start=moment(request.start_time, request.HasField("start_time")),
            end=moment(request.end_time, request.HasField("end_time")),
        )
        page = await self.service.list_audit_log(filters, request.page_size, request.page_token)
        return admin_pb2.ListAuditLogResponse(
            entries=[audit_message(e) for e in page.entries], next_page_token=page.next_page_token
        )
