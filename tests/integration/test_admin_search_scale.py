"""The user search at 100,000 accounts on PostgreSQL: through the trigram index, under 50 ms."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event, text

from services.admin.search import UserFilter, search
from services.common.db import Database
from services.common.migrate import migrate
from services.common.pagination import PageTokens
from tests.support.database import create_postgres_database, drop_postgres_database

log = logging.getLogger(__name__)

USERS = 100_000
BUDGET_SECONDS = 0.050

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
async def crowded() -> AsyncIterator[Database]:
    """A database of its own with 100,000 users, made by one INSERT ... SELECT."""
    url = create_postgres_database()
    await migrate(url)
    database = Database(url, pool_size=2)
    async with database.session() as db, db.begin():
        await db.execute(
            text(
                "INSERT INTO users (email, email_verified, first_name, last_name, avatar_url,"
                " locale, role, state, tier, created_at, updated_at)"
                " SELECT 'person' || n || '@example' || (n % 97) || '.com', true,"
                " 'Given' || n, 'Family' || (n * 7919 % 100000), '', 'en-US',"
                " CASE WHEN n % 1000 = 0 THEN 'admin' ELSE 'user' END,"
                " CASE WHEN n % 50 = 0 THEN 'suspended' ELSE 'active' END, 'free',"
                " now() - n * interval '1 minute', now()"
                " FROM generate_series(1, :n) AS n"
            ),
            {"n": USERS},
        )
    autocommit = database.engine.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as connection:
        await connection.execute(text("VACUUM ANALYZE users"))
    yield database
    await database.dispose()
    drop_postgres_database(url)


async def _timed_with_plan(database: Database, found: UserFilter) -> tuple[float, str, int]:
    """Run the search, return its best time of three, the EXPLAIN of its SQL and its hits."""
    captured: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if "FROM users" in statement:
            captured.append((statement, parameters))

    tokens = PageTokens(b"test")
    best, hits = float("inf"), 0
    event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
    try:
        for _ in range(3):
            start = time.perf_counter()
            page = await search(database, tokens, found, 20, "")
            best = min(best, time.perf_counter() - start)
            hits = len(page.users)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", capture)
    statement, parameters = captured[-1]
    async with database.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
        await cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        plan = "\n".join(row[0] for row in await cursor.fetchall())
    return best, plan, hits


@pytest.mark.parametrize(
    ("found", "expected_hits"),
    [
        pytest.param(UserFilter(text="PERSON4242@"), 1, id="one-email-case-insensitive"),
        pytest.param(UserFilter(text="family3141"), 11, id="a-family-name-substring"),
        pytest.param(UserFilter(text="given9999", state="active"), 11, id="name-and-state"),
        pytest.param(UserFilter(text="@example13.com", role="admin"), 1, id="domain-and-role"),
        pytest.param(UserFilter(text="nobody-like-this"), 0, id="no-match"),
    ],
)
async def test_search_answers_through_the_index_within_50_ms(crowded, found, expected_hits) -> None:
    elapsed, plan, hits = await _timed_with_plan(crowded, found)
    log.info("%r: %.1f ms, %d hits\n%s", found.text, elapsed * 1000, hits, plan)
    assert "Seq Scan" not in plan, plan
    assert "_trgm" in plan, plan
    assert hits == expected_hits
    assert elapsed < BUDGET_SECONDS, f"{elapsed * 1000:.1f} ms\n{plan}"


@pytest.mark.parametrize("common", ["person", "@example1", "given99"])
async def test_common_text_fills_its_page_from_the_newest_rows_within_50_ms(
    crowded, common
) -> None:
    """A text most users match answers from the primary key's newest rows, not every match."""
    elapsed, plan, hits = await _timed_with_plan(crowded, UserFilter(text=common))
    log.info("%r: %.1f ms, %d hits\n%s", common, elapsed * 1000, hits, plan)
    assert "Seq Scan" not in plan, plan
    assert "pk_users" in plan, plan
    assert hits == 20
    assert elapsed < BUDGET_SECONDS, f"{elapsed * 1000:.1f} ms\n{plan}"


async def test_pages_of_a_common_text_follow_one_another_without_gaps(crowded) -> None:
    """Page tokens carry the keyset across the probe: ids strictly fall, none repeats."""
    tokens, found, seen, token = PageTokens(b"test"), UserFilter(text="family314"), [], ""
    for _ in range(10):
        page = await search(crowded, tokens, found, 20, token)
        seen += [int(user.id) for user in page.users]
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen))
    assert len(seen) == 111
