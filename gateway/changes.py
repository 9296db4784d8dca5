"""Wake the event streams of a job the moment this replica writes to it.

A stream (`gateway.events`) follows a job through the store, so it sees changes made by
any replica; polling the store is how it sees another replica's. Changes made here need no
poll: `WatchedStore` wraps the store, counts the writes to each job, and lets a stream wait
for the count to move (`wait_for_change`), so progress reaches the browser as it lands
while the store is asked only every `events_poll_sec` (for the other replicas' writes)
instead of four times a second per open stream.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.jobs import Job, JobStatus
from gateway.store import JobStore


class JobChanges:
    """A write counter per job and the streams waiting on it (one event loop)."""

    def __init__(self) -> None:
        self._versions: dict[str, int] = {}
        self._waiters: dict[str, set[asyncio.Event]] = {}

    def version(self, job_id: str) -> int:
        return self._versions.get(job_id, 0)

    def touch(self, job_id: str) -> None:
        self._versions[job_id] = self.version(job_id) + 1
        for event in self._waiters.get(job_id, ()):
            event.set()

    def forget(self, job_id: str) -> None:
        """Drop a finished job's count (waiters already woken see it move back to 0)."""
        self._versions.pop(job_id, None)

    async def wait(self, job_id: str, *, seen: int, timeout_sec: float) -> bool:
        """Until the job's count passes `seen` (True) or `timeout_sec` passes (False).
        Race-free: a write after the caller read `seen` returns at once."""
        if self.version(job_id) != seen:
            return True
        event = asyncio.Event()
        self._waiters.setdefault(job_id, set()).add(event)
        try:
            await asyncio.wait_for(event.wait(), timeout_sec)
            return True
        except TimeoutError:
            return False
        finally:
            waiters = self._waiters[job_id]
            waiters.discard(event)
            if not waiters:
                del self._waiters[job_id]


class WatchedStore:
    """A JobStore whose writes to a job wake that job's streams on this replica."""

    def __init__(self, inner: JobStore) -> None:
        self.inner = inner
        self.changes = JobChanges()

    def __getattr__(self, name: str) -> Any:  # reads go straight through
        return getattr(self.inner, name)

    def version(self, job_id: str) -> int:
        return self.changes.version(job_id)

    async def wait_for_change(self, job_id: str, *, seen: int, timeout_sec: float) -> bool:
        return await self.changes.wait(job_id, seen=seen, timeout_sec=timeout_sec)

    async def create(self, job: Job) -> tuple[Job, bool]:
        result = await self.inner.create(job)
        self.changes.touch(job.job_id)
        return result

    async def claim(self, job_id: str, owner: str, lease_sec: float) -> Job | None:
        result = await self.inner.claim(job_id, owner, lease_sec)
        self.changes.touch(job_id)
        return result

    async def progress(self, job_id: str, *args: Any, **kwargs: Any) -> Any:
        result = await self.inner.progress(job_id, *args, **kwargs)
        self.changes.touch(job_id)
        return result

    async def save_output(self, job_id: str, *args: Any, **kwargs: Any) -> Any:
        result = await self.inner.save_output(job_id, *args, **kwargs)
        self.changes.touch(job_id)
        return result

    async def finish(self, job_id: str, status: JobStatus, *args: Any, **kwargs: Any) -> Any:
        result = await self.inner.finish(job_id, status, *args, **kwargs)
        self.changes.touch(job_id)
        self.changes.forget(job_id)  # terminal: its streams end, nothing more to count
        return result

    async def delete_finished_before(self, cutoff_sec: float) -> list[Job]:
        deleted = await self.inner.delete_finished_before(cutoff_sec)
        for job in deleted:
            self.changes.touch(job.job_id)
            self.changes.forget(job.job_id)
        return deleted
