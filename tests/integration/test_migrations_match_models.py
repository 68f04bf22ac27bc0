"""The migrations build exactly the tables the models describe, on PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import services.bootstrap  # noqa: F401  (its domains register every table)
from services.common.db import Base, Database
from services.common.migrate import migrate


async def test_autogenerate_finds_nothing_to_change(postgres_url) -> None:
    await migrate(postgres_url)
    database = Database(postgres_url)
    try:
        async with database.engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await database.dispose()
    assert differences == [], "a model changed without a migration (revision --autogenerate)"
