"""A short preview of the plan, rendered by processing's `/render-preview` as soon as the
stems exist, so a person can listen while the full mashup is still rendering.

The page asks once the job has a masterplan; until the stems are separated the answer is
409 and the page asks again at the next step. Requests for one job share one render.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.jobs import Job, JobStatus, Step
from gateway.web.lookup import find_job, plan_output, relative_download_url
from shared.client import ServiceClient
from shared.errors import Conflict

PREVIEW_FORMAT = "mp3"  # small and quick to start playing
_in_flight: dict[str, asyncio.Task[dict[str, Any]]] = {}


def preview_request(job: Job) -> dict[str, Any]:
    """The render-preview body: the job's masterplan and songs with their analyses."""
    analyses = {a["songId"]: a for a in job.outputs.get(Step.ANALYZE.value) or []}
    return {
        "masterplan": plan_output(job)["masterplan"],
        "songs": [{"id": s["id"], "storage_path": s["storage_path"],
                   "analysis": analyses.get(s["id"])} for s in job.songs],
        "output": {"format": PREVIEW_FORMAT, "preview": True},
    }


async def _render(body: dict[str, Any]) -> dict[str, Any]:
    async with ServiceClient("processing") as client:
        return await client.post_json("/render-preview", body)


async def render_preview(request: Request) -> Response:
    job = await find_job(request)
    if job.status is JobStatus.FAILED:
        raise Conflict("This job failed, so there is nothing to preview.", code="job_failed")
    if not plan_output(job).get("masterplan") or Step.SEPARATE.value not in job.outputs:
        raise Conflict("The preview can be made once the plan is written and the stems are "
                       "separated; ask again at the next step.", code="preview_not_ready")
    task = _in_flight.get(job.job_id)
    if task is None:
        task = asyncio.create_task(_render(preview_request(job)))
        _in_flight[job.job_id] = task
        task.add_done_callback(lambda _t, jid=job.job_id: _in_flight.pop(jid, None))
    # shield: a page that goes away must not cancel a render another request shares.
    result = await asyncio.shield(task)
    return JSONResponse({
        "jobId": job.job_id,
        "url": relative_download_url(request, str(result["storage_path"])),
        "duration_sec": result.get("duration_sec"),
    })


routes: list[BaseRoute] = [
    Route("/web/jobs/{job_id}/preview", render_preview, methods=["POST"]),
]
