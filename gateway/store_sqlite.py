"""The embedded job store: SQLite in WAL mode. Same guards as every store (see
`gateway.store`).

Writes go through one connection in a worker thread (they may wait on fsync or a busy
database). Point reads (`get`, `events`) use a second connection on the event loop
itself: in WAL mode a reader never waits for a writer, an indexed read takes tens of
microseconds, and a hop to a thread costs far more than that under load (the GIL
hand-off dominated get-mashup-status latency in gateway.bench)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from gateway import migrations
from gateway.jobs import TERMINAL, Job, JobStatus, JobTransitionError

T = TypeVar("T")
_OWNER_GUARD = " AND (? IS NULL OR lease_owner = ?)"


def _row_to_job(row: sqlite3.Row) -> Job:
    return Job.from_row(row, request_column="request_json", outputs_column="outputs_json")


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply the migrations this database lacks; returns the versions applied."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                 "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)")
    done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
    applied = []
    for migration in migrations.load("sqlite"):
        if migration.version in done:
            continue
        # executescript commits first; the version row follows each script, so a crash
        # between them re-runs a script whose statements are written to be re-runnable
        # where SQLite allows it.
        conn.executescript(migration.sql)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                     (migration.version, migration.name, time.time()))
        applied.append(migration.version)
    return applied


class SQLiteJobStore:
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
        with self._lock:
            self.applied_migrations = migrate(self._conn)
        self._reader: sqlite3.Connection | None = None
        if self.path != ":memory:":  # an in-memory database exists on one connection only
            self._reader = sqlite3.connect(self.path, check_same_thread=False,
                                           isolation_level=None)
            self._reader.row_factory = sqlite3.Row
            self._reader.execute("PRAGMA query_only=ON")
            # WAL readers do not wait for writers; only rare recovery can make them busy.
            self._reader.execute("PRAGMA busy_timeout=200")

    async def _read(self, func: Callable[[sqlite3.Connection], T]) -> T:
        if self._reader is None:
            return await self._run(func)
        return func(self._reader)

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
    def _guarded(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...], job_id: str,
                 owner: str | None = None) -> None:
        cursor = conn.execute(
            sql + " WHERE job_id = ? AND status = 'processing'" + _OWNER_GUARD,
            (*params, job_id, owner, owner),
        )
        if cursor.rowcount != 1:
            raise JobTransitionError(
                f"job {job_id} is not processing (missing or terminal)"
                + (f" or not leased by {owner}" if owner else ""))

    @staticmethod
    def _one(conn: sqlite3.Connection, job_id: str) -> Job | None:
        row = conn.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else _row_to_job(row)

    async def create(self, job: Job) -> tuple[Job, bool]:
        def op(conn: sqlite3.Connection) -> tuple[Job, bool]:
            if job.idempotency_key:
                row = conn.execute("SELECT * FROM jobs WHERE idempotency_key = ?",
                                   (job.idempotency_key,)).fetchone()
                if row is not None:
                    return _row_to_job(row), False
            conn.execute(
                "INSERT INTO jobs (job_id, status, progress, current_step, request_json, "
                "outputs_json, idempotency_key, created_at, deadline_at, updated_at, user_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job.job_id, job.status.value, job.progress, job.current_step,
                 json.dumps(job.request), json.dumps(job.outputs), job.idempotency_key,
                 job.created_at, job.deadline_at, time.time(), job.user_id),
            )
            self._event(conn, job.job_id, "created")
            return self._one(conn, job.job_id) or job, True

        return await self._run(op)

    async def get(self, job_id: str) -> Job | None:
        return await self._read(lambda conn: self._one(conn, job_id))

    async def active(self) -> list[Job]:
        def op(conn: sqlite3.Connection) -> list[Job]:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE status = 'processing' ORDER BY created_at"
            ).fetchall()
            return [_row_to_job(r) for r in rows]

        return await self._run(op)

    async def claimable(self, *, idle_sec: float) -> list[Job]:
        def op(conn: sqlite3.Connection) -> list[Job]:
            now = time.time()
            rows = conn.execute(
                "SELECT * FROM jobs WHERE status = 'processing' AND ("
                " (lease_owner IS NULL AND updated_at <= ?) OR lease_expires_at < ?)"
                " ORDER BY created_at", (now - idle_sec, now),
            ).fetchall()
            return [_row_to_job(r) for r in rows]

        return await self._run(op)

    async def claim(self, job_id: str, owner: str, lease_sec: float) -> Job | None:
        def op(conn: sqlite3.Connection) -> Job | None:
            now = time.time()
            cursor = conn.execute(
                "UPDATE jobs SET lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1,"
                " updated_at = ? WHERE job_id = ? AND status = 'processing' AND"
                " (lease_owner IS NULL OR lease_owner = ? OR lease_expires_at < ?)",
                (owner, now + lease_sec, now, job_id, owner, now),
            )
            if cursor.rowcount != 1:
                return None
            self._event(conn, job_id, f"claimed by {owner}")
            return self._one(conn, job_id)

        return await self._run(op)

    async def heartbeat(self, job_id: str, owner: str, lease_sec: float) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            now = time.time()
            cursor = conn.execute(
                "UPDATE jobs SET lease_expires_at = ? WHERE job_id = ? AND status = 'processing'"
                " AND lease_owner = ?", (now + lease_sec, job_id, owner))
            return cursor.rowcount == 1

        return await self._run(op)

    async def release(self, job_id: str, owner: str) -> None:
        def op(conn: sqlite3.Connection) -> None:
            # An expired lease: any replica (this one after a restart too) may claim it now.
            conn.execute("UPDATE jobs SET lease_expires_at = 0 WHERE job_id = ? "
                         "AND lease_owner = ? AND status = 'processing'", (job_id, owner))

        await self._run(op)

    async def progress(self, job_id: str, progress: float, current_step: str, *,
                       owner: str | None = None) -> None:
        def op(conn: sqlite3.Connection) -> None:
            self._guarded(
                conn,
                "UPDATE jobs SET progress = MAX(progress, ?), current_step = ?, updated_at = ?",
                (progress, current_step, time.time()), job_id, owner,
            )
            self._event(conn, job_id)

        await self._run(op)

    async def save_output(self, job_id: str, step: str, output: Any, progress: float,
                          current_step: str, *, owner: str | None = None) -> None:
        def op(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT outputs_json FROM jobs WHERE job_id = ?",
                               (job_id,)).fetchone()
            if row is None:
                raise JobTransitionError(f"job {job_id} does not exist")
            outputs = json.loads(row["outputs_json"])
            if step in outputs:
                raise JobTransitionError(f"job {job_id} already saved its {step} output")
            outputs[step] = output
            self._guarded(
                conn,
                "UPDATE jobs SET outputs_json = ?, progress = MAX(progress, ?), "
                "current_step = ?, updated_at = ?",
                (json.dumps(outputs), progress, current_step, time.time()), job_id, owner,
            )
            self._event(conn, job_id, f"{step} saved")

        await self._run(op)

    async def finish(self, job_id: str, status: JobStatus, current_step: str,
                     error_message: str | None = None, *, owner: str | None = None) -> None:
        if status not in TERMINAL:
            raise ValueError(f"finish() needs a terminal status, not {status}")

        def op(conn: sqlite3.Connection) -> None:
            progress_sql = "100" if status is JobStatus.COMPLETE else "progress"
            self._guarded(
                conn,
                f"UPDATE jobs SET status = ?, progress = {progress_sql}, current_step = ?, "
                "error_message = ?, updated_at = ?, lease_owner = NULL, lease_expires_at = NULL",
                (status.value, current_step, error_message, time.time()), job_id, owner,
            )
            self._event(conn, job_id, error_message or status.value)

        await self._run(op)

    async def events(self, job_id: str, *, after_id: int = 0) -> list[dict[str, Any]]:
        def op(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT id, at, status, progress, step, message FROM job_events "
                "WHERE job_id = ? AND id > ? ORDER BY id", (job_id, after_id)
            ).fetchall()
            return [dict(r) for r in rows]

        return await self._read(op)

    async def delete_finished_before(self, cutoff_sec: float) -> list[Job]:
        def op(conn: sqlite3.Connection) -> list[Job]:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE status != 'processing' AND updated_at < ?",
                (cutoff_sec,)).fetchall()
            ids = [(r["job_id"],) for r in rows]
            conn.executemany("DELETE FROM job_events WHERE job_id = ?", ids)
            conn.executemany("DELETE FROM jobs WHERE job_id = ?", ids)
            return [_row_to_job(r) for r in rows]

        return await self._run(op)

    async def referenced_paths(self) -> set[str]:
        """Every song storage_path some remaining job still names."""
        def op(conn: sqlite3.Connection) -> set[str]:
            rows = conn.execute("SELECT request_json FROM jobs").fetchall()
            return {s["storage_path"] for r in rows
                    for s in json.loads(r["request_json"]).get("songs", [])}

        return await self._run(op)

    async def close(self) -> None:
        with self._lock:
            self._conn.close()
        if self._reader is not None:
            self._reader.close()
