"""Alembic environment: FilmStudio's metadata, the URL from code or settings, async engines."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection

import services.bootstrap  # noqa: F401  (its domains register every table)
from services.common.config import Settings
from services.common.db import Base, UtcDateTime, make_engine, normalize_database_url

config = context.config
target_metadata = Base.metadata

# The CLI configures logging from alembic.ini; a service calling migrate() keeps its own.
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    """Return the URL given by the caller, else the one the settings describe."""
    url = config.attributes.get("database_url") or Settings().effective_database_url
    return normalize_database_url(url)


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render our UtcDateTime as the plain column type it stores, so revisions import nothing."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    """Emit the migration SQL as a script (`alembic upgrade --sql`) without connecting."""
    url = database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_on(connection: Connection) -> None:
    """Run the migrations on a sync connection (inside run_sync when the engine is async)."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_with_own_engine() -> None:
    """Open a one-off async engine for the URL and run the migrations on it."""
    engine = make_engine(database_url(), migrations=True)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations_on)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    """Use the caller's connection when given one (migrate()), else connect (the CLI)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations_on(connection)
    else:
        asyncio.run(run_migrations_with_own_engine())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
