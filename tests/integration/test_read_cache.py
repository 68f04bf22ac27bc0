"""Hot reads kept per process until PostgreSQL announces a change (row_cache.py, change_feed.py).

Real PostgreSQL, real triggers (migration 0009), a real LISTEN connection. Writes come three
ways: through this process's SQLAlchemy sessions (a read after one fences: exact), through a
plain psycopg connection that SQLAlchemy never sees (another process, as far as this one can
tell: delivered by the feed), and with the triggers disabled (nothing announced: the only way
to see that an answer was kept at all).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
from sqlalchemy import text

from services.common.change_feed import ChangeFeed
from services.common.config import explicit_settings
from services.common.context import Principal
from services.common.db import Database
from services.common.hot_reads import Found
from services.common.migrate import migrate
from services.common.tokens import ACCESS, principal_from_claims
from services.credits.credits_service import CreditsService
from services.project.listing import _BY_ID
from services.project.models import ProjectRow
from services.project.project_service import ProjectService
from services.user.models import UserRow
from services.user.session_check import DatabaseSessionCheck
from services.user.user_service import UserService
from tests.support.studio import TEST_JWT_SECRET, TEST_PASSWORD


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
async def url(postgres_url_private: str) -> str:
    return postgres_url_private


@pytest.fixture
async def postgres_url_private(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    from tests.support.database import create_postgres_database, drop_postgres_database

    url = create_postgres_database()
    await migrate(url)
    yield url
    drop_postgres_database(url)


@pytest.fixture
async def database(url: str) -> AsyncIterator[Database]:
    db = Database(url, pool_size=2)
    yield db
    await db.dispose()


async def _live(database: Database) -> None:
    """Start the feed with a tagged read and wait until it is live."""
    for _ in range(200):
        await database.read_row(_BY_ID, {"id": 0}, ("projects:0",))
        if database.read_cache_live:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the change feed did not become live")


async def _project(database: Database, title: str = "first", owner_id: int = 0) -> int:
    """Store a project of `owner_id` (a new user when 0); return its id."""
    async with database.session() as session, session.begin():
        if not owner_id:
            owner = UserRow(email=f"{uuid.uuid4().hex[:12]}@example.com", password_hash="")
            session.add(owner)
            await session.flush()
            owner_id = owner.id
        project = ProjectRow(
            owner_id=owner_id,
            title=title,
            script="INT. TEST - DAY",
            style="cinematic",
            target_duration_seconds=60,
            aspect_ratio="16:9",
            resolution="1080p",
            voice="",
        )
        session.add(project)
        await session.flush()
        return int(project.id)


async def _read(database: Database, project_id: int) -> Found:
    """Read a project as GetProject does (tagged, so it may be kept); it must exist."""
    row = await database.read_row(_BY_ID, {"id": project_id}, (f"projects:{project_id}",))
    assert row is not None
    return row


async def _owner_of(database: Database, project_id: int) -> int:
    return int((await _read(database, project_id)).owner_id)


async def _title(database: Database, project_id: int) -> str:
    return str((await _read(database, project_id)).title)


def _raw(url: str, statement: str, *params: object) -> None:
    """Run SQL on a connection of its own, outside SQLAlchemy (as another process would)."""
    with psycopg.connect(_plain(url), autocommit=True) as connection:
        connection.execute(statement, params or None)


async def test_an_answer_is_kept_until_its_row_is_written(url, database) -> None:
    project = await _project(database)
    await _live(database)
    assert await _title(database, project) == "first"

    # Unannounced (triggers off), the change is invisible: the answer was kept.
    _raw(url, "ALTER TABLE projects DISABLE TRIGGER USER")
    _raw(url, "UPDATE projects SET title = 'unannounced' WHERE id = %s", project)
    _raw(url, "ALTER TABLE projects ENABLE TRIGGER USER")
    assert await _title(database, project) == "first"

    # Announced, it is seen.
    _raw(url, "UPDATE projects SET title = 'announced' WHERE id = %s", project)
    for _ in range(100):
        if await _title(database, project) == "announced":
            break
        await asyncio.sleep(0.01)
    assert await _title(database, project) == "announced"


async def test_a_write_of_this_process_is_seen_by_its_very_next_read(database) -> None:
    project = await _project(database)
    await _live(database)
    for n in range(20):
        assert await _title(database, project) == ("first" if n == 0 else f"title {n - 1}")
        async with database.session() as session, session.begin():
            await session.execute(
                text("UPDATE projects SET title = :title WHERE id = :id"),
                {"title": f"title {n}", "id": project},
            )
        # No sleep: the read fences on the feed's connection before it trusts the cache.
        assert await _title(database, project) == f"title {n}"


async def test_a_fence_ends_when_a_read_took_its_answer_off_the_socket(database) -> None:
    # Under load, reads poll the feed's connection between the loop's own looks at its
    # socket: a read may take the fence's answer, and then the socket never turns readable.
    await _live(database)
    feed = database._hot._cache.feed  # type: ignore[union-attr]
    fence = asyncio.create_task(feed.fence())
    await asyncio.sleep(0)  # the fence has sent its query and waits for the answer
    time.sleep(0.2)  # noqa: ASYNC251 -- the loop blocked on purpose: its reader cannot run yet
    feed.poll()  # as every cached read does first: the answer is taken here
    await asyncio.wait_for(fence, 1)  # was: waited the whole heartbeat timeout, then lost the feed
    assert database.read_cache_live


async def test_truncate_drops_every_answer(url, database) -> None:
    project = await _project(database)
    await _live(database)
    assert await _title(database, project) == "first"
    _raw(url, "TRUNCATE projects CASCADE")
    for _ in range(100):
        if await database.read_row(_BY_ID, {"id": project}, (f"projects:{project}",)) is None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("a truncated table's row was still served")


async def test_a_lost_feed_forgets_what_it_kept_and_comes_back(url, database, caplog) -> None:
    project = await _project(database)
    await _live(database)
    assert await _title(database, project) == "first"
    # Without yielding to the loop: the feed's connection dies, then a change is announced
    # to nobody listening in this process.
    _raw(
        url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'filmstudio-change-feed' AND datname = current_database()",
    )
    _raw(url, "UPDATE projects SET title = 'while down' WHERE id = %s", project)
    assert await _title(database, project) == "while down"  # the loss is seen at the read
    assert "change feed lost" in caplog.text
    await _live(database)  # reconnects by itself
    assert await _title(database, project) == "while down"


async def test_without_the_triggers_nothing_is_kept(url) -> None:
    _raw(url, "DROP FUNCTION filmstudio_announce_change() CASCADE")  # as before migration 0009
    database = Database(url, pool_size=2)
    try:
        await database.read_row(_BY_ID, {"id": 0}, ("projects:0",))
        await asyncio.sleep(0.5)
        assert not database.read_cache_live
    finally:
        await database.dispose()


async def test_an_answer_read_while_a_change_arrived_is_not_kept(url, database) -> None:
    await _live(database)
    cache = database._hot._cache  # type: ignore[union-attr]
    assert cache is not None
    cache.clear()  # _live's last read may have been kept, if the feed was live before it
    seen = cache.generation
    cache.invalidate(["projects:1"])  # a change arrives while a read of generation `seen` runs
    cache.put(("key",), "stale", ("projects:2",), seen, 10)
    assert len(cache) == 0
    cache.put(("key",), "fresh", ("projects:2",), cache.generation, 10)
    assert len(cache) == 1
    cache.invalidate(["projects:2"])
    assert len(cache) == 0


async def test_the_cache_keeps_within_its_byte_budget(url) -> None:
    database = Database(url, pool_size=2, cache_bytes=64_000)
    try:
        await _live(database)
        cache = database._hot._cache  # type: ignore[union-attr]
        assert cache is not None
        for n in range(100):
            cache.put((n,), n, (f"t:{n}",), cache.generation, 1_000)
        assert 0 < len(cache) < 100
        cache.put(("huge",), 0, ("t:huge",), cache.generation, 10_000)  # over a 16th: skipped
        assert ("huge",) not in cache._entries
    finally:
        await database.dispose()


async def _signed_in(
    database: Database, check: DatabaseSessionCheck
) -> tuple[UserService, Principal]:
    """Register and sign in a new user; return the service and the token's caller."""
    settings = explicit_settings(JWT_SECRET=TEST_JWT_SECRET, BCRYPT_ROUNDS=4)
    users = UserService(database, settings=settings, session_check=check)
    email = f"check-{uuid.uuid4().hex[:10]}@example.com"
    await users.register_user(email=email, password=TEST_PASSWORD)
    signed_in = await users.login(email=email, password=TEST_PASSWORD)
    claims = users.codec.decode(signed_in.access_token, expected_types=(ACCESS,))
    return users, principal_from_claims(claims)


