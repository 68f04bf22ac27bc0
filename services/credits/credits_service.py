"""CreditsService: balances, deductions, additions, history, holds, monthly allowances, payments.

Every use case locks the user's wallet (one row), applies what time has done to it, moves
credits with double-entry legs and books them, in one database transaction (the general path).
On PostgreSQL a deduction first tries `fastpath`, the same debit in one statement. Holds live
in `reservations.py` and `holds.py`, monthly allowances in `monthly.py`, payments in
`payments.py`, history in `history.py`, the consistency check in `verify.py`; this class is
the one entry point for all of them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import errors
from services.common.config import Settings, load_settings
from services.common.db import Database, utcnow
from services.common.pagination import PageTokens, page_size
from services.common.tokens import TokenCodec
from services.credits import checks, history, holds, monthly, payments, reservations, verify
from services.credits.checks import Outcome, T
from services.credits.fastpath import FastPath
from services.credits.ledger import (
    BONUS,
    CONSUMED,
    ISSUED,
    PURCHASED,
    Meta,
    Wallet,
    book,
    by_key,
    lock,
    peek,
    save,
    transaction_of,
)
from services.credits.models import LotRow
from services.credits.records import (
    DEDUCTION,
    GRANT,
    PURCHASE,
    Credits,
    LedgerResult,
    PaymentOutcome,
    Reservation,
    ResetResult,
    Sufficiency,
    Transaction,
)

log = logging.getLogger(__name__)

ATTEMPTS = 3


class CreditsService:
    """The credits ledger."""

    def __init__(
        self,
        db: Database,
        settings: Settings | None = None,
        *,
        codec: TokenCodec | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings or load_settings()
        self.clock = clock
        codec = codec or TokenCodec.from_settings(self.settings)
        self.page_tokens = PageTokens(codec.derived_key("credit-page-tokens"))
        self.fast = (
            FastPath.of(db, self.settings.database_pool_size)
            if db.dialect_name == "postgresql"
            else None
        )

    async def write(self, work: Callable[[AsyncSession, datetime], Awaitable[Outcome[T]]]) -> T:
        """Run `work` in one transaction, retried when a concurrent insert took a unique key.

        `work` returns a DomainError instead of raising it when what it did must still commit
        (say, a hold that expired on the way); it is raised after the commit.
        """
        for attempt in range(ATTEMPTS):
            try:
                async with self.db.session() as db, db.begin():
                    outcome = await work(db, self.clock())
                break
            except IntegrityError:
                if attempt == ATTEMPTS - 1:
                    raise
                log.info("credits write raced on a unique key; retrying", exc_info=True)
        if isinstance(outcome, errors.DomainError):
            raise outcome
        return outcome

    # --- Balances -------------------------------------------------------------------------------

    async def get_user_credits(self, user_id: int) -> Credits:
        """Return a user's balances, with lapsed credits and expired holds already resolved."""
        now = self.clock()
        async with self.db.reader() as db:
            wallet = await peek(db, user_id)
            stale = holds.needs_settling(wallet, now) or await holds.has_due(db, wallet, now)
        if not stale:
            return wallet.credits()
        return await self.write(lambda db, now: _settled(db, user_id, now))

    async def check_sufficient_credits(self, user_id: int, amount: int) -> Sufficiency:
        """Tell whether a user can spend `amount` now."""
        checks.amount(amount)
        available = (await self.get_user_credits(user_id)).available
        return Sufficiency(available >= amount, available, max(0, amount - available))

    # --- Deductions and additions ---------------------------------------------------------------

    async def deduct_credits(
        self,
        user_id: int,
        amount: int,
        reason: str = "",
        *,
        idempotency_key: str,
        job: str = "",
        actor: str = holds.SYSTEM_ACTOR,
    ) -> LedgerResult:
        """Take credits for usage (monthly first); never overdraws; idempotent per key."""
        checks.amount(amount)
        request_id = checks.key(idempotency_key)
        fingerprint = checks.fingerprint(
            DEDUCTION, user=user_id, amount=amount, reason=checks.reason(reason), job=job
        )
        meta = Meta(
            reason=reason,
            actor=actor,
            request_id=request_id,
            idem_key=f"deduct:{request_id}",
            fingerprint=fingerprint,
            job=checks.job(job),
        )
        if self.fast is not None:
            fast = await self.fast.deduct(user_id, amount, self.clock(), meta)
            if fast is not None:
                transaction, wallet = fast
                return LedgerResult(transaction, wallet.credits(), wallet.available)

        async def work(db: AsyncSession, now: datetime) -> Outcome[LedgerResult]:
            wallet = await lock(db, user_id)
            if (replay := await _replay(db, wallet, meta)) is not None:
                return replay
            await holds.settle(db, wallet, now)
            if wallet.available < amount:
                await save(db, wallet)
                return errors.InsufficientCredits(
                    user=f"users/{user_id}", required=amount, available=wallet.available
                )
            await holds.spend(db, wallet, amount, CONSUMED, now)
            row = await book(db, wallet, DEDUCTION, now, meta)
            await save(db, wallet)
            return LedgerResult(transaction_of(row), wallet.credits(), wallet.available)

        result = await self.write(work)
        log.info("credits deducted", extra={"user_id": user_id, "amount": amount})
        return result

    async def add_credits(
        self,
        user_id: int,
        amount: int,
        kind: str = GRANT,
        reason: str = "",
        *,
        idempotency_key: str,
        expires_at: datetime | None = None,
        actor: str = holds.SYSTEM_ACTOR,
    ) -> LedgerResult:
        """Give credits (a purchase or a grant; grants may lapse at `expires_at`)."""
        checks.amount(amount)
        request_id = checks.key(idempotency_key)
        if kind not in (PURCHASE, GRANT):
            raise errors.InvalidArgument.field("kind", "must be PURCHASE or GRANT")
        if expires_at is not None and (kind != GRANT or expires_at <= self.clock()):
            raise errors.InvalidArgument.field(
                "expire_time", "must be in the future, and only grants expire"
            )
        meta = Meta(
            reason=checks.reason(reason),
            actor=actor,
            request_id=request_id,
            idem_key=f"add:{request_id}",
            fingerprint=checks.fingerprint(
                kind, user=user_id, amount=amount, reason=reason, expires_at=expires_at
            ),
        )

        async def work(db: AsyncSession, now: datetime) -> LedgerResult:
            wallet = await lock(db, user_id)
            if (replay := await _replay(db, wallet, meta)) is not None:
                return replay
            await holds.settle(db, wallet, now)
            wallet.move(ISSUED, BONUS if expires_at else PURCHASED, amount)
            row = await book(db, wallet, kind, now, meta)
            if expires_at is not None:
                db.add(
                    LotRow(
                        user_id=user_id,
                        transaction_id=row.id,
                        amount=amount,
                        remaining=amount,
                        expires_at=expires_at,
                        created_at=now,
                    )
                )
            await save(db, wallet)
            return LedgerResult(transaction_of(row), wallet.credits(), wallet.available)

        result = await self.write(work)
        log.info("credits added", extra={"user_id": user_id, "amount": amount, "kind": kind})
        return result

    # --- History --------------------------------------------------------------------------------

    async def get_transaction_history(
        self,
        user_id: int,
        *,
        kind: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        page_size: int = 0,
        page_token: str = "",
    ) -> tuple[list[Transaction], str]:
        """List a user's transactions, newest first, a page at a time."""
        return await history.page(
            self, user_id, kind, start_time, end_time, _page_size(page_size), page_token
        )

    # --- Holds, monthly allowances, payments, expiry (see the modules they live in) -------------

    async def reserve_credits(
        self,
        user_id: int,
        amount: int,
        *,
        idempotency_key: str,
        job: str = "",
        ttl_seconds: int = 0,
        actor: str = holds.SYSTEM_ACTOR,
    ) -> Reservation:
        """Place a pending hold that counts against the available balance until resolved."""
        return await reservations.reserve(
            self, user_id, amount, idempotency_key, job, ttl_seconds, actor
        )

    async def capture_reservation(
        self, reservation_id: int, amount: int = 0, *, actor: str = holds.SYSTEM_ACTOR
    ) -> Reservation:
        """Take `amount` of a hold (0: all of it) and return the rest; resolves it once."""
        return await reservations.capture(self, reservation_id, amount, actor)

    async def release_reservation(
        self, reservation_id: int, reason: str = "", *, actor: str = holds.SYSTEM_ACTOR
    ) -> Reservation:
        """Return a hold to its user; resolves it once (a repeat returns it unchanged)."""
        return await reservations.release(self, reservation_id, reason, actor)

    async def reset_monthly_credits(
        self, period: str | None = None, user_id: int | None = None
    ) -> ResetResult:
        """Grant the current month's tier allowance to every active user (or one), once each."""
        return await monthly.reset(self, period, user_id)

    async def handle_payment_event(self, payload: bytes, signature: str) -> PaymentOutcome:
        """Apply a signed payment-provider event (the REST webhook and the RPC both call this)."""
        return await payments.handle(self, payload, signature)

    async def expire_due(self, now: datetime | None = None) -> int:
        """Expire due holds and lapsed credits, grant missing allowances; return users settled."""
        return await monthly.expire_due(self, now or self.clock())

    async def verify_ledger(self) -> verify.Report:
        """Recompute every balance from the entries and report any difference."""
        return await verify.verify(self.db)


def _page_size(value: int) -> int:
    return page_size(value, default=50)


async def _settled(db: AsyncSession, user_id: int, now: datetime) -> Credits:
    wallet = await lock(db, user_id)
    await holds.settle(db, wallet, now)
    await save(db, wallet)
    return wallet.credits()


async def _replay(db: AsyncSession, wallet: Wallet, meta: Meta) -> LedgerResult | None:
    """Return the first result for the request's key, refuse the key with other parameters."""
    assert meta.idem_key is not None
    row = await by_key(db, meta.idem_key)
    if row is None:
        return None
    if row.fingerprint != meta.fingerprint:
        raise checks.reused_key(meta.request_id)
    return LedgerResult(transaction_of(row), wallet.credits(), wallet.available, replayed=True)
