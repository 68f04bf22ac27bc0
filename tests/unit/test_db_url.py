"""Database URLs are rewritten to the async drivers FilmStudio runs on."""

from __future__ import annotations

import pytest

from services.common.db import normalize_database_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db:5432/fs", "postgresql+psycopg://u:p@db:5432/fs"),
        ("postgres://u:p@db/fs", "postgresql+psycopg://u:p@db/fs"),
        (
            "postgresql+psycopg2://u@db/fs?sslmode=require",
            "postgresql+psycopg://u@db/fs?sslmode=require",
        ),
        ("POSTGRESQL://u@db/fs", "postgresql+psycopg://u@db/fs"),
        ("sqlite:///var/filmstudio.db", "sqlite+aiosqlite:///var/filmstudio.db"),
        ("sqlite:////abs/path/fs.db", "sqlite+aiosqlite:////abs/path/fs.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ],
)
def test_sync_and_legacy_urls_get_the_async_driver(url: str, expected: str) -> None:
    assert normalize_database_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://u:p@db:5432/fs",
        "sqlite+aiosqlite:///var/filmstudio.db",
    ],
)
def test_already_async_urls_are_left_alone(url: str) -> None:
    assert normalize_database_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "mysql://u:p@db/fs",
        "postgresql+asyncpg://u:p@db/fs",
        "sqlite+pysqlite:///fs.db",
        "",
        "filmstudio.db",
    ],
)
def test_unsupported_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="postgresql://"):
        normalize_database_url(url)


def test_rejection_does_not_echo_the_password() -> None:
    with pytest.raises(ValueError, match="unsupported") as raised:
        normalize_database_url("mysql://admin:hunter2@db/fs")
    assert "hunter2" not in str(raised.value)
