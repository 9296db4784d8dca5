"""orchestrator service (port 8003): `POST /create-masterplan`.

Claude plans when a key is configured (the service's ANTHROPIC_API_KEY, or the caller's
own key in `X-Anthropic-Key` for that one call) and ORCHESTRATOR_PLANNER is not "rules";
otherwise, and whenever Claude fails, the deterministic rules planner does. The key is
passed down as an argument only: never stored, never logged.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.orchestrator.breaker import BREAKER
from services.orchestrator.claude_planner import plan_with_claude
from services.orchestrator.idempotency import PlanLedger, check_key
from services.orchestrator.rules_planner import plan_rules
from services.orchestrator.settings import ClaudeSettings, planner_mode, service_api_key
from shared.contracts.orchestrator import MasterplanRequest
from shared.effects import EFFECTS_VOCABULARY
from shared.errors import BadRequest, Unprocessable
from shared.storage import get_storage
from shared.web import create_app, json_response, read_model

KEY_HEADER = "X-Anthropic-Key"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 512
MAX_BODY_BYTES = 32 * 1024 * 1024  # analyses only, no audio


def _caller_key(request: Request) -> str | None:
    """The caller's own key from the header; 400 (without echoing it) when malformed."""
    value = request.headers.get(KEY_HEADER, "").strip()
    if not value:
        return None
    if len(value) > MAX_KEY_CHARS or not value.isascii() or not value.isprintable() \
            or any(c.isspace() for c in value):
        raise BadRequest(f"The {KEY_HEADER} header does not look like an Anthropic API key.",
                         code="invalid_api_key")
    return value


async def create_masterplan(request: Request) -> Response:
    body = await read_model(request, MasterplanRequest, max_bytes=MAX_BODY_BYTES)
    song_ids = [a.songId for a in body.analyses]
    if len(set(song_ids)) != len(song_ids):
        raise Unprocessable("Each analysis needs its own songId; some are repeated.",
                            code="invalid_request")
    api_key = _caller_key(request) or service_api_key()

    async def make_plan() -> dict[str, Any]:
        if api_key and planner_mode() != "rules":
            result = await plan_with_claude(body, api_key=api_key)
        else:
            result = await run_in_threadpool(plan_rules, body.analyses, body.scores,
                                             body.options)
        return result.model_dump(mode="json", by_alias=True, exclude_none=True)

    idempotency_key = request.headers.get(IDEMPOTENCY_HEADER)
    if idempotency_key is None:
        return json_response(await make_plan())
    ledger = _ledger(request.app)
    answer = await ledger.plan_once(check_key(idempotency_key),
                                    body.model_dump(mode="json", by_alias=True), make_plan)
    return json_response(answer)


def _ledger(app: Starlette) -> PlanLedger:
    ledger = getattr(app.state, "plan_ledger", None)
    if ledger is None:
        ledger = app.state.plan_ledger = PlanLedger(get_storage)
    return ledger


def _health_detail() -> dict[str, Any]:
    claude = planner_mode() != "rules" and service_api_key() is not None
    return {"planner": "claude" if claude else "rules",
            "model": ClaudeSettings.from_env().model, "claude_breaker": BREAKER.state.value,
            "effects": sorted(EFFECTS_VOCABULARY)}


routes = [Route("/create-masterplan", create_masterplan, methods=["POST"])]
app = create_app("orchestrator", routes, health_detail=_health_detail)
