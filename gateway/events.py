"""Live progress: `GET /mashup-events?jobId=` as Server-Sent Events, and the same stream
over a WebSocket at `/mashup-events/ws?jobId=`.

The stream follows the job's event log in the store (so it works whichever replica runs
the job; `gateway.changes` wakes it at once for this replica's writes, and the store is
polled every `events_poll_sec` for the others'): one `progress` event per change of
status, progress or step, then one final `complete` or `failed` event carrying the whole
JobState (with result_url), then the stream ends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.auth import visible_job
from gateway.jobs import TERMINAL, Job, JobStatus
from gateway.settings import GatewaySettings
from gateway.state import job_state
from shared.contracts.gateway import StatusRequest
from shared.errors import MeshError
from shared.web import validate_model

StateFn = Callable[[Job], dict[str, Any]]


async def job_events(store: Any, job: Job, *, poll_sec: float, final_state: StateFn,
                     after_id: int = 0) -> AsyncIterator[tuple[int, str, dict[str, Any]]]:
    """(event id, name, data) until the job is terminal: the job's history after
    `after_id` first, then each change as it lands. Ids are the store's event ids, so an
    SSE client reconnecting with Last-Event-ID resumes where it left off."""
    last: tuple[str, float, str] | None = None
    # A WatchedStore wakes the stream when this replica writes the job; other replicas'
    # writes are seen on the next poll.
    watch = getattr(store, "wait_for_change", None)
    while True:
        seen = store.version(job.job_id) if watch is not None else 0
        for event in await store.events(job.job_id, after_id=after_id):
            after_id = event["id"]
            key = (event["status"], round(event["progress"], 1), event["step"])
            if key != last and event["status"] == JobStatus.PROCESSING.value:
                last = key
                yield after_id, "progress", _progress(*key)
        if job.status in TERMINAL:
            break
        if watch is not None:
            await watch(job.job_id, seen=seen, timeout_sec=poll_sec)
        else:
            await asyncio.sleep(poll_sec)
        current = await store.get(job.job_id)
        if current is None:
            yield after_id, "failed", {"jobId": job.job_id, "status": "failed",
                                       "error_message": "The job was deleted."}
            return
        job = current
    yield after_id, job.status.value, final_state(job)


def _progress(status: str, progress: float, step: str) -> dict[str, Any]:
    return {"status": status, "progress": round(progress, 1), "currentStep": step}


def _job_id(params: Any) -> str:
    return validate_model(dict(params), StatusRequest).jobId


async def mashup_events(request: Request) -> Response:
    job = await visible_job(request, _job_id(request.query_params))
    settings: GatewaySettings = request.app.state.settings
    resume_from = request.headers.get("last-event-id", "")
    last_event_id = int(resume_from) if resume_from.isdigit() else 0

    async def stream() -> AsyncIterator[str]:
        # A comment line first, so proxies flush headers and the client knows it is live.
        yield ": stream open\n\n"
        async for event_id, name, data in job_events(
                request.app.state.store, job, poll_sec=settings.events_poll_sec,
                final_state=lambda j: job_state(request, j), after_id=last_event_id):
            yield f"id: {event_id}\nevent: {name}\ndata: {json.dumps(data)}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream", headers={
        "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def mashup_events_ws(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        job = await visible_job(websocket, _job_id(websocket.query_params))
    except MeshError as exc:
        await websocket.send_json({"event": "error", "data": exc.body()["error"]})
        await websocket.close(code=4000 + exc.status_code)
        return
    settings: GatewaySettings = websocket.app.state.settings
    try:
        async for _id, name, data in job_events(websocket.app.state.store, job,
                                           poll_sec=settings.events_poll_sec,
                                           final_state=lambda j: job_state(websocket, j)):
            await websocket.send_json({"event": name, "data": data})
    except WebSocketDisconnect:
        return
    await websocket.close()
