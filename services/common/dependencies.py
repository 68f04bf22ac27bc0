"""Calls from one service to another: channels that retry idempotent calls, and a circuit breaker.

A service calling another (the jobs service holding credits, say) gives each call a deadline,
lets gRPC retry it on UNAVAILABLE when the method is idempotent (gRPC's own retry policy, with
backoff, inside the deadline), and puts a breaker in front of the dependency: once it has failed
`failures` calls in a row the breaker opens and calls fail fast with UNAVAILABLE and a retry
delay instead of waiting out their deadlines; after `open_seconds` one trial call goes through,
and its success closes the breaker again, so recovery needs no restart.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import grpc

from services.common import errors

log = logging.getLogger(__name__)

T = TypeVar("T")

# What a dependency being down looks like to its caller; other codes are answers, not outages.
OUTAGE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def retry_config(services: Iterable[str], *, attempts: int = 4) -> str:
    """Return a gRPC service config retrying every method of `services` on UNAVAILABLE.

    Only for services whose methods are all idempotent for this caller (request ids, or
    operations that are no-ops the second time).
    """
    policy = {
        "maxAttempts": attempts,
        "initialBackoff": "0.1s",
        "maxBackoff": "1s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": ["UNAVAILABLE"],
    }
    names = [{"service": service} for service in services]
    return json.dumps({"methodConfig": [{"name": names, "retryPolicy": policy}]})


def internal_channel(target: str, idempotent_services: Iterable[str] = ()) -> grpc.aio.Channel:
    """Open a channel to another service, retrying the idempotent services' calls."""
    options: list[tuple[str, str | int]] = [
        ("grpc.enable_retries", 1),
        # Reconnect within 2 s of a dependency coming back (gRPC's default backoff grows to
        # 120 s), so the breaker's trial call finds it.
        ("grpc.initial_reconnect_backoff_ms", 500),
        ("grpc.max_reconnect_backoff_ms", 2000),
    ]
    services = list(idempotent_services)
    if services:
        options.append(("grpc.service_config", retry_config(services)))
    return grpc.aio.insecure_channel(target, options=options)


class CircuitBreaker:
    """Fail fast while a dependency is down; let one trial call through now and then."""

    def __init__(
        self,
        name: str,
        *,
        failures: int = 5,
        open_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.threshold = failures
        self.open_seconds = open_seconds
        self.clock = clock
        self._failures = 0
        self._open_until = 0.0
        self._trial = False  # a half-open trial call is in flight

    @property
    def state(self) -> str:
        """Return 'closed', 'open' or 'half-open'."""
        if self._failures < self.threshold:
            return "closed"
        return "open" if self.clock() < self._open_until or self._trial else "half-open"

    def _refuse(self) -> errors.Unavailable:
        wait = max(self._open_until - self.clock(), 0.0)
        return errors.Unavailable(
            f"{self.name} is unavailable; retry shortly",
            reason="DEPENDENCY_UNAVAILABLE",
            retry_after_seconds=max(1, math.ceil(wait)),
        )

    async def call(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run `attempt` unless the breaker is open; count its outcome."""
        state = self.state
        if state == "open":
            raise self._refuse()
        trial = state == "half-open"
        if trial:
            self._trial = True  # the others fail fast until this one tells
        try:
            result = await attempt()
        except grpc.aio.AioRpcError as error:
            if error.code() in OUTAGE_CODES:
                self._failed()
            else:
                self._succeeded()  # an answer, even a refusal, means the dependency is up
            raise
        finally:
            if trial:
                self._trial = False
        self._succeeded()
        return result

    def _failed(self) -> None:
        self._failures += 1
        if self._failures >= self.threshold:
            if self.clock() >= self._open_until:
                log.warning("%s is down: failing fast for %g s", self.name, self.open_seconds)
            self._open_until = self.clock() + self.open_seconds

    def _succeeded(self) -> None:
        if self._failures >= self.threshold:
            log.info("%s answers again", self.name)
        self._failures = 0
