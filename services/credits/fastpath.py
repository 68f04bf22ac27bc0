"""A deduction in one PostgreSQL statement: the common case of the debit, without its fallbacks.

The conditional UPDATE is the no-overdraft rule (and takes the row lock, so concurrent debits
of one user queue instead of retrying); the INSERTs of the transaction and its entries ride in
the same statement, which runs in autocommit: one round trip, its own transaction, and the row
lock is never held across a round trip to this (busy) process. A repeated idempotency key fails
the INSERT on the unique index and the whole statement with it. Whenever this returns None (no
wallet yet, lapsed monthly credits, expiring grants, too few credits, a key seen before, a
broken connection) the general path takes over; it is idempotent, so an outcome lost with a
connection is found there by its key.

It runs on a few asyncpg connections of its own: through SQLAlchemy's pool (pre-ping, checkout,
reset, result processing) the same statement costs several times the CPU of the statement
itself, and even bare psycopg costs ~4x asyncpg's CPU per statement (60 vs 15 us measured here);
this is the hottest call of the studio. asyncpg prepares the statement once per connection.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import asyncpg
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from services.common.db import Database
from services.common.row_cache import note_local_write
from services.credits.ledger import Meta, Wallet, covers_sql
from services.credits.members import USERS
from services.credits.records import DEDUCTION, Transaction

log = logging.getLogger(__name__)

# What a dropped or closed connection raises: the statement's fate is unknown, the key tells.
_CONNECTION_LOST = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
)

# The general path's common case: a wallet that exists, no expiring grants to draw in order, no
# lapsed monthly credits, and the no-overdraft rule itself, written by `ledger.covers_sql` from
# the same accounts and comparison as `Wallet.covers`. `users` is the ledger's view of members.
_DEDUCT = f"""
WITH w AS (
    UPDATE credit_wallets AS w
    SET monthly = w.monthly - LEAST(w.monthly, $2::bigint),
        purchased = w.purchased - ($2::bigint - LEAST(w.monthly, $2::bigint)),
        last_monthly_debit = LEAST(w.monthly, $2::bigint),
        version = w.version + 1
    FROM {USERS.name} AS u
    WHERE w.user_id = $1::bigint AND u.id = w.user_id AND w.bonus = 0
      AND (w.monthly = 0 OR w.monthly_expires_at > $3::timestamptz)
      AND {covers_sql("w", "$2::bigint")}
    RETURNING w.user_id, w.monthly, w.bonus, w.purchased, w.held_monthly, w.held_bonus,
              w.held_purchased, w.monthly_period, w.monthly_expires_at, w.version,
              w.last_monthly_debit, u.tier
), t AS (
    INSERT INTO credit_transactions (user_id, kind, amount, balance_after, reason, actor,
        request_id, idem_key, fingerprint, job, created_at)
    SELECT w.user_id, $4::text, -$2::bigint, w.monthly + w.purchased, $5::text, $6::text,
        $7::text, $8::text, $9::text, $10::text, $3::timestamptz
    FROM w
    RETURNING id
), e AS (
    INSERT INTO credit_entries (transaction_id, user_id, debit, credit, amount)
    SELECT t.id, w.user_id, leg.debit, 'consumed', leg.amount
    FROM t, w, LATERAL (
        VALUES ('monthly', w.last_monthly_debit), ('purchased', $2::bigint - w.last_monthly_debit)
    ) AS leg(debit, amount)
    WHERE leg.amount > 0
)
SELECT w.*, t.id AS transaction_id FROM w, t
"""  # noqa: S608 (made once from constants, never from input)


_SHARED: weakref.WeakKeyDictionary[Engine, FastPath] = weakref.WeakKeyDictionary()


class FastPath:
    """One-statement deductions on up to `size` dedicated autocommit connections."""

    @classmethod
    def of(cls, database: Database, size: int) -> FastPath:
        """Return the fast path of a database, shared by every CreditsService on it."""
        engine = database.engine.sync_engine
        if engine not in _SHARED:
            _SHARED[engine] = cls(database.url, size, engine)
        return _SHARED[engine]

    def __init__(self, database_url: str, size: int, engine: Engine) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._slots = asyncio.Semaphore(size)
        self._idle: list[asyncpg.Connection] = []
        # The connections live as long as the database they belong to.
        event.listen(engine, "engine_disposed", lambda _: self.close())

    def close(self) -> None:
        """Close the idle connections (synchronously, as the engine's dispose event needs)."""
        while self._idle:
            self._idle.pop().terminate()

    async def deduct(
        self, user_id: int, amount: int, now: datetime, meta: Meta
    ) -> tuple[Transaction, Wallet] | None:
        """Debit in one statement, or return None to send the caller down the general path."""
        reason = meta.reason[:500]
        row = await self._execute(
            user_id,
            amount,
            now,
            DEDUCTION,
            reason,
            meta.actor,
            meta.request_id,
            meta.idem_key,
            meta.fingerprint,
            meta.job,
        )
        if row is None:
            return None
        wallet = Wallet.of(SimpleNamespace(**row), row["tier"])
        if wallet.monthly_expires_at is not None:
            wallet.monthly_expires_at = wallet.monthly_expires_at.astimezone(UTC)
        transaction = Transaction(
            id=row["transaction_id"],
            user_id=user_id,
            kind=DEDUCTION,
            amount=-amount,
            balance_after=wallet.available,
            reason=reason,
            actor=meta.actor,
            request_id=meta.request_id,
            job=meta.job,
            reservation_id=None,
            created_at=now,
        )
        return transaction, wallet

    async def _execute(self, *params: Any) -> asyncpg.Record | None:
        async with self._slots:
            if self._idle:
                connection = self._idle.pop()
            else:
                try:
                    connection = await asyncpg.connect(self._dsn)
                except _CONNECTION_LOST as error:
                    # The database is down or restarting: the general path answers UNAVAILABLE.
                    log.warning("fast-path cannot connect; taking the general path: %s", error)
                    return None
            try:
                row: asyncpg.Record | None = await connection.fetchrow(_DEDUCT, *params)
            except asyncpg.UniqueViolationError:
                self._idle.append(connection)
                return None  # the key was used before: the general path replays or refuses it
            except _CONNECTION_LOST:
                connection.terminate()
                log.warning("fast-path connection lost; taking the general path", exc_info=True)
                return None
            except BaseException:
                connection.terminate()  # mid-statement (say, cancelled): state unknown
                raise
            finally:
                # Outside SQLAlchemy: tell the row cache, so this process's next balance read
                # waits for the wallet's change announcement (read-your-writes).
                note_local_write()
            self._idle.append(connection)
            return row
