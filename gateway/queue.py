"""Back-pressure on one replica: at most N jobs run at once, the rest wait in FIFO order
and see their position in `currentStep`.

Positions are written to the store, so they cost writes: a job writes its own position
when it joins, and each job leaving the queue rewrites the positions of the first
ANNOUNCE_LIMIT waiters only, keeping the writes linear in the number of jobs. A waiter
further back shows its (higher, so pessimistic) joining position until it gets close."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from gateway.metrics import QUEUE_DEPTH, RUNNING

PositionFn = Callable[[str, int], Awaitable[None]]  # (job_id, 1-based position)
ANNOUNCE_LIMIT = 50


class SlotQueue:
    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self._free = asyncio.Semaphore(self.slots)
        self.waiting: list[str] = []
        self.running = 0

    async def _announce(self, report: PositionFn) -> None:
        for position, job_id in enumerate(self.waiting[:ANNOUNCE_LIMIT], start=1):
            await report(job_id, position)

    @contextlib.asynccontextmanager
    async def slot(self, job_id: str, report: PositionFn) -> AsyncIterator[None]:
        """Hold one slot for the body; wait (announcing queue positions) while none is free."""
        if self._free.locked() or self.waiting:
            self.waiting.append(job_id)
            QUEUE_DEPTH.set(len(self.waiting))
            try:
                await report(job_id, len(self.waiting))
                await self._free.acquire()
            finally:
                self.waiting.remove(job_id)
                QUEUE_DEPTH.set(len(self.waiting))
            # Everyone behind this job moved up one place.
            await self._announce(report)
        else:
            await self._free.acquire()
        self.running += 1
        RUNNING.set(self.running)
        try:
            yield
        finally:
            self.running -= 1
            RUNNING.set(self.running)
            self._free.release()
