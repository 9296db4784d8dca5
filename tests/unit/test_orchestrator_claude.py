"""The Claude planner against a fake Messages API: a real loopback HTTP server that the real
anthropic SDK talks to (via base_url), answering scripted tool calls and errors."""

from __future__ import annotations

import asyncio
import copy
import io
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.orchestrator.app import app
from services.orchestrator.breaker import BREAKER
from services.orchestrator.rules_planner import plan_rules
from shared.contracts.orchestrator import PlanOptions
from tests.unit.test_orchestrator_factory import demo_analyses, demo_scores

SERVICE_KEY = "sk-ant-service-0000000000000000"
USER_KEY = "sk-ant-user-PLANTED-9f3c2a7b5d1e4f60"
Step = Callable[[dict[str, Any]], tuple[int, dict[str, Any], dict[str, str]]]


def tool_answer(tool_input: dict[str, Any], *, input_tokens: int = 1200,
                output_tokens: int = 800) -> Step:
    def step(body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        return 200, {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": "claude-fake-1",
            "content": [{"type": "tool_use", "id": f"toolu_{len(body['messages'])}",
                         "name": "submit_masterplan", "input": tool_input}],
            "stop_reason": "tool_use", "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        }, {}
    return step


def api_error(status: int, kind: str) -> Step:
    def step(body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        # retry-after-ms keeps the SDK's retries fast in tests.
        return status, {"type": "error", "error": {"type": kind, "message": kind}}, \
            {"retry-after-ms": "10"}
    return step


class FakeMessagesAPI:
    """Scripted `POST /v1/messages`; records what the SDK sent."""

    def __init__(self) -> None:
        self.key = USER_KEY
        self.script: list[Step] = []
        self.requests: list[dict[str, Any]] = []
        self.base_url = ""

    async def messages(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body})
        bearer = request.headers.get("authorization", "")
        if bearer != f"Bearer {self.key}" and request.headers.get("x-api-key") != self.key:
            return JSONResponse({"type": "error", "error": {
                "type": "authentication_error", "message": "invalid x-api-key"}}, 401)
        step = self.script.pop(0) if self.script else api_error(500, "api_error")
        await asyncio.sleep(getattr(step, "delay_sec", 0.0))
        status, payload, headers = step(body)
        return JSONResponse(payload, status, headers=headers)


@pytest.fixture(scope="module")
def fake_api() -> Iterator[FakeMessagesAPI]:
    api = FakeMessagesAPI()
    server_app = Starlette(routes=[Route("/v1/messages", api.messages, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    api.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(server_app, log_config=None, lifespan="off",
                                           access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "fake Messages API did not start"
    yield api
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


@pytest.fixture
def api(fake_api: FakeMessagesAPI, monkeypatch: pytest.MonkeyPatch) -> FakeMessagesAPI:
    fake_api.script, fake_api.requests, fake_api.key = [], [], USER_KEY
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ORCHESTRATOR_PLANNER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.base_url)
    monkeypatch.setenv("ANTHROPIC_MODEL", "claude-test-model")
    monkeypatch.setenv("ORCHESTRATOR_CLAUDE_RETRIES", "2")
    monkeypatch.setenv("ORCHESTRATOR_CLAUDE_TIMEOUT_SEC", "10")
    monkeypatch.setenv("ORCHESTRATOR_BREAKER_FAILURES", "3")
    monkeypatch.setenv("ORCHESTRATOR_BREAKER_COOLDOWN_SEC", "60")
    BREAKER.reset()  # one breaker per process: every test starts with it closed
    monkeypatch.setattr(BREAKER, "clock", time.monotonic)
    return fake_api


def request_body(**options: Any) -> dict[str, Any]:
    return {"analyses": [a.model_dump(mode="json") for a in demo_analyses()],
            "scores": demo_scores(), "options": options or {"seed": 0}}


def claude_input(*, gap: bool = False) -> dict[str, Any]:
    """A valid plan (the rules plan for seed 5) as Claude would submit it; `gap` breaks it."""
    result = plan_rules(demo_analyses(), demo_scores(), PlanOptions(seed=5))
    plan = result.masterplan.wire()
    if gap:
        for section in plan["timeline"][1:]:
            section["time_start_sec"] += 4.0
    return {"creative_vision": "Claude's idea: the pop vocal over deep house.",
            "masterplan": plan}


async def post(body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://orchestrator") as client:
        return await client.post("/create-masterplan", json=body, headers=headers or {})


async def test_valid_tool_answer_gives_a_claude_plan(api: FakeMessagesAPI) -> None:
    api.script = [tool_answer(claude_input())]
    response = await post(request_body(seed=0, style_prompt="dreamy, late-night"),
                          {"X-Anthropic-Key": USER_KEY})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["planner"] == "claude"
    assert result["model"] == "claude-fake-1"
    assert result["usage"] == {"input_tokens": 1200, "output_tokens": 800}
    assert result["creative_vision"].startswith("Claude's idea")
    assert result["masterplan"] == claude_input()["masterplan"]
    assert len(api.requests) == 1
    sent = api.requests[0]
    assert sent["headers"]["authorization"] == f"Bearer {USER_KEY}"
    body = sent["body"]
    assert body["model"] == "claude-test-model"
    assert body["tool_choice"] == {"type": "tool", "name": "submit_masterplan"}
    schema = body["tools"][0]["input_schema"]
    assert schema["required"] == ["creative_vision", "masterplan"]
    assert "global" in schema["properties"]["masterplan"]["properties"]
    assert "$ref" not in str(schema)
    assert "At most one vocal layer" in body["system"] and "filter_sweep_up" in body["system"]
    prompt = body["messages"][0]["content"]
    assert "pop_song" in prompt and "house_groove" in prompt and "vocal_phrases_sec" in prompt
    assert "dreamy, late-night" in prompt and "phrase_boundaries_sec" in prompt


async def test_invalid_then_repaired_plan_is_used(api: FakeMessagesAPI) -> None:
    api.script = [tool_answer(claude_input(gap=True), input_tokens=1000, output_tokens=500),
                  tool_answer(claude_input(), input_tokens=1500, output_tokens=600)]
    response = await post(request_body(), {"X-Anthropic-Key": USER_KEY})
    result = response.json()
    assert result["planner"] == "claude"
    assert result["usage"] == {"input_tokens": 2500, "output_tokens": 1100}
    repair = api.requests[1]["body"]["messages"]
    assert [m["role"] for m in repair] == ["user", "assistant", "user"]
    assert repair[1]["content"][0]["type"] == "tool_use"
    tool_result = repair[2]["content"][0]
    assert tool_result["type"] == "tool_result" and tool_result["is_error"] is True
    assert tool_result["tool_use_id"] == repair[1]["content"][0]["id"]
    assert "gap of 4.000 s" in tool_result["content"]


async def test_invalid_plan_twice_falls_back_to_rules(api: FakeMessagesAPI) -> None:
    api.script = [tool_answer(claude_input(gap=True)), tool_answer(claude_input(gap=True))]
    response = await post(request_body(), {"X-Anthropic-Key": USER_KEY})
    assert response.status_code == 200
    result = response.json()
    assert result["planner"] == "rules" and "model" not in result
    assert result["usage"] == {"input_tokens": 2400, "output_tokens": 1600}  # spent anyway
    assert "still invalid after one repair round" in result["warnings"][0]
    assert len(api.requests) == 2


@pytest.mark.parametrize(("status", "kind"), [(529, "overloaded_error"), (500, "api_error"),
                                             (429, "rate_limit_error")])
async def test_server_errors_are_retried_then_fall_back(api: FakeMessagesAPI, status: int,
                                                        kind: str) -> None:
    api.script = [api_error(status, kind)] * 3
    response = await post(request_body(), {"X-Anthropic-Key": USER_KEY})
    result = response.json()
    assert len(api.requests) == 3  # the first try and ORCHESTRATOR_CLAUDE_RETRIES=2 retries
    assert result["planner"] == "rules"
    assert f"HTTP {status} ({kind})" in result["warnings"][0]
    assert "usage" not in result


async def test_a_retry_that_succeeds_keeps_the_claude_plan(api: FakeMessagesAPI) -> None:
    api.script = [api_error(529, "overloaded_error"), tool_answer(claude_input())]
    result = (await post(request_body(), {"X-Anthropic-Key": USER_KEY})).json()
    assert result["planner"] == "claude" and len(api.requests) == 2


async def test_wrong_key_is_not_retried(api: FakeMessagesAPI) -> None:
    result = (await post(request_body(), {"X-Anthropic-Key": "sk-ant-wrong-key"})).json()
    assert len(api.requests) == 1
    assert result["planner"] == "rules" and "HTTP 401" in result["warnings"][0]


async def test_unreachable_api_falls_back(api: FakeMessagesAPI,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("ORCHESTRATOR_CLAUDE_RETRIES", "0")
    result = (await post(request_body(), {"X-Anthropic-Key": USER_KEY})).json()
    assert result["planner"] == "rules"
    assert "could not be reached" in result["warnings"][0]


async def test_service_key_from_env_and_rules_mode(api: FakeMessagesAPI,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    api.key = SERVICE_KEY
    monkeypatch.setenv("ANTHROPIC_API_KEY", SERVICE_KEY)
    api.script = [tool_answer(claude_input())]
    assert (await post(request_body())).json()["planner"] == "claude"
    monkeypatch.setenv("ORCHESTRATOR_PLANNER", "rules")
    assert (await post(request_body())).json()["planner"] == "rules"
    assert len(api.requests) == 1


async def test_header_key_is_used_for_that_call_only(api: FakeMessagesAPI) -> None:
    api.script = [tool_answer(claude_input())]
    first = (await post(request_body(), {"X-Anthropic-Key": USER_KEY})).json()
    second = (await post(request_body())).json()
    assert (first["planner"], second["planner"]) == ("claude", "rules")
    assert len(api.requests) == 1


async def test_the_users_key_never_reaches_logs_or_responses(
        api: FakeMessagesAPI, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)  # root, so the SDK's and httpx's debug logs run too
    try:
        api.script = [api_error(529, "overloaded_error"), tool_answer(claude_input(gap=True)),
                      tool_answer(claude_input(gap=True)),  # → rules, with warnings logged
                      tool_answer(claude_input())]
        bodies = [(await post(request_body(), {"X-Anthropic-Key": USER_KEY})).text,
                  (await post(request_body(), {"X-Anthropic-Key": USER_KEY})).text,
                  (await post(request_body(), {"X-Anthropic-Key": USER_KEY + " x"})).text]
        await asyncio.sleep(0)
    finally:
        root.removeHandler(handler)
    assert len(api.requests) == 4  # the key really was used
    assert all(r["headers"]["authorization"] == f"Bearer {USER_KEY}" for r in api.requests)
    assert any(r.name.startswith("anthropic") for r in caplog.records)  # debug logs ran
    out, err = capfd.readouterr()
    secret = USER_KEY.split("-")[-1]  # the unique part, however a logger might redact
    everything = "\n".join([caplog.text, stream.getvalue(), out, err, *bodies,
                            *(repr(r.__dict__) for r in caplog.records)])
    assert secret not in everything
    assert "PLANTED" not in everything


async def test_bad_requests_are_4xx(api: FakeMessagesAPI) -> None:
    assert (await post({"analyses": []})).status_code == 422
    one = request_body()
    one["analyses"] = one["analyses"][:1]
    assert (await post(one)).status_code == 422
    twins = request_body()
    twins["analyses"][1]["songId"] = "pop_song"
    response = await post(twins)
    assert response.status_code == 422 and "songId" in response.json()["error"]["message"]
    bad = copy.deepcopy(request_body())
    bad["analyses"][0]["bpm"] = -3
    assert (await post(bad)).status_code == 422
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://o") as client:
        response = await client.post("/create-masterplan", content=b"{not json")
        assert response.status_code == 400
        health = (await client.get("/health")).json()
        assert health["service"] == "orchestrator" and health["planner"] == "rules"
    assert api.requests == []


def slow(step: Step, delay_sec: float) -> Step:
    step.delay_sec = delay_sec  # type: ignore[attr-defined]
    return step


async def test_a_slow_api_times_out_and_falls_back(api: FakeMessagesAPI,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_CLAUDE_TIMEOUT_SEC", "1")
    monkeypatch.setenv("ORCHESTRATOR_CLAUDE_RETRIES", "0")
    api.script = [slow(tool_answer(claude_input()), 3.0)]
    result = (await post(request_body(), {"X-Anthropic-Key": USER_KEY})).json()
    assert result["planner"] == "rules" and len(api.requests) == 1
    assert "did not answer in time" in result["warnings"][0]


async def test_the_whole_conversation_has_a_deadline(api: FakeMessagesAPI,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_CLAUDE_DEADLINE_SEC", "1")
    api.script = [slow(tool_answer(claude_input()), 3.0)]  # well within the 10 s per request
    result = (await post(request_body(), {"X-Anthropic-Key": USER_KEY})).json()
    assert result["planner"] == "rules" and len(api.requests) == 1
    assert "did not finish planning within 1 s" in result["warnings"][0]


async def test_open_breaker_sends_requests_to_rules_without_a_call(
        api: FakeMessagesAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_BREAKER_FAILURES", "2")
    monkeypatch.setenv("ORCHESTRATOR_CLAUDE_RETRIES", "0")
    now = [1000.0]
    monkeypatch.setattr(BREAKER, "clock", lambda: now[0])
    api.script = [api_error(529, "overloaded_error"), api_error(503, "api_error")]
    for _ in range(2):  # two failed plans in a row open the breaker
        assert (await post(request_body(), {"X-Anthropic-Key": USER_KEY})).json()[
            "planner"] == "rules"
    assert len(api.requests) == 2
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://o") as client:
        assert (await client.get("/health")).json()["claude_breaker"] == "open"

    api.script = [tool_answer(claude_input())]  # the API is healthy again, but in cool-down
    now[0] += 30.0
    result = (await post(request_body(), {"X-Anthropic-Key": USER_KEY})).json()
    assert result["planner"] == "rules" and len(api.requests) == 2  # no call was made
    assert "circuit breaker open" in result["warnings"][0]
    assert "30 s more" in result["warnings"][0]

    now[0] += 31.0  # cool-down over: one trial call goes through and closes the breaker
    result = (await post(request_body(), {"X-Anthropic-Key": USER_KEY})).json()
    assert result["planner"] == "claude" and len(api.requests) == 3
    assert BREAKER.state.value == "closed"


async def test_a_failed_trial_call_reopens_the_breaker(
        api: FakeMessagesAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_BREAKER_FAILURES", "1")
    monkeypatch.setenv("ORCHESTRATOR_CLAUDE_RETRIES", "0")
    now = [0.0]
    monkeypatch.setattr(BREAKER, "clock", lambda: now[0])
    api.script = [api_error(529, "overloaded_error"), api_error(529, "overloaded_error"),
                  tool_answer(claude_input())]
    await post(request_body(), {"X-Anthropic-Key": USER_KEY})  # opens at t = 0
    now[0] = 61.0
    await post(request_body(), {"X-Anthropic-Key": USER_KEY})  # the trial fails: open again
    assert len(api.requests) == 2
    now[0] = 100.0
    result = (await post(request_body(), {"X-Anthropic-Key": USER_KEY})).json()
    assert result["planner"] == "rules" and len(api.requests) == 2


async def test_a_callers_wrong_key_does_not_trip_the_breaker(
        api: FakeMessagesAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_BREAKER_FAILURES", "1")
    for _ in range(2):
        await post(request_body(), {"X-Anthropic-Key": "sk-ant-wrong-key"})
    assert len(api.requests) == 2 and BREAKER.state.value == "closed"
    api.script = [tool_answer(claude_input())]
    assert (await post(request_body(), {"X-Anthropic-Key": USER_KEY})).json()[
        "planner"] == "claude"


async def test_a_key_of_any_shape_is_never_logged(
        api: FakeMessagesAPI, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    """Not even redaction is relied on: a key the redaction pattern does not know."""
    odd_key = "zz-custom-PLANTEDODDKEY-5c1d77e0a2b4"
    api.key = odd_key
    caplog.set_level(logging.DEBUG)
    api.script = [tool_answer(claude_input()), api_error(529, "overloaded_error"),
                  api_error(529, "overloaded_error"), api_error(529, "overloaded_error")]
    bodies = [(await post(request_body(), {"X-Anthropic-Key": odd_key})).text
              for _ in range(2)]
    assert ['"planner":"claude"' in b or '"planner": "claude"' in b for b in bodies] == \
        [True, False]
    out, err = capfd.readouterr()
    everything = "\n".join([caplog.text, out, err, *bodies,
                            *(repr(r.__dict__) for r in caplog.records)])
    assert "PLANTEDODDKEY" not in everything and "5c1d77e0a2b4" not in everything


async def test_the_asked_length_range_reaches_claude_and_the_check(
        api: FakeMessagesAPI) -> None:
    short = claude_input()  # ~93 s: outside the asked 100–120 s
    api.script = [tool_answer(short), tool_answer(short)]
    body = request_body(seed=0, min_duration_sec=100, max_duration_sec=120)
    result = (await post(body, {"X-Anthropic-Key": USER_KEY})).json()
    prompt_text = api.requests[0]["body"]["messages"][0]["content"]
    assert '"allowed_range_sec":[100.0,120.0]' in prompt_text
    repair = api.requests[1]["body"]["messages"][2]["content"][0]["content"]
    assert "it must last 100–120 s" in repair
    assert result["planner"] == "rules"
    total = sum(s["duration_sec"] for s in result["masterplan"]["timeline"])
    assert 100 <= total <= 120
