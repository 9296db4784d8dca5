"""The job runner against fake services (httpx mock transports, no processes)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import httpx
import pytest

from gateway import runner as runner_module
from gateway.chain import MeshClients
from gateway.jobs import Job, JobStatus, Step
from gateway.runner import JobRunner
from gateway.settings import GatewaySettings
from gateway.store import InMemoryJobStore
from shared.client import ServiceClient

Handler = Callable[[httpx.Request], httpx.Response]
SONGS = [{"id": "a", "storage_path": "uploads/a.wav"}, {"id": "b", "storage_path": "uploads/b.wav"}]


def settings(deadline_sec: float = 30.0, step_retry_sec: float = 0.0) -> GatewaySettings:
    return GatewaySettings(db_path=":memory:", job_deadline_sec=deadline_sec,
                           analysis_concurrency=2, max_running_jobs=2, url_expiry_sec=60,
                           public_url=None, step_retry_sec=step_retry_sec)


def ok_handlers(calls: list[str]) -> dict[str, Handler]:
    def analysis(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        calls.append(f"analyze:{body['songId']}")
        return httpx.Response(200, json={"songId": body["songId"], "bpm": 120.0})

    def scoring(request: httpx.Request) -> httpx.Response:
        calls.append("score")
        return httpx.Response(200, json={"overall": 80.0, "best_pair": ["a", "b"], "pairs": []})

    def orchestrator(request: httpx.Request) -> httpx.Response:
        calls.append("plan")
        assert "x-anthropic-key" not in request.headers or request.headers["x-anthropic-key"]
        return httpx.Response(200, json={"creative_vision": "v", "planner": "rules",
                                         "masterplan": {"title": "t", "timeline": []}})

    def separation(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        calls.append(f"separate:{body['songId']}")
        return httpx.Response(200, json={"songId": body["songId"], "stems": {},
                                         "backend": "dsp", "cached": False, "elapsed_sec": 0})

    def processing(request: httpx.Request) -> httpx.Response:
        calls.append("render")
        body = json.loads(request.content)
        assert body["songs"][0]["analysis"]["songId"] == "a"
        return httpx.Response(200, json={"success": True, "storage_path": "mashups/x.wav",
                                         "duration_sec": 60, "lufs": -14, "true_peak_dbtp": -1.2,
                                         "warnings": []})

    return {"analysis": analysis, "scoring": scoring, "orchestrator": orchestrator,
            "separation": separation, "processing": processing}


def clients(handlers: dict[str, Handler]) -> MeshClients:
    def make(name: str) -> ServiceClient:
        return ServiceClient(name, base_url=f"http://{name}", attempts=2, max_retry_sec=1,
                             transport=httpx.MockTransport(handlers[name]))

    return MeshClients(**{name: make(name) for name in handlers})


def new_job(deadline_sec: float = 30.0, job_id: str = "job1") -> Job:
    return Job(job_id=job_id, status=JobStatus.PROCESSING, progress=0.0, current_step="Queued",
               request={"songs": SONGS}, created_at="2026-01-01T00:00:00+00:00",
               deadline_at=time.time() + deadline_sec)


async def wait_terminal(store: InMemoryJobStore, job_id: str, timeout_sec: float = 10) -> Job:
    deadline = time.monotonic() + timeout_sec
    while time.monotonic() < deadline:
        job = await store.get(job_id)
        if job and job.status is not JobStatus.PROCESSING:
            return job
        await asyncio.sleep(0.01)
    raise AssertionError("job never finished")


async def test_chain_runs_every_step_in_order() -> None:
    calls: list[str] = []
    store = InMemoryJobStore()
    runner = JobRunner(store, settings(), clients(ok_handlers(calls)))
    job, _ = await store.create(new_job())
    runner.submit(job, anthropic_key="sk-ant-user")
    done = await wait_terminal(store, job.job_id)
    assert done.status is JobStatus.COMPLETE and done.progress == 100.0
    assert sorted(calls[:2]) == ["analyze:a", "analyze:b"]
    assert calls[2:] == ["score", "plan", "separate:a", "separate:b", "render"]
    progress = [e["progress"] for e in store.log]
    assert progress == sorted(progress)
    # The user's key never reaches the store.
    assert "sk-ant-user" not in json.dumps(store.log) + json.dumps(done.__dict__, default=str)
    await runner.shutdown()


async def test_only_songs_whose_stems_the_plan_plays_are_separated() -> None:
    calls: list[str] = []
    handlers = ok_handlers(calls)
    plan = {"title": "t", "global": {"targetBPM": 120.0, "targetKey": "A minor"},
            "timeline": [{"time_start_sec": 0.0, "duration_sec": 8.0, "layers": [
                {"songId": "a", "stem": "instrumental"}, {"songId": "c", "stem": "full"}]},
                         {"time_start_sec": 8.0, "duration_sec": 8.0, "layers": [
                             {"songId": "b", "stem": "vocals"}]}]}

    def orchestrator(request: httpx.Request) -> httpx.Response:
        calls.append("plan")
        return httpx.Response(200, json={"creative_vision": "v", "planner": "rules",
                                         "masterplan": plan})

    handlers["orchestrator"] = orchestrator
    store = InMemoryJobStore()
    runner = JobRunner(store, settings(), clients(handlers))
    songs = [*SONGS, {"id": "c", "storage_path": "uploads/c.wav"},
             {"id": "d", "storage_path": "uploads/d.wav"}]
    job, _ = await store.create(Job(
        job_id="job4", status=JobStatus.PROCESSING, progress=0.0, current_step="Queued",
        request={"songs": songs}, created_at="2026-01-01T00:00:00+00:00",
        deadline_at=time.time() + 30))
    runner.submit(job)
    done = await wait_terminal(store, job.job_id)
    assert done.status is JobStatus.COMPLETE
    # c plays whole and d is left out: neither is separated.
    assert [c for c in calls if c.startswith("separate")] == ["separate:a", "separate:b"]
    assert set(done.outputs[Step.SEPARATE.value]) == {"a", "b"}
    await runner.shutdown()


async def test_failing_service_fails_the_job_naming_the_step() -> None:
    calls: list[str] = []
    handlers = ok_handlers(calls)
    handlers["separation"] = lambda r: httpx.Response(
        503, json={"error": {"code": "unavailable", "message": "model is loading"}})
    store = InMemoryJobStore()
    runner = JobRunner(store, settings(), clients(handlers))
    job, _ = await store.create(new_job())
    runner.submit(job)
    done = await wait_terminal(store, job.job_id)
    assert done.status is JobStatus.FAILED
    assert "Separating stems failed" in (done.error_message or "")
    assert "model is loading" in (done.error_message or "")
    assert "render" not in calls
    await runner.shutdown()


async def test_unreachable_service_fails_within_bounded_time() -> None:
    handlers = ok_handlers([])

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    handlers["scoring"] = down
    store = InMemoryJobStore()
    runner = JobRunner(store, settings(), clients(handlers))
    job, _ = await store.create(new_job())
    runner.submit(job)
    done = await wait_terminal(store, job.job_id, timeout_sec=10)
    assert done.status is JobStatus.FAILED
    assert (done.error_message or "").startswith("Scoring mashability failed")
    assert "unreachable" in (done.error_message or "")
    await runner.shutdown()


@pytest.fixture
def quick_step_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "STEP_RETRY_FIRST_SEC", 0.01)


async def run_to_the_end(handlers: dict[str, Handler], *, step_retry_sec: float
                         ) -> tuple[Job, InMemoryJobStore]:
    """One job through a runner with these services: (the finished job, its store)."""
    store = InMemoryJobStore()
    runner = JobRunner(store, settings(step_retry_sec=step_retry_sec), clients(handlers))
    job, _ = await store.create(new_job())
    runner.submit(job)
    done = await wait_terminal(store, job.job_id)
    await runner.shutdown()
    return done, store


@pytest.mark.usefixtures("quick_step_retries")
async def test_a_step_waits_for_a_service_that_comes_back() -> None:
    # separation down (connection refused, then "busy") for its first five calls: the
    # client's own two attempts fail, the step is tried again and the job completes
    calls: list[str] = []
    handlers = ok_handlers(calls)
    separate = handlers["separation"]
    outage = iter(range(5))

    def flaky(request: httpx.Request) -> httpx.Response:
        if next(outage, None) is not None:
            if len(calls) % 2:
                raise httpx.ConnectError("connection refused", request=request)
            return httpx.Response(503, json={"error": {"code": "unavailable",
                                                       "message": "restarting"}})
        return separate(request)

    handlers["separation"] = flaky
    done, store = await run_to_the_end(handlers, step_retry_sec=5.0)
    assert done.status is JobStatus.COMPLETE, done.error_message
    assert any("separation is unavailable; trying again" in str(e.get("step"))
               for e in store.log), store.log
    assert calls.count("render") == 1


@pytest.mark.usefixtures("quick_step_retries")
async def test_a_service_that_stays_down_still_fails_the_job_in_bounded_time() -> None:
    handlers = ok_handlers([])
    attempts: list[int] = []

    def down(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        raise httpx.ConnectError("connection refused", request=request)

    handlers["scoring"] = down
    done, _ = await run_to_the_end(handlers, step_retry_sec=0.1)
    assert done.status is JobStatus.FAILED and "unreachable" in (done.error_message or "")
    # 0.01 + 0.02 + 0.04 s of pauses fit in 0.1 s: four tries of the step, two calls each
    assert len(attempts) == 8


@pytest.mark.usefixtures("quick_step_retries")
async def test_a_failing_service_is_not_waited_for() -> None:
    attempts: list[int] = []
    handlers = ok_handlers([])

    def broken(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        return httpx.Response(500, json={"error": {"code": "internal_error", "message": "bug"}})

    handlers["orchestrator"] = broken
    done, _ = await run_to_the_end(handlers, step_retry_sec=5.0)
    assert done.status is JobStatus.FAILED and "bug" in (done.error_message or "")
    assert len(attempts) == 2  # the client's own attempts only


async def test_deadline_fails_a_hanging_job() -> None:
    handlers = ok_handlers([])

    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200, json={})

    handlers["orchestrator"] = hang  # type: ignore[assignment]
    store = InMemoryJobStore()
    runner = JobRunner(store, settings(deadline_sec=0.5), clients(handlers))
    job, _ = await store.create(new_job(deadline_sec=0.5))
    runner.submit(job)
    done = await wait_terminal(store, job.job_id, timeout_sec=5)
    assert done.status is JobStatus.FAILED
    assert "deadline" in (done.error_message or "")
    assert "writing the masterplan" in (done.error_message or "")
    await runner.shutdown()


async def test_resume_starts_at_the_first_unfinished_step() -> None:
    calls: list[str] = []
    store = InMemoryJobStore()
    job, _ = await store.create(new_job())
    await store.save_output(job.job_id, Step.ANALYZE.value,
                            [{"songId": "a"}, {"songId": "b"}], 30.0, "Analyzed")
    await store.save_output(job.job_id, Step.SCORE.value, {"pairs": []}, 38.0, "Scored")
    runner = JobRunner(store, settings(), clients(ok_handlers(calls)))
    assert await runner.resume_all() == 1
    done = await wait_terminal(store, job.job_id)
    assert done.status is JobStatus.COMPLETE
    assert calls == ["plan", "separate:a", "separate:b", "render"]  # no re-analysis
    await runner.shutdown()


async def test_resume_fails_jobs_past_their_deadline() -> None:
    store = InMemoryJobStore()
    job, _ = await store.create(new_job(deadline_sec=-1))
    runner = JobRunner(store, settings(), clients(ok_handlers([])))
    assert await runner.resume_all() == 0
    done = await store.get(job.job_id)
    assert done is not None and done.status is JobStatus.FAILED
    assert "deadline" in (done.error_message or "")
    await runner.shutdown()


@pytest.mark.parametrize("status", [400, 422])
async def test_client_errors_are_not_retried(status: int) -> None:
    attempts: list[int] = []
    handlers = ok_handlers([])

    def refuse(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        return httpx.Response(status, json={"error": {"code": "x", "message": "bad song"}})

    handlers["analysis"] = refuse
    store = InMemoryJobStore()
    runner = JobRunner(store, settings(), clients(handlers))
    job, _ = await store.create(new_job())
    runner.submit(job)
    done = await wait_terminal(store, job.job_id)
    assert done.status is JobStatus.FAILED and "bad song" in (done.error_message or "")
    assert len(attempts) == 2  # once per song, no retries
    await runner.shutdown()
