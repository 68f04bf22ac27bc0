"""Run the Alembic migrations from code, so services and tests need no CLI."""

from __future__ import annotations

import asyncio
import weakref
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from services.common.db import make_engine, normalize_database_url

REPO_ROOT = Path(__file__).resolve().parents[2]
ALEMBIC_INI = REPO_ROOT / "alembic.ini"

# Several services may start at once against one PostgreSQL; this transaction-scoped advisory
# lock makes the later ones wait and then find the schema already at head.
MIGRATION_LOCK_KEY = 0x46494C4D  # "FILM"

# Alembic keeps its `context` and `op` proxies in module globals, so two upgrades interleaving
# on one event loop would corrupt each other; each loop runs one at a time.
_loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def alembic_config(database_url: str | None = None) -> Config:
    """Return the Alembic config of this repository, located independently of the cwd."""
    config = Config(str(ALEMBIC_INI))
    config.attributes["configure_logging"] = False
    if database_url is not None:
        config.attributes["database_url"] = normalize_database_url(database_url)
    return config


def head_revision() -> str:
    """Return the single head revision of the migrations directory."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no Alembic revisions under {REPO_ROOT / 'migrations'}")
    return head


async def migrate(database_url: str, revision: str = "head") -> None:
    """Upgrade the database to `revision`; a database already there is left as it is."""
    config = alembic_config(database_url)
    # The async engine lives on the caller's event loop and Alembic runs inside run_sync,
    # so no second loop or thread is needed and env.py just uses the connection it is given.
    engine = make_engine(database_url, migrations=True)
    lock = _loop_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    try:
        async with lock, engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            await connection.run_sync(_upgrade, config, revision)
    finally:
        await engine.dispose()


async def current_revision(database_url: str) -> str | None:
    """Return the revision the database is at, or None when it was never migrated."""
    engine = make_engine(database_url, migrations=True)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current_revision)
    finally:
        await engine.dispose()


def _upgrade(connection: Connection, config: Config, revision: str) -> None:
    """Run `alembic upgrade` on the given sync connection."""
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _current_revision(connection: Connection) -> str | None:
    """Read the alembic_version table through the given sync connection."""
    return MigrationContext.configure(connection).get_current_revision()
