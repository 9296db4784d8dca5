"""Every job store obeys the same guarded state machine: this suite runs against the
in-memory store, SQLite and a real PostgreSQL (one fresh schema per test)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.jobs import Job, JobStatus, JobTransitionError, Step
from gateway.store import InMemoryJobStore, JobStore, SQLiteJobStore, open_store
from tests.pg import fresh_schema


def make_job(job_id: str = "j1", idempotency_key: str | None = None,
             songs: tuple[str, ...] = ("uploads/a.wav",)) -> Job:
    return Job(job_id=job_id, status=JobStatus.PROCESSING, progress=0.0, current_step="Queued",
               request={"songs": [{"id": f"s{i}", "storage_path": p}
                                  for i, p in enumerate(songs)]},
               created_at="2026-01-01T00:00:00+00:00", deadline_at=time.time() + 60,
               idempotency_key=idempotency_key, user_id="alice")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobStore]:
    if request.param == "postgres":
        async with fresh_schema() as (url, schema):
            s = await open_store(url, schema=schema)
            yield s
            await s.close()
        return
    s = (SQLiteJobStore(tmp_path / "jobs.sqlite3") if request.param == "sqlite"
         else InMemoryJobStore())
    yield s
    await s.close()


async def test_lifecycle_and_events(store: JobStore) -> None:
    job, created = await store.create(make_job())
    assert created and job.user_id == "alice"
    claimed = await store.claim(job.job_id, "r1", 30.0)
    assert claimed is not None and claimed.attempts == 1 and claimed.lease_owner == "r1"
    await store.progress(job.job_id, 10.0, "Analyzing", owner="r1")
    await store.save_output(job.job_id, Step.ANALYZE.value, [{"songId": "a"}], 30.0, "Analyzed",
                            owner="r1")
    loaded = await store.get(job.job_id)
    assert loaded is not None
    assert loaded.outputs[Step.ANALYZE.value] == [{"songId": "a"}]
    assert loaded.next_step() is Step.SCORE
    await store.finish(job.job_id, JobStatus.COMPLETE, "Complete", owner="r1")
    done = await store.get(job.job_id)
    assert done is not None and done.status is JobStatus.COMPLETE and done.progress == 100.0
    assert done.lease_owner is None
    events = await store.events(job.job_id)
    assert events[0]["message"] == "created"
    assert len(events) == 5
    ids = [e["id"] for e in events]
    assert ids == sorted(ids)
    assert [e["id"] for e in await store.events(job.job_id, after_id=ids[2])] == ids[3:]


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
        await store.save_output(job.job_id, "score", {}, 99.0, "late")
    with pytest.raises(JobTransitionError):
        await store.progress("missing", 1.0, "x")
    with pytest.raises(ValueError):
        await store.finish(job.job_id, JobStatus.PROCESSING, "x")
    assert await store.claim(job.job_id, "r1", 30.0) is None
    assert not await store.heartbeat(job.job_id, "r1", 30.0)
    loaded = await store.get(job.job_id)
    assert loaded is not None and loaded.status is JobStatus.FAILED
    assert loaded.error_message == "boom"
    assert await store.active() == []


async def test_idempotency_key_returns_the_same_job(store: JobStore) -> None:
    first, created = await store.create(make_job("j1", idempotency_key="k"))
    second, created_again = await store.create(make_job("j2", idempotency_key="k"))
    assert created and not created_again
    assert second.job_id == first.job_id == "j1"
    assert await store.get("j2") is None


async def test_a_step_output_is_saved_once(store: JobStore) -> None:
    job, _ = await store.create(make_job())
    await store.save_output(job.job_id, "plan", {"masterplan": 1}, 48.0, "Planned")
    with pytest.raises(JobTransitionError):
        await store.save_output(job.job_id, "plan", {"masterplan": 2}, 48.0, "Planned")
    loaded = await store.get(job.job_id)
    assert loaded is not None and loaded.outputs["plan"] == {"masterplan": 1}


async def test_lease_fences_other_replicas(store: JobStore) -> None:
    job, _ = await store.create(make_job())
    assert await store.claim(job.job_id, "r1", 30.0) is not None
    assert await store.claim(job.job_id, "r2", 30.0) is None  # held and alive
    with pytest.raises(JobTransitionError):
        await store.progress(job.job_id, 10.0, "x", owner="r2")
    with pytest.raises(JobTransitionError):
        await store.save_output(job.job_id, "analyze", [], 30.0, "x", owner="r2")
    with pytest.raises(JobTransitionError):
        await store.finish(job.job_id, JobStatus.COMPLETE, "x", owner="r2")
    assert await store.heartbeat(job.job_id, "r1", 30.0)
    assert not await store.heartbeat(job.job_id, "r2", 30.0)
    assert await store.claimable(idle_sec=0) == []
    # r1 releases (graceful shutdown): anyone may take the job at once.
    await store.release(job.job_id, "r1")
    assert [j.job_id for j in await store.claimable(idle_sec=3600)] == ["j1"]
    taken = await store.claim(job.job_id, "r2", 30.0)
    assert taken is not None and taken.lease_owner == "r2" and taken.attempts == 2
    with pytest.raises(JobTransitionError):
        await store.progress(job.job_id, 10.0, "stale", owner="r1")


async def test_an_expired_lease_is_taken_over(store: JobStore) -> None:
    job, _ = await store.create(make_job())
    assert await store.claim(job.job_id, "dead", 0.05) is not None
    await asyncio.sleep(0.1)
    assert [j.job_id for j in await store.claimable(idle_sec=3600)] == ["j1"]
    assert await store.claim(job.job_id, "alive", 30.0) is not None
    assert not await store.heartbeat(job.job_id, "dead", 30.0)


async def test_claimable_waits_for_idle_unleased_jobs(store: JobStore) -> None:
    await store.create(make_job())
    assert await store.claimable(idle_sec=3600) == []
    assert [j.job_id for j in await store.claimable(idle_sec=0)] == ["j1"]


async def test_two_claims_at_once_have_one_winner(store: JobStore) -> None:
    job, _ = await store.create(make_job())
    results = await asyncio.gather(*(store.claim(job.job_id, f"r{i}", 30.0) for i in range(8)))
    assert sum(r is not None for r in results) == 1


async def test_delete_finished_before(store: JobStore) -> None:
    await store.create(make_job("old", songs=("uploads/a.wav", "uploads/b.wav")))
    await store.create(make_job("live", songs=("uploads/b.wav",)))
    await store.finish("old", JobStatus.COMPLETE, "Complete")
    assert await store.delete_finished_before(time.time() - 3600) == []
    gone = await store.delete_finished_before(time.time() + 1)
    assert [j.job_id for j in gone] == ["old"]
    assert await store.get("old") is None and await store.events("old") == []
    assert await store.get("live") is not None  # processing jobs are never deleted
    assert await store.referenced_paths() == {"uploads/b.wav"}


async def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    store = SQLiteJobStore(path)
    job, _ = await store.create(make_job())
    await store.save_output(job.job_id, "analyze", [1, 2], 30.0, "x")
    await store.close()
    reopened = SQLiteJobStore(path)
    assert reopened.applied_migrations == []
    active = await reopened.active()
    assert [j.job_id for j in active] == ["j1"]
    assert active[0].outputs == {"analyze": [1, 2]}
    await reopened.close()


async def test_sqlite_migrates_a_first_release_database(tmp_path: Path) -> None:
    from gateway import migrations

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(migrations.load("sqlite")[0].sql)  # the schema before versioning
    conn.execute("INSERT INTO jobs (job_id, status, current_step, request_json, created_at, "
                 "deadline_at, updated_at) VALUES ('old', 'processing', 'Queued', ?, 'x', ?, 0)",
                 (json.dumps({"songs": []}), time.time() + 60))
    conn.commit()
    conn.close()
    store = SQLiteJobStore(path)
    assert store.applied_migrations == [1, 2]
    assert await store.claim("old", "r1", 30.0) is not None
    await store.close()


async def test_postgres_migrations_run_once() -> None:
    async with fresh_schema() as (url, schema):
        first = await open_store(url, schema=schema)
        second = await open_store(url, schema=schema)
        assert first.applied_migrations == [1, 2]  # type: ignore[attr-defined]
        assert second.applied_migrations == []  # type: ignore[attr-defined]
        await first.close()
        await second.close()
