"""Runs each job's chain in the background, bounded, with a deadline, and always writes a
terminal status: `complete` or `failed` with a reason that names the step and the cause.

Several replicas may share one store. A replica runs a job only while it holds the job's
lease (`claim`), renews it with a heartbeat, and writes every step's output fenced by its
owner id, so two replicas never advance one job; a lease whose heartbeat stopped (a dead
replica) expires and another replica takes the job over at its first unfinished step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from gateway import chain
from gateway.chain import MeshClients
from gateway.jobs import STEP_LABELS, STEP_PROGRESS, Job, JobStatus, JobTransitionError, Step
from gateway.metrics import JOBS_FINISHED, PLANS, STEP_RETRIES, STEP_SECONDS, TAKEOVERS
from gateway.queue import SlotQueue
from gateway.settings import GatewaySettings, default_replica_id
from gateway.store import JobStore
from shared.client import ServiceCallError
from shared.errors import MeshError
from shared.logs import job_context

STEP_RETRY_FIRST_SEC = 2.0  # pauses before a step is tried again: 2, 4, 8, ... s
STEP_RETRY_MAX_PAUSE_SEC = 30.0

log = logging.getLogger(__name__)


@dataclass
class _Attempt:
    job: Job
    step: Step | None = None
    claimed: bool = False


class JobRunner:
    def __init__(self, store: JobStore, settings: GatewaySettings,
                 clients: MeshClients | None = None, *, owner: str | None = None) -> None:
        self.store = store
        self.settings = settings
        self.clients = clients or MeshClients()
        self.owner = owner or settings.replica_id or default_replica_id()
        self.queue = SlotQueue(settings.max_running_jobs)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._background: list[asyncio.Task[None]] = []
        # A user's own Anthropic key lives here, in memory, for one job: never persisted.
        self._anthropic_keys: dict[str, str] = {}

    # --- submitting and taking over ---------------------------------------------------

    def submit(self, job: Job, *, anthropic_key: str | None = None) -> None:
        if job.job_id in self._tasks:
            return
        if anthropic_key:
            self._anthropic_keys[job.job_id] = anthropic_key
        task = asyncio.create_task(self._run(job.job_id), name=f"job-{job.job_id}")
        self._tasks[job.job_id] = task
        task.add_done_callback(lambda _t, jid=job.job_id: self._forget(jid))

    def _forget(self, job_id: str) -> None:
        self._tasks.pop(job_id, None)
        self._anthropic_keys.pop(job_id, None)

    @property
    def running(self) -> int:
        return len(self._tasks)

    def cancel_local(self, job_id: str) -> bool:
        """Stop this replica's chain for a job (already marked terminal in the store)."""
        task = self._tasks.get(job_id)
        if task is None:
            return False
        task.cancel()
        return True

    async def start(self) -> int:
        """Resume left-over jobs, then watch for expired leases; returns how many resumed."""
        resumed = await self.resume_all()
        self._background.append(asyncio.create_task(self._scan_forever(), name="lease-scan"))
        return resumed

    async def resume_all(self) -> int:
        """Pick up every job nobody holds (a previous process's, or released ones)."""
        return await self._take_over(idle_sec=0.0, limit=None)

    async def take_over(self) -> int:
        """Take jobs whose lease expired, or that sat unclaimed for a lease period, as far
        as this replica has free slots."""
        free = self.queue.slots - len(self._tasks)
        return await self._take_over(idle_sec=self.settings.lease_sec, limit=max(0, free))

    async def _take_over(self, *, idle_sec: float, limit: int | None) -> int:
        taken = 0
        for job in await self.store.claimable(idle_sec=idle_sec):
            if job.job_id in self._tasks:
                continue
            if time.time() > job.deadline_at:
                await self._finish_failed(job.job_id, job.current_step,
                                          "The job's deadline passed while no gateway ran it.")
                continue
            if limit is not None and taken >= limit:
                break
            log.info("taking over job %s at %s", job.job_id, job.next_step())
            if job.lease_owner is not None:
                TAKEOVERS.inc()
            self.submit(job)
            taken += 1
        return taken

    async def _scan_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.scan_interval_sec)
            try:
                await self.take_over()
            except Exception:  # a database blip must not end the scan for good
                log.exception("lease scan failed; retrying")

    async def shutdown(self) -> None:
        """Cancel running chains and release their leases so another replica (or the next
        start of this one) resumes them at once."""
        for task in self._background:
            task.cancel()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*self._background, *tasks, return_exceptions=True)
        await self.clients.aclose()

    # --- one job ------------------------------------------------------------------------

    async def _finish_failed(self, job_id: str, step: str, message: str) -> None:
        # Already terminal is fine: terminal states never change.
        with contextlib.suppress(JobTransitionError):
            await self.store.finish(job_id, JobStatus.FAILED, step, message)
            JOBS_FINISHED.labels("failed").inc()

    async def _report_position(self, job_id: str, position: int) -> None:
        job = await self.store.get(job_id)
        # Another replica may have taken the waiting job over: never relabel a running job.
        if job is None or (job.lease_expires_at or 0.0) > time.time():
            return
        with contextlib.suppress(JobTransitionError):
            await self.store.progress(job_id, 0.0, f"Queued: position {position}")

    async def _run(self, job_id: str) -> None:
        with job_context(job_id):
            await self._run_guarded(job_id)

    async def _run_guarded(self, job_id: str) -> None:
        job = await self.store.get(job_id)
        if job is None or job.status is not JobStatus.PROCESSING:
            return
        attempt = _Attempt(job)
        final: tuple[JobStatus, str, str | None] | None = None
        try:
            remaining = job.deadline_at - time.time()
            if remaining <= 0:
                raise TimeoutError
            async with asyncio.timeout(remaining), self.queue.slot(job_id,
                                                                   self._report_position):
                claimed = await self.store.claim(job_id, self.owner, self.settings.lease_sec)
                if claimed is None:
                    return  # another replica holds it
                attempt.job, attempt.claimed = claimed, True
                if await self._with_heartbeat(job_id, self._steps(attempt)):
                    log.warning("job %s: lease lost; another replica owns it now", job_id)
                    return
            final = (JobStatus.COMPLETE, "Complete", None)
        except JobTransitionError:
            return  # cancelled, finished elsewhere, or our lease moved on
        except TimeoutError:
            where = (STEP_LABELS[attempt.step].lower() if attempt.step
                     else "finishing" if attempt.claimed else "waiting in the queue")
            final = (JobStatus.FAILED, "Failed",
                     f"The job passed its deadline of {self.settings.job_deadline_sec:.0f} s "
                     f"while {where}.")
        except MeshError as exc:
            label = STEP_LABELS[attempt.step] if attempt.step else "Job"
            final = (JobStatus.FAILED, "Failed", f"{label} failed: {exc.message}")
        except asyncio.CancelledError:
            # Shutdown or cancel: a processing job stays processing and resumes elsewhere.
            if attempt.claimed:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.store.release(job_id, self.owner))
            raise
        except Exception as exc:
            log.exception("job %s crashed in step %s", job_id, attempt.step)
            label = STEP_LABELS[attempt.step] if attempt.step else "Job"
            final = (JobStatus.FAILED, "Failed",
                     f"{label} failed: internal error ({type(exc).__name__}: {exc}).")
        finally:
            if final is not None:
                await self._write_final(job_id, final, owner=self.owner if attempt.claimed
                                        else None)

    async def _write_final(self, job_id: str, final: tuple[JobStatus, str, str | None], *,
                           owner: str | None) -> None:
        status, current, message = final
        if message:
            log.warning("job %s failed: %s", job_id, message)
        with contextlib.suppress(JobTransitionError):
            await asyncio.shield(self.store.finish(job_id, status, current, message,
                                                   owner=owner))
            JOBS_FINISHED.labels(status.value).inc()

    async def _with_heartbeat(self, job_id: str, work: Coroutine[Any, Any, None]) -> bool:
        """Run `work` while renewing the lease; True when the lease was lost (work is then
        cancelled: another replica owns the job, or it was cancelled)."""
        task = asyncio.create_task(work)
        lost = False

        async def beat() -> None:
            nonlocal lost
            while True:
                await asyncio.sleep(self.settings.lease_sec / 3)
                try:
                    alive = await self.store.heartbeat(job_id, self.owner,
                                                       self.settings.lease_sec)
                except Exception:  # keep trying until the lease would expire anyway
                    log.exception("heartbeat for job %s failed", job_id)
                    continue
                if not alive:
                    lost = True
                    task.cancel()
                    return

        beater = asyncio.create_task(beat())
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if lost and current is not None and not current.cancelling():
                return True
            task.cancel()
            raise
        finally:
            beater.cancel()
        return False

    async def _steps(self, attempt: _Attempt) -> None:
        job = attempt.job
        while (step := job.next_step()) is not None:
            attempt.step = step
            started = time.perf_counter()
            await self._run_step_through_outages(job, step)
            STEP_SECONDS.labels(step.value).observe(time.perf_counter() - started)
            job = await self.store.get(job.job_id) or job
        attempt.step = None

    async def _run_step_through_outages(self, job: Job, step: Step) -> None:
        """`_run_step`, tried again while its service is down or busy (a service that
        crashed and is being restarted, a full queue), for up to `step_retry_sec` in all;
        every step is idempotent (cached analyses and stems, keyed plans and renders)."""
        delay_sec, waited_sec = STEP_RETRY_FIRST_SEC, 0.0
        while True:
            try:
                await self._run_step(job, step)
                return
            except ServiceCallError as exc:
                if not exc.outage or waited_sec + delay_sec > self.settings.step_retry_sec:
                    raise
                log.warning("job %s: %s; trying the step again in %.0f s", job.job_id,
                            exc.message, delay_sec)
                STEP_RETRIES.labels(step.value).inc()
                await self.store.progress(
                    job.job_id, STEP_PROGRESS[step][0],
                    f"{STEP_LABELS[step]}: {exc.service} is unavailable; trying again",
                    owner=self.owner)
                await asyncio.sleep(delay_sec)
                waited_sec += delay_sec
                delay_sec = min(2 * delay_sec, STEP_RETRY_MAX_PAUSE_SEC)

    async def _run_step(self, job: Job, step: Step) -> None:
        start, end = STEP_PROGRESS[step]
        label = STEP_LABELS[step]
        await self.store.progress(job.job_id, start, label, owner=self.owner)

        async def progress(value: float, text: str) -> None:
            await self.store.progress(job.job_id, value, text, owner=self.owner)

        output: Any
        if step is Step.ANALYZE:
            output = await chain.analyze(job, self.clients, progress,
                                         concurrency=self.settings.analysis_concurrency)
        elif step is Step.SCORE:
            output = await chain.score(job, self.clients)
        elif step is Step.PLAN:
            output = await chain.plan(job, self.clients,
                                      anthropic_key=self._anthropic_keys.get(job.job_id))
        elif step is Step.SEPARATE:
            output = await chain.separate(job, self.clients, progress,
                                          concurrency=self.settings.separation_concurrency)
        else:
            output = await chain.render(job, self.clients)
        job.outputs[step.value] = output
        await self.store.save_output(job.job_id, step.value, output, end, label, owner=self.owner)
        if step is Step.PLAN:
            fallback = any(str(w).startswith("Claude planner failed")
                           for w in output.get("warnings") or [])
            PLANS.labels(str(output.get("planner")), str(fallback).lower()).inc()
