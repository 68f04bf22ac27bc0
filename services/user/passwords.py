"""Password policy (OWASP ASVS 5.0) and hashing: bcrypt over an HMAC-SHA384 pre-hash.

bcrypt reads at most 72 bytes, and pyca/bcrypt 5 refuses longer input. We never truncate and
never refuse a long passphrase: the password is first reduced with HMAC-SHA384 and base64
(64 ASCII bytes, no NUL), as OWASP's password storage cheat sheet describes, then bcrypted. The
HMAC key is a fixed, versioned constant, not a secret: its job is length normalisation, so
rotating other secrets can never lock users out. The stored hash records the scheme.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import unicodedata
from collections.abc import AsyncIterator

import bcrypt

from services.common import errors
from services.common.errors import FieldViolation
from services.user.common_passwords import is_common_password

MIN_LENGTH = 8
MAX_LENGTH = 128
# The longest password a sign-in will even look at: past it the request is malformed, and
# normalising and pre-hashing megabytes per attempt would be free work for an attacker.
MAX_INPUT_LENGTH = 1024
# Callers waiting for a hashing slot, per slot, beyond which a burst is refused at once.
WAITERS_PER_SLOT = 8
QUEUE_WAIT_SECONDS = 5.0
SCHEME = "bcrypt-hmac-sha384-v1"
_PREHASH_KEY = b"filmstudio/password-prehash/v1"


def policy_violations(password: str, field: str, *, email: str = "") -> list[FieldViolation]:
    """Return what is wrong with a new password (length, commonness), or nothing."""
    length = len(password)
    if length < MIN_LENGTH:
        return [FieldViolation(field, f"must be at least {MIN_LENGTH} characters", "TOO_SHORT")]
    if length > MAX_LENGTH:
        return [FieldViolation(field, f"must be at most {MAX_LENGTH} characters", "TOO_LONG")]
    lowered = password.casefold()
    if is_common_password(lowered):
        return [FieldViolation(field, "is too common; choose another", "COMMON_PASSWORD")]
    if email and lowered == email.casefold():
        return [FieldViolation(field, "must not be the email address", "SAME_AS_EMAIL")]
    return []


def check_input(password: str, field: str) -> None:
    """Refuse a presented password too long to be anyone's, before any hashing."""
    if len(password) > MAX_INPUT_LENGTH:
        raise errors.InvalidArgument(
            [FieldViolation(field, f"must be at most {MAX_INPUT_LENGTH} characters", "TOO_LONG")]
        )


def _prehash(password: str) -> bytes:
    # NFKC so the same passphrase typed on different keyboards hashes the same.
    normalised = unicodedata.normalize("NFKC", password).encode()
    digest = hmac.new(_PREHASH_KEY, normalised, hashlib.sha384).digest()
    return base64.b64encode(digest)


def hash_password_sync(password: str, rounds: int = 12) -> str:
    """Hash a password (blocking: call through hash_password)."""
    hashed = bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode()
    return f"{SCHEME}${hashed}"


def verify_password_sync(password: str, stored: str) -> bool:
    """Check a password against a stored hash (blocking: call through verify_password)."""
    scheme, _, hashed = stored.partition("$")
    if scheme != SCHEME or not hashed:
        return False
    try:
        return bcrypt.checkpw(_prehash(password), hashed.encode())
    except ValueError:
        return False


async def hash_password(password: str, rounds: int = 12) -> str:
    """Hash a password off the event loop."""
    return await asyncio.to_thread(hash_password_sync, password, rounds)


async def verify_password(password: str, stored: str) -> bool:
    """Check a password off the event loop."""
    return await asyncio.to_thread(verify_password_sync, password, stored)


class DummyHash:
    """A real hash of a random password, checked when an account is unknown to equalise timing."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        self._value: str | None = None

    async def value(self) -> str:
        """Return the dummy hash, computing it once."""
        if self._value is None:
            self._value = await hash_password(
                base64.b64encode(hashlib.sha256().digest()).decode(), self.rounds
            )
        return self._value


class PasswordHasher:
    """Hash and check passwords at one bcrypt cost, with the dummy hash for unknown accounts.

    At most `concurrency` hashes run at once: bcrypt is built to be slow, so a burst of
    sign-ins would otherwise take every thread and pile up requests in memory. A short queue
    absorbs ordinary peaks; past it, or after QUEUE_WAIT_SECONDS, callers get UNAVAILABLE with
    a retry delay.
    """

    def __init__(self, rounds: int, concurrency: int = 4) -> None:
        self.rounds = rounds
        self.dummy = DummyHash(rounds)
        self._slots = asyncio.Semaphore(concurrency)
        self._max_waiting = concurrency * WAITERS_PER_SLOT
        self._waiting = 0

    async def hash(self, password: str) -> str:
        """Hash a new password off the event loop."""
        async with self._slot():
            return await hash_password(password, self.rounds)

    async def check(self, password: str, stored: str | None) -> bool:
        """Check a password; without a stored hash, check the dummy one so timing does not tell."""
        against = stored or await self.dummy.value()
        async with self._slot():
            matched = await verify_password(password, against)
        return stored is not None and matched

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        if self._waiting >= self._max_waiting:
            raise _busy()
        self._waiting += 1
        try:
            async with asyncio.timeout(QUEUE_WAIT_SECONDS):
                await self._slots.acquire()
        except TimeoutError:
            raise _busy() from None
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._slots.release()


def _busy() -> errors.Unavailable:
    return errors.Unavailable(
        "too many sign-ins at once; retry shortly",
        reason="PASSWORD_HASHING_BUSY",
        retry_after_seconds=1.0,
    )