async def test_a_revoked_session_fails_on_the_very_next_call_with_the_fast_path_on(
    database,
) -> None:
    check = DatabaseSessionCheck(database)
    users, principal = await _signed_in(database, check)
    await _live(database)
    assert await check.current(principal) is not None
    assert await check.current(principal) is not None  # kept

    await users.logout(int(principal.subject), principal.session_id)

    assert database.read_cache_live  # the fast path is still the one answering
    assert await check.current(principal) is None


async def test_a_suspension_by_another_process_reaches_the_kept_answer(url, database) -> None:
    check = DatabaseSessionCheck(database)
    _, principal = await _signed_in(database, check)
    await _live(database)
    assert await check.current(principal) is not None

    # Outside SQLAlchemy and without `revoked()`: only the feed can tell this process.
    _raw(url, "UPDATE users SET state = 'suspended' WHERE id = %s", int(principal.subject))
    for _ in range(100):
        if await check.current(principal) is None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("a suspension announced by the database was not seen")


def test_the_feed_quotes_awkward_passwords() -> None:
    feed = ChangeFeed(
        "postgresql+psycopg://we'ird:p\\a'ss@db.example:5433/films", lambda _: None, lambda: None
    )
    conninfo = feed._conninfo.decode()
    assert "user='we\\'ird'" in conninfo
    assert "password='p\\\\a\\'ss'" in conninfo
    assert "port='5433'" in conninfo


