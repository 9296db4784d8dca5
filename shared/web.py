"""What every service's Starlette app shares: error mapping, body parsing with limits,
health, metrics, and the job-id context.

A service module builds its app with `create_app(service, routes)`; routes parse their
bodies with `await read_model(request, Model)` and answer with `json_response(model)`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Lifespan, Receive, Scope, Send

from shared.errors import BadRequest, MeshError, PayloadTooLarge, Unprocessable
from shared.logs import JOB_HEADER, JOB_ID, configure_logging
from shared.metrics import PrometheusMiddleware, metrics_endpoint

VERSION = "0.1.0"
DEFAULT_MAX_JSON_BYTES = 300 * 1024 * 1024  # base64 of a 200 MB upload plus envelope
log = logging.getLogger(__name__)
ModelT = TypeVar("ModelT", bound=BaseModel)


def error_response(status_code: int, code: str, message: str, **data: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **data}}, status_code)


def json_response(body: BaseModel | dict[str, Any], status_code: int = 200) -> JSONResponse:
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json", by_alias=True, exclude_none=True)
    return JSONResponse(body, status_code)


def describe_validation_error(exc: ValidationError, limit: int = 5) -> str:
    """One sentence naming the first few invalid fields."""
    parts = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    more = len(exc.errors()) - limit
    suffix = f" (and {more} more)" if more > 0 else ""
    return "Invalid request: " + "; ".join(parts) + suffix


async def read_json(request: Request, *, max_bytes: int = DEFAULT_MAX_JSON_BYTES) -> Any:
    """Read and parse a JSON body, refusing oversize bodies before reading them whole."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"Request body is larger than {max_bytes} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"Request body is larger than {max_bytes} bytes.")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise BadRequest("The request body is empty; send a JSON object.", code="malformed_json")
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        message = f"The request body is not valid JSON: {exc}"
        raise BadRequest(message, code="malformed_json") from None
    except _NonFiniteNumber as exc:
        message = (f"The request body is not valid JSON: {exc} is not a number JSON allows; "
                   "send finite numbers only.")
        raise BadRequest(message, code="malformed_json") from None


class _NonFiniteNumber(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    # Python's json reads NaN, Infinity and -Infinity, which RFC 8259 does not allow; a
    # NaN tempo or gain would pass pydantic's float fields and poison the DSP behind them.
    # Our own clients cannot send them (httpx encodes with allow_nan=False).
    raise _NonFiniteNumber(name)


async def read_model(
    request: Request, model: type[ModelT], *, max_bytes: int = DEFAULT_MAX_JSON_BYTES
) -> ModelT:
    """Parse the body as `model`: 400 for malformed JSON, 422 for a wrong shape."""
    data = await read_json(request, max_bytes=max_bytes)
    return validate_model(data, model)


def validate_model(data: Any, model: type[ModelT]) -> ModelT:
    if not isinstance(data, dict):
        raise Unprocessable("The request body must be a JSON object.", code="invalid_request")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Unprocessable(describe_validation_error(exc), code="invalid_request") from None
    except RecursionError:
        message = "The request body is nested too deeply."
        raise Unprocessable(message, code="invalid_request") from None


async def _mesh_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MeshError)
    if exc.status_code >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
    return JSONResponse(exc.body(), exc.status_code)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    message = {
        404: f"No route {request.url.path}; see the API contract for the endpoints.",
        405: f"{request.method} is not allowed on {request.url.path}.",
    }.get(exc.status_code, str(exc.detail))
    return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), message)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", f"Internal error: {type(exc).__name__}.")


class JobIdMiddleware:
    """Binds the caller's `X-Job-Id` to the logging context of this request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        job_id = None
        if scope["type"] == "http":
            for name, value in scope.get("headers", ()):
                if name.decode("latin-1").lower() == JOB_HEADER.lower():
                    job_id = value.decode("latin-1")[:100]
        token = JOB_ID.set(job_id)
        try:
            await self.app(scope, receive, send)
        finally:
            JOB_ID.reset(token)


def create_app(
    service: str,
    routes: Sequence[BaseRoute],
    *,
    lifespan: Lifespan[Any] | None = None,
    health_detail: Callable[[], dict[str, Any]] | None = None,
    configure_logs: bool = True,
) -> Starlette:
    """A Starlette app with the mesh's common routes, middleware and error handlers."""

    async def health(request: Request) -> Response:
        body: dict[str, Any] = {"status": "ok", "service": service, "version": VERSION}
        if health_detail is not None:
            body.update(health_detail())
        return JSONResponse(body)

    all_routes: list[BaseRoute] = [
        *routes,
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
    if configure_logs:
        configure_logging(service)
    return Starlette(
        routes=all_routes,
        lifespan=lifespan,
        middleware=[
            Middleware(PrometheusMiddleware, service=service, routes=all_routes),
            Middleware(JobIdMiddleware),
        ],
        exception_handlers={
            MeshError: _mesh_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
