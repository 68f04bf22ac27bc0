"""Token buckets shared by every process through Redis: one Lua script (EVALSHA) per check.

The script refills and takes atomically, on Redis's own clock (processes' clocks may differ),
and gives each key a TTL of the time to fill up again, after which a fresh full bucket is the
same bucket. If Redis cannot answer, a check falls back to this process's buckets for a second
(fail open: each process still limits on its own, no call is refused for Redis's sake) and the
outage is logged once a minute.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from services.common.rate_buckets import Key, LocalBuckets, Policy

log = logging.getLogger(__name__)

# KEYS[1]: the bucket. ARGV: rate (tokens/s), burst. Returns 0, or the milliseconds to wait.
TAKE = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
elseif now > at then
  tokens = math.min(burst, tokens + (now - at) * rate)
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return wait
"""
# After a failed check, how long to count in this process before asking Redis again.
RETRY_SECONDS = 1.0
LOG_EVERY_SECONDS = 60.0


class RedisBuckets:
    """Buckets in Redis under `prefix`, with this process's as the fallback."""

    def __init__(self, url: str, prefix: str, fallback: LocalBuckets, timeout: float = 0.25):
        import redis.asyncio as redis

        self.prefix = prefix
        self.fallback = fallback
        # Short timeouts: a check waits at most this long for a Redis that stopped answering.
        self._redis: Any = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, max_connections=256
        )
        self._script: Any = self._redis.register_script(TAKE)
        self._skip_until = 0.0
        self._quiet_until = 0.0

    async def take(self, key: Key, policy: Policy) -> float:
        """Take a token; return 0.0, or the seconds until one is there."""
        if self._skip_until and time.monotonic() < self._skip_until:
            return self.fallback.take(key, policy)
        try:
            wait_ms = await self._script(
                keys=[f"{self.prefix}:{key[0]}:{key[1]}"], args=[policy.rate, policy.burst]
            )
        except Exception:  # any Redis failure: count here rather than refuse the call
            now = time.monotonic()
            self._skip_until = now + RETRY_SECONDS
            if now >= self._quiet_until:
                self._quiet_until = now + LOG_EVERY_SECONDS
                log.warning("rate limits: Redis unavailable; counting per process", exc_info=True)
            return self.fallback.take(key, policy)
        self._skip_until = 0.0
        return int(wait_ms) / 1000.0

    async def close(self) -> None:
        """Release the connections."""
        await self._redis.aclose()
