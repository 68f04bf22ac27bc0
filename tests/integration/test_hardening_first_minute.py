"""A newcomer's first minute: a name to be greeted by, credits at once, named resources."""

from __future__ import annotations

import re
import uuid

import pytest
from filmstudio.v1 import (
    ai_job_pb2,
    ai_job_pb2_grpc,
    common_pb2,
    credits_pb2,
    credits_pb2_grpc,
    project_pb2,
    project_pb2_grpc,
    user_pb2,
)

from services.credits.credits_service import CreditsService
from tests.support.jobs import sample_script
from tests.support.studio import TEST_PASSWORD, bearer, running_studio, studio_settings
from tests.support.users import Client

ALLOWANCE = 100


@pytest.fixture(scope="module")
async def studio(tmp_path_factory, postgres_url):
    """A studio whose allowances come from the monthly work only (no grant on first use)."""
    settings = studio_settings(
        tmp_path_factory.mktemp("var"),
        postgres_url,
        CREDITS_MONTHLY_ALLOWANCES={"free": ALLOWANCE},
        CREDITS_AUTO_MONTHLY=False,
    )
    async with running_studio(settings) as live:
        yield live


async def _newcomer(channel, local: str = "newcomer") -> tuple[Client, str, user_pb2.LoginResponse]:
    """Register with email and password only, as the sign-up form asks, and sign in."""
    client = Client(channel)
    address = f"{local}-{uuid.uuid4().hex[:8]}@example.com"
    await client.call(
        "RegisterUser", user_pb2.RegisterUserRequest(email=address, password=TEST_PASSWORD)
    )
    return client, address, await client.login(address)


async def test_a_newcomer_without_a_name_is_greeted_by_the_local_part_of_the_address(
    studio,
) -> None:
    client, address, login = await _newcomer(studio[1], "jane.doe")
    assert login.user.first_name == address.partition("@")[0]
    assert login.user.name.startswith("users/")
    me = await client.call("GetMe", user_pb2.GetMeRequest())
    assert me.user.first_name == login.user.first_name
    # A name given is kept as given.
    named = Client(studio[1])
    other = f"named-{uuid.uuid4().hex[:8]}@example.com"
    await named.register(other)
    assert (await named.login(other)).user.first_name == "Ada"


async def test_a_new_account_has_its_monthly_allowance_at_once(studio) -> None:
    client, _, login = await _newcomer(studio[1])
    stub = credits_pb2_grpc.CreditsServiceStub(studio[1])
    credits = (
        await stub.GetCredits(credits_pb2.GetCreditsRequest(), metadata=client.metadata())
    ).credits
    assert (credits.available, credits.monthly) == (ALLOWANCE, ALLOWANCE)
    assert credits.name == f"{login.user.name}/credits"


async def test_the_monthly_work_does_not_grant_the_first_month_again(studio) -> None:
    server, channel = studio
    client, _, login = await _newcomer(channel)
    await server.app.get(CreditsService).reset_monthly_credits()
    user_id = int(login.user.name.split("/")[1])
    again = await server.app.get(CreditsService).reset_monthly_credits(user_id=user_id)
    assert again.granted_users == 0
    stub = credits_pb2_grpc.CreditsServiceStub(channel)
    history = await stub.ListTransactions(
        credits_pb2.ListTransactionsRequest(), metadata=client.metadata()
    )
    assert [t.amount for t in history.transactions] == [ALLOWANCE]


async def test_a_newcomers_first_job_is_accepted_and_every_answer_names_its_resource(
    studio,
) -> None:
    client, _, login = await _newcomer(studio[1])
    auth = bearer(client.token)
    projects = project_pb2_grpc.ProjectServiceStub(studio[1])
    project = (
        await projects.CreateProject(
            project_pb2.CreateProjectRequest(
                project=project_pb2.Project(title="First", script=sample_script())
            ),
            metadata=auth,
        )
    ).project
    jobs = ai_job_pb2_grpc.AIJobServiceStub(studio[1])
    job = (
        await jobs.CreateJob(
            ai_job_pb2.CreateJobRequest(
                job=ai_job_pb2.Job(
                    project=project.name, job_type=common_pb2.JOB_TYPE_SCRIPT_ANALYSIS
                )
            ),
            metadata=auth,
        )
    ).job
    assert job.status == common_pb2.JOB_STATUS_QUEUED
    assert 0 < job.cost_credits <= ALLOWANCE
    me = await client.call("GetMe", user_pb2.GetMeRequest())
    for name, pattern in (
        (login.user.name, "users/"),
        (me.user.name, "users/"),
        (project.name, "projects/"),
        (job.name, "jobs/"),
    ):
        assert re.fullmatch(rf"{pattern}[1-9][0-9]*", name), name
