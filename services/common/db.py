"""Async database layer: the declarative base, URL normalisation and the engine holder."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

from sqlalchemy import MetaData, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.pool import NullPool

from services.common.hot_reads import AnySelect, Found, FoundRows, HotReads

# Re-exported: every model and domain takes its timestamps from here, as before.
from services.common.timestamps import UtcDateTime as UtcDateTime
from services.common.timestamps import utcnow as utcnow

if TYPE_CHECKING:
    from services.common.config import Settings

# Explicit constraint names keep Alembic migrations identical on PostgreSQL and SQLite
# (SQLite batch mode can only drop or alter constraints it can name).
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

POSTGRES_DRIVER = "postgresql+psycopg"
SQLITE_DRIVER = "sqlite+aiosqlite"
# How long a SQLite writer waits for the one write lock. SQLite's busy handler polls, backing
# off to 100 ms, so under load a long waiter loses to newcomers: at 5 s, 50 users (bench/load)
# saw a sign-in or a capture fail "database is locked" in most runs; at 30 s (the pool's own
# timeout) none did. Calls' deadlines still bound the wait.
SQLITE_BUSY_TIMEOUT_MS = 30000
PING_TIMEOUT_SECONDS = 5.0
# A pooled connection that sat unused this long is pinged before it is handed out again.
IDLE_PING_SECONDS = 5.0
# What the hot reads may keep in memory per process (row_cache.py; 0 turns the cache off).
READ_CACHE_BYTES = 64 * 1024 * 1024
_CHECKED_IN_AT = "filmstudio_checked_in_at"

# Every spelling we accept, mapped to the async driver we run on.
_DRIVERS = {
    "postgres": POSTGRES_DRIVER,
    "postgresql": POSTGRES_DRIVER,
    "postgresql+psycopg2": POSTGRES_DRIVER,
    "postgresql+psycopg": POSTGRES_DRIVER,
    "sqlite": SQLITE_DRIVER,
    "sqlite+aiosqlite": SQLITE_DRIVER,
}


class Base(DeclarativeBase):
    """Declarative base of every FilmStudio table; its metadata is what Alembic migrates."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every timestamp is an aware UTC instant (timestamptz on PostgreSQL), never a local time.
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


def normalize_database_url(url: str) -> str:
    """Rewrite a PostgreSQL or SQLite URL to use the async driver FilmStudio runs on."""
    scheme, separator, rest = url.partition("://")
    # Only the scheme goes into the message: the rest may carry a password.
    if not separator:
        raise ValueError("database URL must look like postgresql://... or sqlite:///path")
    driver = _DRIVERS.get(scheme.lower())
    if driver is None:
        raise ValueError(
            f"unsupported database URL scheme {scheme!r}: use postgresql://... or sqlite:///path"
        )
    return f"{driver}://{rest}"


def database_unavailable(error: BaseException) -> bool:
    """Tell whether a database error is transient: a lost connection, a server going down."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    # OperationalError also covers deadlocks and serialization failures: retrying helps there too.
    return isinstance(error, (OperationalError, InterfaceError))


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    echo: bool = False,
    migrations: bool = False,
    idle_ping_seconds: float = IDLE_PING_SECONDS,
) -> AsyncEngine:
    """Create an async engine with FilmStudio's per-backend settings; `migrations` for one-offs."""
    parsed = make_url(normalize_database_url(url))
    options: dict[str, Any] = {"echo": echo}
    if migrations:
        # A migration or revision query uses one connection once; nothing should stay pooled.
        options["poolclass"] = NullPool
    if parsed.get_backend_name() == "sqlite":
        _ensure_sqlite_directory(parsed.database)
        engine = create_async_engine(parsed, **options)
        # Batch migrations rebuild tables; with enforcement on, dropping the old copy would
        # cascade-delete or reject rows that reference it, so migrations run with it off.
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(foreign_keys=not migrations))
        return engine
    if not migrations:
        options["pool_size"] = pool_size
    engine = create_async_engine(parsed, **options)
    ping_when_idle(engine, idle_ping_seconds)
    return engine


def ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Ping a pooled connection at checkout only when it sat unused for `idle_seconds`.

    pool_pre_ping would cost a round trip on every checkout, as much as a primary-key read. A
    connection returned moments ago is as alive as a pinged one (the server can die right after
    a ping too); a disconnect found on use invalidates the whole pool, so one call fails
    UNAVAILABLE and the next one reconnects.
    """
    sync_engine = engine.sync_engine
    dialect = sync_engine.dialect

    def remember(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        # A connection that was never checked in is new: it has just answered the handshake.
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                # The pool throws this connection away and checks out a fresh one.
                raise DisconnectionError("pooled connection is gone") from error
            raise

    event.listen(sync_engine, "checkin", remember)
    event.listen(sync_engine, "checkout", ping)


def _ensure_sqlite_directory(database: str | None) -> None:
    """Create the directory of a SQLite file so a fresh var/ works on first start."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(*, foreign_keys: bool) -> Callable[[Any, Any], None]:
    """Return a connect hook that sets the per-connection SQLite pragmas."""
    statements = (
        # First, so that switching to WAL waits for other writers instead of failing.
        f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        "PRAGMA journal_mode=WAL",
        "PRAGMA foreign_keys=ON" if foreign_keys else "PRAGMA foreign_keys=OFF",
    )

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            for statement in statements:
                cursor.execute(statement)
        finally:
            cursor.close()

    return on_connect


