"""Stand-ins for the five services behind the gateway, in one small app: canned answers
after a short delay, so chaos tests exercise the gateway's durability without audio work.
Every masterplan request is appended to the file named by STUB_PLAN_LOG (job id and
Idempotency-Key, one request a line), so a test can count how often each job's plan was
asked for and check that every ask carried the key that makes it idempotent."""

from __future__ import annotations

import asyncio
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DELAY_SEC = float(os.environ.get("STUB_DELAY_SEC", "0.2"))


async def analyze(request: Request) -> JSONResponse:
    body = await request.json()
    await asyncio.sleep(DELAY_SEC)
    return JSONResponse({"songId": body["songId"], "bpm": 120.0})


async def score(request: Request) -> JSONResponse:
    await asyncio.sleep(DELAY_SEC)
    return JSONResponse({"overall": 80.0, "best_pair": ["a", "b"], "pairs": []})


async def plan(request: Request) -> JSONResponse:
    await asyncio.sleep(DELAY_SEC)
    log_path = os.environ.get("STUB_PLAN_LOG")
    if log_path:
        with open(log_path, "a") as fh:
            job_id = request.headers.get("x-job-id", "?")
            key = request.headers.get("idempotency-key", "-")
            fh.write(f"{job_id} {key}\n")
    return JSONResponse({"creative_vision": "stub", "planner": "rules",
                         "masterplan": {"title": "stub", "timeline": []}})


async def separate(request: Request) -> JSONResponse:
    body = await request.json()
    await asyncio.sleep(DELAY_SEC)
    return JSONResponse({"songId": body["songId"], "stems": {}, "backend": "stub"})


async def render(request: Request) -> JSONResponse:
    await asyncio.sleep(DELAY_SEC)
    return JSONResponse({"success": True, "storage_path": "mashups/stub.wav",
                         "duration_sec": 60, "lufs": -14, "true_peak_dbtp": -1,
                         "warnings": []})


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "service": "stub"})


app = Starlette(routes=[
    Route("/analyze", analyze, methods=["POST"]),
    Route("/calculate-mashability", score, methods=["POST"]),
    Route("/create-masterplan", plan, methods=["POST"]),
    Route("/separate", separate, methods=["POST"]),
    Route("/execute-masterplan", render, methods=["POST"]),
    Route("/health", health, methods=["GET"]),
])
