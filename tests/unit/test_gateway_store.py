"""Both job stores obey the same guarded state machine."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.jobs import Job, JobStatus, JobTransitionError, Step
from gateway.store import InMemoryJobStore, JobStore, SQLiteJobStore


def make_job(job_id: str = "j1", idempotency_key: str | None = None) -> Job:
    return Job(job_id=job_id, status=JobStatus.PROCESSING, progress=0.0, current_step="Queued",
               request={"songs": [{"id": "a", "storage_path": "uploads/a.wav"}]},
               created_at="2026-01-01T00:00:00+00:00", deadline_at=time.time() + 60,
               idempotency_key=idempotency_key)


@pytest.fixture(params=["sqlite", "memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobStore]:
    s: JobStore = (SQLiteJobStore(tmp_path / "jobs.sqlite3") if request.param == "sqlite"
                   else InMemoryJobStore())
    yield s
    await s.close()


async def test_lifecycle_and_events(store: JobStore) -> None:
    job, created = await store.create(make_job())
    assert created
    await store.start_attempt(job.job_id)
    await store.progress(job.job_id, 10.0, "Analyzing")
    await store.save_output(job.job_id, Step.ANALYZE.value, [{"songId": "a"}], 30.0, "Analyzed")
    loaded = await store.get(job.job_id)
    assert loaded is not None
    assert loaded.outputs[Step.ANALYZE.value] == [{"songId": "a"}]
    assert loaded.next_step() is Step.SCORE
    assert loaded.attempts == 1
    await store.finish(job.job_id, JobStatus.COMPLETE, "Complete")
    done = await store.get(job.job_id)
    assert done is not None and done.status is JobStatus.COMPLETE and done.progress == 100.0
    events = await store.events(job.job_id)
    assert events[0]["message"] == "created"
    assert len(events) == 5


async def test_progress_never_decreases(store: JobStore) -> None:
    job, _ = await store.create(make_job())
    await store.progress(job.job_id, 50.0, "half")
    await store.progress(job.job_id, 20.0, "retry")
    loaded = await store.get(job.job_id)
    assert loaded is not None and loaded.progress == 50.0


async def test_terminal_states_never_change(store: JobStore) -> None:
    job, _ = await store.create(make_job())
    await store.finish(job.job_id, JobStatus.FAILED, "Failed", "boom")
    with pytest.raises(JobTransitionError):
        await store.finish(job.job_id, JobStatus.COMPLETE, "Complete")
    with pytest.raises(JobTransitionError):
        await store.progress(job.job_id, 99.0, "late")
    with pytest.raises(JobTransitionError):
        await store.progress("missing", 1.0, "x")
    with pytest.raises(ValueError):
        await store.finish(job.job_id, JobStatus.PROCESSING, "x")
    loaded = await store.get(job.job_id)
    assert loaded is not None and loaded.status is JobStatus.FAILED
    assert loaded.error_message == "boom"
    assert await store.active() == []


async def test_idempotency_key_returns_the_same_job(store: JobStore) -> None:
    first, created = await store.create(make_job("j1", idempotency_key="k"))
    second, created_again = await store.create(make_job("j2", idempotency_key="k"))
    assert created and not created_again
    assert second.job_id == first.job_id == "j1"


async def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    store = SQLiteJobStore(path)
    job, _ = await store.create(make_job())
    await store.save_output(job.job_id, "analyze", [1, 2], 30.0, "x")
    await store.close()
    reopened = SQLiteJobStore(path)
    active = await reopened.active()
    assert [j.job_id for j in active] == ["j1"]
    assert active[0].outputs == {"analyze": [1, 2]}
    await reopened.close()
