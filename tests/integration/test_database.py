"""The async database layer and the migrations, against real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    inspect,
    text,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from services.common.config import load_settings
from services.common.db import SQLITE_BUSY_TIMEOUT_MS, Base, Database, database_unavailable
from services.common.migrate import (
    MIGRATION_LOCK_KEY,
    current_revision,
    head_revision,
    migrate,
)
from tests.support.database import TEST_DATABASE_PREFIX, terminate_backend


async def test_migrate_brings_an_empty_database_to_head(empty_database_url: str) -> None:
    assert await current_revision(empty_database_url) is None

    await migrate(empty_database_url)

    assert await current_revision(empty_database_url) == head_revision()


async def test_migrating_twice_leaves_the_database_at_head(database_url: str) -> None:
    await migrate(database_url)
    await migrate(database_url)

    assert await current_revision(database_url) == head_revision()


async def test_concurrent_migrations_in_one_process_run_one_after_another(
    empty_database_url: str,
) -> None:
    await asyncio.gather(*(migrate(empty_database_url) for _ in range(4)))

    assert await current_revision(empty_database_url) == head_revision()


@pytest.mark.postgres
@pytest.mark.parametrize("empty_database_url", ["postgres"], indirect=True)
async def test_migrate_waits_while_another_process_migrates_postgres(
    empty_database_url: str,
) -> None:
    other_process = Database(empty_database_url)
    pending: asyncio.Task[None] | None = None
    try:
        async with other_process.engine.begin() as connection:
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
            pending = asyncio.create_task(migrate(empty_database_url))
            await asyncio.sleep(0.5)
            assert not pending.done()
            assert await current_revision(empty_database_url) is None
        await asyncio.wait_for(pending, timeout=10)
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
        await other_process.dispose()

    assert await current_revision(empty_database_url) == head_revision()


async def test_migrate_works_from_any_working_directory(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    await migrate(sqlite_url)

    assert await current_revision(sqlite_url) == head_revision()


async def test_migrate_accepts_sync_style_urls(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plain.db'}"

    await migrate(url)

    assert await current_revision(url) == head_revision()


async def test_ping_succeeds_on_a_live_database(database: Database) -> None:
    assert await database.ping() is True


async def test_ping_reports_an_unreachable_server_as_down() -> None:
    db = Database("postgresql://postgres@127.0.0.1:1/nowhere")
    try:
        assert await db.ping() is False
    finally:
        await db.dispose()


async def test_sessions_run_queries_and_keep_objects_loaded_after_commit(
    database: Database,
) -> None:
    async with database.session() as session:
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
        assert session.sync_session.expire_on_commit is False


async def test_reads_take_a_snapshot_per_statement_without_a_transaction(
    database: Database,
) -> None:
    # SQLite has no clock that tells transactions apart; a reader must still work there.
    clock = "now()" if database.dialect_name == "postgresql" else "CURRENT_TIMESTAMP"
    async with database.reader() as reader:
        first = (await reader.execute(text(f"SELECT {clock}"))).scalar_one()
        await asyncio.sleep(0.01)
        second = (await reader.execute(text(f"SELECT {clock}"))).scalar_one()
    if database.dialect_name == "postgresql":
        assert second > first, "now() moves: each read is a transaction of its own"
        async with database.session() as session, session.begin():
            first = (await session.execute(text("SELECT now()"))).scalar_one()
            await asyncio.sleep(0.01)
            assert (await session.execute(text("SELECT now()"))).scalar_one() == first


async def test_a_read_session_refuses_to_write(database: Database) -> None:
    from services.project.models import ProjectRow

    async with database.reader() as reader:
        reader.add(ProjectRow(title="never stored"))
        with pytest.raises(RuntimeError, match="read session cannot write"):
            await reader.flush()
    async with database.reader() as reader:
        stored = text("SELECT count(*) FROM projects WHERE title = 'never stored'")
        assert (await reader.execute(stored)).scalar_one() == 0


async def _backend_pid(database: Database) -> int:
    async with database.reader() as reader:
        return int((await reader.execute(text("SELECT pg_backend_pid()"))).scalar_one())


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_an_idle_connection_that_died_is_replaced_before_use(database_url: str) -> None:
    database = Database(database_url, pool_size=1, idle_ping_seconds=0)
    try:
        dead = await _backend_pid(database)
        terminate_backend(dead)

        assert await _backend_pid(database) != dead
    finally:
        await database.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_busy_connection_that_died_fails_once_then_the_pool_reconnects(
    database_url: str,
) -> None:
    # Recently used connections are not pinged; the one call that finds one dead fails as
    # unavailable (retryable) and the whole pool is renewed.
    database = Database(database_url, pool_size=2, idle_ping_seconds=3600)
    try:
        dead = await _backend_pid(database)
        terminate_backend(dead)

        with pytest.raises(DBAPIError) as caught:
            await _backend_pid(database)
        assert database_unavailable(caught.value)
        assert await _backend_pid(database) != dead
    finally:
        await database.dispose()


async def test_dialect_name_names_the_backend(database: Database, database_url: str) -> None:
    assert database.dialect_name == make_url(database_url).get_backend_name()
    assert database.dialect_name in {"sqlite", "postgresql"}


async def test_sqlite_connections_enforce_foreign_keys_and_use_wal(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        async with db.engine.connect() as connection:
            pragmas = {
                name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
                for name in ("foreign_keys", "journal_mode", "busy_timeout")
            }
    finally:
        await db.dispose()

    assert pragmas == {
        "foreign_keys": 1,
        "journal_mode": "wal",
        "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
    }
    assert SQLITE_BUSY_TIMEOUT_MS >= 30_000, "a shorter wait starves writers under load"


async def test_sqlite_rejects_a_row_pointing_at_a_missing_parent(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        async with db.engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
            await connection.exec_driver_sql(
                "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent)"
            )
        with pytest.raises(IntegrityError):
            async with db.engine.begin() as connection:
                await connection.exec_driver_sql("INSERT INTO child VALUES (1, 42)")
    finally:
        await db.dispose()


async def test_sqlite_database_directory_is_created_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "var" / "nested" / "filmstudio.db"
    db = Database(f"sqlite:///{path}")
    try:
        assert await db.ping() is True
    finally:
        await db.dispose()

    assert path.is_file()


async def test_from_settings_defaults_to_sqlite_under_the_var_dir(tmp_path: Path) -> None:
    settings = load_settings(FILMSTUDIO_VAR_DIR=tmp_path / "var", DATABASE_URL=None)
    db = Database.from_settings(settings)
    try:
        assert db.dialect_name == "sqlite"
        assert await db.ping() is True
    finally:
        await db.dispose()

    assert (tmp_path / "var" / "filmstudio.db").is_file()


@pytest.mark.postgres
async def test_postgres_tests_run_in_a_fresh_throwaway_database(postgres_url: str) -> None:
    name = make_url(postgres_url).database
    assert name is not None
    assert name.startswith(TEST_DATABASE_PREFIX)

    db = Database(postgres_url)
    try:
        async with db.engine.connect() as connection:
            current = (await connection.execute(text("SELECT current_database()"))).scalar_one()
    finally:
        await db.dispose()

    assert current == name


def _create_named_constraints(connection: Connection) -> dict[str, object]:
    """Create a table under Base's naming convention and read back its constraint names."""
    metadata = MetaData(naming_convention=Base.metadata.naming_convention)
    Table("nc_parents", metadata, Column("id", Integer, primary_key=True))
    Table(
        "nc_children",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("parent_id", Integer, ForeignKey("nc_parents.id")),
        Column("code", String(20)),
        Column("slot", Integer),
        UniqueConstraint("code", "slot"),
        CheckConstraint("slot >= 0", name="slot_non_negative"),
        Index(None, "parent_id"),
    )
    metadata.create_all(connection)
    try:
        inspector = inspect(connection)
        return {
            "pk": inspector.get_pk_constraint("nc_children")["name"],
            "fk": [fk["name"] for fk in inspector.get_foreign_keys("nc_children")],
            "uq": [uq["name"] for uq in inspector.get_unique_constraints("nc_children")],
            "ck": [ck["name"] for ck in inspector.get_check_constraints("nc_children")],
            # PostgreSQL also lists the index behind each unique constraint; skip those.
            "ix": [
                ix["name"]
                for ix in inspector.get_indexes("nc_children")
                if "duplicates_constraint" not in ix
            ],
        }
    finally:
        metadata.drop_all(connection)


async def test_constraint_names_are_the_same_on_every_backend(database: Database) -> None:
    async with database.engine.begin() as connection:
        names = await connection.run_sync(_create_named_constraints)

    assert names == {
        "pk": "pk_nc_children",
        "fk": ["fk_nc_children_parent_id_nc_parents"],
        "uq": ["uq_nc_children_code_slot"],
        "ck": ["ck_nc_children_slot_non_negative"],
        "ix": ["ix_nc_children_parent_id"],
    }
