"""Runs each job's chain in the background, bounded, with a deadline, and always writes a
terminal status: `complete` or `failed` with a reason that names the step and the cause.

On start-up the runner resumes every job left `processing` by a previous gateway process
at its first unfinished step, or fails it when its deadline has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from gateway import chain
from gateway.chain import MeshClients
from gateway.jobs import STEP_LABELS, STEP_PROGRESS, Job, JobStatus, JobTransitionError, Step
from gateway.settings import GatewaySettings
from gateway.store import JobStore
from shared.errors import MeshError
from shared.logs import job_context

log = logging.getLogger(__name__)


class JobRunner:
    def __init__(self, store: JobStore, settings: GatewaySettings,
                 clients: MeshClients | None = None) -> None:
        self.store = store
        self.settings = settings
        self.clients = clients or MeshClients()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(max(1, settings.max_running_jobs))
        # A user's own Anthropic key lives here, in memory, for one job: never persisted.
        self._anthropic_keys: dict[str, str] = {}

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

    async def resume_all(self) -> int:
        """Pick up jobs a previous process left `processing`; returns how many resumed."""
        resumed = 0
        for job in await self.store.active():
            if time.time() > job.deadline_at:
                await self._finish_failed(job.job_id, job.current_step,
                                          "The job's deadline passed while the gateway was down.")
                continue
            log.info("resuming job %s at %s", job.job_id, job.next_step())
            self.submit(job)
            resumed += 1
        return resumed

    async def shutdown(self) -> None:
        """Cancel running chains; their jobs stay `processing` and resume on next start."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.clients.aclose()

    async def _finish_failed(self, job_id: str, step: str, message: str) -> None:
        # Already terminal is fine: terminal states never change.
        with contextlib.suppress(JobTransitionError):
            await self.store.finish(job_id, JobStatus.FAILED, step, message)

    async def _run(self, job_id: str) -> None:
        with job_context(job_id):
            await self._run_guarded(job_id)

    async def _run_guarded(self, job_id: str) -> None:
        job = await self.store.get(job_id)
        if job is None or job.status is not JobStatus.PROCESSING:
            return
        final: tuple[JobStatus, str, str | None] | None = None
        step: Step | None = job.next_step()
        try:
            remaining = job.deadline_at - time.time()
            if remaining <= 0:
                raise TimeoutError
            async with asyncio.timeout(remaining):
                if self._slots.locked():
                    await self.store.progress(job_id, job.progress, "Queued: waiting for a slot")
                async with self._slots:
                    job = await self.store.start_attempt(job_id)
                    while (step := job.next_step()) is not None:
                        await self._run_step(job, step)
                        job = await self.store.get(job_id) or job
            final = (JobStatus.COMPLETE, "Complete", None)
        except JobTransitionError:
            return  # someone else finished or removed it
        except TimeoutError:
            where = STEP_LABELS[step].lower() if step else "finishing"
            final = (JobStatus.FAILED, "Failed",
                     f"The job passed its deadline of {self.settings.job_deadline_sec:.0f} s "
                     f"while {where}.")
        except MeshError as exc:
            label = STEP_LABELS[step] if step else "Job"
            final = (JobStatus.FAILED, "Failed", f"{label} failed: {exc.message}")
        except asyncio.CancelledError:
            # Shutdown: leave the job `processing`; the next gateway start resumes it.
            raise
        except Exception as exc:
            log.exception("job %s crashed in step %s", job_id, step)
            label = STEP_LABELS[step] if step else "Job"
            final = (JobStatus.FAILED, "Failed",
                     f"{label} failed: internal error ({type(exc).__name__}: {exc}).")
        finally:
            if final is not None:
                status, current, message = final
                if message:
                    log.warning("job %s failed: %s", job_id, message)
                with contextlib.suppress(JobTransitionError):
                    await asyncio.shield(self.store.finish(job_id, status, current, message))

    async def _run_step(self, job: Job, step: Step) -> None:
        start, end = STEP_PROGRESS[step]
        label = STEP_LABELS[step]
        await self.store.progress(job.job_id, start, label)

        async def progress(value: float, text: str) -> None:
            await self.store.progress(job.job_id, value, text)

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
            output = await chain.separate(job, self.clients, progress)
        else:
            output = await chain.render(job, self.clients)
        job.outputs[step.value] = output
        await self.store.save_output(job.job_id, step.value, output, end, label)
