"""Async client for calls between services: httpx + tenacity.

Retries (exponential backoff with jitter) on connection errors, timeouts of the connect
phase, 429 and 5xx; never on other 4xx, which mean the request itself is wrong. Each
service has its own timeout because separation and rendering take minutes.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from shared.errors import MeshError, UpstreamError
from shared.logs import JOB_HEADER, JOB_ID
from shared.settings import env_float, env_int, service_timeout_sec, service_url

log = logging.getLogger(__name__)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# 502: a service's own upstream was unreachable; 503: unavailable; 429: its queue is full.
OUTAGE_STATUSES = frozenset({429, 502, 503})


class ServiceCallError(UpstreamError):
    """A call to another service failed; carries the service, status and its message."""

    def __init__(self, service: str, message: str, *, status: int | None = None,
                 upstream_code: str | None = None, unreachable: bool = False) -> None:
        super().__init__(message, service=service, upstream_status=status)
        self.service = service
        self.status = status
        self.upstream_code = upstream_code
        self.unreachable = unreachable  # no connection, or the server dropped it unanswered

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status in RETRY_STATUSES

    @property
    def outage(self) -> bool:
        """The service (or one it called) is down or busy rather than refusing or failing
        this request: worth asking again once it is back, after the client's own quick
        retries ran out. A 500 (a bug) or a timeout (the work is too big) is not."""
        return self.unreachable or self.status in OUTAGE_STATUSES


def _should_retry(exc: BaseException) -> bool:
    if isinstance(exc, ServiceCallError):
        return exc.retryable
    return isinstance(exc, (httpx.TransportError,))


def _error_message(response: httpx.Response) -> tuple[str, str | None]:
    try:
        body = response.json()
        err = body.get("error", {}) if isinstance(body, dict) else {}
        return str(err.get("message") or response.text[:300]), err.get("code")
    except ValueError:
        return response.text[:300] or response.reason_phrase, None


class ServiceClient:
    """One client per target service; reuse it for connection pooling."""

    def __init__(
        self,
        service: str,
        *,
        base_url: str | None = None,
        timeout_sec: float | None = None,
        attempts: int | None = None,
        max_retry_sec: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.service = service
        self.base_url = (base_url or service_url(service)).rstrip("/")
        self.timeout_sec = timeout_sec or service_timeout_sec(service)
        self.attempts = attempts or env_int("CLIENT_ATTEMPTS", 4)
        self.max_retry_sec = max_retry_sec or env_float("CLIENT_MAX_RETRY_SEC", 20.0)
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(self.timeout_sec, connect=5.0),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> ServiceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def post_json(
        self, path: str, body: dict[str, Any], *, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """POST JSON and return the decoded JSON answer; raises ServiceCallError."""
        return await self._request("POST", path, json_body=body, headers=headers)

    async def get_json(self, path: str, *, params: dict[str, str] | None = None) -> dict[str, Any]:
        return await self._request("GET", path, params=params)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        send_headers = dict(headers or {})
        job_id = JOB_ID.get()
        if job_id:
            send_headers[JOB_HEADER] = job_id
        retrying = AsyncRetrying(
            retry=retry_if_exception(_should_retry),
            wait=wait_random_exponential(multiplier=0.25, max=4.0),
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.max_retry_sec),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._once(method, path, json_body, params, send_headers)
        except ServiceCallError:
            raise
        except httpx.TimeoutException as exc:
            raise ServiceCallError(
                self.service,
                f"{self.service} did not answer {path} within {self.timeout_sec:.0f} s "
                f"({type(exc).__name__})",
            ) from exc
        except httpx.TransportError as exc:
            raise ServiceCallError(
                self.service,
                f"{self.service} is unreachable at {self.base_url} ({type(exc).__name__}: {exc})",
                unreachable=True,
            ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(
        self,
        method: str,
        path: str,
        json_body: dict[str, Any] | None,
        params: dict[str, str] | None,
        headers: dict[str, str],
    ) -> dict[str, Any]:
        response = await self._client.request(
            method, path, json=json_body, params=params, headers=headers
        )
        if response.status_code >= 400:
            message, code = _error_message(response)
            if response.status_code in RETRY_STATUSES:
                log.warning("%s %s answered %s: %s", self.service, path, response.status_code,
                            message)
            raise ServiceCallError(
                self.service,
                f"{self.service} {path} answered {response.status_code}: {message}",
                status=response.status_code,
                upstream_code=code,
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise ServiceCallError(self.service, f"{self.service} {path} sent invalid JSON",
                                   status=response.status_code) from exc
        if not isinstance(data, dict):
            raise ServiceCallError(self.service, f"{self.service} {path} sent a non-object body",
                                   status=response.status_code)
        return data


def is_client_error(exc: MeshError) -> bool:
    """True when an upstream refused the input itself (4xx other than 429)."""
    return isinstance(exc, ServiceCallError) and exc.status is not None and (
        400 <= exc.status < 500 and exc.status != 429
    )
