"""Hot single-statement reads on asyncpg, written once as SQLAlchemy Core statements.

The authenticated reads (GetProject, GetJob, GetMe, a page of ListProjects, the balances of
GetCredits) are one SELECT each, and through SQLAlchemy and psycopg such a SELECT cost ~750 us
of CPU where asyncpg runs it in ~35 us (`bench/project_read.py`, same process, same database).
So on PostgreSQL such reads run on a small asyncpg pool of their own: the Core statement is
compiled once for asyncpg's `$n` parameters and asyncpg prepares it once per connection. On
SQLite (the embedded default) the same statement runs through SQLAlchemy, so every caller has
one code path and one statement.

Only reads: no transaction, autocommit, each statement its own snapshot (as `Database.reader`).
Parameters must already be what the driver takes (ints, strings): no bind processing runs.
Rows come back with attribute access on both backends; timestamps are aware UTC datetimes and
JSON columns are decoded, as the ORM gives them.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator, Mapping
from typing import Any, Self, TypeVar, overload

import asyncpg
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    Float,
    Integer,
    Select,
    String,
    TypeDecorator,
    event,
)
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.engine import make_url

from services.common.row_cache import MISS, RowCache
from services.common.timestamps import UtcDateTime

T = TypeVar("T")
V = TypeVar("V")

# A SELECT of any columns (Select is generic over the tuple of its column types).
AnySelect = Select[*tuple[Any, ...]]

_DIALECT = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]


class _Derives:
    """Values made once from a read: a kept read (row_cache.py) serves many calls."""

    __slots__ = ("_derived",)

    def __init__(self) -> None:
        self._derived: dict[Hashable, Any] | None = None

    def derived(self, make: Callable[[Self], T], key: Hashable = None) -> T:
        """Return `make(self)`, made once per read and `key` (`make` itself when None).

        What `make` returns is shared by the calls this read serves: they must not change it.
        """
        memo = self._derived
        if memo is None:
            memo = self._derived = {}
        if key is None:
            key = make
        try:
            return memo[key]  # type: ignore[no-any-return]
        except KeyError:
            value = memo[key] = make(self)
            return value


class Found(_Derives):
    """One row of a hot read, with attribute access like an ORM object, on either backend."""

    __slots__ = ("_record",)

    def __init__(self, record: asyncpg.Record | Mapping[Any, Any]) -> None:
        super().__init__()
        self._record = record

    def __getattr__(self, name: str) -> Any:
        try:
            return self._record[name]
        except KeyError:
            raise AttributeError(name) from None


class FoundRows(_Derives):
    """The rows of a hot read, in order; what is made of all of them is made once too."""

    __slots__ = ("rows",)

    def __init__(self, rows: Iterable[Found]) -> None:
        super().__init__()
        self.rows = tuple(rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Found]:
        return iter(self.rows)

    @overload
    def __getitem__(self, index: int) -> Found: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Found, ...]: ...
    def __getitem__(self, index: int | slice) -> Found | tuple[Found, ...]:
        return self.rows[index]


# Column types whose asyncpg values are what SQLAlchemy would give (timestamptz comes back as an
# aware UTC datetime, JSON through the codec below); any other type would skip its processing.
_PLAIN_TYPES = (Integer, String, Boolean, Float, JSON, DateTime, UtcDateTime)


def _check_plain(statement: AnySelect) -> None:
    """Refuse a statement selecting a column type whose result processing asyncpg would skip."""
    for column in statement.selected_columns:
        kind = column.type
        if not isinstance(kind, _PLAIN_TYPES) or (
            isinstance(kind, TypeDecorator) and not isinstance(kind, UtcDateTime)
        ):
            raise TypeError(f"hot reads cannot select {column} of type {kind!r}")


def _text_size(record: asyncpg.Record | None) -> int:
    """Return the bytes of a row's text and binary values (what a cached copy mostly holds)."""
    if record is None:
        return 0
    return sum(len(value) for value in record.values() if isinstance(value, (str, bytes)))


async def _first(pool: asyncpg.Pool, sql: str, args: tuple[Any, ...]) -> tuple[Found | None, int]:
    """Fetch a statement's first row, and the bytes of its text."""
    record = await pool.fetchrow(sql, *args)
    return (Found(record) if record is not None else None), _text_size(record)


