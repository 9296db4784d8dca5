"""Prometheus metrics: an ASGI middleware (request count, latency per route, in-flight
gauge) and the `/metrics` endpoint. Each service is its own process, so the default
registry holds exactly one service's metrics; the `service` label keeps them apart when
tests run several apps in one process."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "mesh_http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "mesh_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
)
IN_FLIGHT = Gauge("mesh_http_requests_in_flight", "HTTP requests in progress", ["service"])


class PrometheusMiddleware:
    """Counts every HTTP request by route template (never the raw path, which would let a
    client create unbounded label values)."""

    def __init__(self, app: ASGIApp, *, service: str, routes: list[BaseRoute]) -> None:
        self.app = app
        self.service = service
        self.routes = routes

    def _route_name(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return getattr(route, "path", "other")
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = self._route_name(scope)
        method = scope["method"]
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        IN_FLIGHT.labels(self.service).inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            IN_FLIGHT.labels(self.service).dec()
            LATENCY.labels(self.service, method, route).observe(time.perf_counter() - started)
            REQUESTS.labels(self.service, method, route, str(status)).inc()


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
