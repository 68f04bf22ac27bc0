"""Jobs on the embedded default: in-process workers and event bus, real gRPC and PostgreSQL."""

from __future__ import annotations

import asyncio
import urllib.parse
from pathlib import Path

import grpc
import pytest
from filmstudio.v1 import (
    ai_job_pb2,
    common_pb2,
    credits_pb2,
    credits_pb2_grpc,
    project_pb2,
    project_pb2_grpc,
)
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.ai_job.models import JobRow
from tests.support.jobs import check_watchers_agree, funded_studio
from tests.support.users import error_of

QUEUED, RUNNING = common_pb2.JOB_STATUS_QUEUED, common_pb2.JOB_STATUS_RUNNING
SUCCEEDED, FAILED = common_pb2.JOB_STATUS_SUCCEEDED, common_pb2.JOB_STATUS_FAILED
CANCELLED = common_pb2.JOB_STATUS_CANCELLED
ENDED = (SUCCEEDED, FAILED, CANCELLED)


@pytest.fixture
async def studio(embedded_jobs):
    return await funded_studio(*embedded_jobs)


async def _project_status(studio, name: str) -> int:
    stub = project_pb2_grpc.ProjectServiceStub(studio.channel)
    request = project_pb2.GetProjectRequest(name=name)
    return (await stub.GetProject(request, metadata=studio.auth)).project.status


async def test_a_script_analysis_job_runs_to_the_end_and_is_paid_for(studio) -> None:
    before = await studio.balance()
    job = await studio.create()
    assert job.status == QUEUED
    assert job.cost_credits >= 1
    assert await studio.balance() == before - job.cost_credits  # held
    assert await _project_status(studio, studio.project) in (
        common_pb2.PROJECT_STATUS_QUEUED,
        common_pb2.PROJECT_STATUS_GENERATING,
        common_pb2.PROJECT_STATUS_COMPLETED,
    )
    done = await studio.wait_for(job.name, *ENDED)
    assert done.status == SUCCEEDED, done.error
    assert done.progress == 100
    assert [a.kind for a in done.artifacts] == ["script_breakdown"]
    assert done.result["script_analysis"]["scenes"] >= 1
    assert await _project_status(studio, studio.project) == common_pb2.PROJECT_STATUS_COMPLETED
    assert await studio.balance() == before - job.cost_credits  # captured, not refunded


async def test_creation_is_all_or_nothing_when_credits_are_short(embedded_jobs) -> None:
    studio = await funded_studio(*embedded_jobs, credits=0)
    # Spend the allowance a new account is granted, so the job finds the wallet empty.
    spend = credits_pb2.DeductCreditsRequest(
        user=studio.user, amount=await studio.balance(), reason="spent", request_id="drain"
    )
    await credits_pb2_grpc.CreditsServiceStub(studio.channel).DeductCredits(
        spend, metadata=studio.internal
    )
    error = await error_of(studio.create())
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    status = rpc_status.from_call(error)
    info = error_details_pb2.ErrorInfo()
    assert any(d.Unpack(info) for d in status.details)
    assert info.reason == "INSUFFICIENT_CREDITS"
    assert await _project_status(studio, studio.project) == common_pb2.PROJECT_STATUS_DRAFT
    async with studio.server.app.database.session() as db:
        from sqlalchemy import func, select

        count = await db.scalar(
            select(func.count())
            .select_from(JobRow)
            .where(JobRow.project_id == int(studio.project.split("/")[1]))
        )
    assert count == 0


async def test_a_repeated_request_id_creates_one_job_and_one_hold(studio) -> None:
    before = await studio.balance()
    first = await studio.create(request_id="same-key", diagnostic={"sleep_seconds": 0.2})
    again = await studio.create(request_id="same-key", diagnostic={"sleep_seconds": 0.2})
    assert again.name == first.name
    assert await studio.balance() == before - first.cost_credits


async def test_a_project_must_be_ready_for_a_generation_job(studio) -> None:
    await studio.create(diagnostic={"sleep_seconds": 0.5})
    busy = await error_of(studio.create())
    assert busy.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_an_upload_job_needs_a_finished_project(studio) -> None:
    error = await error_of(studio.create(common_pb2.JOB_TYPE_YOUTUBE_UPLOAD))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_three_watchers_see_every_event_in_order_and_a_reconnect_misses_nothing(
    studio,
) -> None:
    job = await studio.create(diagnostic={"sleep_seconds": 1.0})
    await check_watchers_agree(studio, job.name)


