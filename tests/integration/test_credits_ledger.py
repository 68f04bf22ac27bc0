"""CreditsService in-process on SQLite and PostgreSQL: spending order, expiry, holds, history."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from services.common import errors
from services.common.db import Database
from services.common.migrate import migrate
from services.credits.credits_service import CreditsService
from services.user.models import UserRow
from tests.support.database import (
    create_postgres_database,
    drop_postgres_database,
    sqlite_file_url,
)
from tests.support.studio import studio_settings

START = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def ledger_url(request, tmp_path_factory) -> AsyncIterator[str]:
    """A database of each backend private to this module (monthly resets touch every user)."""
    if request.param == "sqlite":
        url = sqlite_file_url(tmp_path_factory.mktemp("ledger"))
        await migrate(url)
        yield url
        return
    url = create_postgres_database()
    try:
        await migrate(url)
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture
async def database(ledger_url: str) -> AsyncIterator[Database]:
    db = Database(ledger_url, pool_size=2)
    yield db
    await db.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def credits(database: Database, tmp_path, clock: Clock) -> CreditsService:
    settings = studio_settings(
        tmp_path,
        CREDITS_MONTHLY_ALLOWANCES={"free": 100, "creator": 1000, "studio": 5000},
        CREDITS_AUTO_MONTHLY=False,
    )
    return CreditsService(database, settings, clock=clock)


async def new_user(database: Database, tier: str = "free", state: str = "active") -> int:
    async with database.session() as db, db.begin():
        row = UserRow(email=f"{uuid.uuid4().hex}@example.com", tier=tier, state=state)
        db.add(row)
        await db.flush()
        return row.id


def key() -> str:
    return uuid.uuid4().hex


async def buy(credits: CreditsService, user_id: int, amount: int) -> None:
    await credits.add_credits(user_id, amount, "purchase", "test", idempotency_key=key())


async def test_a_deduction_draws_monthly_credits_before_purchased_ones(credits, database) -> None:
    user = await new_user(database)
    await credits.reset_monthly_credits(user_id=user)
    await buy(credits, user, 50)

    result = await credits.deduct_credits(user, 120, "render", idempotency_key=key())

    assert result["balance"] == 30
    assert (result.credits.monthly, result.credits.purchased) == (0, 30)
    assert result.transaction.amount == -120
    assert result.transaction.balance_after == 30
    assert (await credits.verify_ledger()).clean


async def test_a_deduction_never_overdraws(credits, database) -> None:
    user = await new_user(database)
    await buy(credits, user, 10)

    with pytest.raises(errors.InsufficientCredits) as caught:
        await credits.deduct_credits(user, 11, idempotency_key=key())

    assert caught.value.metadata == {"user": f"users/{user}", "required": "11", "available": "10"}
    assert (await credits.get_user_credits(user)).available == 10


async def test_a_repeated_key_returns_the_first_result_and_other_parameters_are_refused(
    credits, database
) -> None:
    user = await new_user(database)
    await buy(credits, user, 10)
    request = key()

    first = await credits.deduct_credits(user, 4, "a", idempotency_key=request)
    again = await credits.deduct_credits(user, 4, "a", idempotency_key=request)
    with pytest.raises(errors.FailedPrecondition) as caught:
        await credits.deduct_credits(user, 5, "a", idempotency_key=request)

    assert again.transaction == first.transaction
    assert again.replayed
    assert not first.replayed
    assert again.balance == 6
    assert caught.value.reason == "IDEMPOTENCY_KEY_REUSED"


async def test_monthly_credits_lapse_at_the_end_of_their_month_and_purchased_ones_stay(
    credits, database, clock
) -> None:
    user = await new_user(database)
    await credits.reset_monthly_credits(user_id=user)
    await buy(credits, user, 7)
    before = await credits.get_user_credits(user)
    assert before.monthly_expires_at == datetime(2030, 2, 1, tzinfo=UTC)

    clock.now = datetime(2030, 2, 1, tzinfo=UTC)
    after = await credits.get_user_credits(user)

    assert (before.available, after.available) == (107, 7)
    history, _ = await credits.get_transaction_history(user, kind="expiry")
    assert [t.amount for t in history] == [-100]
    assert (await credits.verify_ledger()).clean


async def test_the_monthly_reset_is_idempotent_per_user_and_period_and_follows_the_tier(
    credits, database, clock
) -> None:
    free, creator = await new_user(database), await new_user(database, "creator")

    first = await credits.reset_monthly_credits(user_id=creator)
    again = await credits.reset_monthly_credits(user_id=creator)
    everyone = await credits.reset_monthly_credits()
    clock.advance(days=20)  # February
    february = await credits.reset_monthly_credits(user_id=free)

    assert (first.granted_users, again.granted_users, again.skipped_users) == (1, 0, 1)
    assert everyone.period == "2030-01"
    assert everyone.granted_users >= 1
    assert february.period == "2030-02"
    assert (await credits.get_user_credits(creator)).available == 0  # January's lapsed
    assert (await credits.get_user_credits(free)).monthly == 100
    with pytest.raises(errors.InvalidArgument):
        await credits.reset_monthly_credits(period="2030-01")


async def test_the_monthly_reset_skips_suspended_accounts(credits, database) -> None:
    suspended = await new_user(database, state="suspended")

    await credits.reset_monthly_credits()

    assert (await credits.get_user_credits(suspended)).available == 0


async def test_expiring_grants_are_spent_after_monthly_credits_and_lapse_on_time(
    credits, database, clock
) -> None:
    user = await new_user(database)
    await credits.reset_monthly_credits(user_id=user)
    soon, later = START + timedelta(days=2), START + timedelta(days=5)
    await credits.add_credits(user, 30, "grant", "promo", idempotency_key=key(), expires_at=later)
    await credits.add_credits(user, 20, "grant", "promo", idempotency_key=key(), expires_at=soon)
    await buy(credits, user, 5)

    await credits.deduct_credits(user, 110, idempotency_key=key())  # 100 monthly + 10 soon
    clock.advance(days=3)
    after_soon = await credits.get_user_credits(user)
    clock.advance(days=3)
    after_later = await credits.get_user_credits(user)

    assert (after_soon.available, after_soon.expiring) == (35, 30)
    assert (after_later.available, after_later.expiring) == (5, 0)
    assert (await credits.verify_ledger()).clean
    with pytest.raises(errors.InvalidArgument):
        await credits.add_credits(user, 1, "purchase", idempotency_key=key(), expires_at=later)


async def test_a_hold_counts_against_the_balance_and_a_partial_capture_returns_the_rest(
    credits, database
) -> None:
    user = await new_user(database)
    await buy(credits, user, 100)

    hold = await credits.reserve_credits(user, 60, idempotency_key=key(), job="jobs/1")
    during = await credits.get_user_credits(user)
    with pytest.raises(errors.InsufficientCredits):
        await credits.deduct_credits(user, 41, idempotency_key=key())
    captured = await credits.capture_reservation(hold.id, 45)
    after = await credits.get_user_credits(user)

    assert (during.available, during.reserved, during.purchased) == (40, 60, 100)
    assert (captured.state, captured.captured_amount) == ("captured", 45)
    assert (after.available, after.reserved) == (55, 0)
    kinds = [t.kind for t in (await credits.get_transaction_history(user))[0]]
    assert kinds == ["release", "capture", "reservation", "purchase"]
    assert (await credits.verify_ledger()).clean


async def test_a_hold_resolves_once_whatever_the_order_of_calls(credits, database) -> None:
    user = await new_user(database)
    await buy(credits, user, 10)
    released = await credits.reserve_credits(user, 4, idempotency_key=key())
    captured = await credits.reserve_credits(user, 4, idempotency_key=key())

    await credits.release_reservation(released.id, "cancelled")
    again = await credits.release_reservation(released.id)
    await credits.capture_reservation(captured.id)
    same = await credits.capture_reservation(captured.id)

    assert again.state == "released"
    assert same.state == "captured"
    for call in (
        credits.capture_reservation(released.id),
        credits.release_reservation(captured.id),
        credits.capture_reservation(captured.id, 3),
    ):
        with pytest.raises(errors.FailedPrecondition):
            await call
    assert (await credits.get_user_credits(user)).available == 6
    with pytest.raises(errors.NotFound):
        await credits.capture_reservation(10**9)


async def test_a_hold_expires_by_itself_lazily_and_by_the_sweep(credits, database, clock) -> None:
    lazy, swept = await new_user(database), await new_user(database)
    for user in (lazy, swept):
        await buy(credits, user, 10)
    first = await credits.reserve_credits(lazy, 10, idempotency_key=key(), ttl_seconds=60)
    await credits.reserve_credits(swept, 10, idempotency_key=key(), ttl_seconds=60)

    clock.advance(seconds=61)
    seen = await credits.get_user_credits(lazy)
    settled = await credits.expire_due()

    assert (seen.available, seen.reserved) == (10, 0)
    assert settled >= 1
    async with database.session() as db:
        states = (await db.execute(text("SELECT state FROM credit_reservations"))).scalars()
        assert "pending" not in set(states)
    with pytest.raises(errors.FailedPrecondition) as caught:
        await credits.capture_reservation(first.id)
    assert caught.value.reason == "RESERVATION_EXPIRED"
    assert (await credits.verify_ledger()).clean


async def test_held_monthly_credits_that_outlive_their_month_lapse_instead_of_returning(
    credits, database, clock
) -> None:
    user = await new_user(database)
    await credits.reset_monthly_credits(user_id=user)
    clock.now = datetime(2030, 1, 31, 20, tzinfo=UTC)
    hold = await credits.reserve_credits(user, 80, idempotency_key=key(), ttl_seconds=86400)

    clock.now = datetime(2030, 2, 1, 1, tzinfo=UTC)
    await credits.capture_reservation(hold.id, 50)

    assert (await credits.get_user_credits(user)).available == 0
    assert (await credits.verify_ledger()).clean


async def test_history_is_newest_first_paginated_and_filtered(credits, database, clock) -> None:
    user = await new_user(database)
    for amount in range(1, 6):
        await buy(credits, user, amount)
        clock.advance(minutes=1)
    await credits.deduct_credits(user, 3, "render", idempotency_key="render-1", job="jobs/9")

    first, token = await credits.get_transaction_history(user, page_size=4)
    rest, last = await credits.get_transaction_history(user, page_size=4, page_token=token)
    deductions, _ = await credits.get_transaction_history(user, kind="deduction")
    window, _ = await credits.get_transaction_history(
        user, start_time=START + timedelta(minutes=1), end_time=START + timedelta(minutes=3)
    )

    assert [t.amount for t in first + rest] == [-3, 5, 4, 3, 2, 1]
    assert last == ""
    assert [(t.request_id, t.job, t.reason) for t in deductions] == [
        ("render-1", "jobs/9", "render")
    ]
    assert [t.amount for t in window] == [3, 2]
    with pytest.raises(errors.InvalidArgument):
        await credits.get_transaction_history(user, kind="deduction", page_token=token)


async def test_verify_reports_a_balance_that_disagrees_with_the_entries(
    credits, database, ledger_url
) -> None:
    user = await new_user(database)
    await buy(credits, user, 10)
    async with database.session() as db, db.begin():
        await db.execute(
            text("UPDATE credit_wallets SET purchased = purchased + 5 WHERE user_id = :u"),
            {"u": user},
        )

    report = await credits.verify_ledger()
    command = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("filmstudio")),
        "ledger",
        "verify",
        env={**os.environ, "DATABASE_URL": ledger_url, "FILMSTUDIO_ENV": "test"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output = (await asyncio.wait_for(command.communicate(), 60))[0].decode()

    assert not report.clean
    assert any(d.user_id == user and d.account == "purchased" for d in report.differences)
    assert command.returncode == 1, output
    assert f"users/{user} purchased is 15, the entries say 10" in output
    async with database.session() as db, db.begin():
        await db.execute(
            text("UPDATE credit_wallets SET purchased = purchased - 5 WHERE user_id = :u"),
            {"u": user},
        )


async def test_unknown_users_are_not_found(credits) -> None:
    with pytest.raises(errors.NotFound):
        await credits.get_user_credits(10**9)
    with pytest.raises(errors.NotFound):
        await credits.deduct_credits(10**9, 1, idempotency_key=key())


async def test_a_service_built_without_settings_takes_the_defaults_not_the_environment(
    database, monkeypatch
) -> None:
    monkeypatch.setenv("CREDITS_HOLD_TTL", "5")
    monkeypatch.setenv("PAYMENT_WEBHOOK_SECRET", "whsec_from_the_environment")
    credits = CreditsService(database)
    user = await new_user(database)
    await buy(credits, user, 10)

    hold = await credits.reserve_credits(user, 1, idempotency_key=key())

    assert hold.expires_at - hold.created_at == timedelta(seconds=3600)
    with pytest.raises(errors.FailedPrecondition) as caught:
        await credits.handle_payment_event(b"{}", "t=1,v1=00")
    assert caught.value.reason == "PAYMENTS_NOT_CONFIGURED"


async def test_with_automatic_allowances_a_new_wallet_gets_its_month_on_first_use(
    database, tmp_path, clock
) -> None:
    settings = studio_settings(
        tmp_path, CREDITS_MONTHLY_ALLOWANCES={"free": 100}, CREDITS_AUTO_MONTHLY=True
    )
    credits = CreditsService(database, settings, clock=clock)
    user = await new_user(database)

    assert (await credits.get_user_credits(user)).monthly == 100, "no wait for the sweep"
    assert (await credits.get_user_credits(user)).monthly == 100, "granted once a month"
    await credits.deduct_credits(user, 30, "render", idempotency_key=key())
    assert (await credits.get_user_credits(user)).available == 70

    another = await new_user(database)
    hold = await credits.reserve_credits(another, 60, idempotency_key=key())
    assert hold.amount == 60, "a first reservation finds the month's allowance there"
