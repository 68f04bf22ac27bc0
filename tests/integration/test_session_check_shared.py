"""The session check's cache across processes: validated by a per-user version in Redis.

Two DatabaseSessionCheck instances on one database and one Redis stand for two serving
processes; the domain service revokes through the first, and the second must refuse at once.
This is the path while the database's change feed is not live (SQLite, or PostgreSQL while the
feed reconnects), so the database here keeps no reads (the feed's path: test_read_cache.py).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from services.common.config import explicit_settings
from services.common.context import Principal
from services.common.db import Database
from services.common.tokens import ACCESS, principal_from_claims
from services.user.session_check import DatabaseSessionCheck
from services.user.user_service import UserService
from tests.support.studio import TEST_JWT_SECRET, TEST_PASSWORD
from tests.support.workers import REDIS_URL, redis_prefix


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A Database that keeps no reads: the session check validates by versions."""
    db = Database(database_url, pool_size=2, cache_bytes=0)
    yield db
    await db.dispose()


@pytest.fixture
async def checks(database) -> AsyncIterator[tuple[DatabaseSessionCheck, DatabaseSessionCheck]]:
    with redis_prefix("session-check") as prefix:
        pair = tuple(
            DatabaseSessionCheck(database, redis_url=REDIS_URL, key_prefix=prefix) for _ in range(2)
        )
        yield pair  # type: ignore[misc]
        for check in pair:
            await check.close()


def _service(database, check: DatabaseSessionCheck) -> UserService:
    settings = explicit_settings(JWT_SECRET=TEST_JWT_SECRET, BCRYPT_ROUNDS=4)
    return UserService(database, settings=settings, session_check=check)


async def _signed_in(users: UserService) -> tuple[str, Principal]:
    email = f"check-{uuid.uuid4().hex[:10]}@example.com"
    await users.register_user(email=email, password=TEST_PASSWORD)
    result = await users.login(email=email, password=TEST_PASSWORD)
    claims = users.codec.decode(result.access_token, expected_types=(ACCESS,))
    return email, principal_from_claims(claims)


async def test_a_revocation_in_one_process_is_refused_by_the_other_on_the_next_call(
    database, checks
) -> None:
    mine, other = checks
    users = _service(database, mine)
    _, principal = await _signed_in(users)
    assert await other.current(principal) is not None  # cached there
    assert await other.current(principal) is not None

    await users.logout(int(principal.subject), principal.session_id)

    assert await other.current(principal) is None
    assert await mine.current(principal) is None


async def test_suspension_and_reactivation_reach_the_other_process(database, checks) -> None:
    mine, other = checks
    users = _service(database, mine)
    email, principal = await _signed_in(users)
    assert await other.current(principal) is not None

    await users.suspend_user(int(principal.subject), reason="test")
    assert await other.current(principal) is None

    await users.set_state(int(principal.subject), "active", reason="test")
    _, fresh = await _signed_in_again(users, email)
    assert await other.current(fresh) is not None


async def _signed_in_again(users: UserService, email: str) -> tuple[str, Principal]:
    result = await users.login(email=email, password=TEST_PASSWORD)
    claims = users.codec.decode(result.access_token, expected_types=(ACCESS,))
    return email, principal_from_claims(claims)


async def test_a_role_change_reaches_the_cached_answer_of_the_other_process(
    database, checks
) -> None:
    mine, other = checks
    users = _service(database, mine)
    email, principal = await _signed_in(users)
    answer = await other.current(principal)
    assert answer is not None
    assert not answer.is_admin

    await users.accounts.set_role(email, "admin")

    answer = await other.current(principal)
    assert answer is not None
    assert answer.is_admin


async def test_without_redis_reachable_every_call_asks_the_database(database) -> None:
    down = DatabaseSessionCheck(database, redis_url="redis://127.0.0.1:1/0")
    users = _service(database, DatabaseSessionCheck(database))
    try:
        _, principal = await _signed_in(users)
        assert await down.current(principal) is not None
        assert await down.current(principal) is not None

        await users.logout(int(principal.subject), principal.session_id)  # not told to `down`

        assert await down.current(principal) is None
    finally:
        await down.close()
