"""Several gateway replicas on one real PostgreSQL: leases keep every job to one runner,
a dead replica's jobs are taken over at their first unfinished step, a replica that lost
its lease stops writing; plus queueing and cancellation on one replica."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from gateway.jobs import Job, JobStatus, Step
from gateway.runner import JobRunner
from gateway.settings import GatewaySettings
from gateway.store import InMemoryJobStore, JobStore, open_store
from tests.pg import fresh_schema
from tests.unit.test_gateway_runner import clients, new_job, ok_handlers


def hanging(entered: asyncio.Event) -> Callable[[httpx.Request], Awaitable[httpx.Response]]:
    """A service handler that signals `entered`, then never answers within a test."""
    async def hang(request: httpx.Request) -> httpx.Response:
        entered.set()
        await asyncio.sleep(30)
        return httpx.Response(200, json={})

    return hang


def replica_settings(*, slots: int = 4, lease_sec: float = 0.6) -> GatewaySettings:
    return GatewaySettings(db_path="unused", job_deadline_sec=30.0, analysis_concurrency=2,
                           max_running_jobs=slots, url_expiry_sec=60, public_url=None,
                           lease_sec=lease_sec, scan_interval_sec=0.1)


@pytest.fixture
async def pg_store() -> AsyncIterator[JobStore]:
    async with fresh_schema() as (url, schema):
        store = await open_store(url, schema=schema)
        yield store
        await store.close()


async def wait_all_terminal(store: JobStore, job_ids: list[str], timeout_sec: float = 20
                            ) -> list[Job]:
    deadline = time.monotonic() + timeout_sec
    while time.monotonic() < deadline:
        jobs = [await store.get(j) for j in job_ids]
        if all(j is not None and j.status is not JobStatus.PROCESSING for j in jobs):
            return [j for j in jobs if j is not None]
        await asyncio.sleep(0.05)
    raise AssertionError("jobs never finished")


async def test_two_replicas_run_each_job_once(pg_store: JobStore) -> None:
    calls: list[str] = []
    handlers = ok_handlers(calls)
    plan = handlers["orchestrator"]

    async def slow_plan(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.02)  # widen the window in which both replicas could race
        return plan(request)

    handlers["orchestrator"] = slow_plan  # type: ignore[assignment]
    ids = [f"job{i}" for i in range(8)]
    for job_id in ids:
        await pg_store.create(new_job(job_id=job_id))
    a = JobRunner(pg_store, replica_settings(), clients(handlers), owner="replica-a")
    b = JobRunner(pg_store, replica_settings(), clients(handlers), owner="replica-b")
    await asyncio.gather(a.start(), b.start())
    jobs = await wait_all_terminal(pg_store, ids)
    await asyncio.gather(a.shutdown(), b.shutdown())
    assert all(j.status is JobStatus.COMPLETE for j in jobs)
    counts = Counter(calls)
    assert counts["plan"] == len(ids)  # one masterplan per job, never two
    assert counts["render"] == len(ids) and counts["score"] == len(ids)
    owners = set()
    for job_id in ids:
        claims = [e["message"] for e in await pg_store.events(job_id)
                  if (e["message"] or "").startswith("claimed by")]
        assert len(claims) == 1
        owners.add(claims[0])
    assert owners == {"claimed by replica-a", "claimed by replica-b"}  # both did work


async def test_a_dead_replicas_job_is_taken_over_where_it_stopped(pg_store: JobStore) -> None:
    calls: list[str] = []
    job, _ = await pg_store.create(new_job())
    # Replica "dead" claimed the job, saved the analyses, and then its heartbeat stopped.
    assert await pg_store.claim(job.job_id, "dead", 0.3) is not None
    await pg_store.save_output(job.job_id, Step.ANALYZE.value,
                               [{"songId": "a"}, {"songId": "b"}], 30.0, "Analyzed",
                               owner="dead")
    alive = JobRunner(pg_store, replica_settings(), clients(ok_handlers(calls)), owner="alive")
    assert await alive.start() == 0  # the lease is still held at start-up
    [done] = await wait_all_terminal(pg_store, [job.job_id])
    await alive.shutdown()
    assert done.status is JobStatus.COMPLETE and done.attempts == 2
    assert calls == ["score", "plan", "separate:a", "separate:b", "render"]


async def test_a_replica_that_lost_its_lease_stops_writing() -> None:
    store = InMemoryJobStore()
    entered = asyncio.Event()
    handlers = ok_handlers([])

    handlers["orchestrator"] = hanging(entered)  # type: ignore[assignment]  (async handler)
    job, _ = await store.create(new_job())
    runner = JobRunner(store, replica_settings(lease_sec=0.3), clients(handlers), owner="slow")
    runner.submit(job)
    await asyncio.wait_for(entered.wait(), 10)
    # Another replica steals the lease (as if "slow" had missed its heartbeats).
    store.jobs[job.job_id].lease_expires_at = 0.0
    assert await store.claim(job.job_id, "thief", 30.0) is not None
    deadline = time.monotonic() + 10
    while runner.running and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert runner.running == 0  # it noticed at its next heartbeat and stopped
    current = await store.get(job.job_id)
    assert current is not None and current.status is JobStatus.PROCESSING
    assert current.lease_owner == "thief" and Step.PLAN.value not in current.outputs
    await runner.shutdown()


async def test_jobs_beyond_the_slots_queue_with_their_position() -> None:
    store = InMemoryJobStore()
    release = asyncio.Event()
    handlers = ok_handlers([])
    analysis = handlers["analysis"]

    async def gated(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return analysis(request)

    handlers["analysis"] = gated  # type: ignore[assignment]
    runner = JobRunner(store, replica_settings(slots=1), clients(handlers))
    ids = ["q1", "q2", "q3"]
    for job_id in ids:
        job, _ = await store.create(new_job(job_id=job_id))
        runner.submit(job)
    deadline = time.monotonic() + 10
    steps: list[str] = []
    while time.monotonic() < deadline:
        steps = [(await store.get(j)).current_step for j in ids]  # type: ignore[union-attr]
        if steps[2].startswith("Queued: position 2"):
            break
        await asyncio.sleep(0.02)
    assert steps[1] == "Queued: position 1" and steps[2] == "Queued: position 2"
    release.set()
    jobs = await wait_all_terminal(store, ids)
    assert all(j.status is JobStatus.COMPLETE for j in jobs)
    q3_steps = [e["step"] for e in await store.events("q3")]
    assert "Queued: position 1" in q3_steps  # it moved up when q1 finished
    await runner.shutdown()


async def test_cancel_stops_the_chain_and_the_job_stays_failed() -> None:
    store = InMemoryJobStore()
    entered = asyncio.Event()
    calls: list[str] = []
    handlers = ok_handlers(calls)

    handlers["separation"] = hanging(entered)  # type: ignore[assignment]  (async handler)
    job, _ = await store.create(new_job())
    runner = JobRunner(store, replica_settings(), clients(handlers))
    runner.submit(job)
    await asyncio.wait_for(entered.wait(), 10)
    await store.finish(job.job_id, JobStatus.FAILED, "Cancelled", "Cancelled by the user.")
    assert runner.cancel_local(job.job_id)
    while runner.running:
        await asyncio.sleep(0.01)
    done = await store.get(job.job_id)
    assert done is not None and done.status is JobStatus.FAILED
    assert done.error_message == "Cancelled by the user." and "render" not in calls
    assert json.dumps(done.outputs)  # the saved outputs stay readable
    await runner.shutdown()


async def test_metrics_count_claude_fallbacks_and_finished_jobs() -> None:
    from gateway.metrics import JOBS_FINISHED, PLANS

    handlers = ok_handlers([])
    handlers["orchestrator"] = lambda request: httpx.Response(200, json={
        "creative_vision": "v", "planner": "rules", "masterplan": {"title": "t"},
        "warnings": ["Claude planner failed: timeout; used the rules planner"]})
    fallbacks = PLANS.labels("rules", "true")._value.get()
    completed = JOBS_FINISHED.labels("complete")._value.get()
    store = InMemoryJobStore()
    runner = JobRunner(store, replica_settings(), clients(handlers))
    job, _ = await store.create(new_job())
    runner.submit(job)
    [done] = await wait_all_terminal(store, [job.job_id])
    await runner.shutdown()
    assert done.status is JobStatus.COMPLETE
    assert PLANS.labels("rules", "true")._value.get() == fallbacks + 1
    assert JOBS_FINISHED.labels("complete")._value.get() == completed + 1
