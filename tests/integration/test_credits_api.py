"""CreditsService over real gRPC as users, admins and services see it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from filmstudio.v1 import credits_pb2, credits_pb2_grpc
from google.protobuf import timestamp_pb2

from services.user.user_service import UserService
from tests.support.studio import TEST_PASSWORD, bearer, running_studio, studio_settings


@pytest.fixture(scope="module")
async def studio(tmp_path_factory, postgres_url):
    settings = studio_settings(
        tmp_path_factory.mktemp("var"),
        postgres_url,
        CREDITS_MONTHLY_ALLOWANCES={"free": 25},
        CREDITS_AUTO_MONTHLY=False,
    )
    async with running_studio(settings) as live:
        yield live


class Caller:
    """One caller's stub and credentials."""

    def __init__(self, channel: grpc.aio.Channel, token: str) -> None:
        self.stub = credits_pb2_grpc.CreditsServiceStub(channel)
        self.auth = bearer(token)

    async def __call__(self, method: str, request: Any) -> Any:
        return await getattr(self.stub, method)(request, metadata=self.auth)

    async def code(self, method: str, request: Any) -> grpc.StatusCode:
        try:
            await self(method, request)
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK


@pytest.fixture(scope="module")
async def people(studio) -> dict[str, Any]:
    server, channel = studio
    app = server.app
    # No new-account work: these wallets start empty, so the tests can count every credit.
    users = UserService(app.database, settings=app.settings, codec=app.tokens, outbox=app.outbox)
    found = {}
    for role in ("alice", "bob", "admin"):
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        await users.register_user(email=email, password=TEST_PASSWORD, first_name="Test")
        if role == "admin":
            await users.set_role(email, "admin")
        token = (await users.login(email=email, password=TEST_PASSWORD)).access_token
        user = await users.get_user_by_email(email)
        found[role] = Caller(channel, token)
        found[f"{role}_name"] = f"users/{user.id}"
    found["jobs"] = Caller(channel, server.app.tokens.issue_service_token("jobs"))
    return found


def add(user: str, amount: int, **extra: Any) -> Any:
    return credits_pb2.AddCreditsRequest(
        user=user,
        amount=amount,
        kind=extra.pop("kind", credits_pb2.TRANSACTION_KIND_PURCHASE),
        request_id=uuid.uuid4().hex,
        **extra,
    )


async def test_users_read_their_own_credits_and_nobody_elses(people) -> None:
    alice, bob, admin = people["alice"], people["bob"], people["admin"]
    await people["jobs"]("AddCredits", add(people["alice_name"], 40))

    mine = await alice("GetCredits", credits_pb2.GetCreditsRequest(name="users/me/credits"))
    by_admin = await admin(
        "GetCredits", credits_pb2.GetCreditsRequest(name=f"{people['alice_name']}/credits")
    )
    snooping = credits_pb2.GetCreditsRequest(name=f"{people['alice_name']}/credits")

    assert mine.credits.name == f"{people['alice_name']}/credits"
    assert (mine.credits.available, mine.credits.purchased, mine.credits.tier) == (40, 40, "free")
    assert by_admin.credits == mine.credits
    assert await bob.code("GetCredits", snooping) == grpc.StatusCode.NOT_FOUND
    history = credits_pb2.ListTransactionsRequest(parent=people["alice_name"])
    assert await bob.code("ListTransactions", history) == grpc.StatusCode.NOT_FOUND


async def test_a_user_checks_whether_they_can_spend_an_amount(people) -> None:
    alice = people["alice"]
    enough = credits_pb2.CheckSufficientCreditsRequest(name="users/me/credits", amount=1)
    too_much = credits_pb2.CheckSufficientCreditsRequest(name="users/me/credits", amount=10**6)

    yes, no = (
        await alice("CheckSufficientCredits", enough),
        await alice("CheckSufficientCredits", too_much),
    )

    assert (yes.sufficient, yes.shortfall) == (True, 0)
    assert (no.sufficient, no.shortfall) == (False, 10**6 - no.available)


async def test_history_pages_newest_first_with_kind_and_time_filters(people) -> None:
    bob, jobs, name = people["bob"], people["jobs"], people["bob_name"]
    for amount in (1, 2, 3):
        await jobs("AddCredits", add(name, amount))
    await jobs(
        "DeductCredits",
        credits_pb2.DeductCreditsRequest(
            user=name, amount=2, reason="render", request_id="r-1", job="jobs/7"
        ),
    )
    start = timestamp_pb2.Timestamp()
    start.FromDatetime(datetime.now(UTC) - timedelta(minutes=5))

    first = await bob("ListTransactions", credits_pb2.ListTransactionsRequest(page_size=3))
    rest = await bob(
        "ListTransactions",
        credits_pb2.ListTransactionsRequest(page_size=3, page_token=first.next_page_token),
    )
    spent = await bob(
        "ListTransactions",
        credits_pb2.ListTransactionsRequest(
            kind=credits_pb2.TRANSACTION_KIND_DEDUCTION, start_time=start
        ),
    )

    assert [t.amount for t in first.transactions] == [-2, 3, 2]
    assert [t.amount for t in rest.transactions] == [1]
    assert rest.next_page_token == ""
    [deduction] = spent.transactions
    assert deduction.name.startswith(f"{name}/creditTransactions/")
    assert (deduction.reason, deduction.actor, deduction.request_id, deduction.job) == (
        "render",
        "services/jobs",
        "r-1",
        "jobs/7",
    )
    assert deduction.balance_after == 4


