"""The ledger under concurrent calls over real gRPC on PostgreSQL: no overdraft, exactly once."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import grpc
import pytest
from filmstudio.v1 import credits_pb2, credits_pb2_grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import func, select

from services.credits.credits_service import CreditsService
from services.credits.models import TransactionRow
from services.user.models import UserRow
from tests.support.studio import bearer, running_studio, studio_settings

pytestmark = pytest.mark.postgres
FILMSTUDIO = str(Path(sys.executable).with_name("filmstudio"))


class Ledger:
    """A CreditsService stub that calls as the jobs service."""

    def __init__(self, live: Any) -> None:
        self.server, channel = live
        self.stub = credits_pb2_grpc.CreditsServiceStub(channel)
        self.auth = bearer(self.server.app.tokens.issue_service_token("jobs"))

    async def call(self, method: str, request: Any) -> Any:
        return await getattr(self.stub, method)(request, metadata=self.auth, timeout=60)

    async def outcome(self, method: str, request: Any) -> Any:
        """Return the response, or the error's (code, ErrorInfo reason)."""
        try:
            return await self.call(method, request)
        except grpc.aio.AioRpcError as error:
            return error.code(), reason_of(error)

    async def new_user(self, purchased: int = 0) -> str:
        async with self.server.app.database.session() as db, db.begin():
            row = UserRow(email=f"{uuid.uuid4().hex}@example.com")
            db.add(row)
            await db.flush()
            user = f"users/{row.id}"
        if purchased:
            request = credits_pb2.AddCreditsRequest(
                user=user,
                amount=purchased,
                kind=credits_pb2.TRANSACTION_KIND_PURCHASE,
                request_id=uuid.uuid4().hex,
            )
            await self.call("AddCredits", request)
        return user

    async def credits(self, user: str) -> Any:
        request = credits_pb2.GetCreditsRequest(name=f"{user}/credits")
        return (await self.call("GetCredits", request)).credits

    async def verify(self) -> None:
        report = await self.server.app.get(CreditsService).verify_ledger()
        assert report.clean, report.differences


def reason_of(error: grpc.aio.AioRpcError) -> str:
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    return ""


def deduct(user: str, amount: int = 1, request_id: str = "") -> Any:
    return credits_pb2.DeductCreditsRequest(
        user=user, amount=amount, reason="render", request_id=request_id or uuid.uuid4().hex
    )


def reserve(user: str, amount: int, request_id: str = "", ttl: int = 3600) -> Any:
    return credits_pb2.ReserveCreditsRequest(
        user=user,
        amount=amount,
        job=f"jobs/{uuid.uuid4().int % 10**9}",
        ttl_seconds=ttl,
        request_id=request_id or uuid.uuid4().hex,
    )


@pytest.fixture(scope="module")
async def studio(tmp_path_factory, postgres_url):
    """A server whose background sweep grants no allowances (it would top up these users)."""
    settings = studio_settings(
        tmp_path_factory.mktemp("var"), postgres_url, CREDITS_AUTO_MONTHLY=False
    )
    async with running_studio(settings) as live:
        yield live


@pytest.fixture(scope="module")
def ledger(studio) -> Ledger:
    return Ledger(studio)


