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

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from services.common import errors
from services.common.context import Principal
from services.common.rate_buckets import AUTH, READ, Key, LocalBuckets, Policy, policies

if TYPE_CHECKING:
    from services.common.config import Settings


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
