"""The database's change feed: which cached rows a write made stale, as PostgreSQL tells it.

Triggers (migration 0009) NOTIFY `filmstudio_changes` when a row of a cached table is written,
with the row's tags as payload ("projects:17 projects@42"; "*" after a TRUNCATE). This process
LISTENs on one connection of its own and hands every payload to the row cache (row_cache.py).

Three rules keep a cached answer from outliving the row it copied:
- `poll()` drains the connection without waiting (libpq's PQconsumeInput, one recv) and runs at
  every cached read, so a notification already on the socket is applied before the read.
- `fence()` sends `SELECT 1` on the listening connection and waits for it: PostgreSQL delivers
  a session's notifications before its next query's answer, so every change committed before
  the fence has been applied when it returns. A read after a write committed in this process
  fences first (read-your-writes), and a heartbeat fences every few seconds (a dead connection
  is found within HEARTBEAT_TIMEOUT_SECONDS).
- Whenever the feed is not live (not yet connected, lost, or the triggers are missing) the
  cache is emptied and stores nothing: reads go to the database.

Writes made by another process reach this one as fast as PostgreSQL delivers the notification
(it signals listeners at commit, before the writer is told the commit succeeded); a read racing
that delivery on another process can still see the row as it was, for well under a millisecond.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable

from psycopg import pq
from psycopg.pq.abc import PGconn, PGresult
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

CHANNEL = "filmstudio_changes"
FLUSH_ALL = "*"
# The trigger function migration 0009 installs: without it no write would be announced.
TRIGGER_FUNCTION = "filmstudio_announce_change"
HEARTBEAT_SECONDS = 5.0
HEARTBEAT_TIMEOUT_SECONDS = 5.0
RECONNECT_SECONDS = (0.1, 0.5, 1.0, 2.0)  # then every 2 s


class FeedLost(Exception):
    """The listening connection failed; the feed is no longer live."""


def _conninfo(url: str) -> bytes:
    """Return libpq's connection string for a SQLAlchemy PostgreSQL URL."""
    plain = make_url(url)
    parts = {
        "host": plain.host or "",
        "port": str(plain.port or ""),
        "dbname": plain.database or "",
        "user": plain.username or "",
        "password": plain.password or "",
        "application_name": "filmstudio-change-feed",
        "connect_timeout": "5",
        # A peer that vanished without a FIN is found by the heartbeat; keepalives free the fd.
        "keepalives": "1",
        "keepalives_idle": "10",
    }
    quoted = (
        f"{key}='{value.replace(chr(92), chr(92) * 2).replace(chr(39), chr(92) + chr(39))}'"
        for key, value in parts.items()
        if value
    )
    return " ".join(quoted).encode()


def _listen(conninfo: bytes) -> PGconn:
    """Connect, check that writes are announced, and LISTEN (blocking: run in a thread)."""
    connection = pq.PGconn.connect(conninfo)
    try:
        if connection.status != pq.ConnStatus.OK:
            raise FeedLost(connection.get_error_message())
        found = connection.exec_(f"SELECT to_regproc('{TRIGGER_FUNCTION}') IS NOT NULL".encode())
        if found.status != pq.ExecStatus.TUPLES_OK:
            raise FeedLost(connection.get_error_message())
        if found.get_value(0, 0) != b"t":
            raise FeedLost(f"{TRIGGER_FUNCTION}() is missing: run `filmstudio migrate`")
        listened = connection.exec_(f"LISTEN {CHANNEL}".encode())
        if listened.status != pq.ExecStatus.COMMAND_OK:
            raise FeedLost(connection.get_error_message())
        connection.nonblocking = 1
    except BaseException:
        connection.finish()
        raise
    return connection


