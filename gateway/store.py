"""Job persistence behind one interface: SQLite (the embedded default), PostgreSQL (shared
by several gateway replicas) and an in-memory store for unit tests.

The rules every store keeps (the store test-suite runs against each):
- every transition is a guarded update (`WHERE status = 'processing'`, and with `owner`
  given, `AND lease_owner = owner`) that raises JobTransitionError when no row matched,
  and writes one event row; terminal states never change;
- progress only moves forward (`MAX(progress, ?)`), so a retried step never lowers it;
- a step's output is saved once: a second save of the same step is refused;
- a job is run under a lease (owner, expiry): `claim` takes a free or expired lease,
  `heartbeat` extends it, `finish` drops it. A replica that lost its lease can no longer
  write, so two replicas never both advance one job.
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol

from gateway.jobs import TERMINAL, Job, JobStatus, JobTransitionError
from gateway.store_sqlite import SQLiteJobStore

__all__ = ["InMemoryJobStore", "JobStore", "SQLiteJobStore", "open_store"]


class JobStore(Protocol):
    async def create(self, job: Job) -> tuple[Job, bool]: ...
    async def get(self, job_id: str) -> Job | None: ...
    async def active(self) -> list[Job]: ...
    async def claimable(self, *, idle_sec: float) -> list[Job]: ...
    async def claim(self, job_id: str, owner: str, lease_sec: float) -> Job | None: ...
    async def heartbeat(self, job_id: str, owner: str, lease_sec: float) -> bool: ...
    async def release(self, job_id: str, owner: str) -> None: ...
    async def progress(self, job_id: str, progress: float, current_step: str, *,
                       owner: str | None = None) -> None: ...
    async def save_output(self, job_id: str, step: str, output: Any, progress: float,
                          current_step: str, *, owner: str | None = None) -> None: ...
    async def finish(self, job_id: str, status: JobStatus, current_step: str,
                     error_message: str | None = None, *, owner: str | None = None) -> None: ...
    async def events(self, job_id: str, *, after_id: int = 0) -> list[dict[str, Any]]: ...
    async def delete_finished_before(self, cutoff_sec: float) -> list[Job]: ...
    async def referenced_paths(self) -> set[str]: ...
    async def close(self) -> None: ...


async def open_store(url: str, *, schema: str = "public") -> JobStore:
    """`postgresql://...` (or `postgres://`) → PostgresJobStore; `:memory:` or a file path
    → SQLiteJobStore. Migrations run here, before the first job is touched."""
    if url.startswith(("postgresql://", "postgres://")):
        from gateway.store_postgres import PostgresJobStore  # asyncpg only when used

        return await PostgresJobStore.open(url, schema=schema)
    return SQLiteJobStore(url.removeprefix("sqlite:///"))


class InMemoryJobStore:
    """Same interface and guards as the SQL stores, kept in a dict (unit tests)."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.log: list[dict[str, Any]] = []

    def _active(self, job_id: str, owner: str | None = None) -> Job:
        job = self.jobs.get(job_id)
        if job is None or job.status is not JobStatus.PROCESSING:
            raise JobTransitionError(f"job {job_id} is not processing (missing or terminal)")
        if owner is not None and job.lease_owner != owner:
            raise JobTransitionError(f"job {job_id} is not leased by {owner}")
        job.updated_at = time.time()
        return job

    def _event(self, job: Job, message: str | None = None) -> None:
        self.log.append({"id": len(self.log) + 1, "job_id": job.job_id, "at": time.time(),
                         "status": job.status.value, "progress": job.progress,
                         "step": job.current_step, "message": message})

    @staticmethod
    def _copy(job: Job) -> Job:
        return Job(**{**job.__dict__, "outputs": json.loads(json.dumps(job.outputs))})

    async def create(self, job: Job) -> tuple[Job, bool]:
        if job.idempotency_key:
            for existing in self.jobs.values():
                if existing.idempotency_key == job.idempotency_key:
                    return self._copy(existing), False
        stored = self._copy(job)
        stored.updated_at = time.time()
        self.jobs[job.job_id] = stored
        self._event(stored, "created")
        return self._copy(stored), True

    async def get(self, job_id: str) -> Job | None:
        job = self.jobs.get(job_id)
        return None if job is None else self._copy(job)

    async def active(self) -> list[Job]:
        return [self._copy(j) for j in self.jobs.values() if j.status is JobStatus.PROCESSING]

    async def claimable(self, *, idle_sec: float) -> list[Job]:
        now = time.time()
        return [self._copy(j) for j in self.jobs.values() if j.status is JobStatus.PROCESSING
                and ((j.lease_owner is None and j.updated_at <= now - idle_sec)
                     or (j.lease_expires_at is not None and j.lease_expires_at < now))]

    async def claim(self, job_id: str, owner: str, lease_sec: float) -> Job | None:
        job = self.jobs.get(job_id)
        now = time.time()
        if job is None or job.status is not JobStatus.PROCESSING:
            return None
        if job.lease_owner not in (None, owner) and (job.lease_expires_at or 0) >= now:
            return None
        job.lease_owner, job.lease_expires_at = owner, now + lease_sec
        job.attempts += 1
        job.updated_at = now
        self._event(job, f"claimed by {owner}")
        return self._copy(job)

    async def heartbeat(self, job_id: str, owner: str, lease_sec: float) -> bool:
        job = self.jobs.get(job_id)
        if job is None or job.status is not JobStatus.PROCESSING or job.lease_owner != owner:
            return False
        job.lease_expires_at = time.time() + lease_sec
        return True

    async def release(self, job_id: str, owner: str) -> None:
        job = self.jobs.get(job_id)
        if job and job.status is JobStatus.PROCESSING and job.lease_owner == owner:
            job.lease_expires_at = 0.0

    async def progress(self, job_id: str, progress: float, current_step: str, *,
                       owner: str | None = None) -> None:
        job = self._active(job_id, owner)
        job.progress = max(job.progress, progress)
        job.current_step = current_step
        self._event(job)

    async def save_output(self, job_id: str, step: str, output: Any, progress: float,
                          current_step: str, *, owner: str | None = None) -> None:
        job = self._active(job_id, owner)
        if step in job.outputs:
            raise JobTransitionError(f"job {job_id} already saved its {step} output")
        job.outputs[step] = json.loads(json.dumps(output))
        job.progress = max(job.progress, progress)
        job.current_step = current_step
        self._event(job, f"{step} saved")

    async def finish(self, job_id: str, status: JobStatus, current_step: str,
                     error_message: str | None = None, *, owner: str | None = None) -> None:
        if status not in TERMINAL:
            raise ValueError(f"finish() needs a terminal status, not {status}")
        job = self._active(job_id, owner)
        job.status = status
        job.current_step = current_step
        job.error_message = error_message
        job.lease_owner = job.lease_expires_at = None
        if status is JobStatus.COMPLETE:
            job.progress = 100.0
        self._event(job, error_message or status.value)

    async def events(self, job_id: str, *, after_id: int = 0) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.items() if k != "job_id"} for e in self.log
                if e["job_id"] == job_id and e["id"] > after_id]

    async def delete_finished_before(self, cutoff_sec: float) -> list[Job]:
        gone = [j for j in self.jobs.values() if j.status in TERMINAL and j.updated_at < cutoff_sec]
        for job in gone:
            del self.jobs[job.job_id]
        ids = {j.job_id for j in gone}
        self.log = [e for e in self.log if e["job_id"] not in ids]
        return gone

    async def referenced_paths(self) -> set[str]:
        return {s["storage_path"] for j in self.jobs.values() for s in j.songs}

    async def close(self) -> None:
        return None
