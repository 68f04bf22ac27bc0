"""AdminService over real gRPC: access, validation, suspension, grants, failed jobs, moderation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import grpc
import pytest
from filmstudio.v1 import admin_pb2, admin_pb2_grpc, common_pb2, user_pb2, user_pb2_grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.ai_job.ai_job_service import AIJobService
from services.common.caller import SYSTEM
from services.common.server import StudioServer
from services.credits.credits_service import CreditsService
from services.project.project_service import ProjectService
from tests.support.descriptors import all_methods
from tests.support.jobs import funded_studio
from tests.support.studio import bearer, call_method, running_studio, signed_in, studio_settings
from tests.support.users import error_of, mails_to

ADMIN_METHODS = [m for m in all_methods() if m.containing_service.name == "AdminService"]


@dataclass
class Console:
    server: StudioServer
    channel: grpc.aio.Channel
    admin: tuple[tuple[str, str], ...]
    user: tuple[tuple[str, str], ...]

    @property
    def stub(self) -> admin_pb2_grpc.AdminServiceStub:
        return admin_pb2_grpc.AdminServiceStub(self.channel)


@pytest.fixture(scope="module")
async def console(tmp_path_factory, postgres_url):
    settings = studio_settings(tmp_path_factory.mktemp("var"), postgres_url)
    async with running_studio(settings) as (server, channel):
        admin = await signed_in(server, f"admin-{uuid.uuid4().hex[:6]}@example.com", role="admin")
        user = await signed_in(server, f"plain-{uuid.uuid4().hex[:6]}@example.com")
        yield Console(server, channel, bearer(admin), bearer(user))


async def _code(channel, method, metadata=()) -> grpc.StatusCode:
    try:
        await call_method(channel, method, metadata=metadata)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def _violations(error: grpc.aio.AioRpcError) -> set[str]:
    status = rpc_status.from_call(error)
    fields: set[str] = set()
    for detail in status.details if status else ():
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            fields |= {v.field for v in bad.field_violations}
    return fields


def test_the_walk_covers_every_admin_rpc() -> None:
    assert len(ADMIN_METHODS) == 11


@pytest.mark.parametrize("method", ADMIN_METHODS, ids=lambda m: m.name)
async def test_every_admin_rpc_refuses_strangers_and_users_and_is_built_for_admins(
    console, method
) -> None:
    assert await _code(console.channel, method) == grpc.StatusCode.UNAUTHENTICATED
    assert await _code(console.channel, method, console.user) == grpc.StatusCode.PERMISSION_DENIED
    code = await _code(console.channel, method, console.admin)
    assert code not in (
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.INTERNAL,
    )


@pytest.mark.parametrize(
    ("call", "fields"),
    [
        ("SearchUsers", {"query"}),
        ("SuspendUser", {"reason"}),
        ("GrantCredits", {"amount", "reason", "request_id"}),
        ("RejectProject", {"reason"}),
    ],
)
async def test_bad_requests_name_each_bad_field(console, call, fields) -> None:
    requests = {
        "SearchUsers": admin_pb2.SearchUsersRequest(query="ab"),
        "SuspendUser": admin_pb2.SuspendUserRequest(name="users/1", reason="  "),
        "GrantCredits": admin_pb2.GrantCreditsRequest(user="users/1", amount=0),
        "RejectProject": admin_pb2.RejectProjectRequest(name="projects/1"),
    }
    error = await error_of(getattr(console.stub, call)(requests[call], metadata=console.admin))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(error) == fields


async def test_suspension_ends_sessions_at_once_and_releases_holds(console) -> None:
    studio = await funded_studio(console.server, console.channel, credits=500)
    before = await studio.balance()
    job = await studio.create()
    assert job.status == common_pb2.JOB_STATUS_QUEUED
    assert await studio.balance() < before  # the hold counts against the balance
    me = user_pb2_grpc.UserServiceStub(console.channel)
    await me.GetMe(user_pb2.GetMeRequest(), metadata=studio.auth)

    suspended = await console.stub.SuspendUser(
        admin_pb2.SuspendUserRequest(name=studio.user, reason="chargeback fraud"),
        metadata=console.admin,
    )

    assert suspended.user.state == user_pb2.USER_STATE_SUSPENDED
    error = await error_of(me.GetMe(user_pb2.GetMeRequest(), metadata=studio.auth))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    jobs = console.server.app.get(AIJobService)
    ended = await jobs.get_job(int(job.name.split("/")[1]))
    assert ended.status == "cancelled"
    credits = console.server.app.get(CreditsService)
    user_id = int(studio.user.split("/")[1])
    wallet = await credits.get_user_credits(user_id)
    assert wallet.reserved == 0
    assert wallet.available == before
    assert (await credits.verify_ledger()).clean

    details = await console.stub.GetUserDetails(
        admin_pb2.GetUserDetailsRequest(name=studio.user), metadata=console.admin
    )
    assert details.active_sessions == 0
    assert details.recent_jobs[0].status == common_pb2.JOB_STATUS_CANCELLED
    back = await console.stub.ReactivateUser(
        admin_pb2.ReactivateUserRequest(name=studio.user, reason="cleared"),
        metadata=console.admin,
    )
    assert back.user.state == user_pb2.USER_STATE_ACTIVE
    # The old sessions stay ended: the user signs in again.
    error = await error_of(me.GetMe(user_pb2.GetMeRequest(), metadata=studio.auth))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_grants_go_through_the_ledger_once_per_request_id(console) -> None:
    studio = await funded_studio(console.server, console.channel, credits=0)
    before = await studio.balance()
    request = admin_pb2.GrantCreditsRequest(
        user=studio.user, amount=250, reason="goodwill", request_id=str(uuid.uuid4())
    )
    first = await console.stub.GrantCredits(request, metadata=console.admin)
    again = await console.stub.GrantCredits(request, metadata=console.admin)
    assert first.transaction.name == again.transaction.name
    assert first.transaction.actor.startswith("users/")
    assert await studio.balance() == before + 250
    details = await console.stub.GetUserDetails(
        admin_pb2.GetUserDetailsRequest(name=studio.user), metadata=console.admin
    )
    assert details.recent_transactions[0].reason == "goodwill"
    assert details.active_sessions == 1
    assert len(details.sessions) == 1
    missing = await error_of(
        console.stub.GrantCredits(
            admin_pb2.GrantCreditsRequest(
                user="users/999999", amount=1, reason="x", request_id="k"
            ),
            metadata=console.admin,
        )
    )
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    assert (await console.server.app.get(CreditsService).verify_ledger()).clean


async def test_failed_jobs_show_error_stage_attempts_worker_and_timings(console) -> None:
    studio = await funded_studio(console.server, console.channel)
    job = await studio.create()
    job_id = int(job.name.split("/")[1])
    jobs = console.server.app.get(AIJobService)
    claim = await jobs.claim(job_id, 1, "gpu-worker-7")
    assert claim.accepted
    await jobs.progress(job_id, 1, stage="analysis", progress=10)
    await jobs.fail(job_id, 1, "model exploded")

    page = await console.stub.ListFailedJobs(
        admin_pb2.ListFailedJobsRequest(job_type=common_pb2.JOB_TYPE_SCRIPT_ANALYSIS),
        metadata=console.admin,
    )
    mine = [f for f in page.failures if f.job.name == job.name]
    assert mine, "the failed job is listed"
    failed = mine[0]
    assert failed.worker == "gpu-worker-7"
    assert failed.job.error == "model exploded"
    assert failed.job.stage == "analysis"
    assert failed.job.attempt == 1
    assert failed.max_attempts >= 1
    assert failed.HasField("run_time")
    other_type = await console.stub.ListFailedJobs(
        admin_pb2.ListFailedJobsRequest(job_type=common_pb2.JOB_TYPE_VOICE_SYNTHESIS),
        metadata=console.admin,
    )
    assert job.name not in {f.job.name for f in other_type.failures}
    stats = (
        await console.stub.GetSystemStats(admin_pb2.GetSystemStatsRequest(), metadata=console.admin)
    ).stats
    assert stats.jobs_by_status["FAILED"] >= 1
    assert 0 < stats.job_failure_rate_24h <= 1
    assert stats.total_users >= 3
    assert stats.credits_issued_month > 0


async def _pending_review(server: StudioServer, owner: int, title: str) -> int:
    projects = server.app.get(ProjectService)
    project = await projects.create_project(owner, title, "INT. ROOM - DAY\n\nHi.\n")
    for status in ("queued", "generating", "completed", "pending_review"):
        await projects.update_project_status(project.id, status, SYSTEM)
    return project.id


async def test_moderation_lists_oldest_first_and_tells_the_owner(console) -> None:
    studio = await funded_studio(console.server, console.channel)
    owner = int(studio.user.split("/")[1])
    first = await _pending_review(console.server, owner, "First cut")
    second = await _pending_review(console.server, owner, "Second cut")

    queue = await console.stub.GetModerationQueue(
        admin_pb2.GetModerationQueueRequest(page_size=100), metadata=console.admin
    )
    names = [p.name for p in queue.projects]
    assert names.index(f"projects/{first}") < names.index(f"projects/{second}")

    rejected = await console.stub.RejectProject(
        admin_pb2.RejectProjectRequest(name=f"projects/{first}", reason="contains a logo"),
        metadata=console.admin,
    )
    approved = await console.stub.ApproveProject(
        admin_pb2.ApproveProjectRequest(name=f"projects/{second}"), metadata=console.admin
    )
    assert rejected.project.status == common_pb2.PROJECT_STATUS_REJECTED
    assert approved.project.status == common_pb2.PROJECT_STATUS_APPROVED
    again = await error_of(
        console.stub.ApproveProject(
            admin_pb2.ApproveProjectRequest(name=f"projects/{first}"), metadata=console.admin
        )
    )
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION
    owner_email = (
        await user_pb2_grpc.UserServiceStub(console.channel).GetMe(
            user_pb2.GetMeRequest(), metadata=studio.auth
        )
    ).user.email
    mails = await mails_to(console.server, owner_email)
    bodies = [m.get_payload() for m in mails]
    assert any("contains a logo" in body for body in bodies)
    assert any("approved" in m["Subject"] for m in mails)
    queue = await console.stub.GetModerationQueue(
        admin_pb2.GetModerationQueueRequest(page_size=100), metadata=console.admin
    )
    assert f"projects/{first}" not in [p.name for p in queue.projects]


async def test_search_pages_with_sealed_tokens_and_filters(console) -> None:
    tag = uuid.uuid4().hex[:8]
    for i in range(5):
        await signed_in(console.server, f"searched-{tag}-{i}@example.com")
    request = admin_pb2.SearchUsersRequest(query=tag.upper(), page_size=2)
    seen: list[str] = []
    while True:
        page = await console.stub.SearchUsers(request, metadata=console.admin)
        seen += [u.email for u in page.users]
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    assert sorted(seen) == [f"searched-{tag}-{i}@example.com" for i in range(5)]
    assert seen == sorted(seen, reverse=True)  # newest first
    admins = await console.stub.SearchUsers(
        admin_pb2.SearchUsersRequest(query=tag, role=common_pb2.ROLE_ADMIN), metadata=console.admin
    )
    assert not admins.users
    tampered = await error_of(
        console.stub.SearchUsers(
            admin_pb2.SearchUsersRequest(query="other", page_token=page.next_page_token or "x.y"),
            metadata=console.admin,
        )
    )
    assert tampered.code() == grpc.StatusCode.INVALID_ARGUMENT
    wildcard = await console.stub.SearchUsers(
        admin_pb2.SearchUsersRequest(query="%_%"), metadata=console.admin
    )
    assert not wildcard.users  # LIKE wildcards match literally
