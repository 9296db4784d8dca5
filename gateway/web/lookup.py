"""Finding a job from a web route's path, and signing page-relative download links."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request

from gateway.auth import visible_job
from gateway.jobs import Job, Step
from shared.errors import NotFound
from shared.storage import sign_key

_JOB_ID = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")


async def find_job(request: Request) -> Job:
    """The job named by the `job_id` path parameter, or 404 in plain words."""
    job_id = str(request.path_params.get("job_id", ""))
    if not _JOB_ID.match(job_id):
        raise NotFound(f"No job {job_id!r}; start a new mashup.", code="job_not_found")
    # With auth on, a user reaches only their own jobs' files (404 for anyone else's).
    return await visible_job(request, job_id)


def relative_download_url(request: Request, key: str) -> str:
    """A signed `/download/...` link relative to the page, so it works behind any proxy."""
    settings = request.app.state.settings
    expires_at, signature = sign_key(key, expires_in_sec=settings.url_expiry_sec)
    return f"/download/{key}?expires={expires_at}&sig={signature}"


def song_titles(job: Job) -> dict[str, str]:
    """songId → the title the person gave (or the id)."""
    return {str(s["id"]): str(s.get("title") or s["id"]) for s in job.songs}


def plan_output(job: Job) -> dict[str, Any]:
    return job.outputs.get(Step.PLAN.value) or {}
