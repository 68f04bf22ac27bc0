"""The audit log's hash chain: appends, tampering that `audit verify` catches, the trigger.

Each test gets its own database (a SQLite file, or a PostgreSQL copy of a migrated template),
since tampering breaks the chain for whoever shares it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

import services.cli
from services.common import audit
from services.common.audit_verify import verify
from services.common.db import Database
from services.common.migrate import migrate
from tests.support.database import admin_url, create_postgres_database, drop_postgres_database

ROWS = 6


@pytest.fixture(scope="module")
async def postgres_template() -> AsyncIterator[str]:
    """A migrated PostgreSQL database that each test copies (CREATE DATABASE ... TEMPLATE)."""
    url = create_postgres_database()
    await migrate(url)
    yield url
    drop_postgres_database(url)


def _copy_of(template: str) -> str:
    name = f"filmstudio_test_{secrets.token_hex(6)}"
    source = make_url(template).database
    with psycopg.connect(admin_url(), autocommit=True) as connection:
        connection.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(source or "")
            )
        )
    return make_url(template).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def chain_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A private database: a SQLite file (not yet migrated) or a copy of the template."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
        return
    url = _copy_of(request.getfixturevalue("postgres_template"))
    yield url
    drop_postgres_database(url)


@pytest.fixture
async def chain(chain_url: str) -> AsyncIterator[Database]:
    """A private, migrated database holding a chain of ROWS entries."""
    url = chain_url
    if url.startswith("sqlite"):
        await migrate(url)
    database = Database(url, pool_size=5)
    for i in range(1, ROWS + 1):
        async with database.session() as db, db.begin():
            await audit.append(
                db, "user.suspend", target=f"users/{i}", actor="users/1", details={"reason": i}
            )
    yield database
    await database.dispose()


async def tamper(database: Database, *statements: str, **params: str) -> None:
    """Change the table behind the application's back (as a superuser would, on PostgreSQL)."""
    postgres = database.dialect_name == "postgresql"
    async with database.engine.begin() as connection:
        if postgres:
            await connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        for statement in statements:
            await connection.execute(text(statement), params)
        if postgres:
            await connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


@pytest.fixture
def filmstudio(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[object]:
    """Run `filmstudio ...` in-process on a database; return (exit code, what it logged)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    monkeypatch.setenv("FILMSTUDIO_VAR_DIR", str(tmp_path / "var"))

    def run(database: Database, *argv: str) -> tuple[int, str]:
        monkeypatch.setenv("DATABASE_URL", database.url)
        code = services.cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    yield run
    root.handlers[:], root.level = handlers, level


async def test_appends_form_one_chain_that_verifies(chain: Database, filmstudio) -> None:
    report = await verify(chain)
    assert report.clean, report.problem
    assert (report.rows, report.head_seq) == (ROWS, ROWS)
    code, said = await asyncio.to_thread(filmstudio, chain, "audit", "verify")
    assert code == 0, said
    assert "audit log verified: 6 rows" in said


async def test_editing_one_field_fails_verify_naming_that_row(chain: Database, filmstudio) -> None:
    await tamper(chain, "UPDATE audit_log SET actor = 'users/2' WHERE id = 4")
    report = await verify(chain)
    assert report.problem is not None
    assert report.problem.seq == 4
    assert "do not match its hash" in report.problem.why
    code, said = await asyncio.to_thread(filmstudio, chain, "audit", "verify")
    assert code == 1
    assert "FAILED at sequence 4" in said


async def test_rewriting_a_row_with_a_fresh_hash_breaks_the_next_link(chain: Database) -> None:
    await tamper(chain, "UPDATE audit_log SET details = '{}' WHERE id = 3")
    async with chain.reader() as db:
        row = await db.get(audit.AuditRow, 3)
        assert row is not None
        fresh = audit.row_hash(
            seq=3,
            created_at=row.created_at,
            actor=row.actor,
            action=row.action,
            target=row.target,
            details=row.details,
            request_id=row.request_id,
            prev_hash=row.prev_hash,
        )
    await tamper(chain, "UPDATE audit_log SET hash = :fresh WHERE id = 3", fresh=fresh)
    problem = (await verify(chain)).problem
    assert problem is not None
    assert problem.seq == 4
    assert "previous hash" in problem.why


async def test_a_deleted_row_is_detected(chain: Database) -> None:
    await tamper(chain, "DELETE FROM audit_log WHERE id = 2")
    problem = (await verify(chain)).problem
    assert problem is not None
    assert problem.seq == 2
    assert "missing" in problem.why


async def test_deleting_the_newest_rows_is_detected(chain: Database) -> None:
    await tamper(chain, "DELETE FROM audit_log WHERE id >= 5")  # the last two of six
    problem = (await verify(chain)).problem
    assert problem is not None
    assert problem.seq == ROWS - 1
    assert "deleted" in problem.why


async def test_swapping_two_rows_contents_is_detected(chain: Database) -> None:
    await tamper(
        chain,
        # Park row 2 at 9002, copy row 5 over row 2 and the parked row over row 5.
        "UPDATE audit_log SET id = 9002 WHERE id = 2",
        "INSERT INTO audit_log SELECT 2, created_at, actor, action, target, details, "
        "request_id, prev_hash, hash FROM audit_log WHERE id = 5",
        "UPDATE audit_log SET (created_at, actor, action, target, details, request_id, "
        "prev_hash, hash) = (SELECT created_at, actor, action, target, details, request_id, "
        "prev_hash, hash FROM audit_log WHERE id = 9002) WHERE id = 5",
        "DELETE FROM audit_log WHERE id = 9002",
    )
    async with chain.reader() as db:
        assert (await db.get(audit.AuditRow, 2)).target == "users/5"  # type: ignore[union-attr]
    problem = (await verify(chain)).problem
    assert problem is not None
    assert problem.seq == 2


async def test_concurrent_appends_keep_one_chain(chain: Database) -> None:
    async def one(i: int) -> int:
        async with chain.session() as db, db.begin():
            entry = await audit.append(db, "auth.login", target=f"users/{i}", actor=f"users/{i}")
        return entry.seq

    seqs = await asyncio.gather(*(one(i) for i in range(40)))
    assert sorted(seqs) == list(range(ROWS + 1, ROWS + 41))
    report = await verify(chain)
    assert report.clean, report.problem
    assert report.rows == ROWS + 40


async def test_a_rolled_back_action_leaves_no_entry_and_no_gap(chain: Database) -> None:
    async def failing_action() -> None:
        async with chain.session() as db, db.begin():
            await audit.append(db, "credits.grant", target="users/1")
            raise RuntimeError("the action failed")

    with pytest.raises(RuntimeError):
        await failing_action()
    async with chain.session() as db, db.begin():
        entry = await audit.append(db, "credits.grant", target="users/1")
    assert entry.seq == ROWS + 1
    assert (await verify(chain)).clean


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'users/2' WHERE id = 1",
        "DELETE FROM audit_log WHERE id = 1",
        "TRUNCATE audit_log",
    ],
    ids=["update", "delete", "truncate"],
)
async def test_postgres_refuses_changes_to_the_log(postgres_template: str, statement) -> None:
    database = Database(postgres_template, pool_size=1)
    try:
        async with database.session() as db, db.begin():
            await audit.append(db, "auth.login", target="users/1")
        with pytest.raises(DBAPIError, match="append-only"):
            async with database.engine.begin() as connection:
                await connection.execute(text(statement))
        assert (await verify(database)).clean
    finally:
        await database.dispose()
