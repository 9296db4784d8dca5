"""analysis service (port 8000): `POST /analyze` → AnalysisResult (+ "cached")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.analysis.service import AnalysisService
from services.analysis.settings import ANALYSIS_VERSION, AnalysisSettings
from shared.audio_source import song_bytes
from shared.contracts.analysis import AnalyzeRequest
from shared.storage import get_storage
from shared.web import create_app, json_response, read_model


def _service(app: Starlette) -> AnalysisService:
    service = getattr(app.state, "analysis", None)
    if service is None:  # lifespan not run (e.g. a bare test client): build on first use
        service = app.state.analysis = AnalysisService(AnalysisSettings.from_env(),
                                                       get_storage())
    return service


async def analyze(request: Request) -> Response:
    body = await read_model(request, AnalyzeRequest)
    service = _service(request.app)
    file_bytes = await run_in_threadpool(song_bytes, body, service.storage)
    result, cached = await service.analyse(file_bytes, song_id=body.songId)
    payload = result.model_dump(mode="json", by_alias=True)
    payload["cached"] = cached
    return json_response(payload)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.analysis = AnalysisService(AnalysisSettings.from_env(), get_storage())
    yield


def _health() -> dict[str, Any]:
    service = getattr(app.state, "analysis", None)
    detail: dict[str, Any] = {"analysis_version": ANALYSIS_VERSION}
    if service is not None:
        detail.update(running=service.workers.running, waiting=service.workers.waiting)
    return detail


app = create_app("analysis", [Route("/analyze", analyze, methods=["POST"])],
                 lifespan=lifespan, health_detail=_health)
