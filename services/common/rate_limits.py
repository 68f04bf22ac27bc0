"""Rate limits: a token bucket per caller and RPC class, in this process or shared in Redis.

Each RPC declares its class in the contract (`option (filmstudio.v1.rate_class)`): read, write,
expensive or auth. A signed-in user has one bucket per class; an anonymous caller one per
class and client address; auth calls are also counted per address when signed in. Service
principals (workers, other services) are never limited. A refusal is RESOURCE_EXHAUSTED with
reason RATE_LIMITED, QuotaFailure and RetryInfo (the gateway turns it into 429 Retry-After).

Buckets live in this process (LocalBuckets) unless REDIS_URL is set, where every class but
those in RATE_LIMIT_LOCAL_CLASSES (reads, by default) is shared by all processes through one
Lua script per check (redis_buckets.py). The check runs inside the interceptor on every call, so
the local path is a dict lookup and a few float operations.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from services.common import errors
from services.common.context import Principal

if TYPE_CHECKING:
    from services.common.config import Settings

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


class SharedBuckets(Protocol):
    """Buckets every process shares (Redis); they fail open to this process's own."""

    async def take(self, key: Key, policy: Policy) -> float:
        """Take a token; return 0.0, or the seconds until one is there."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class MethodLimit:
    """The limit of one RPC: its class, policy and where its buckets live."""

    rate_class: str
    policy: Policy
    local: LocalBuckets
    shared: SharedBuckets | None

    def keys(self, principal: Principal | None, address: str) -> tuple[Key, ...]:
        """Return the buckets a call takes from (none for services and in-process calls)."""
        if principal is not None:
            if principal.is_service:
                return ()
            user = (self.rate_class, f"users/{principal.subject}")
            if self.rate_class == AUTH and address:
                return ((self.rate_class, f"clientip:{address}"), user)
            return (user,)
        return ((self.rate_class, f"clientip:{address}"),) if address else ()

    def take_local(self, principal: Principal | None, address: str) -> None:
        """Take a token from this process's buckets or raise the refusal."""
        for key in self.keys(principal, address):
            wait = self.local.take(key, self.policy)
            if wait:
                raise self.refusal(key, wait)

    async def take(self, principal: Principal | None, address: str) -> None:
        """Take a token from the shared buckets (this process's if none) or raise."""
        if self.shared is None:
            self.take_local(principal, address)
            return
        for key in self.keys(principal, address):
            wait = await self.shared.take(key, self.policy)
            if wait:
                raise self.refusal(key, wait)

    def refusal(self, key: Key, wait: float) -> errors.ResourceExhausted:
        """Return the RESOURCE_EXHAUSTED for a call that found its bucket empty."""
        policy = self.policy
        return errors.ResourceExhausted(
            f"too many {self.rate_class} calls; retry in {math.ceil(wait)} s",
            reason="RATE_LIMITED",
            metadata={
                "rate_class": self.rate_class,
                "per_minute": f"{policy.per_minute:g}",
                "burst": f"{policy.burst:g}",
            },
            subject=key[1],
            retry_after_seconds=wait,
        )


class RateLimiter:
    """Each hosted RPC's limit, built once from the contract and the settings."""

    def __init__(
        self,
        classes: Mapping[str, str | None],
        limits: Mapping[str, Policy],
        *,
        local: LocalBuckets | None = None,
        shared: SharedBuckets | None = None,
        local_classes: Iterable[str] = (READ,),
    ) -> None:
        self.local = local or LocalBuckets()
        self.shared = shared
        keep_local = set(local_classes)
        by_class = {
            name: MethodLimit(name, policy, self.local, None if name in keep_local else self.shared)
            for name, policy in limits.items()
        }
        self._methods = {
            method: by_class[name] for method, name in classes.items() if name in by_class
        }

    @classmethod
    def from_settings(
        cls, settings: Settings, classes: Mapping[str, str | None]
    ) -> RateLimiter | None:
        """Return the limiter the settings ask for (None: limits off), given each RPC's class."""
        if not settings.rate_limits_enabled:
            return None
        shared: SharedBuckets | None = None
        local = LocalBuckets()
        if settings.redis_url:
            from services.common.redis_buckets import RedisBuckets

            shared = RedisBuckets(settings.redis_url, f"{settings.queue_prefix}:ratelimit", local)
        local_classes = [c.strip() for c in settings.rate_limit_local_classes.split(",")]
        return cls(
            classes,
            policies(settings.rate_limits),
            local=local,
            shared=shared,
            local_classes=[c for c in local_classes if c],
        )

    def for_method(self, method: str) -> MethodLimit | None:
        """Return the limit of an RPC path, or None if it is not limited."""
        return self._methods.get(method)

    async def close(self) -> None:
        """Release the shared buckets' connections."""
        if self.shared is not None:
            await self.shared.close()
