"""Retries on connect errors, 429 and 5xx; none on other 4xx; errors name the service."""

from __future__ import annotations

import httpx
import pytest

from shared.client import ServiceCallError, ServiceClient
from shared.logs import JOB_ID


def client_with(handler: object, attempts: int = 4) -> ServiceClient:
    return ServiceClient("scoring", base_url="http://scoring", attempts=attempts,
                         max_retry_sec=5, transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


async def test_retries_5xx_and_429_then_succeeds() -> None:
    answers = [503, 429, 200]
    seen_job_ids = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen_job_ids.append(request.headers.get("x-job-id"))
        status = answers.pop(0)
        return httpx.Response(status, json={"ok": True} if status == 200 else
                              {"error": {"code": "busy", "message": "busy"}})

    token = JOB_ID.set("job-42")
    try:
        async with client_with(handler) as client:
            assert await client.post_json("/x", {}) == {"ok": True}
    finally:
        JOB_ID.reset(token)
    assert answers == [] and seen_job_ids == ["job-42"] * 3


@pytest.mark.parametrize("status", [400, 404, 413, 415, 422])
async def test_no_retry_on_client_errors(status: int) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(status, json={"error": {"code": "bad", "message": "bad input"}})

    async with client_with(handler) as client:
        with pytest.raises(ServiceCallError) as info:
            await client.post_json("/x", {})
    assert len(calls) == 1
    assert info.value.status == status and info.value.upstream_code == "bad"
    assert "scoring /x answered" in info.value.message and "bad input" in info.value.message


async def test_connect_errors_give_up_after_the_attempts() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("refused", request=request)

    async with client_with(handler, attempts=3) as client:
        with pytest.raises(ServiceCallError) as info:
            await client.post_json("/x", {})
    assert len(calls) == 3
    assert "unreachable" in info.value.message and info.value.status is None


async def test_non_json_answer_is_an_error() -> None:
    async with client_with(lambda r: httpx.Response(200, text="<html>")) as client:
        with pytest.raises(ServiceCallError):
            await client.post_json("/x", {})
