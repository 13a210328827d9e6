"""The rewrite's objects-per-second limit, on a manual clock (no real sleeps)."""

from __future__ import annotations

import asyncio

from kcrypt.rke.ratelimit import Clock, RateLimiter


class ManualClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def test_rate_limit_spaces_objects_and_zero_means_unlimited() -> None:
    manual = ManualClock()
    limiter = RateLimiter(10.0, Clock(now=manual.now, sleep=manual.sleep))

    async def take(n: int) -> None:
        for _ in range(n):
            await limiter.acquire()

    asyncio.run(take(31))
    # the first at once, then one every 0.1 s: 30 more take 3 s
    assert abs(manual.t - 3.0) < 1e-6
    unlimited = RateLimiter(0.0, Clock(now=manual.now, sleep=manual.sleep))
    before = manual.t
    asyncio.run(_n(unlimited, 1000))
    assert manual.t == before


async def _n(limiter: RateLimiter, n: int) -> None:
    for _ in range(n):
        await limiter.acquire()
