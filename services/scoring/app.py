"""scoring service (port 8002): `POST /calculate-mashability`, `POST /find-mashups`.

Routes only parse, hand the CPU work to a bounded thread pool and answer; the scoring
itself lives in mashability.py and library.py.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.scoring.library import find_mashups
from services.scoring.mashability import score_analyses
from services.scoring.settings import ScoringSettings
from shared.contracts.scoring import FindMashupsRequest, MashabilityRequest
from shared.web import create_app, json_response, read_model
from shared.workers import BoundedWorkers

SETTINGS = ScoringSettings.from_env()
WORKERS = BoundedWorkers(max_workers=SETTINGS.workers, max_queue=SETTINGS.queue)


async def calculate_mashability(request: Request) -> Response:
    body = await read_model(request, MashabilityRequest, max_bytes=SETTINGS.max_json_bytes)
    result = await WORKERS.run(score_analyses, body.analyses)
    return json_response(result)


async def find_mashups_route(request: Request) -> Response:
    body = await read_model(request, FindMashupsRequest, max_bytes=SETTINGS.max_json_bytes)
    result = await WORKERS.run(find_mashups, body, block_elements=SETTINGS.block_elements)
    return json_response(result)


routes = [
    Route("/calculate-mashability", calculate_mashability, methods=["POST"]),
    Route("/find-mashups", find_mashups_route, methods=["POST"]),
]
app = create_app(
    "scoring", routes,
    health_detail=lambda: {"workers_running": WORKERS.running, "queued": WORKERS.waiting},
)
