"""Back-pressure on one replica: at most N jobs run at once, the rest wait in FIFO order
and see their position in `currentStep`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from gateway.metrics import QUEUE_DEPTH, RUNNING

PositionFn = Callable[[str, int, int], Awaitable[None]]  # (job_id, position, queue length)


class SlotQueue:
    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self._free = asyncio.Semaphore(self.slots)
        self.waiting: list[str] = []
        self.running = 0

    async def _announce(self, report: PositionFn) -> None:
        waiting = list(self.waiting)
        for position, job_id in enumerate(waiting, start=1):
            await report(job_id, position, len(waiting))

    @contextlib.asynccontextmanager
    async def slot(self, job_id: str, report: PositionFn) -> AsyncIterator[None]:
        """Hold one slot for the body; wait (announcing queue positions) while none is free."""
        if self._free.locked() or self.waiting:
            self.waiting.append(job_id)
            QUEUE_DEPTH.set(len(self.waiting))
            try:
                await self._announce(report)  # the queue grew: everyone's "of N" changed
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
