"""Prometheus metrics, scraped over HTTP from a real server, gateway and worker.

The embedded shape first: the gRPC server, its in-process workers and the gateway in this
process, whose /metrics shows everything. Then the production shape: an RQ worker process that
serves its own /metrics on METRICS_PORT. Counters are process-wide and other tests in this
process move them too, so each check compares a scrape before with one after.
"""

from __future__ import annotations

import uuid

import grpc
import httpx
import pytest
from filmstudio.v1 import common_pb2, project_pb2, project_pb2_grpc, user_pb2, user_pb2_grpc

from gateway.filmstudio import filmstudio_config
from gateway.server import GatewayServer
from tests.support.jobs import JOB_SETTINGS, funded_studio
from tests.support.metrics import matching, scrape, scrape_until, value
from tests.support.studio import bearer, free_port, running_studio, signed_in, studio_settings
from tests.support.workers import Workers, production_studio, redis_prefix

HANDLED = "grpc_server_handled_total"
LATENCY = "grpc_server_handling_seconds"
ENDED = (common_pb2.JOB_STATUS_SUCCEEDED, common_pb2.JOB_STATUS_FAILED)


def rpc(method: str, code: str, service: str) -> dict[str, str]:
    """Return the labels of one unary RPC's series."""
    return {
        "grpc_type": "unary",
        "grpc_service": f"filmstudio.v1.{service}",
        "grpc_method": method,
        "grpc_code": code,
    }


@pytest.fixture(scope="module")
async def embedded(tmp_path_factory, module_postgres_url):
    """Every service with in-process workers, and the gateway beside it; yield its /metrics.

    On a database of its own: the recovery sweep settles any ended job's unsettled hold, and
    another module's leftover job captured here once counted in this module's credit totals.
    """
    settings = studio_settings(
        tmp_path_factory.mktemp("var"), module_postgres_url, WORKER_CONCURRENCY=1, **JOB_SETTINGS
    )
    async with running_studio(settings, background=True) as (server, channel):
        gateway = GatewayServer(filmstudio_config(settings, settings.grpc_target), port=free_port())
        port = await gateway.start()
        try:
            yield server, channel, f"http://127.0.0.1:{port}"
        finally:
            await gateway.stop()


async def test_rpcs_are_counted_by_method_and_code_with_latency(embedded) -> None:
    server, channel, base = embedded
    token = await signed_in(server, f"metrics-{uuid.uuid4().hex[:8]}@example.com")
    users = user_pb2_grpc.UserServiceStub(channel)
    projects = project_pb2_grpc.ProjectServiceStub(channel)
    me = rpc("GetMe", "OK", "UserService")
    anonymous = rpc("GetProject", "UNAUTHENTICATED", "ProjectService")
    missing = rpc("GetProject", "NOT_FOUND", "ProjectService")
    before = await scrape(f"{base}/metrics")

    for _ in range(3):
        await users.GetMe(user_pb2.GetMeRequest(), metadata=bearer(token))
    request = project_pb2.GetProjectRequest(name="projects/987654321")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await projects.GetProject(request)
    assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await projects.GetProject(request, metadata=bearer(token))
    assert unknown.value.code() is grpc.StatusCode.NOT_FOUND

    after = await scrape(f"{base}/metrics")
    for labels, calls in ((me, 3), (anonymous, 1), (missing, 1)):
        assert value(after, HANDLED, **labels) - value(before, HANDLED, **labels) == calls
        count = f"{LATENCY}_count"
        assert value(after, count, **labels) - value(before, count, **labels) == calls
        assert value(after, f"{LATENCY}_bucket", **labels, le="+Inf") >= calls
        assert value(after, f"{LATENCY}_sum", **labels) > 0
    # A fast call lands in a small bucket, not only in +Inf.
    assert value(after, f"{LATENCY}_bucket", **me, le="1.0") >= 3


