"""A dependency that is down or saturated becomes UNAVAILABLE with RetryInfo, never INTERNAL."""

from __future__ import annotations

import asyncpg
from psycopg.errors import UndefinedTable
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from services.common import errors
from services.common.db import database_unavailable

RETRY_AFTER_SECONDS = 1.0
# What the hot reads' asyncpg pool raises when PostgreSQL is down, restarting or gone mid-read.
_HOT_READS_LOST = (
    ConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
)


def _schema_missing(error: BaseException) -> bool:
    """Tell whether a database error says a table does not exist (a database never migrated)."""
    if isinstance(error, asyncpg.UndefinedTableError):
        return True
    cause = getattr(error, "orig", None)
    if isinstance(cause, UndefinedTable):
        return True
    return isinstance(error, DBAPIError) and "no such table" in str(cause)  # SQLite


def dependency_outage(error: BaseException) -> errors.Unavailable | None:
    """Return the UNAVAILABLE a transient dependency failure maps to, or None for anything else."""
    if _schema_missing(error):
        # Not transient, but the operator's to fix, not the caller's: say what to run.
        return errors.Unavailable(
            "the database has no schema yet: the operator must run `filmstudio migrate`",
            reason="DATABASE_NOT_MIGRATED",
            retry_after_seconds=RETRY_AFTER_SECONDS,
        )
    if database_unavailable(error) or isinstance(error, _HOT_READS_LOST):
        return errors.Unavailable(
            "the database is unavailable; retry shortly",
            reason="DATABASE_UNAVAILABLE",
            retry_after_seconds=RETRY_AFTER_SECONDS,
        )
    if isinstance(error, PoolTimeout):
        # Every pooled connection stayed busy past the pool's timeout: overload, not a bug.
        return errors.Unavailable(
            "the database is busy; retry shortly",
            reason="DATABASE_BUSY",
            retry_after_seconds=RETRY_AFTER_SECONDS,
        )
    if isinstance(error, (RedisConnectionError, RedisTimeoutError)):
        return errors.Unavailable(
            "Redis is unavailable; retry shortly",
            reason="REDIS_UNAVAILABLE",
            retry_after_seconds=RETRY_AFTER_SECONDS,
        )
    return None
