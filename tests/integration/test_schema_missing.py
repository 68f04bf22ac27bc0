"""A database that was never migrated: every call says what to run, on both backends and paths."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, select

from services.common.db import Database
from services.common.outages import dependency_outage
from services.user.models import UserRow

_BY_ID = select(UserRow.__table__.c.id).where(UserRow.__table__.c.id == bindparam("id"))


async def test_a_never_migrated_database_is_unavailable_not_migrated(empty_database_url) -> None:
    database = Database(empty_database_url, pool_size=1)
    try:
        # The ORM path (SQLAlchemy on psycopg or aiosqlite), then the hot reads (asyncpg).
        with pytest.raises(Exception, match="users") as orm:
            async with database.reader() as db:
                await db.scalar(select(UserRow).where(UserRow.id == 1))
        with pytest.raises(Exception, match="users") as hot:
            await database.read_row(_BY_ID, {"id": 1})
    finally:
        await database.dispose()
    for raised in (orm.value, hot.value):
        outage = dependency_outage(raised)
        assert outage is not None, repr(raised)
        assert outage.reason == "DATABASE_NOT_MIGRATED"
        assert "filmstudio migrate" in str(outage)


async def test_a_lost_connection_is_still_a_plain_outage() -> None:
    outage = dependency_outage(ConnectionResetError("gone"))
    assert outage is not None
    assert outage.reason == "DATABASE_UNAVAILABLE"
