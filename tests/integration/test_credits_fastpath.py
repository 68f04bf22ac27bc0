"""The one-statement deduction agrees with the general path, and is taken where it should be.

The same calls run for two users on PostgreSQL: one through a CreditsService whose deductions
may take `fastpath`, one through a CreditsService kept on the general path. Every outcome, the
wallets, and the ledger (transactions, their entries, holds, lots) must come out the same; a
witness around the fast path records, deduction by deduction, whether it answered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from services.common import errors
from services.common.config import explicit_settings
from services.common.db import Database
from services.common.migrate import migrate
from services.credits.checks import MAX_AMOUNT
from services.credits.credits_service import CreditsService
from services.credits.fastpath import FastPath
from services.credits.ledger import Meta, covers, covers_sql
from services.credits.models import (
    EntryRow,
    LotRow,
    ReservationRow,
    TransactionRow,
    WalletRow,
)
from services.credits.records import LedgerResult, Reservation
from services.user.models import UserRow

START = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Witness:
    """The real fast path, recording whether each deduction it was offered was taken."""

    def __init__(self, fast: FastPath) -> None:
        self.fast = fast
        self.taken: list[bool] = []

    async def deduct(
        self, user_id: int, amount: int, now: datetime, meta: Meta
    ) -> tuple[Any, Any] | None:
        result = await self.fast.deduct(user_id, amount, now, meta)
        self.taken.append(result is not None)
        return result


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[Database]:
    await migrate(postgres_url)
    db = Database(postgres_url, pool_size=2)
    yield db
    await db.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


def settings() -> Any:
    return explicit_settings(
        FILMSTUDIO_ENV="test",
        JWT_SECRET="test-secret-" + "0123456789abcdef" * 3,
        CREDITS_MONTHLY_ALLOWANCES={"free": 100},
    )


async def new_user(database: Database) -> int:
    async with database.session() as db, db.begin():
        row = UserRow(email=f"{uuid.uuid4().hex}@example.com", tier="free", state="active")
        db.add(row)
        await db.flush()
        return row.id


def shape(outcome: object, prefix: str) -> object:
    """Return an outcome without what differs between the two users (ids, key prefixes)."""
    if isinstance(outcome, LedgerResult):
        transaction = dataclasses.replace(
            outcome.transaction,
            id=0,
            user_id=0,
            request_id=outcome.transaction.request_id.removeprefix(prefix),
            reservation_id=None,
        )
        credits = dataclasses.replace(outcome.credits, user_id=0)
        return ("result", transaction, credits, outcome.balance, outcome.replayed)
    if isinstance(outcome, Reservation):
        return ("hold", dataclasses.replace(outcome, id=0, user_id=0))
    if isinstance(outcome, errors.DomainError):
        metadata = {k: v.removeprefix(prefix) for k, v in outcome.metadata.items() if k != "user"}
        return (type(outcome).__name__, outcome.reason, metadata)
    return outcome


async def ledger_of(database: Database, user_id: int, prefix: str) -> dict[str, object]:
    """Return everything the ledger holds for a user, in order, without ids."""
    async with database.reader() as db:
        wallet = (await db.execute(select(WalletRow).where(WalletRow.user_id == user_id))).one()[0]
        transactions = list(
            await db.scalars(
                select(TransactionRow)
                .where(TransactionRow.user_id == user_id)
                .order_by(TransactionRow.id)
            )
        )
        entries: dict[int, list[tuple[str, str, int]]] = {t.id: [] for t in transactions}
        for entry in await db.scalars(select(EntryRow).where(EntryRow.user_id == user_id)):
            entries[entry.transaction_id].append((entry.debit, entry.credit, entry.amount))
        holds = list(
            await db.scalars(
                select(ReservationRow)
                .where(ReservationRow.user_id == user_id)
                .order_by(ReservationRow.id)
            )
        )
        lots = list(
            await db.scalars(select(LotRow).where(LotRow.user_id == user_id).order_by(LotRow.id))
        )
    return {
        "wallet": [
            getattr(wallet, name)
            for name in (
                "monthly",
                "bonus",
                "purchased",
                "held_monthly",
                "held_bonus",
                "held_purchased",
                "monthly_period",
                "monthly_expires_at",
            )
        ],
        "transactions": [
            (
                t.kind,
                t.amount,
                t.balance_after,
                t.reason,
                t.actor,
                t.request_id.removeprefix(prefix),
                t.fingerprint != "",
                t.job,
                t.reservation_id is not None,
                t.created_at,
                sorted(entries[t.id]),
            )
            for t in transactions
        ],
        "holds": [
            (
                h.amount,
                h.captured_amount,
                h.state,
                h.job,
                h.from_monthly,
                h.from_bonus,
                h.from_purchased,
                h.period,
                h.reason,
                h.created_at,
                h.expires_at,
                h.resolved_at,
            )
            for h in holds
        ],
        "lots": [(lot.amount, lot.remaining, lot.expires_at) for lot in lots],
    }


Step = Callable[[CreditsService, int, str], Awaitable[object]]


def deduct(amount: int, key: str, reason: str = "render", job: str = "") -> Step:
    async def step(credits: CreditsService, user: int, prefix: str) -> object:
        return await credits.deduct_credits(
            user, amount, reason, idempotency_key=prefix + key, job=job
        )

    return step


def buy(amount: int, key: str) -> Step:
    async def step(credits: CreditsService, user: int, prefix: str) -> object:
        return await credits.add_credits(user, amount, "purchase", idempotency_key=prefix + key)

    return step


def grant(amount: int, key: str, expires_at: datetime) -> Step:
    async def step(credits: CreditsService, user: int, prefix: str) -> object:
        return await credits.add_credits(
            user, amount, "grant", "promo", idempotency_key=prefix + key, expires_at=expires_at
        )

    return step


def allowance() -> Step:
    async def step(credits: CreditsService, user: int, prefix: str) -> object:
        return await credits.reset_monthly_credits(user_id=user)

    return step


def hold_then(amount: int, key: str, capture: int | None) -> Step:
    """Reserve, then capture `capture` (None: release) of the hold."""

    async def step(credits: CreditsService, user: int, prefix: str) -> object:
        hold = await credits.reserve_credits(
            user, amount, idempotency_key=prefix + key, job="jobs/7"
        )
        if capture is None:
            return await credits.release_reservation(hold.id, "cancelled")
        return await credits.capture_reservation(hold.id, capture)

    return step


@dataclasses.dataclass(frozen=True)
class At:
    """Set the clock of both services."""

    moment: datetime


def at(moment: datetime) -> At:
    return At(moment)


# (what to do, whether the fast path must answer it: True, False, or None when no deduction)
SCRIPT: list[tuple[Step | At, bool | None]] = [
    (buy(80, "b1"), None),
    (allowance(), None),
    (deduct(30, "d1"), True),  # monthly only
    (deduct(100, "d2", job="jobs/1"), True),  # the rest of monthly, then purchased
    (deduct(20, "d3"), True),  # purchased only
    (deduct(100, "d2", job="jobs/1"), False),  # a replay: the general path finds the key
    (deduct(31, "d4"), False),  # one short: refused
    (deduct(31, "d4"), False),  # the refusal again (nothing was booked under the key)
    (deduct(99, "d2"), False),  # the key with other parameters: refused
    (hold_then(10, "h1", 6), None),
    (hold_then(5, "h2", None), None),
    (deduct(24, "d5"), True),  # exactly the balance
    (deduct(1, "d6"), False),  # nothing left
    (buy(40, "b2"), None),
    (grant(10, "g1", START + timedelta(days=3)), None),
    (deduct(5, "d7"), False),  # expiring grants are drawn in order: the general path
    (at(START + timedelta(days=4)), None),  # the grant's remainder lapses
    (deduct(5, "d8"), False),  # the lapse is booked first, on the general path
    (deduct(5, "d9"), True),
    (hold_then(20, "h3", None), None),
    (buy(MAX_AMOUNT, "b3"), None),
    (deduct(MAX_AMOUNT, "d10"), True),  # huge, and not more than there is
    (at(datetime(2030, 2, 1, 0, 30, tzinfo=UTC)), None),
    (allowance(), None),
    (deduct(50, "d11"), True),
    (at(datetime(2030, 3, 1, 0, 30, tzinfo=UTC)), None),
    (deduct(1, "d12"), False),  # February's allowance lapsed: the general path books it
    (deduct(1, "d13"), True),
]


async def test_the_fast_path_and_the_general_path_leave_the_same_ledger(database, clock) -> None:
    fast = CreditsService(database, settings(), clock=clock)
    general = CreditsService(database, settings(), clock=clock, fast_path=False)
    assert fast.fast is not None
    assert general.fast is None
    witness = Witness(fast.fast)
    fast.fast = witness
    users = {"fast": await new_user(database), "general": await new_user(database)}
    prefixes = {name: f"{name}-{uuid.uuid4().hex[:8]}-" for name in users}

    for number, (action, expected_fast) in enumerate(SCRIPT):
        if isinstance(action, At):
            clock.now = action.moment
            continue
        outcomes = {}
        for name, service in (("fast", fast), ("general", general)):
            before = len(witness.taken)
            try:
                outcome: object = await action(service, users[name], prefixes[name])
            except errors.DomainError as error:
                outcome = error
            outcomes[name] = shape(outcome, prefixes[name])
            if name == "fast" and expected_fast is not None:
                assert witness.taken[before:] == [expected_fast], f"step {number}"
        assert outcomes["fast"] == outcomes["general"], f"step {number}"
        fast_ledger = await ledger_of(database, users["fast"], prefixes["fast"])
        general_ledger = await ledger_of(database, users["general"], prefixes["general"])
        assert fast_ledger == general_ledger, f"step {number}"

    assert witness.taken.count(True) == sum(1 for _, taken in SCRIPT if taken)
    assert (await fast.verify_ledger()).clean


async def test_the_fast_path_answers_exactly_the_deductions_it_is_built_for(
    database, clock
) -> None:
    credits = CreditsService(database, settings(), clock=clock)
    fast = credits.fast
    assert fast is not None

    def meta(key: str) -> Meta:
        return Meta(actor="services/test", request_id=key, idem_key=f"deduct:{key}")

    fresh = await new_user(database)  # no wallet row yet
    assert await fast.deduct(fresh, 1, clock(), meta(uuid.uuid4().hex)) is None

    user = await new_user(database)
    await credits.add_credits(user, 10, "purchase", idempotency_key=uuid.uuid4().hex)
    key = uuid.uuid4().hex
    taken = await fast.deduct(user, 4, clock(), meta(key))
    assert taken is not None
    transaction, wallet = taken
    assert (transaction.amount, transaction.balance_after, wallet.available) == (-4, 6, 6)
    assert (await credits.get_user_credits(user)).available == 6
    history, _ = await credits.get_transaction_history(user, kind="deduction")
    assert history == [transaction]

    assert await fast.deduct(user, 4, clock(), meta(key)) is None  # the key was used
    assert await fast.deduct(user, 7, clock(), meta(uuid.uuid4().hex)) is None  # too few
    await credits.add_credits(
        user, 5, "grant", idempotency_key=uuid.uuid4().hex, expires_at=clock() + timedelta(days=1)
    )
    assert await fast.deduct(user, 1, clock(), meta(uuid.uuid4().hex)) is None  # a grant

    monthly = await new_user(database)
    await credits.reset_monthly_credits(user_id=monthly)
    lapsed = datetime(2030, 2, 1, tzinfo=UTC)
    assert await fast.deduct(monthly, 1, lapsed, meta(uuid.uuid4().hex)) is None
    assert await fast.deduct(monthly, 100, clock(), meta(uuid.uuid4().hex)) is not None


CASES = [
    # (monthly, bonus, purchased, amount)
    (0, 0, 0, 0),
    (0, 0, 0, 1),
    (0, 0, 10, 10),
    (0, 0, 10, 11),
    (0, 0, 10, 9),
    (4, 0, 6, 10),
    (4, 0, 6, 11),
    (4, 3, 6, 13),
    (4, 3, 6, 14),
    (0, 0, MAX_AMOUNT, MAX_AMOUNT),
    (0, 0, MAX_AMOUNT - 1, MAX_AMOUNT),
    (2**62, 0, 2**62 - 1, 2**63 - 1),
    (2**62, 0, 2**62 - 2, 2**63 - 1),
]


@pytest.mark.parametrize(("monthly", "bonus", "purchased", "amount"), CASES)
async def test_the_sql_and_the_python_no_overdraft_rules_agree_at_the_edges(
    database, monthly, bonus, purchased, amount
) -> None:
    condition = covers_sql("w", "CAST(:amount AS bigint)")
    statement = text(
        f"SELECT {condition} FROM (SELECT CAST(:monthly AS bigint) AS monthly, "  # noqa: S608
        "CAST(:bonus AS bigint) AS bonus, CAST(:purchased AS bigint) AS purchased) AS w"
    )
    values = {"monthly": monthly, "bonus": bonus, "purchased": purchased, "amount": amount}
    async with database.reader() as db:
        in_sql = bool(await db.scalar(statement, values))

    assert in_sql == covers(monthly + bonus + purchased, amount)
    assert in_sql == (monthly + bonus + purchased >= amount)


async def test_a_balance_read_right_after_a_fast_deduction_sees_it(database, clock) -> None:
    # The fast path writes outside SQLAlchemy; the kept wallet must not outlive it.
    credits = CreditsService(database, settings(), clock=clock)
    fast = credits.fast
    assert fast is not None
    user = await new_user(database)
    await credits.add_credits(user, 100, "purchase", idempotency_key=uuid.uuid4().hex)
    for _ in range(200):
        await credits.get_user_credits(user)
        if database.read_cache_live:
            break
        await asyncio.sleep(0.02)
    assert database.read_cache_live
    for spent in range(1, 21):
        assert (await credits.get_user_credits(user)).available == 100 - spent + 1  # kept
        meta = Meta(actor="services/test", request_id="k", idem_key=f"deduct:{uuid.uuid4().hex}")
        assert await fast.deduct(user, 1, clock(), meta) is not None
        assert (await credits.get_user_credits(user)).available == 100 - spent
