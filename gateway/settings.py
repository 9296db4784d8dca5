"""Gateway settings, read from the environment (see README)."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

from shared.settings import env_float, env_int, env_str


def default_replica_id() -> str:
    """Unique per process: a restarted replica must not inherit its old leases."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class GatewaySettings:
    # `GATEWAY_DB`: a SQLite file path (default), `:memory:`, or `postgresql://...`.
    db_path: str
    job_deadline_sec: float
    analysis_concurrency: int
    max_running_jobs: int
    url_expiry_sec: int
    public_url: str | None
    db_schema: str = "public"
    # A job's lease lasts this long without a heartbeat (one every third of it).
    lease_sec: float = 30.0
    # How often a replica looks for jobs whose lease expired (a dead replica's jobs).
    scan_interval_sec: float = 5.0
    # Finished jobs and their files are deleted after this long; 0 keeps them forever.
    job_max_age_sec: float = 7 * 24 * 3600.0
    cleanup_interval_sec: float = 3600.0
    # generate-mashup per client: a token bucket of `burst` refilled at `per_min`/minute.
    rate_limit_per_min: float = 30.0
    rate_limit_burst: int = 10
    # Event streams poll the store this often for other replicas' writes (this replica's
    # wake them at once: gateway.changes).
    events_poll_sec: float = 1.0
    replica_id: str = ""
    # A step whose service is down or busy (`ServiceCallError.outage`) is tried again,
    # after pauses of 2, 4, 8 ... s, for up to this long in all (a restarted service takes
    # seconds to come back); then the job fails. The job's deadline bounds it too.
    step_retry_sec: float = 120.0
    # Songs of one job sent to the separation service at once (it queues what it cannot
    # run yet; its SEPARATION_WORKERS decides how many run).
    separation_concurrency: int = 2
    # Behind a proxy or ingress every client shares its address: trust the first
    # X-Forwarded-For entry instead (only when the proxy sets it; clients can forge it).
    trust_forwarded_for: bool = False

    @classmethod
    def from_env(cls) -> GatewaySettings:
        return cls(
            db_path=env_str("GATEWAY_DB", "data/gateway.sqlite3"),
            job_deadline_sec=env_float("JOB_DEADLINE_SEC", 15 * 60.0),
            analysis_concurrency=env_int("GATEWAY_ANALYSIS_CONCURRENCY", 2),
            max_running_jobs=env_int("GATEWAY_MAX_RUNNING_JOBS", 2),
            url_expiry_sec=env_int("DOWNLOAD_URL_EXPIRY_SEC", 24 * 3600),
            public_url=env_str("GATEWAY_PUBLIC_URL", "") or None,
            db_schema=env_str("GATEWAY_DB_SCHEMA", "public"),
            lease_sec=env_float("GATEWAY_LEASE_SEC", 30.0),
            scan_interval_sec=env_float("GATEWAY_SCAN_INTERVAL_SEC", 5.0),
            job_max_age_sec=env_float("GATEWAY_JOB_MAX_AGE_SEC", 7 * 24 * 3600.0),
            cleanup_interval_sec=env_float("GATEWAY_CLEANUP_INTERVAL_SEC", 3600.0),
            rate_limit_per_min=env_float("GATEWAY_RATE_LIMIT_PER_MIN", 30.0),
            rate_limit_burst=env_int("GATEWAY_RATE_LIMIT_BURST", 10),
            events_poll_sec=env_float("GATEWAY_EVENTS_POLL_SEC", 1.0),
            replica_id=env_str("GATEWAY_REPLICA_ID", "") or default_replica_id(),
            step_retry_sec=max(0.0, env_float("GATEWAY_STEP_RETRY_SEC", 120.0)),
            separation_concurrency=max(1, env_int("GATEWAY_SEPARATION_CONCURRENCY", 2)),
            trust_forwarded_for=env_str("GATEWAY_TRUST_FORWARDED_FOR", "0").lower()
            in ("1", "true", "yes"),
        )
