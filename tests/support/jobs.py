"""Helpers for job tests: a funded user with a project, job calls, and watching to the end."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from filmstudio.v1 import (
    ai_job_pb2,
    ai_job_pb2_grpc,
    common_pb2,
    credits_pb2,
    credits_pb2_grpc,
    project_pb2,
    project_pb2_grpc,
)
from google.protobuf import struct_pb2

from services.common.server import StudioServer
from services.user.user_service import UserService
from tests.support.studio import bearer, signed_in

CORPUS = (
    Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "brick-and-steel.fountain"
)
JOB_SETTINGS = {
    "JOB_DIAGNOSTICS": True,
    "HEARTBEAT_INTERVAL": 0.2,
    "HEARTBEAT_TIMEOUT": 1.5,
    "REAPER_INTERVAL": 0.3,
    "STAGE_RETRY_BASE": 0.05,
}


def sample_script() -> str:
    """Return the corpus screenplay (or a small one when shared/ is not beside the checkout)."""
    if CORPUS.exists():
        return CORPUS.read_text()
    return "Title: Test\n\nINT. GARAGE - DAY\n\nBRICK\nHello.\n"


@dataclass
class Studio:
    """A signed-in user with credits and a project, and stubs to drive jobs."""

    server: StudioServer
    channel: grpc.aio.Channel
    auth: tuple[tuple[str, str], ...]
    internal: tuple[tuple[str, str], ...]
    user: str
    project: str

    @property
    def jobs(self) -> Any:
        """Return the job service stub."""
        return ai_job_pb2_grpc.AIJobServiceStub(self.channel)

    async def balance(self) -> int:
        """Return the user's available credits."""
        stub = credits_pb2_grpc.CreditsServiceStub(self.channel)
        request = credits_pb2.GetCreditsRequest(name=f"{self.user}/credits")
        return int((await stub.GetCredits(request, metadata=self.auth)).credits.available)

    async def balance_becomes(self, expected: int, within: float = 10) -> int:
        """Poll the balance until it equals `expected` (holds settle just after a job ends)."""
        deadline = asyncio.get_running_loop().time() + within
        while (balance := await self.balance()) != expected:
            if asyncio.get_running_loop().time() > deadline:
                return balance
            await asyncio.sleep(0.05)
        return balance

    async def create(
        self,
        job_type: int = common_pb2.JOB_TYPE_SCRIPT_ANALYSIS,
        *,
        priority: int = 2,
        diagnostic: dict[str, Any] | None = None,
        project: str = "",
        request_id: str = "",
    ) -> ai_job_pb2.Job:
        """Create a job on the studio's project."""
        extra = struct_pb2.Struct()
        if diagnostic is not None:
            extra.update({"diagnostic": diagnostic})
        job = ai_job_pb2.Job(
            project=project or self.project,
            job_type=job_type,
            priority=priority,
            parameters=ai_job_pb2.JobParameters(extra=extra),
        )
        request = ai_job_pb2.CreateJobRequest(job=job, request_id=request_id)
        return (await self.jobs.CreateJob(request, metadata=self.auth)).job

    async def get(self, name: str) -> ai_job_pb2.Job:
        """Return a job."""
        return (await self.jobs.GetJob(ai_job_pb2.GetJobRequest(name=name), metadata=self.auth)).job

    async def wait_for(self, name: str, *statuses: int, within: float = 30) -> ai_job_pb2.Job:
        """Poll until a job reaches one of the statuses."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            job = await self.get(name)
            if job.status in statuses:
                return job
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{name} stayed {job.status} ({job.message})")
            await asyncio.sleep(0.05)

    async def watch(self, name: str, after: str = "", limit: int | None = None) -> list[Any]:
        """Collect a job's events (all of them, or the first `limit`)."""
        events = []
        request = ai_job_pb2.WatchJobRequest(name=name, after_event_id=after)
        async for response in self.jobs.WatchJob(request, metadata=self.auth, timeout=60):
            events.append(response.event)
            if limit is not None and len(events) >= limit:
                break
        return events

    async def new_project(self, title: str = "Another") -> str:
        """Create another project and return its name."""
        stub = project_pb2_grpc.ProjectServiceStub(self.channel)
        project = project_pb2.Project(title=title, script=sample_script())
        request = project_pb2.CreateProjectRequest(project=project)
        return (await stub.CreateProject(request, metadata=self.auth)).project.name


async def funded_studio(
    server: StudioServer, channel: grpc.aio.Channel, credits: int = 500
) -> Studio:
    """Sign a new user in, grant them credits and give them a project."""
    token = await signed_in(server, f"jobs-{uuid.uuid4().hex[:8]}@example.com")
    auth = bearer(token)
    internal = bearer(server.app.tokens.issue_service_token("tests"))
    user = f"users/{(await server.app.get(UserService).verify_token(token)).user_id}"
    stub = credits_pb2_grpc.CreditsServiceStub(channel)
    if credits:
        await stub.AddCredits(
            credits_pb2.AddCreditsRequest(
                user=user,
                amount=credits,
                kind=credits_pb2.TRANSACTION_KIND_GRANT,
                reason="test funds",
                request_id=str(uuid.uuid4()),
            ),
            metadata=internal,
        )
    studio = Studio(server, channel, auth, internal, user, "")
    studio.project = await studio.new_project("Brick & Steel")
    return studio


async def check_watchers_agree(studio: Studio, name: str) -> None:
    """Three concurrent watchers and a reconnecting one see the same complete, ordered events."""
    full, a, b, c = await asyncio.gather(*(studio.watch(name) for _ in range(4)))
    ids = [event.id for event in full]
    assert [e.id for e in a] == ids
    assert [e.id for e in b] == ids
    assert [e.id for e in c] == ids
    assert full[-1].terminal
    assert full[-1].status == common_pb2.JOB_STATUS_SUCCEEDED
    running = [e.progress for e in full if e.status == common_pb2.JOB_STATUS_RUNNING]
    assert running == sorted(running)
    assert len(running) >= 10, "progress is reported in small steps"
    head = await studio.watch(name, limit=4)
    rest = await studio.watch(name, after=head[-1].id)
    assert [e.id for e in head + rest] == ids