async def test_holds_over_grpc_carry_their_job_and_resolve_once(people) -> None:
    jobs, name = people["jobs"], people["alice_name"]
    request = credits_pb2.ReserveCreditsRequest(
        user=name, amount=10, job="jobs/42", ttl_seconds=60, request_id=uuid.uuid4().hex
    )

    hold = (await jobs("ReserveCredits", request)).reservation
    captured = await jobs(
        "CaptureReservation", credits_pb2.CaptureReservationRequest(name=hold.name, amount=4)
    )
    late = credits_pb2.ReleaseReservationRequest(name=hold.name, reason="job cancelled")

    assert (hold.user, hold.job, hold.state) == (
        name,
        "jobs/42",
        credits_pb2.RESERVATION_STATE_PENDING,
    )
    assert hold.expire_time.ToSeconds() - hold.create_time.ToSeconds() == 60
    assert captured.reservation.state == credits_pb2.RESERVATION_STATE_CAPTURED
    assert captured.reservation.captured_amount == 4
    assert captured.reservation.HasField("resolve_time")
    assert await jobs.code("ReleaseReservation", late) == grpc.StatusCode.FAILED_PRECONDITION


async def test_grants_may_expire_and_purchases_may_not(people) -> None:
    jobs, name = people["jobs"], people["bob_name"]
    later = timestamp_pb2.Timestamp()
    later.FromDatetime(datetime.now(UTC) + timedelta(days=1))
    grant = add(name, 5, kind=credits_pb2.TRANSACTION_KIND_GRANT, expire_time=later)

    response = await jobs("AddCredits", grant)
    refused = add(name, 5, expire_time=later)

    assert response.transaction.kind == credits_pb2.TRANSACTION_KIND_GRANT
    assert await jobs.code("AddCredits", refused) == grpc.StatusCode.INVALID_ARGUMENT


async def test_the_monthly_reset_grants_one_user_once_per_period(people) -> None:
    jobs, name = people["jobs"], people["alice_name"]
    request = credits_pb2.ResetMonthlyCreditsRequest(user=name)

    first, again = (
        await jobs("ResetMonthlyCredits", request),
        await jobs("ResetMonthlyCredits", request),
    )
    credits = await people["alice"]("GetCredits", credits_pb2.GetCreditsRequest())

    assert (first.granted_users, again.granted_users, again.skipped_users) == (1, 0, 1)
    assert first.period == datetime.now(UTC).strftime("%Y-%m")
    assert credits.credits.monthly == 25
    assert credits.credits.HasField("monthly_expire_time")


@pytest.mark.parametrize(
    ("method", "request_"),
    [
        ("DeductCredits", credits_pb2.DeductCreditsRequest(user="users/1", amount=0)),
        ("DeductCredits", credits_pb2.DeductCreditsRequest(user="users/1", amount=1)),
        ("DeductCredits", credits_pb2.DeductCreditsRequest(user="me", amount=1, request_id="k")),
        ("AddCredits", credits_pb2.AddCreditsRequest(user="users/1", amount=1, request_id="k")),
        ("CaptureReservation", credits_pb2.CaptureReservationRequest(name="holds/1")),
        ("ReserveCredits", credits_pb2.ReserveCreditsRequest(user="users/1", amount=1)),
        ("ResetMonthlyCredits", credits_pb2.ResetMonthlyCreditsRequest(period="1999-01")),
    ],
    ids=["zero", "no-key", "services-must-name-users", "no-kind", "bad-name", "hold-no-key", "old"],
)
async def test_malformed_requests_are_invalid_arguments(people, method, request_) -> None:
    assert await people["jobs"].code(method, request_) == grpc.StatusCode.INVALID_ARGUMENT


async def test_holds_and_users_that_do_not_exist_are_not_found(people) -> None:
    jobs = people["jobs"]
    missing = credits_pb2.ReleaseReservationRequest(name="reservations/999999999")
    nobody = credits_pb2.GetCreditsRequest(name="users/999999999/credits")
    assert await jobs.code("ReleaseReservation", missing) == grpc.StatusCode.NOT_FOUND
    assert await jobs.code("GetCredits", nobody) == grpc.StatusCode.NOT_FOUND