class ChangeFeed:
    """One LISTEN connection per process, kept live, feeding tags to `on_tags`."""

    def __init__(
        self,
        url: str,
        on_tags: Callable[[list[str]], None],
        on_reset: Callable[[], None],
    ) -> None:
        self._conninfo = _conninfo(url)
        self._on_tags = on_tags
        self._on_reset = on_reset
        self._connection: PGconn | None = None
        self._socket = -1
        self._keeper: asyncio.Task[None] | None = None
        self._fence_lock: asyncio.Lock | None = None
        self._readable: asyncio.Event | None = None  # made on the loop, in start()
        self._lost: asyncio.Event | None = None
        self._watching = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.live = False

    def start(self) -> None:
        """Begin connecting in the background (idempotent); reads go to the database meanwhile."""
        if self._keeper is None:
            self._loop = asyncio.get_running_loop()
            self._fence_lock = asyncio.Lock()
            self._readable = asyncio.Event()
            self._lost = asyncio.Event()
            self._keeper = self._loop.create_task(self._keep())

    async def _keep(self) -> None:
        """Connect, heartbeat while live, and reconnect after a loss, until closed."""
        failures = 0
        quiet_until = 0.0
        while True:
            try:
                connection = await asyncio.to_thread(_listen, self._conninfo)
            except Exception as error:  # down, refused, or not migrated: retry, quietly
                if time.monotonic() >= quiet_until:
                    quiet_until = time.monotonic() + 60
                    log.warning("change feed unavailable, cached reads off: %s", error)
                await asyncio.sleep(RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)])
                failures += 1
                continue
            failures = 0
            self._attach(connection)
            try:
                await self._heartbeat()
            except FeedLost:
                pass
            finally:
                self._detach()
            log.warning("change feed lost; cached reads off until it reconnects")

    async def _heartbeat(self) -> None:
        """Fence every HEARTBEAT_SECONDS until the connection is lost (raises FeedLost)."""
        assert self._lost is not None
        while True:
            try:
                await asyncio.wait_for(self._lost.wait(), HEARTBEAT_SECONDS)
            except TimeoutError:
                await self.fence()
            else:
                return

    def _attach(self, connection: PGconn) -> None:
        """Start reading a fresh connection; from now on cached answers may be kept."""
        self._connection = connection
        # A duplicate of libpq's socket: libpq closes its own when the server goes, and the
        # number could then be reused by another connection while the loop still watched it.
        self._socket = os.dup(connection.socket)
        assert self._loop is not None
        assert self._lost is not None
        self._lost.clear()
        # A server ending the session (terminated, shutting down) says so in a FATAL message
        # that libpq hands to the notice handler; the socket's end may only be read later.
        connection.notice_handler = self._on_notice
        self._loop.add_reader(self._socket, self._on_readable)
        self._watching = True
        self._on_reset()  # anything changed while no one listened is unknown: forget it all
        self.live = True
        self.poll()

    def _unwatch(self) -> None:
        """Stop the loop watching the socket (a dead one would wake it without end)."""
        if self._watching and self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._socket)
        self._watching = False

    def _detach(self) -> None:
        """Close the connection and drop every cached answer."""
        self.live = False
        self._unwatch()
        connection, self._connection = self._connection, None
        if self._socket >= 0:
            os.close(self._socket)
            self._socket = -1
        if connection is not None:
            connection.finish()
        self._on_reset()

    def _on_notice(self, notice: PGresult) -> None:
        severity = notice.error_field(pq.DiagnosticField.SEVERITY_NONLOCALIZED)
        if severity in (b"FATAL", b"PANIC"):
            self._lose()

    def _on_readable(self) -> None:
        self.poll()

    def poll(self) -> None:
        """Apply every notification already received, without waiting; never raises."""
        connection = self._connection
        if connection is None:
            return
        try:
            connection.consume_input()
        except Exception:  # the connection broke: no longer live; the keeper reconnects
            self._lose()
            return
        # Whoever read the socket, a waiting fence must look: its answer may be in hand now,
        # and a socket read empty here never wakes the loop's reader for it.
        if self._readable is not None:
            self._readable.set()
        if connection.status != pq.ConnStatus.OK:
            self._lose()
            return
        while (note := connection.notifies()) is not None:
            payload = note.extra.decode()
            self._on_tags(payload.split())

    def _lose(self) -> None:
        """Mark the feed lost at once (cache emptied) and let the keeper reconnect."""
        if self.live:
            self.live = False
            self._on_reset()
        self._unwatch()
        if self._lost is not None:
            self._lost.set()
        if self._readable is not None:
            self._readable.set()  # wake a fence waiting on the dead socket

    async def fence(self) -> None:
        """Return once every change committed before this call has been applied.

        Raises FeedLost if the connection fails or does not answer in time.
        """
        assert self._fence_lock is not None
        assert self._readable is not None
        async with self._fence_lock:
            connection = self._connection
            if connection is None or not self.live:
                raise FeedLost("not connected")
            try:
                connection.send_query(b"SELECT 1")
                async with asyncio.timeout(HEARTBEAT_TIMEOUT_SECONDS):
                    while connection.flush() != 0:  # a full socket buffer: rare, and brief
                        await self._writable()
                    while True:
                        self._readable.clear()
                        self.poll()
                        if not self.live:
                            raise FeedLost("lost")
                        if not connection.is_busy():
                            break
                        await self._readable.wait()
                while (result := connection.get_result()) is not None:
                    if result.status != pq.ExecStatus.TUPLES_OK:
                        raise FeedLost(connection.get_error_message())
            except FeedLost:
                self._lose()
                raise
            except Exception as error:  # a timeout, or libpq refusing: the same loss
                self._lose()
                raise FeedLost(str(error) or type(error).__name__) from error
            self.poll()

    async def _writable(self) -> None:
        """Wait until the connection's socket takes more bytes."""
        assert self._loop is not None
        ready = self._loop.create_future()
        self._loop.add_writer(self._socket, ready.set_result, None)
        try:
            await ready
        finally:
            self._loop.remove_writer(self._socket)

    async def close(self) -> None:
        """Stop listening and close the connection."""
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        self._detach()

    def terminate(self) -> None:
        """Close now, without awaiting (for synchronous shutdown paths)."""
        keeper, self._keeper = self._keeper, None
        if keeper is not None and not keeper.get_loop().is_closed():
            keeper.cancel()
        self._detach()
