"""Job persistence behind one interface: SQLite (the embedded default) and an in-memory
store with the same behaviour for unit tests.

Every transition is a guarded update (`WHERE status = 'processing'`) that raises
JobTransitionError when no row matched, and writes one event row. Progress only moves
forward (`MAX(progress, ?)`), so a retried step can never make it go back.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from gateway.jobs import TERMINAL, Job, JobStatus, JobTransitionError

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('processing', 'complete', 'failed')),
    progress REAL NOT NULL DEFAULT 0,
    current_step TEXT NOT NULL,
    request_json TEXT NOT NULL,
    outputs_json TEXT NOT NULL DEFAULT '{}',
    error_message TEXT,
    idempotency_key TEXT UNIQUE,
    created_at TEXT NOT NULL,
    deadline_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
CREATE TABLE IF NOT EXISTS job_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL REFERENCES jobs (job_id),
    at REAL NOT NULL,
    status TEXT NOT NULL,
    progress REAL NOT NULL,
    step TEXT NOT NULL,
    message TEXT
);
CREATE INDEX IF NOT EXISTS job_events_job ON job_events (job_id);
"""


class JobStore(Protocol):
    async def create(self, job: Job) -> tuple[Job, bool]: ...
    async def get(self, job_id: str) -> Job | None: ...
    async def active(self) -> list[Job]: ...
    async def start_attempt(self, job_id: str) -> Job: ...
    async def progress(self, job_id: str, progress: float, current_step: str) -> None: ...
    async def save_output(self, job_id: str, step: str, output: Any, progress: float,
                          current_step: str) -> None: ...
    async def finish(self, job_id: str, status: JobStatus, current_step: str,
                     error_message: str | None = None) -> None: ...
    async def events(self, job_id: str) -> list[dict[str, Any]]: ...
    async def close(self) -> None: ...


def _row_to_job(row: sqlite3.Row) -> Job:
    return Job(
        job_id=row["job_id"],
        status=JobStatus(row["status"]),
        progress=row["progress"],
        current_step=row["current_step"],
        request=json.loads(row["request_json"]),
        outputs=json.loads(row["outputs_json"]),
        error_message=row["error_message"],
        idempotency_key=row["idempotency_key"],
        created_at=row["created_at"],
        deadline_at=row["deadline_at"],
        attempts=row["attempts"],
    )


