"""Idempotent job creation under concurrency: one request_id, one job, one hold, every caller."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from filmstudio.v1 import ai_job_pb2, credits_pb2, credits_pb2_grpc

from tests.support.jobs import JOB_SETTINGS, funded_studio
from tests.support.studio import running_studio, studio_settings

CALLS = 250


@pytest.fixture(scope="module")
async def studio(tmp_path_factory, postgres_url):
    settings = studio_settings(
        tmp_path_factory.mktemp("var"),
        postgres_url,
        WORKER_CONCURRENCY=0,
        # 250 job creations at once by one user is a burst no rate limit should let through;
        # here it tests idempotency, so the expensive class's bucket is made big enough.
        RATE_LIMITS={"expensive": {"burst": 1000}},
        **JOB_SETTINGS,
    )
    async with running_studio(settings) as (server, channel):
        yield await funded_studio(server, channel, credits=5000)


async def _ledger(studio) -> list[credits_pb2.Transaction]:
    stub = credits_pb2_grpc.CreditsServiceStub(studio.channel)
    request = credits_pb2.ListTransactionsRequest(parent=studio.user, page_size=100)
    return list((await stub.ListTransactions(request, metadata=studio.auth)).transactions)


async def test_concurrent_identical_create_job_calls_all_get_the_one_job(studio) -> None:
    project = await studio.new_project("Concurrent")
    before = len(await _ledger(studio))

    async def create() -> ai_job_pb2.Job | grpc.aio.AioRpcError:
        try:
            return await studio.create(
                project=project, request_id="same-key", diagnostic={"sleep_seconds": 0}
            )
        except grpc.aio.AioRpcError as error:
            return error

    outcomes = await asyncio.gather(*(create() for _ in range(CALLS)))
    failures = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert failures == [], {(f.code(), f.details()) for f in failures}
    assert len({job.name for job in outcomes}) == 1
    listed = await studio.jobs.ListJobs(
        ai_job_pb2.ListJobsRequest(project=project), metadata=studio.auth
    )
    assert [job.name for job in listed.jobs] == [outcomes[0].name]
    # One hold and nothing else: no reservation-and-release pairs from the calls that lost.
    after = await _ledger(studio)  # newest first
    entries = after[: len(after) - before]
    assert [entry.kind for entry in entries] == [credits_pb2.TRANSACTION_KIND_RESERVATION]


async def test_a_reused_request_id_names_the_callers_key_only(studio) -> None:
    project = await studio.new_project("Reused")
    await studio.create(project=project, request_id="reused", diagnostic={"sleep_seconds": 0})
    other = await studio.new_project("Other")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await studio.create(project=other, request_id="reused", diagnostic={"sleep_seconds": 0})
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "'reused'" in caught.value.details()
    assert "job-hold" not in caught.value.details()
