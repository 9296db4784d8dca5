"""The shared job store: PostgreSQL through asyncpg (Supabase's database is Postgres).

Same guards as every store (see `gateway.store`). Each transition is one statement: a
guarded UPDATE whose RETURNING row feeds the event INSERT, so a transition and its event
commit together. Lease times come from the database clock, so replicas with skewed
clocks still agree on who holds a job.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from gateway import migrations
from gateway.jobs import TERMINAL, Job, JobStatus, JobTransitionError

NOW = "extract(epoch from clock_timestamp())::double precision"
MIGRATION_LOCK_ID = 0x6D617368  # pg_advisory_xact_lock key: replicas migrate one at a time
_EVENT = ("INSERT INTO job_events (job_id, at, status, progress, step, message) "
          f"SELECT job_id, {NOW}, status, progress, current_step, $%d FROM changed RETURNING id")


def _record_to_job(row: asyncpg.Record) -> Job:
    return Job.from_row(row, request_column="request", outputs_column="outputs")


async def migrate(conn: asyncpg.Connection, schema: str) -> list[int]:
    """Apply the migrations `schema` lacks, under an advisory lock; returns their versions."""
    applied = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_ID)
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(f'SET LOCAL search_path TO "{schema}"')
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            f"name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL DEFAULT {NOW})")
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for migration in migrations.load("postgres"):
            if migration.version not in done:
                await conn.execute(migration.sql)
                await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                                   migration.version, migration.name)
                applied.append(migration.version)
    return applied


class PostgresJobStore:
    """Open with `await PostgresJobStore.open(dsn)`; `schema` isolates tests or tenants."""

    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.pool = pool
        self.schema = schema
        self.applied_migrations: list[int] = []

    @classmethod
    async def open(cls, dsn: str, *, schema: str = "public", min_size: int = 1,
                   max_size: int = 10) -> PostgresJobStore:
        if not schema.replace("_", "").isalnum():
            raise ValueError(f"schema must be alphanumeric or '_', not {schema!r}")
        conn = await asyncpg.connect(dsn)
        try:
            applied = await migrate(conn, schema)
        finally:
            await conn.close()
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size,
                                         server_settings={"search_path": schema})
        store = cls(pool, schema)
        store.applied_migrations = applied
        return store

    async def _transition(self, job_id: str, set_sql: str, args: tuple[Any, ...],
                          message: str | None, owner: str | None) -> None:
        n = len(args)
        sql = (f"WITH changed AS (UPDATE jobs SET {set_sql}, updated_at = {NOW} "
               f"WHERE job_id = ${n + 1} AND status = 'processing' "
               f"AND (${n + 2}::text IS NULL OR lease_owner = ${n + 2}) RETURNING *) "
               + _EVENT % (n + 3))
        if await self.pool.fetchval(sql, *args, job_id, owner, message) is None:
            raise JobTransitionError(
                f"job {job_id} is not processing (missing or terminal)"
                + (f" or not leased by {owner}" if owner else ""))

    async def create(self, job: Job) -> tuple[Job, bool]:
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "INSERT INTO jobs (job_id, status, progress, current_step, request, outputs, "
                "idempotency_key, created_at, deadline_at, updated_at, user_id) "
                f"VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, {NOW}, $10) "
                "ON CONFLICT (idempotency_key) DO NOTHING RETURNING *",
                job.job_id, job.status.value, job.progress, job.current_step,
                json.dumps(job.request), json.dumps(job.outputs), job.idempotency_key,
                job.created_at, job.deadline_at, job.user_id)
            if row is None:
                existing = await conn.fetchrow("SELECT * FROM jobs WHERE idempotency_key = $1",
                                               job.idempotency_key)
                return _record_to_job(existing), False
            await conn.execute(
                "INSERT INTO job_events (job_id, at, status, progress, step, message) "
                f"VALUES ($1, {NOW}, $2, $3, $4, 'created')",
                job.job_id, job.status.value, job.progress, job.current_step)
            return _record_to_job(row), True

    async def get(self, job_id: str) -> Job | None:
        row = await self.pool.fetchrow("SELECT * FROM jobs WHERE job_id = $1", job_id)
        return None if row is None else _record_to_job(row)

    async def active(self) -> list[Job]:
        rows = await self.pool.fetch(
            "SELECT * FROM jobs WHERE status = 'processing' ORDER BY created_at")
        return [_record_to_job(r) for r in rows]

    async def claimable(self, *, idle_sec: float) -> list[Job]:
        rows = await self.pool.fetch(
            "SELECT * FROM jobs WHERE status = 'processing' AND ("
            f" (lease_owner IS NULL AND updated_at <= {NOW} - $1) OR lease_expires_at < {NOW})"
            " ORDER BY created_at", idle_sec)
        return [_record_to_job(r) for r in rows]

    async def claim(self, job_id: str, owner: str, lease_sec: float) -> Job | None:
        # The row lock of the UPDATE serialises two replicas claiming at once: the second
        # re-checks the WHERE clause after the first commits and matches nothing.
        row = await self.pool.fetchrow(
            "WITH changed AS (UPDATE jobs SET lease_owner = $2, "
            f"lease_expires_at = {NOW} + $3, attempts = attempts + 1, updated_at = {NOW} "
            "WHERE job_id = $1 AND status = 'processing' AND (lease_owner IS NULL "
            f"OR lease_owner = $2 OR lease_expires_at < {NOW}) RETURNING *), "
            "ev AS (INSERT INTO job_events (job_id, at, status, progress, step, message) "
            f"SELECT job_id, {NOW}, status, progress, current_step, 'claimed by ' || $2 "
            "FROM changed) SELECT * FROM changed", job_id, owner, lease_sec)
        return None if row is None else _record_to_job(row)

    async def heartbeat(self, job_id: str, owner: str, lease_sec: float) -> bool:
        result = await self.pool.execute(
            f"UPDATE jobs SET lease_expires_at = {NOW} + $3 WHERE job_id = $1 "
            "AND status = 'processing' AND lease_owner = $2", job_id, owner, lease_sec)
        return result == "UPDATE 1"

    async def release(self, job_id: str, owner: str) -> None:
        # An expired lease: any replica (this one after a restart too) may claim it now.
        await self.pool.execute(
            "UPDATE jobs SET lease_expires_at = 0 WHERE job_id = $1 AND lease_owner = $2 "
            "AND status = 'processing'", job_id, owner)

    async def progress(self, job_id: str, progress: float, current_step: str, *,
                       owner: str | None = None) -> None:
        await self._transition(job_id, "progress = GREATEST(progress, $1), current_step = $2",
                               (progress, current_step), None, owner)

    async def save_output(self, job_id: str, step: str, output: Any, progress: float,
                          current_step: str, *, owner: str | None = None) -> None:
        n_args = (step, json.dumps(output), progress, current_step)
        sql = ("WITH changed AS (UPDATE jobs SET outputs = outputs || jsonb_build_object("
               "$1::text, $2::jsonb), progress = GREATEST(progress, $3), current_step = $4, "
               f"updated_at = {NOW} WHERE job_id = $5 AND status = 'processing' "
               "AND NOT jsonb_exists(outputs, $1) "
               "AND ($6::text IS NULL OR lease_owner = $6) RETURNING *) " + _EVENT % 7)
        if await self.pool.fetchval(sql, *n_args, job_id, owner, f"{step} saved") is None:
            raise JobTransitionError(f"job {job_id} is not processing, not leased by {owner}, "
                                     f"or already saved its {step} output")

    async def finish(self, job_id: str, status: JobStatus, current_step: str,
                     error_message: str | None = None, *, owner: str | None = None) -> None:
        if status not in TERMINAL:
            raise ValueError(f"finish() needs a terminal status, not {status}")
        progress_sql = "100" if status is JobStatus.COMPLETE else "progress"
        await self._transition(
            job_id,
            f"status = $1, progress = {progress_sql}, current_step = $2, error_message = $3, "
            "lease_owner = NULL, lease_expires_at = NULL",
            (status.value, current_step, error_message), error_message or status.value, owner)

    async def events(self, job_id: str, *, after_id: int = 0) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT id, at, status, progress, step, message FROM job_events "
            "WHERE job_id = $1 AND id > $2 ORDER BY id", job_id, after_id)
        return [dict(r) for r in rows]

    async def delete_finished_before(self, cutoff_sec: float) -> list[Job]:
        rows = await self.pool.fetch(
            "DELETE FROM jobs WHERE status != 'processing' AND updated_at < $1 RETURNING *",
            cutoff_sec)
        return [_record_to_job(r) for r in rows]

    async def referenced_paths(self) -> set[str]:
        rows = await self.pool.fetch(
            "SELECT DISTINCT s->>'storage_path' AS path "
            "FROM jobs, jsonb_array_elements(request->'songs') AS s")
        return {r["path"] for r in rows if r["path"]}

    async def close(self) -> None:
        await self.pool.close()
