"""An optional objects-per-second limit for rewrites (RKE has none).

A token bucket holding at most one second's worth (starting with one token),
on an injectable clock so tests need no real sleeps.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["SYSTEM_CLOCK", "Clock", "RateLimiter"]


@dataclass(frozen=True, slots=True)
class Clock:
    now: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]


SYSTEM_CLOCK = Clock(now=time.monotonic, sleep=asyncio.sleep)


@dataclass
class RateLimiter:
    rate: float
    """Objects per second; 0 or less means no limit."""
    clock: Clock = SYSTEM_CLOCK
    _tokens: float = field(default=0.0, init=False)
    _last: float | None = field(default=None, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def acquire(self) -> None:
        if self.rate <= 0:
            return
        async with self._lock:
            while True:
                now = self.clock.now()
                if self._last is None:
                    self._last, self._tokens = now, 1.0
                burst = max(1.0, self.rate)
                self._tokens = min(burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1.0 - 1e-9:  # float sums of rate * elapsed fall just short
                    self._tokens = max(0.0, self._tokens - 1.0)
                    return
                await self.clock.sleep((1.0 - self._tokens) / self.rate)
