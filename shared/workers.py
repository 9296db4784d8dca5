"""A bounded pool for CPU-heavy work behind async handlers.

Work runs in threads (numpy, Essentia, Rubber Band and torch release the GIL in their
inner loops), at most `max_workers` at once; up to `max_queue` more wait in order, and
beyond that callers get 429 with Retry-After instead of piling up memory.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool

from shared.errors import TooManyRequests

P = ParamSpec("P")
T = TypeVar("T")


class BoundedWorkers:
    def __init__(self, *, max_workers: int, max_queue: int, retry_after_sec: int = 5) -> None:
        self.max_workers = max(1, max_workers)
        self.max_queue = max(0, max_queue)
        self.retry_after_sec = retry_after_sec
        self._semaphore: asyncio.Semaphore | None = None
        self._waiting = 0
        self._running = 0

    @property
    def waiting(self) -> int:
        return self._waiting

    @property
    def running(self) -> int:
        return self._running

    async def run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._semaphore is None:  # created lazily inside the running loop
            self._semaphore = asyncio.Semaphore(self.max_workers)
        if self._semaphore.locked() and self._waiting >= self.max_queue:
            raise TooManyRequests(
                "The service is busy; try again shortly.", retry_after_sec=self.retry_after_sec
            )
        self._waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self._waiting -= 1
        self._running += 1
        try:
            return await run_in_threadpool(functools.partial(func, *args, **kwargs))
        finally:
            self._running -= 1
            self._semaphore.release()
