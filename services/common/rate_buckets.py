"""Token buckets: the rate classes, their default policies, and the buckets of one process.

Imported by the settings (to check RATE_LIMITS) and by both bucket stores, so it imports
neither: services/common/rate_limits.py is the check, redis_buckets.py the shared store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

READ, WRITE, EXPENSIVE, AUTH = "read", "write", "expensive", "auth"
CLASSES = (READ, WRITE, EXPENSIVE, AUTH)
# Generous: a person in a browser, the test suite and bench/load's users never meet them; a
# runaway script does. Auth is counted per address too (a household or an office shares one).
DEFAULT_LIMITS: dict[str, dict[str, float]] = {
    READ: {"per_minute": 3000, "burst": 600},
    WRITE: {"per_minute": 600, "burst": 120},
    EXPENSIVE: {"per_minute": 60, "burst": 60},
    AUTH: {"per_minute": 120, "burst": 60},
}
Key = tuple[str, str]  # (class, "users/42" or "clientip:1.2.3.4")


@dataclass(frozen=True)
class Policy:
    """A bucket of `burst` tokens refilled at `rate` tokens a second; a call takes one."""

    rate: float
    burst: float

    @property
    def per_minute(self) -> float:
        """Return the refill rate per minute (how the settings state it)."""
        return self.rate * 60


def policies(overrides: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, Policy]:
    """Return each limited class's policy: the defaults with `overrides` on top (0/min: off)."""
    merged = {name: {**DEFAULT_LIMITS[name], **(overrides or {}).get(name, {})} for name in CLASSES}
    return {
        name: Policy(values["per_minute"] / 60, max(values["burst"], 1.0))
        for name, values in merged.items()
        if values["per_minute"] > 0
    }


def check_overrides(overrides: Mapping[str, Mapping[str, float]]) -> None:
    """Raise ValueError naming an unknown class or field, or a negative number."""
    for name, values in overrides.items():
        if name not in CLASSES:
            raise ValueError(f"unknown rate class {name!r}; use one of {', '.join(CLASSES)}")
        for field, value in values.items():
            if field not in ("per_minute", "burst"):
                raise ValueError(f"{name}: unknown field {field!r}; use per_minute and burst")
            if not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name}.{field} must be a number >= 0")


class LocalBuckets:
    """Token buckets in this process, forgotten once full again (they would start full)."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_entries: int = 200_000
    ) -> None:
        self.clock = clock
        self.max_entries = max_entries
        self._buckets: dict[Key, list[float]] = {}  # key -> [tokens, when counted]
        self._horizon = 0.0  # the longest any bucket takes to fill from empty

    def take(self, key: Key, policy: Policy) -> float:
        """Take a token; return 0.0, or the seconds until one is there (nothing taken)."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_entries:
                self._sweep(now)
            self._horizon = max(self._horizon, policy.burst / policy.rate)
            self._buckets[key] = [policy.burst - 1.0, now]
            return 0.0
        tokens = bucket[0] + (now - bucket[1]) * policy.rate
        if tokens > policy.burst:
            tokens = policy.burst
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / policy.rate

    def __len__(self) -> int:
        return len(self._buckets)

    def _sweep(self, now: float) -> None:
        """Drop the buckets that are full by now; if too many are still filling, drop all."""
        idle = now - self._horizon
        self._buckets = {k: b for k, b in self._buckets.items() if b[1] > idle}
        if len(self._buckets) >= self.max_entries:
            log.warning("rate limit buckets full (%d keys); starting afresh", len(self._buckets))
            self._buckets.clear()
