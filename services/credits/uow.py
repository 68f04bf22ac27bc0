"""The unit of work of the credits use cases: one database transaction, retried on a key race."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import errors
from services.common.db import Database
from services.credits.checks import Outcome, T
from services.credits.ledger import flowed

log = logging.getLogger(__name__)

ATTEMPTS = 3

Work = Callable[[AsyncSession, datetime], Awaitable[Outcome[T]]]


class UnitOfWork:
    """Open the transactions of the credits use cases on one database, at the clock's time."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    def reader(self) -> AsyncSession:
        """Open a session for reads that need no transaction."""
        return self.db.reader()

    async def write(self, work: Work[T]) -> T:
        """Run `work` in one transaction, retried when a concurrent insert took a unique key.

        `work` returns a DomainError instead of raising it when what it did must still commit
        (say, a hold that expired on the way); it is raised after the commit.
        """
        for attempt in range(ATTEMPTS):
            try:
                async with self.db.session() as db, db.begin():
                    outcome = await work(db, self.clock())
                flowed(db)  # committed: a rolled-back attempt's session is dropped uncounted
                break
            except IntegrityError:
                if attempt == ATTEMPTS - 1:
                    raise
                log.info("credits write raced on a unique key; retrying", exc_info=True)
        if isinstance(outcome, errors.DomainError):
            raise outcome
        return outcome