async def test_kept_balances_are_one_record_until_the_wallet_changes(database) -> None:
    settings = explicit_settings(JWT_SECRET=TEST_JWT_SECRET, BCRYPT_ROUNDS=4)
    credits = CreditsService(database, settings)
    _, principal = await _signed_in(database, DatabaseSessionCheck(database))
    user_id = int(principal.subject)
    await credits.add_credits(user_id, 40, reason="test", idempotency_key=uuid.uuid4().hex)
    await _live(database)
    first = await credits.get_user_credits(user_id)
    assert await credits.get_user_credits(user_id) is first  # kept: made once, shared

    await credits.add_credits(user_id, 2, reason="test", idempotency_key=uuid.uuid4().hex)

    after = await credits.get_user_credits(user_id)
    assert after is not first
    assert after.available == first.available + 2


async def test_a_kept_page_is_one_page_until_a_project_of_its_owner_changes(database) -> None:
    projects = ProjectService(database)
    owner = await _owner_of(database, await _project(database, "one"))
    for title in ("two", "three"):
        await _project(database, title, owner)
    await _live(database)
    first = await projects.get_user_projects(owner, limit=2)
    assert [p.title for p in first.projects] == ["three", "two"]
    assert await projects.get_user_projects(owner, limit=2) is first  # kept: made once, shared
    # Other parameters are another query, and another page, with its own token.
    other = await projects.get_user_projects(owner, limit=1)
    assert [p.title for p in other.projects] == ["three"]
    assert other.next_page_token != first.next_page_token
    rest = await projects.get_user_projects(owner, limit=2, page_token=first.next_page_token)
    assert [p.title for p in rest.projects] == ["one"]
    assert rest.next_page_token == ""

    await _project(database, "four", owner)

    after = await projects.get_user_projects(owner, limit=2)
    assert [p.title for p in after.projects] == ["four", "three"]
    assert after.next_page_token != first.next_page_token
