"""Throwaway test databases: a fresh PostgreSQL database per session, SQLite files per test."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

ADMIN_URL_ENV = "TEST_POSTGRES_ADMIN_URL"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ALLOW_NO_POSTGRES_ENV = "FILMSTUDIO_ALLOW_NO_POSTGRES"
TEST_DATABASE_PREFIX = "filmstudio_test_"


class PostgresUnavailableError(RuntimeError):
    """The admin connection to the test PostgreSQL server failed."""


def admin_url() -> str:
    """Return the libpq URL of the maintenance database used to create and drop test ones."""
    url = make_url(os.environ.get(ADMIN_URL_ENV, DEFAULT_ADMIN_URL))
    # psycopg.connect takes libpq URLs only, so drop any "+driver" suffix.
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_optional() -> bool:
    """Tell whether a missing PostgreSQL may skip tests instead of failing them."""
    return os.environ.get(ALLOW_NO_POSTGRES_ENV) == "1"


def _admin_connection() -> psycopg.Connection[tuple[object, ...]]:
    """Connect to the maintenance database in autocommit (CREATE DATABASE needs it)."""
    try:
        return psycopg.connect(admin_url(), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        raise PostgresUnavailableError(
            f"cannot reach the test PostgreSQL at {make_url(admin_url())!r} "
            f"(set {ADMIN_URL_ENV}, or {ALLOW_NO_POSTGRES_ENV}=1 to skip): {error}"
        ) from error


def create_postgres_database() -> str:
    """Create an empty database with a random filmstudio_test_ name and return its async URL."""
    name = f"{TEST_DATABASE_PREFIX}{secrets.token_hex(6)}"
    with _admin_connection() as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(admin_url()).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    """Drop a database made by create_postgres_database, closing whatever still uses it."""
    name = make_url(url).database
    if not name or not name.startswith(TEST_DATABASE_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a test database")
    with _admin_connection() as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def terminate_backend(pid: int) -> None:
    """Kill one server process, as a crash or a restart would, and wait until it is gone."""
    with _admin_connection() as connection:
        connection.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


def sqlite_file_url(directory: Path) -> str:
    """Return the async URL of a not-yet-existing SQLite file under `directory`."""
    return f"sqlite+aiosqlite:///{directory / 'filmstudio.db'}"
