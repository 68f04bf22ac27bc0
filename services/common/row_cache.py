"""Answers of hot reads kept in this process until the change feed says their rows changed.

A cached read names tags ("projects:17", "projects@42" for user 42's pages); the triggers of
migration 0009 announce the same tags for every row written, and change_feed.py hands them
here, which drops every answer carrying one. The rules that keep answers fresh are the feed's
(poll at each read, fence after a write committed in this process, nothing kept while the feed
is not live); this module adds three of its own:
- An answer read while any change arrived is not kept (a generation counter), because the read
  may have run before that change committed.
- No answer is older than MAX_AGE_SECONDS, whatever the feed says.
- The cache holds at most `max_bytes` of text (oldest answers go first).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import Any

from sqlalchemy import Connection, Engine, Pool, event

from services.common.change_feed import FLUSH_ALL, ChangeFeed, FeedLost

MAX_AGE_SECONDS = 30.0
_ENTRY_BYTES = 200  # the bookkeeping of one answer, roughly


class _Writes:
    """Commits made by this process, through any engine: a read after one fences first."""

    count = 0


_WROTE = "filmstudio_committed"


def _mark_commit(connection: Connection) -> None:
    connection.info[_WROTE] = True


def _count_write(_dbapi_connection: Any, record: Any) -> None:
    # Counted when the connection goes back to the pool, after the commit has finished:
    # SQLAlchemy's own commit event fires before it, too early for a fence to see the change.
    if record.info.pop(_WROTE, False):
        _Writes.count += 1


def note_local_write() -> None:
    """Record a write committed outside SQLAlchemy (call once it has finished, or failed)."""
    _Writes.count += 1


event.listen(Engine, "commit", _mark_commit)
event.listen(Pool, "checkin", _count_write)


class _Entry:
    __slots__ = ("size", "stored_at", "tags", "value")

    def __init__(self, value: Any, tags: tuple[str, ...], size: int) -> None:
        self.value = value
        self.tags = tags
        self.size = size
        self.stored_at = time.monotonic()


MISS: Any = object()


class RowCache:
    """Hot-read answers by statement and parameters, dropped by tag when the feed says so."""

    def __init__(self, url: str, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._by_tag: dict[str, set[Hashable]] = {}
        self._bytes = 0
        self.generation = 0  # bumped by every change and reset
        self._fenced_writes = _Writes.count
        self.feed = ChangeFeed(url, self.invalidate, self.clear)

    async def get(self, key: Hashable) -> Any:
        """Return the kept answer for `key`, or MISS (also whenever the feed is not live)."""
        feed = self.feed
        if not feed.live:
            feed.start()
            return MISS
        writes = _Writes.count
        if writes != self._fenced_writes:
            try:
                await feed.fence()  # this process wrote: see its own change before reading
            except FeedLost:
                return MISS
            self._fenced_writes = max(self._fenced_writes, writes)
        else:
            feed.poll()
            if not feed.live:
                return MISS
        entry = self._entries.get(key)
        if entry is None:
            return MISS
        if time.monotonic() - entry.stored_at > MAX_AGE_SECONDS:
            self._drop(key)
            return MISS
        return entry.value

    def put(
        self, key: Hashable, value: Any, tags: tuple[str, ...], generation: int, text: int
    ) -> None:
        """Keep an answer read at `generation` (holding `text` bytes), unless changed since."""
        if generation != self.generation or not self.feed.live:
            return
        size = text + _ENTRY_BYTES
        if size > self.max_bytes // 16:
            return  # one huge answer would push out hundreds of small ones
        if key in self._entries:
            self._drop(key)
        self._entries[key] = _Entry(value, tags, size)
        self._bytes += size
        for tag in tags:
            self._by_tag.setdefault(tag, set()).add(key)
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def invalidate(self, tags: Iterable[str]) -> None:
        """Drop every answer carrying one of the tags ("*": all of them)."""
        self.generation += 1
        for tag in tags:
            if tag == FLUSH_ALL:
                self.clear()
                return
            for key in self._by_tag.pop(tag, ()):
                self._drop(key)

    def clear(self) -> None:
        """Drop every answer."""
        self.generation += 1
        self._entries.clear()
        self._by_tag.clear()
        self._bytes = 0

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self._bytes -= entry.size
        for tag in entry.tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]

    def __len__(self) -> int:
        return len(self._entries)
