"""Messages made once per domain record: a record kept by the row cache serves many calls."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

R = TypeVar("R")
V = TypeVar("V")


class PerRecord(Generic[R, V]):
    """`make(record)` kept as long as that very record object lives, keyed by identity.

    Records are frozen dataclasses, often unhashable (they hold lists), and equal records may
    carry different link makers, so identity is the key; a weak reference drops the entry when
    the record goes (a row cache entry ends within its time-to-live). What `make` returns is
    shared by every call for that record: callers must not change it.
    """

    def __init__(self, make: Callable[[R], V]) -> None:
        self._make = make
        self._made: dict[int, tuple[weakref.ref[Any], V]] = {}

    def __call__(self, record: R) -> V:
        """Return the value for this record, made on first use."""
        key = id(record)
        found = self._made.get(key)
        if found is not None and found[0]() is record:
            return found[1]
        value = self._make(record)
        made = self._made
        self._made[key] = (weakref.ref(record, lambda _: made.pop(key, None)), value)
        return value

    def __len__(self) -> int:
        return len(self._made)