async def _every(pool: asyncpg.Pool, sql: str, args: tuple[Any, ...]) -> tuple[FoundRows, int]:
    """Fetch all of a statement's rows, and the bytes of their text."""
    records = await pool.fetch(sql, *args)
    return FoundRows(Found(record) for record in records), sum(map(_text_size, records))


class _Compiled:
    """A Core statement as asyncpg runs it: SQL text and the order of its parameters."""

    __slots__ = ("names", "sql")

    def __init__(self, statement: AnySelect) -> None:
        _check_plain(statement)
        compiled = statement.compile(dialect=_DIALECT)
        self.sql = compiled.string
        self.names = tuple(compiled.positiontup or ())


async def _decode_json(connection: asyncpg.Connection) -> None:
    """Decode json and jsonb into Python values, as SQLAlchemy's JSON type does."""
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """Leave a released connection as it is: these reads change no session state.

    asyncpg's default reset runs `RESET ALL; UNLISTEN *; CLOSE ALL; ...` on every release, a
    second statement per read that cost as much CPU as the read itself (a py-spy profile of
    GetProject: 8% of the process, the SELECT 11%).
    """


_SHARED: weakref.WeakKeyDictionary[Engine, HotReads] = weakref.WeakKeyDictionary()


class HotReads:
    """A lazily opened asyncpg pool for one PostgreSQL database, shared per engine."""

    @classmethod
    def for_engine(cls, engine: Engine, url: str, size: int, cache_bytes: int = 0) -> HotReads:
        """Return the hot reads of an engine's database (one pool however many callers)."""
        if engine not in _SHARED:
            _SHARED[engine] = cls(url, size, cache_bytes)
            # The pool lives as long as the engine: disposing it closes the connections too.
            event.listen(engine, "engine_disposed", lambda _: _SHARED[engine].terminate())
        return _SHARED[engine]

    def __init__(self, url: str, size: int, cache_bytes: int = 0) -> None:
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        # Tagged reads are kept while the database's change feed is live (row_cache.py).
        self._cache = RowCache(url, cache_bytes) if cache_bytes > 0 else None
        self._size = size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._compiled: dict[AnySelect, _Compiled] = {}

    async def _ready_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=0,
                        max_size=self._size,
                        init=_decode_json,
                        reset=_keep_session,
                    )
        return self._pool

    def _compile(self, statement: AnySelect) -> _Compiled:
        compiled = self._compiled.get(statement)
        if compiled is None:
            compiled = self._compiled[statement] = _Compiled(statement)
        return compiled

    async def row(
        self, statement: AnySelect, params: Mapping[str, Any], tags: tuple[str, ...] = ()
    ) -> Found | None:
        """Run a SELECT and return its first row, or None; with tags, kept until they change."""
        return await self._read(statement, params, tags, _first)

    async def rows(
        self, statement: AnySelect, params: Mapping[str, Any], tags: tuple[str, ...] = ()
    ) -> FoundRows:
        """Run a SELECT and return all its rows (bound it with a LIMIT); tags as for `row`."""
        return await self._read(statement, params, tags, _every)

    async def _read(
        self,
        statement: AnySelect,
        params: Mapping[str, Any],
        tags: tuple[str, ...],
        fetch: Callable[[asyncpg.Pool, str, tuple[Any, ...]], Awaitable[tuple[V, int]]],
    ) -> V:
        """Answer from the row cache when tagged and kept there, else fetch (and keep it)."""
        compiled = self._compile(statement)
        args = tuple(params[name] for name in compiled.names)
        cache = self._cache if tags else None
        if cache is not None:
            key = (statement, args)
            kept = await cache.get(key)
            if kept is not MISS:
                return kept  # type: ignore[no-any-return]
            generation = cache.generation
        value, text = await fetch(await self._ready_pool(), compiled.sql, args)
        if cache is not None:
            cache.put(key, value, tags, generation, text)
        return value

    @property
    def cache_live(self) -> bool:
        """Tell whether tagged reads are kept now (the change feed is live)."""
        return self._cache is not None and self._cache.feed.live

    def terminate(self) -> None:
        """Close every connection now (synchronously, as the engine's dispose event needs)."""
        if self._cache is not None:
            self._cache.feed.terminate()
            self._cache.clear()
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None