async def test_200_concurrent_deductions_of_one_credit_from_100_succeed_exactly_100_times(
    ledger, postgres_url
) -> None:
    user = await ledger.new_user(purchased=100)

    results = await asyncio.gather(
        *(ledger.outcome("DeductCredits", deduct(user)) for _ in range(200))
    )

    succeeded = [r for r in results if isinstance(r, credits_pb2.DeductCreditsResponse)]
    failed = Counter(r for r in results if isinstance(r, tuple))
    assert len(succeeded) == 100
    assert failed == {(grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_CREDITS"): 100}
    assert sorted(r.transaction.balance_after for r in succeeded) == list(range(100))
    balance = await ledger.credits(user)
    assert (balance.available, balance.reserved, balance.purchased) == (0, 0, 0)
    verify = await asyncio.create_subprocess_exec(
        FILMSTUDIO,
        "ledger",
        "verify",
        env={**os.environ, "DATABASE_URL": postgres_url, "FILMSTUDIO_ENV": "test"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output = (await asyncio.wait_for(verify.communicate(), 60))[0].decode()
    assert verify.returncode == 0, output
    assert "0 differences" in output


async def test_racing_holds_and_deductions_never_overdraw(ledger) -> None:
    user = await ledger.new_user(purchased=100)
    calls = [ledger.outcome("ReserveCredits", reserve(user, 5)) for _ in range(40)]
    calls += [ledger.outcome("DeductCredits", deduct(user)) for _ in range(30)]

    results = await asyncio.gather(*calls)

    holds = [r.reservation for r in results if isinstance(r, credits_pb2.ReserveCreditsResponse)]
    deducted = sum(isinstance(r, credits_pb2.DeductCreditsResponse) for r in results)
    refusals = {r for r in results if isinstance(r, tuple)}
    assert refusals <= {(grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_CREDITS")}
    assert 5 * len(holds) + deducted <= 100
    balance = await ledger.credits(user)
    assert balance.reserved == 5 * len(holds)
    assert balance.available == 100 - 5 * len(holds) - deducted
    await ledger.verify()


async def test_each_hold_resolves_exactly_once_under_racing_captures_and_releases(ledger) -> None:
    user = await ledger.new_user(purchased=100)
    holds = [(await ledger.call("ReserveCredits", reserve(user, 5))).reservation for _ in range(10)]

    def race(name: str) -> list[Any]:
        return [
            ledger.outcome("CaptureReservation", credits_pb2.CaptureReservationRequest(name=name)),
            ledger.outcome(
                "CaptureReservation", credits_pb2.CaptureReservationRequest(name=name, amount=2)
            ),
            ledger.outcome("ReleaseReservation", credits_pb2.ReleaseReservationRequest(name=name)),
        ] * 3

    results = await asyncio.gather(*(call for hold in holds for call in race(hold.name)))

    refusals = {r for r in results if isinstance(r, tuple)}
    assert {code for code, _ in refusals} <= {grpc.StatusCode.FAILED_PRECONDITION}
    final = {}
    for response in results:
        if not isinstance(response, tuple):
            reservation = response.reservation
            previous = final.setdefault(reservation.name, reservation)
            assert (previous.state, previous.captured_amount) == (
                reservation.state,
                reservation.captured_amount,
            ), "every successful call saw the one resolution"
    assert len(final) == len(holds)
    captured = sum(r.captured_amount for r in final.values())
    balance = await ledger.credits(user)
    assert (balance.available, balance.reserved) == (100 - captured, 0)
    async with ledger.server.app.database.session() as db:
        per_hold = await db.execute(
            select(TransactionRow.reservation_id, TransactionRow.kind, func.count())
            .where(TransactionRow.user_id == int(user.split("/")[1]))
            .where(TransactionRow.reservation_id.is_not(None))
            .group_by(TransactionRow.reservation_id, TransactionRow.kind)
        )
        assert {count for _, _, count in per_hold} == {1}
    await ledger.verify()


async def test_replayed_keys_apply_once_and_return_the_first_result(ledger) -> None:
    user = await ledger.new_user(purchased=100)
    spend = deduct(user, 3)
    hold = reserve(user, 4)
    add = credits_pb2.AddCreditsRequest(
        user=user, amount=7, kind=credits_pb2.TRANSACTION_KIND_GRANT, request_id=uuid.uuid4().hex
    )

    deductions, holds, additions = await asyncio.gather(
        asyncio.gather(*(ledger.call("DeductCredits", spend) for _ in range(30))),
        asyncio.gather(*(ledger.call("ReserveCredits", hold) for _ in range(30))),
        asyncio.gather(*(ledger.call("AddCredits", add) for _ in range(30))),
    )

    assert len({r.transaction.name for r in deductions}) == 1
    assert len({r.reservation.name for r in holds}) == 1
    assert len({r.transaction.name for r in additions}) == 1
    balance = await ledger.credits(user)
    assert (balance.available, balance.reserved) == (100 - 3 - 4 + 7, 4)
    for method, request in (
        ("DeductCredits", deduct(user, 4, spend.request_id)),
        ("ReserveCredits", reserve(user, 5, hold.request_id)),
        ("DeductCredits", deduct(await ledger.new_user(10), 3, spend.request_id)),
    ):
        refused = await ledger.outcome(method, request)
        assert refused == (grpc.StatusCode.FAILED_PRECONDITION, "IDEMPOTENCY_KEY_REUSED")
    await ledger.verify()


async def test_an_expired_hold_racing_capture_release_and_the_sweep_resolves_once(ledger) -> None:
    user = await ledger.new_user(purchased=10)
    hold = (await ledger.call("ReserveCredits", reserve(user, 6, ttl=1))).reservation
    await asyncio.sleep(1.1)
    service = ledger.server.app.get(CreditsService)

    capture, release, _ = await asyncio.gather(
        ledger.outcome("CaptureReservation", credits_pb2.CaptureReservationRequest(name=hold.name)),
        ledger.outcome("ReleaseReservation", credits_pb2.ReleaseReservationRequest(name=hold.name)),
        service.expire_due(),
    )

    assert capture == (grpc.StatusCode.FAILED_PRECONDITION, "RESERVATION_EXPIRED")
    assert release.reservation.state == credits_pb2.RESERVATION_STATE_EXPIRED
    balance = await ledger.credits(user)
    assert (balance.available, balance.reserved) == (10, 0)
    await ledger.verify()
