"""Shared fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from services.common.db import Database
from services.common.migrate import migrate
from tests.support.database import (
    PostgresUnavailableError,
    create_postgres_database,
    drop_postgres_database,
    postgres_optional,
    sqlite_file_url,
)

# --- Databases -------------------------------------------------------------------------------

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _new_postgres_database() -> str:
    """Create a test database, failing (or skipping, when allowed) if PostgreSQL is down."""
    try:
        return create_postgres_database()
    except PostgresUnavailableError as error:
        if postgres_optional():
            pytest.skip(str(error))
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, unmigrated PostgreSQL database shared by the session, dropped at the end."""
    url = _new_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="module")
def module_postgres_url(private_postgres: Callable[[], str]) -> str:
    """A fresh PostgreSQL database of one test module's own, dropped after it.

    For a studio whose background sweeps act on every row they find: in the shared database
    they would settle or rerun other modules' leftover jobs, and count it in this one's numbers.
    """
    return private_postgres()


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[Callable[[], str]]:
    """Make fresh PostgreSQL databases for one module's studios, one each; drop them after.

    For a module with two studios that sweep: on one database, each would run the other's jobs.
    """
    made: list[str] = []

    def make() -> str:
        made.append(_new_postgres_database())
        return made[-1]

    yield make
    for url in made:
        drop_postgres_database(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a SQLite file, not yet created, private to the test."""
    return sqlite_file_url(tmp_path)


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A never-migrated database of each backend, private to the test (for migration tests)."""
    if request.param == "sqlite":
        yield sqlite_file_url(tmp_path)
        return
    url = _new_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest) -> str:
    """A database of each backend, migrated to head."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    await migrate(url)
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A Database on the migrated database_url, disposed after the test."""
    db = Database(database_url, pool_size=2)
    yield db
    await db.dispose()