async def test_cancelling_a_running_job_stops_it_within_two_seconds(studio) -> None:
    before = await studio.balance()
    job = await studio.create(diagnostic={"sleep_seconds": 30})
    await studio.wait_for(job.name, RUNNING)
    await asyncio.sleep(0.3)
    started = asyncio.get_running_loop().time()
    await studio.jobs.CancelJob(ai_job_pb2.CancelJobRequest(name=job.name), metadata=studio.auth)
    done = await studio.wait_for(job.name, *ENDED, within=5)
    assert done.status == CANCELLED
    assert asyncio.get_running_loop().time() - started < 2.0
    assert await studio.balance_becomes(before) == before  # the hold came back
    assert await _project_status(studio, studio.project) == common_pb2.PROJECT_STATUS_FAILED
    again = await error_of(
        studio.jobs.CancelJob(ai_job_pb2.CancelJobRequest(name=job.name), metadata=studio.auth)
    )
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_flaky_stage_is_retried_and_a_failed_job_is_retried_reusing_stages(studio) -> None:
    flaky = await studio.create(diagnostic={"flaky_times": 2, "after_stages": True})
    assert (await studio.wait_for(flaky.name, *ENDED)).status == SUCCEEDED

    other = await studio.new_project()
    before = await studio.balance()
    failing = await studio.create(
        project=other, diagnostic={"fail_once_per_chain": True, "after_stages": True}
    )
    failed = await studio.wait_for(failing.name, *ENDED)
    assert failed.status == FAILED
    assert "diagnostic failure" in failed.error
    assert await studio.balance_becomes(before) == before  # released
    retried = (
        await studio.jobs.RetryJob(
            ai_job_pb2.RetryJobRequest(name=failing.name), metadata=studio.auth
        )
    ).job
    assert retried.retry_of == failing.name
    done = await studio.wait_for(retried.name, *ENDED)
    assert done.status == SUCCEEDED, done.error
    events = await studio.watch(retried.name)
    assert any("reused from a previous run" in e.message for e in events)
    assert (
        await studio.balance_becomes(before - retried.cost_credits) == before - retried.cost_credits
    )


async def test_jobs_are_listed_newest_first_and_private(embedded_jobs, studio) -> None:
    first = await studio.create(diagnostic={"sleep_seconds": 0})
    await studio.wait_for(first.name, *ENDED)
    second = await studio.create(
        project=await studio.new_project(), diagnostic={"sleep_seconds": 0}
    )
    page = await studio.jobs.ListJobs(ai_job_pb2.ListJobsRequest(page_size=1), metadata=studio.auth)
    assert [j.name for j in page.jobs] == [second.name]
    rest = await studio.jobs.ListJobs(
        ai_job_pb2.ListJobsRequest(page_size=1, page_token=page.next_page_token),
        metadata=studio.auth,
    )
    assert [j.name for j in rest.jobs] == [first.name]
    stranger = await funded_studio(*embedded_jobs)
    hidden = await error_of(stranger.get(first.name))
    assert hidden.code() == grpc.StatusCode.NOT_FOUND
    watch = await error_of(stranger.watch(first.name))
    assert watch.code() == grpc.StatusCode.NOT_FOUND


async def test_a_subtitle_job_chains_analysis_voice_and_subtitles(studio) -> None:
    job = await studio.create(common_pb2.JOB_TYPE_SUBTITLE_GENERATION)
    done = await studio.wait_for(job.name, *ENDED, within=120)
    assert done.status == SUCCEEDED, done.error
    kinds = {artifact.kind for artifact in done.artifacts}
    assert kinds == {
        "script_breakdown",
        "dialogue_audio",
        "voice_timings",
        "subtitles_srt",
        "subtitles_vtt",
    }
    events = await studio.watch(job.name)
    stages = [e.stage for e in events if e.status == RUNNING and e.stage]
    order = list(dict.fromkeys(s for s in stages if s != "starting"))
    assert order == ["script_analysis", "voice_synthesis", "subtitle_generation"]
    assert done.result["subtitle_generation"]["events"] >= 1
    # Embedded storage is a local directory: each artifact's download URL is its file.
    srt = next(a for a in done.artifacts if a.kind == "subtitles_srt")
    assert srt.download_url.startswith("file://")
    srt_file = Path(urllib.parse.urlparse(srt.download_url).path)
    assert (await asyncio.to_thread(srt_file.read_text)).startswith("1\n")