class ReadSession(Session):
    """The session of `Database.reader()`: its statements autocommit, so it refuses to write."""

    def flush(self, objects: Any = None) -> None:
        """Refuse pending changes: without a transaction, each would commit on its own."""
        if self.new or self.dirty or self.deleted:
            raise RuntimeError("a read session cannot write; use Database.session() and begin()")
        super().flush(objects)


class Database:
    """One async engine and its session factories, owned by a process for its whole life."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        echo: bool = False,
        idle_ping_seconds: float = IDLE_PING_SECONDS,
        cache_bytes: int = READ_CACHE_BYTES,
    ) -> None:
        self._engine = make_engine(
            url, pool_size=pool_size, echo=echo, idle_ping_seconds=idle_ping_seconds
        )
        self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)
        # Reads run without BEGIN and ROLLBACK: two round trips fewer per read. Under READ
        # COMMITTED every statement takes its own snapshot anyway, in a transaction or not.
        autocommit = self._engine.execution_options(isolation_level="AUTOCOMMIT")
        self._autocommit = autocommit
        self._hot = (
            HotReads.for_engine(self._engine.sync_engine, self.url, pool_size, cache_bytes)
            if self._engine.dialect.name == "postgresql"
            else None
        )
        self._readers = async_sessionmaker(
            autocommit, expire_on_commit=False, sync_session_class=ReadSession
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Build the database the settings describe."""
        return cls(
            settings.effective_database_url,
            pool_size=settings.database_pool_size,
            echo=settings.database_echo,
            cache_bytes=settings.read_cache_bytes,
        )

    @property
    def engine(self) -> AsyncEngine:
        """Return the underlying async engine."""
        return self._engine

    @property
    def url(self) -> str:
        """Return the normalised URL, password included, e.g. to hand to migrate()."""
        return self._engine.url.render_as_string(hide_password=False)

    @property
    def dialect_name(self) -> str:
        """Return 'postgresql' or 'sqlite'."""
        return self._engine.dialect.name

    def session(self) -> AsyncSession:
        """Open a session for writes: `async with db.session() as session, session.begin():`."""
        return self._sessions()

    def reader(self) -> AsyncSession:
        """Open a session for reads that need no transaction (no locks, no writes)."""
        return self._readers()

    async def read_row(
        self, statement: AnySelect, params: Mapping[str, Any], tags: tuple[str, ...] = ()
    ) -> Found | None:
        """Run a hot single-row SELECT (see hot_reads.py); return the row, or None.

        With `tags` (the rows' change tags, migration 0009) PostgreSQL answers are kept in this
        process until a write to one of those rows (row_cache.py).
        """
        if self._hot is not None:
            return await self._hot.row(statement, params, tags)
        async with self._autocommit.connect() as connection:
            row = (await connection.execute(statement, params)).first()
        return Found(row._mapping) if row is not None else None

    @property
    def read_cache_live(self) -> bool:
        """Tell whether tagged hot reads are kept now, every write announced (row_cache.py)."""
        return self._hot is not None and self._hot.cache_live

    async def read_rows(
        self, statement: AnySelect, params: Mapping[str, Any], tags: tuple[str, ...] = ()
    ) -> FoundRows:
        """Run a hot SELECT of a bounded number of rows (see hot_reads.py); tags as read_row's."""
        if self._hot is not None:
            return await self._hot.rows(statement, params, tags)
        async with self._autocommit.connect() as connection:
            result = await connection.execute(statement, params)
            return FoundRows(Found(row._mapping) for row in result)

    async def ping(self) -> bool:
        """Tell whether the database answers SELECT 1 within PING_TIMEOUT_SECONDS."""
        try:
            # Bounded, so a health check on a black-holed host answers instead of hanging.
            async with asyncio.timeout(PING_TIMEOUT_SECONDS), self._engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError):  # OSError covers TimeoutError and refused sockets.
            return False
        return True

    async def dispose(self) -> None:
        """Close every pooled connection; call once at shutdown."""
        await self._engine.dispose()


async def insert_ignore(session: AsyncSession, table: Any, values: dict[str, Any]) -> None:
    """Insert a row unless its key exists already (ON CONFLICT DO NOTHING on both backends)."""
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    module = postgresql if dialect == "postgresql" else sqlite
    await session.execute(module.insert(table).values(**values).on_conflict_do_nothing())
