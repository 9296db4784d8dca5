"""The page at `/`, its static assets under `/static`, and `/web/config` (the limits and
choices the page shows, so they are defined once, here on the server)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from shared.contracts.orchestrator import ENERGY_CURVES
from shared.settings import AudioLimits

STATIC_DIR = Path(__file__).resolve().parent / "static"
ACCEPTED_EXTENSIONS = (".wav", ".wave", ".flac", ".mp3", ".ogg", ".oga", ".aif", ".aiff")
OUTPUT_FORMATS = ("wav", "flac", "mp3")
MIN_SONGS, MAX_SONGS = 2, 8  # the bounds of GenerateRequest.songs

# Everything the page loads comes from this origin; audio may come from GATEWAY_PUBLIC_URL.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: http: https:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


async def index(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                        headers={"cache-control": "no-cache",
                                 "content-security-policy": CONTENT_SECURITY_POLICY,
                                 "x-content-type-options": "nosniff"})


async def web_config(request: Request) -> Response:
    limits = AudioLimits.from_env()
    return JSONResponse({
        "max_upload_bytes": limits.max_bytes,
        "max_duration_sec": limits.max_duration_sec,
        "min_duration_sec": limits.min_duration_sec,
        "accepted_extensions": list(ACCEPTED_EXTENSIONS),
        "energy_curves": list(ENERGY_CURVES),
        "output_formats": list(OUTPUT_FORMATS),
        "min_songs": MIN_SONGS,
        "max_songs": MAX_SONGS,
    })


routes: list[BaseRoute] = [
    Route("/", index, methods=["GET"]),
    Route("/web/config", web_config, methods=["GET"]),
    Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
]
