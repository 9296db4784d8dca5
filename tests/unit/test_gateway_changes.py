"""Event streams wake when this replica writes their job, and still poll for the others."""

from __future__ import annotations

import asyncio
import time

from gateway.changes import JobChanges, WatchedStore
from gateway.events import job_events
from gateway.jobs import Job, JobStatus
from gateway.store import InMemoryJobStore


def _job(job_id: str = "j1") -> Job:
    return Job(job_id=job_id, status=JobStatus.PROCESSING, progress=0.0, current_step="Queued",
               request={"songs": []}, created_at="2026-11-23T00:00:00Z",
               deadline_at=time.time() + 600)


async def test_a_write_after_the_count_was_read_returns_at_once() -> None:
    changes = JobChanges()
    seen = changes.version("j1")
    changes.touch("j1")  # lands between reading the count and waiting: not lost
    assert await changes.wait("j1", seen=seen, timeout_sec=30.0)


async def test_a_wait_times_out_without_a_write_and_leaves_nothing_behind() -> None:
    changes = JobChanges()
    assert not await changes.wait("j1", seen=0, timeout_sec=0.01)
    assert not changes._waiters  # no waiter left registered


async def test_a_stream_wakes_on_a_local_write_long_before_its_poll() -> None:
    store = WatchedStore(InMemoryJobStore())
    job, _ = await store.create(_job())
    events = job_events(store, job, poll_sec=30.0, final_state=lambda j: {"status": j.status})
    received: list[tuple[str, dict[str, object]]] = []

    async def follow() -> None:
        async for _id, name, data in events:
            received.append((name, data))

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await store.progress(job.job_id, 40.0, "Rendering")
    await asyncio.sleep(0.05)
    await store.finish(job.job_id, JobStatus.COMPLETE, "Complete")
    await asyncio.wait_for(task, timeout=5.0)
    assert time.monotonic() - started < 5.0  # a 30 s poll would still be sleeping
    assert ("progress", {"status": "processing", "progress": 40.0,
                         "currentStep": "Rendering"}) in received
    assert received[-1] == ("complete", {"status": JobStatus.COMPLETE})
    assert store.version(job.job_id) == 0  # a finished job's count is dropped


async def test_another_replicas_write_is_seen_on_the_poll() -> None:
    inner = InMemoryJobStore()
    store = WatchedStore(inner)
    job, _ = await store.create(_job())
    events = job_events(store, job, poll_sec=0.05, final_state=lambda j: {"status": j.status})
    await inner.finish(job.job_id, JobStatus.FAILED, "Failed", "boom")  # not through the wrapper
    names = [name async for _id, name, _data in events]
    assert names[-1] == "failed"
