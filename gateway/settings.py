"""Gateway settings, read from the environment (see README)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings import env_float, env_int, env_str


@dataclass(frozen=True)
class GatewaySettings:
    db_path: str
    job_deadline_sec: float
    analysis_concurrency: int
    max_running_jobs: int
    url_expiry_sec: int
    public_url: str | None

    @classmethod
    def from_env(cls) -> GatewaySettings:
        return cls(
            db_path=env_str("GATEWAY_DB", "data/gateway.sqlite3"),
            job_deadline_sec=env_float("JOB_DEADLINE_SEC", 15 * 60.0),
            analysis_concurrency=env_int("GATEWAY_ANALYSIS_CONCURRENCY", 2),
            max_running_jobs=env_int("GATEWAY_MAX_RUNNING_JOBS", 2),
            url_expiry_sec=env_int("DOWNLOAD_URL_EXPIRY_SEC", 24 * 3600),
            public_url=env_str("GATEWAY_PUBLIC_URL", "") or None,
        )
