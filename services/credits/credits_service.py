"""CreditsService: balances, deductions, additions, history, holds, monthly allowances, payments.

The use cases live beside this class, each taking only what it uses: deductions and additions
in `postings.py` (with the one-statement `fastpath` on PostgreSQL), holds in `reservations.py`
and `holds.py`, monthly allowances and expiry in `monthly.py`, payments in `payments.py`,
history in `history.py`, the consistency check in `verify.py`. This class holds the
dependencies and the settings they need, and is the one entry point for all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.common.config import Settings, explicit_settings
from services.common.db import Database, utcnow
from services.common.pagination import PageTokens
from services.common.tokens import TokenCodec
from services.credits import history, holds, monthly, payments, postings, reservations, verify
from services.credits.fastpath import FastPath
from services.credits.records import (
    GRANT,
    Credits,
    LedgerResult,
    PaymentOutcome,
    Report,
    Reservation,
    ResetResult,
    Sufficiency,
    Transaction,
)
from services.credits.uow import UnitOfWork

# Signs history page tokens when the service is built without a token codec (in-process use).
DEFAULT_PAGE_SECRET = b"filmstudio-credits"


class CreditsService:
    """The credits ledger."""

    def __init__(
        self,
        db: Database,
        settings: Settings | None = None,
        *,
        codec: TokenCodec | None = None,
        clock: Callable[[], datetime] = utcnow,
        fast_path: bool = True,
    ) -> None:
        """Compose the use cases; `fast_path=False` keeps deductions on the general path."""
        self.db = db
        # In-process use as the product docs show it, CreditsService(db), takes the defaults.
        self.settings = settings if settings is not None else explicit_settings()
        self.clock = clock
        self.uow = UnitOfWork(db, clock)
        if codec is None and settings is not None:
            codec = TokenCodec.from_settings(settings)
        self.page_tokens = PageTokens(
            codec.derived_key("credit-page-tokens") if codec is not None else DEFAULT_PAGE_SECRET
        )
        self.fast = (
            FastPath.of(db, self.settings.database_pool_size)
            if fast_path and db.dialect_name == "postgresql"
            else None
        )
        secret = self.settings.payment_webhook_secret
        self.payment_terms = payments.Terms(
            secret=secret.get_secret_value() if secret is not None else None,
            tolerance=self.settings.payment_webhook_tolerance_seconds,
            packages=self.settings.credit_packages,
        )

    # --- Balances -------------------------------------------------------------------------------

    async def get_user_credits(self, user_id: int) -> Credits:
        """Return a user's balances, with lapsed credits and expired holds already resolved."""
        await self._automatic_allowance(user_id)
        return await postings.balances(self.uow, user_id=user_id)

    async def check_sufficient_credits(self, user_id: int, amount: int) -> Sufficiency:
        """Tell whether a user can spend `amount` now."""
        await self._automatic_allowance(user_id)
        return await postings.sufficiency(self.uow, user_id=user_id, amount=amount)

    async def _automatic_allowance(self, user_id: int) -> None:
        # With automatic allowances (the embedded studio), a new user's first month does not
        # wait for the periodic sweep: the wallet's first use in a month grants it.
        if self.settings.credits_auto_monthly:
            await monthly.grant_if_due(
                self.uow,
                self.settings.credits_monthly_allowances,
                user_id=user_id,
                now=self.clock(),
            )

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
        await self._automatic_allowance(user_id)
        return await postings.deduct(
            self.uow,
            self.fast,
            user_id=user_id,
            amount=amount,
            reason=reason,
            idempotency_key=idempotency_key,
            job=job,
            actor=actor,
        )

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
        return await postings.add(
            self.uow,
            user_id=user_id,
            amount=amount,
            kind=kind,
            reason=reason,
            idempotency_key=idempotency_key,
            expires_at=expires_at,
            actor=actor,
        )

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
            self.db,
            self.page_tokens,
            user_id=user_id,
            kind=kind,
            start_time=start_time,
            end_time=end_time,
            size=page_size,
            page_token=page_token,
        )

    # --- Holds, monthly allowances, payments, expiry --------------------------------------------

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
        await self._automatic_allowance(user_id)
        return await reservations.reserve(
            self.uow,
            default_ttl=self.settings.credits_hold_ttl_seconds,
            user_id=user_id,
            amount=amount,
            idempotency_key=idempotency_key,
            job=job,
            ttl_seconds=ttl_seconds,
            actor=actor,
        )

    async def capture_reservation(
        self, reservation_id: int, amount: int = 0, *, actor: str = holds.SYSTEM_ACTOR
    ) -> Reservation:
        """Take `amount` of a hold (0: all of it) and return the rest; resolves it once."""
        return await reservations.capture(
            self.uow, reservation_id=reservation_id, amount=amount, actor=actor
        )

    async def release_reservation(
        self, reservation_id: int, reason: str = "", *, actor: str = holds.SYSTEM_ACTOR
    ) -> Reservation:
        """Return a hold to its user; resolves it once (a repeat returns it unchanged)."""
        return await reservations.release(
            self.uow, reservation_id=reservation_id, reason=reason, actor=actor
        )

    async def reset_monthly_credits(
        self, period: str | None = None, user_id: int | None = None
    ) -> ResetResult:
        """Grant the current month's tier allowance to every active user (or one), once each."""
        return await monthly.reset(
            self.uow, self.settings.credits_monthly_allowances, period=period, user_id=user_id
        )

    async def handle_payment_event(self, payload: bytes, signature: str) -> PaymentOutcome:
        """Apply a signed payment-provider event (the REST webhook and the RPC both call this)."""
        return await payments.handle(self.uow, self.payment_terms, payload, signature)

    async def expire_due(self, now: datetime | None = None) -> int:
        """Expire due holds and lapsed credits, grant missing allowances; return users settled."""
        return await monthly.expire_due(
            self.uow,
            self.settings.credits_monthly_allowances,
            now=now or self.clock(),
            auto_monthly=self.settings.credits_auto_monthly,
        )

    async def verify_ledger(self) -> Report:
        """Recompute every balance from the entries and report any difference."""
        return await verify.verify(self.db)