async def test_gateway_requests_are_counted_by_route_verb_and_status(embedded) -> None:
    server, _, base = embedded
    token = await signed_in(server, f"metrics-{uuid.uuid4().hex[:8]}@example.com")
    before = await scrape(f"{base}/metrics")
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        assert (await client.get("/v1/users/me", headers=dict(bearer(token)))).status_code == 200
        assert (await client.get("/v1/users/me")).status_code == 401
        assert (await client.get("/v1/no/such/route")).status_code == 404
        assert (await client.get("/v1/projects/42", headers=dict(bearer(token)))).status_code == 404
    after = await scrape(f"{base}/metrics")

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "gateway_http_requests_total"
    for route, status in (
        ("/v1/users/me", "200"),
        ("/v1/users/me", "401"),
        ("unmatched", "404"),  # the path itself never becomes a label
        ("/v1/{name=projects/*}", "404"),
    ):
        labels = {"route": route, "method": "GET", "status": status}
        assert delta(requests, **labels) == 1, labels
        assert delta("gateway_http_request_duration_seconds_count", **labels) == 1, labels
    assert not matching(after, requests, route="/v1/no/such/route")
    # The RPC behind the REST call is counted by the server in the same process.
    me = rpc("GetMe", "OK", "UserService")
    assert delta(HANDLED, **me) == 1


async def test_a_job_records_its_duration_stages_credits_and_queue_depth(embedded) -> None:
    server, channel, base = embedded
    before = await scrape(f"{base}/metrics")
    studio = await funded_studio(server, channel, credits=300)
    funded = await studio.balance()
    job = await studio.create(diagnostic={"sleep_seconds": 0})
    ended = await studio.wait_for(job.name, *ENDED)
    assert ended.status == common_pb2.JOB_STATUS_SUCCEEDED, ended.message
    price = funded - await studio.balance_becomes(funded - job.cost_credits)
    assert price > 0

    done = {"job_type": "script_analysis", "outcome": "succeeded"}
    jobs = "filmstudio_job_duration_seconds_count"
    captured = {"kind": "capture"}
    consumed = "filmstudio_credits_consumed_total"
    # The hold is captured after the job ends (settlement.py): wait for both to be counted.
    after = await scrape_until(
        f"{base}/metrics",
        lambda now: (
            value(now, jobs, **done) > value(before, jobs, **done)
            and value(now, consumed, **captured) > value(before, consumed, **captured)
        ),
    )

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta(jobs, **done) == 1
    assert delta("filmstudio_stage_duration_seconds_count", stage="diagnostic", outcome="ran") == 1
    # The signed-in account's first allowance, the test's grant, and the job's captured hold.
    assert delta("filmstudio_credits_issued_total", kind="monthly_allowance") > 0
    assert delta("filmstudio_credits_issued_total", kind="grant") == 300
    assert delta(consumed, **captured) == price
    depths = matching(after, "filmstudio_queue_depth")
    assert {dict(labels)["queue"] for labels in depths} == {"high", "normal", "low"}
    assert all(depth == 0 for depth in depths.values())


@pytest.fixture(scope="module")
def prefix():
    with redis_prefix("fsmetrics") as name:
        yield name


@pytest.fixture(scope="module")
async def production(tmp_path_factory, private_postgres, prefix):
    """Every service on Redis with no in-process workers, on a database of its own.

    Counts here must be exact. In the shared database the recovery sweep once queued another
    module's stale job for this module's worker, which counted two jobs; and a worker slowed by
    a busy machine must not be taken for lost and run the job twice.
    """
    var, database = tmp_path_factory.mktemp("var"), private_postgres()
    async with production_studio(var, database, prefix, HEARTBEAT_TIMEOUT=60) as studio:
        yield studio


async def test_an_rq_worker_serves_the_durations_its_work_horses_measured(
    production, prefix
) -> None:
    server, channel, _ = production
    studio = await funded_studio(server, channel, credits=300)
    port = free_port()
    workers = Workers(production, prefix, METRICS_PORT=str(port))
    workers.start()
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        queued = await studio.create(diagnostic={"sleep_seconds": 0})
        ended = await studio.wait_for(queued.name, *ENDED)
        assert ended.status == common_pb2.JOB_STATUS_SUCCEEDED, ended.message
        done = {"job_type": "script_analysis", "outcome": "succeeded"}
        jobs = "filmstudio_job_duration_seconds_count"
        # The horse ends after its result is in; its worker records what it measured then.
        samples = await scrape_until(url, lambda now: value(now, jobs, **done) == 1)
    finally:
        workers.stop_all()
    assert value(samples, jobs, **done) == 1
    assert value(samples, "filmstudio_job_duration_seconds_sum", **done) > 0
    stage = {"stage": "diagnostic", "outcome": "ran"}
    assert value(samples, "filmstudio_stage_duration_seconds_count", **stage) == 1
    depths = matching(samples, "filmstudio_queue_depth")
    assert {dict(labels)["queue"] for labels in depths} == {"high", "normal", "low"}
