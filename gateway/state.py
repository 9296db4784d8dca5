"""A job as the contract's JobState (what get-mashup-status and the event streams send)."""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection

from gateway.jobs import Job, JobStatus, Step
from gateway.settings import GatewaySettings
from shared.contracts.gateway import JobState
from shared.storage import sign_key

POLL_AFTER_MS = 1000


def result_url(conn: HTTPConnection, key: str) -> str:
    settings: GatewaySettings = conn.app.state.settings
    expires_at, signature = sign_key(key, expires_in_sec=settings.url_expiry_sec)
    base = settings.public_url or str(conn.base_url).rstrip("/")
    return f"{base}/download/{key}?expires={expires_at}&sig={signature}"


def job_state(conn: HTTPConnection, job: Job) -> dict[str, Any]:
    plan = job.outputs.get(Step.PLAN.value) or {}
    result = job.outputs.get(Step.RENDER.value)
    state: dict[str, Any] = {
        "jobId": job.job_id,
        "status": job.status.value,
        "progress": round(job.progress, 1),
        "currentStep": job.current_step,
        "songs": job.songs,
        "analyses": job.outputs.get(Step.ANALYZE.value),
        "mashabilityScore": job.outputs.get(Step.SCORE.value),
        "masterplan": plan.get("masterplan"),
        "creative_vision": plan.get("creative_vision"),
        "planner": plan.get("planner"),
        "error_message": job.error_message,
        "created_at": job.created_at,
        "poll_after_ms": POLL_AFTER_MS if job.status is JobStatus.PROCESSING else None,
    }
    if job.status is JobStatus.COMPLETE and result:
        state["result_url"] = result_url(conn, result["storage_path"])
        state["result"] = {k: result.get(k) for k in
                           ("storage_path", "duration_sec", "lufs", "true_peak_dbtp", "warnings")}
    return JobState.model_validate(state).model_dump(mode="json", exclude_none=True)