class SQLiteJobStore:
    """SQLite in WAL mode; calls run in a worker thread so the event loop never blocks."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(SCHEMA)

    async def _run(self, func: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    result = func(self._conn)
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
                return result

        return await asyncio.to_thread(locked)

    @staticmethod
    def _event(conn: sqlite3.Connection, job_id: str, message: str | None = None) -> None:
        conn.execute(
            "INSERT INTO job_events (job_id, at, status, progress, step, message) "
            "SELECT job_id, ?, status, progress, current_step, ? FROM jobs WHERE job_id = ?",
            (time.time(), message, job_id),
        )

    @staticmethod
    def _guarded(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...], job_id: str) -> None:
        cursor = conn.execute(sql + " WHERE job_id = ? AND status = 'processing'",
                              (*params, job_id))
        if cursor.rowcount != 1:
            raise JobTransitionError(f"job {job_id} is not processing (missing or terminal)")

    async def create(self, job: Job) -> tuple[Job, bool]:
        def op(conn: sqlite3.Connection) -> tuple[Job, bool]:
            if job.idempotency_key:
                row = conn.execute("SELECT * FROM jobs WHERE idempotency_key = ?",
                                   (job.idempotency_key,)).fetchone()
                if row is not None:
                    return _row_to_job(row), False
            conn.execute(
                "INSERT INTO jobs (job_id, status, progress, current_step, request_json, "
                "outputs_json, idempotency_key, created_at, deadline_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job.job_id, job.status.value, job.progress, job.current_step,
                 json.dumps(job.request), json.dumps(job.outputs), job.idempotency_key,
                 job.created_at, job.deadline_at, time.time()),
            )
            self._event(conn, job.job_id, "created")
            return job, True

        return await self._run(op)

    async def get(self, job_id: str) -> Job | None:
        def op(conn: sqlite3.Connection) -> Job | None:
            row = conn.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            return None if row is None else _row_to_job(row)

        return await self._run(op)

    async def active(self) -> list[Job]:
        def op(conn: sqlite3.Connection) -> list[Job]:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE status = 'processing' ORDER BY created_at"
            ).fetchall()
            return [_row_to_job(r) for r in rows]

        return await self._run(op)

    async def start_attempt(self, job_id: str) -> Job:
        def op(conn: sqlite3.Connection) -> Job:
            self._guarded(conn, "UPDATE jobs SET attempts = attempts + 1, updated_at = ?",
                          (time.time(),), job_id)
            self._event(conn, job_id, "attempt started")
            return _row_to_job(conn.execute("SELECT * FROM jobs WHERE job_id = ?",
                                            (job_id,)).fetchone())

        return await self._run(op)

    async def progress(self, job_id: str, progress: float, current_step: str) -> None:
        def op(conn: sqlite3.Connection) -> None:
            self._guarded(
                conn,
                "UPDATE jobs SET progress = MAX(progress, ?), current_step = ?, updated_at = ?",
                (progress, current_step, time.time()), job_id,
            )
            self._event(conn, job_id)

        await self._run(op)

    async def save_output(self, job_id: str, step: str, output: Any, progress: float,
                          current_step: str) -> None:
        def op(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT outputs_json FROM jobs WHERE job_id = ?",
                               (job_id,)).fetchone()
            if row is None:
                raise JobTransitionError(f"job {job_id} does not exist")
            outputs = json.loads(row["outputs_json"])
            outputs[step] = output
            self._guarded(
                conn,
                "UPDATE jobs SET outputs_json = ?, progress = MAX(progress, ?), "
                "current_step = ?, updated_at = ?",
                (json.dumps(outputs), progress, current_step, time.time()), job_id,
            )
            self._event(conn, job_id, f"{step} saved")

        await self._run(op)

    async def finish(self, job_id: str, status: JobStatus, current_step: str,
                     error_message: str | None = None) -> None:
        if status not in TERMINAL:
            raise ValueError(f"finish() needs a terminal status, not {status}")

        def op(conn: sqlite3.Connection) -> None:
            progress_sql = "100" if status is JobStatus.COMPLETE else "progress"
            self._guarded(
                conn,
                f"UPDATE jobs SET status = ?, progress = {progress_sql}, current_step = ?, "
                "error_message = ?, updated_at = ?",
                (status.value, current_step, error_message, time.time()), job_id,
            )
            self._event(conn, job_id, error_message or status.value)

        await self._run(op)

    async def events(self, job_id: str) -> list[dict[str, Any]]:
        def op(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT at, status, progress, step, message FROM job_events WHERE job_id = ? "
                "ORDER BY id", (job_id,)
            ).fetchall()
            return [dict(r) for r in rows]

        return await self._run(op)

    async def close(self) -> None:
        with self._lock:
            self._conn.close()


class InMemoryJobStore:
    """Same interface and guards as SQLiteJobStore, kept in a dict (unit tests)."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.log: list[dict[str, Any]] = []

    def _active(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None or job.status is not JobStatus.PROCESSING:
            raise JobTransitionError(f"job {job_id} is not processing (missing or terminal)")
        return job

    def _event(self, job: Job, message: str | None = None) -> None:
        self.log.append({"job_id": job.job_id, "at": time.time(), "status": job.status.value,
                         "progress": job.progress, "step": job.current_step,
                         "message": message})

    async def create(self, job: Job) -> tuple[Job, bool]:
        if job.idempotency_key:
            for existing in self.jobs.values():
                if existing.idempotency_key == job.idempotency_key:
                    return existing, False
        self.jobs[job.job_id] = job
        self._event(job, "created")
        return job, True

    async def get(self, job_id: str) -> Job | None:
        job = self.jobs.get(job_id)
        return None if job is None else Job(**{**job.__dict__, "outputs": dict(job.outputs)})

    async def active(self) -> list[Job]:
        return [j for j in self.jobs.values() if j.status is JobStatus.PROCESSING]

    async def start_attempt(self, job_id: str) -> Job:
        job = self._active(job_id)
        job.attempts += 1
        self._event(job, "attempt started")
        return job

    async def progress(self, job_id: str, progress: float, current_step: str) -> None:
        job = self._active(job_id)
        job.progress = max(job.progress, progress)
        job.current_step = current_step
        self._event(job)

    async def save_output(self, job_id: str, step: str, output: Any, progress: float,
                          current_step: str) -> None:
        job = self._active(job_id)
        job.outputs[step] = json.loads(json.dumps(output))
        job.progress = max(job.progress, progress)
        job.current_step = current_step
        self._event(job, f"{step} saved")

    async def finish(self, job_id: str, status: JobStatus, current_step: str,
                     error_message: str | None = None) -> None:
        if status not in TERMINAL:
            raise ValueError(f"finish() needs a terminal status, not {status}")
        job = self._active(job_id)
        job.status = status
        job.current_step = current_step
        job.error_message = error_message
        if status is JobStatus.COMPLETE:
            job.progress = 100.0
        self._event(job, error_message or status.value)

    async def events(self, job_id: str) -> list[dict[str, Any]]:
        return [e for e in self.log if e["job_id"] == job_id]

    async def close(self) -> None:
        return None
