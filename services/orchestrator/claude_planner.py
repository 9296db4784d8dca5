"""The Claude planner: a forced `submit_masterplan` tool call, validated, one repair round.

The SDK retries 429/5xx/overloaded answers with backoff, each request has a timeout and
the whole conversation a deadline. Any failure (an Anthropic API or SDK error, no tool
call, a plan still invalid after the repair round, the deadline) falls back to the rules
planner with a warning, so the caller always gets a plan; repeated API failures open the
circuit breaker (breaker.py), which then sends requests to the rules planner without a
call until its cool-down ends. The API key is an argument of each call: it is used for
that call's client only, never stored and never logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import anthropic
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from services.orchestrator import prompt
from services.orchestrator.breaker import BREAKER, CircuitBreaker
from services.orchestrator.form import (
    asked_duration_range,
    phrase_sec,
    plan_length,
    wanted_duration,
)
from services.orchestrator.roles import choose_roles
from services.orchestrator.rules_planner import DEFAULT_CURVES, plan_rules
from services.orchestrator.settings import ClaudeSettings
from services.orchestrator.validation import validate_plan
from shared.contracts.orchestrator import (
    ENERGY_CURVES,
    Masterplan,
    MasterplanRequest,
    MasterplanResponse,
    PlanOptions,
    Usage,
)
from shared.errors import UpstreamError
from shared.logs import redact

log = logging.getLogger(__name__)
MAX_ERRORS_SENT = 20


class ClaudePlanError(UpstreamError):
    """Claude gave no usable plan; the message says why (never the key).

    `api_health` tells the circuit breaker what the failure says about the API:
    "failed" (429, 5xx/overloaded, timeout, unreachable), "answered" (it answered, e.g.
    an invalid plan or a caller's wrong key) or "unknown".
    """

    code = "claude_failed"

    def __init__(self, message: str, *, api_health: str = "answered") -> None:
        super().__init__(message)
        self.api_health = api_health


def _api_error(exc: anthropic.AnthropicError) -> ClaudePlanError:
    """Convert an SDK exception where it enters our code, keeping only safe facts.

    The SDK has already retried 408/409/429/5xx and connection errors with backoff
    (max_retries) before one of them reaches here.
    """
    if isinstance(exc, anthropic.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        kind = str(error.get("type") or type(exc).__name__)[:60]
        unhealthy = exc.status_code == 429 or exc.status_code >= 500 or kind == "overloaded_error"
        return ClaudePlanError(f"the Anthropic API answered HTTP {exc.status_code} ({kind})",
                               api_health="failed" if unhealthy else "answered")
    if isinstance(exc, anthropic.APITimeoutError):
        return ClaudePlanError("the Anthropic API did not answer in time", api_health="failed")
    if isinstance(exc, anthropic.APIConnectionError):
        return ClaudePlanError("the Anthropic API could not be reached", api_health="failed")
    return ClaudePlanError(f"the Anthropic SDK failed ({type(exc).__name__})",
                           api_health="unknown")


def _add_usage(total: Usage, message: Any) -> None:
    usage = getattr(message, "usage", None)
    total.input_tokens += int(getattr(usage, "input_tokens", 0) or 0)
    total.output_tokens += int(getattr(usage, "output_tokens", 0) or 0)


def _tool_call(message: Any) -> tuple[str, dict[str, Any]]:
    for block in getattr(message, "content", None) or []:
        if (getattr(block, "type", None) == "tool_use" and block.name == prompt.TOOL_NAME
                and isinstance(block.input, dict)):
            return block.id, block.input
    raise ClaudePlanError(f"Claude's answer had no {prompt.TOOL_NAME} call "
                          f"(stop_reason {getattr(message, 'stop_reason', None)!r})")


def _check(tool_input: dict[str, Any], analyses: Sequence[Any],
           duration_range_sec: tuple[float, float]
           ) -> tuple[str, Masterplan | None, list[str], list[str]]:
    """(creative_vision, fixed plan, errors, warnings) of one submitted plan."""
    vision = tool_input.get("creative_vision")
    errors: list[str] = []
    if not isinstance(vision, str) or not vision.strip():
        errors.append("creative_vision must be a non-empty string")
        vision = ""
    raw = tool_input.get("masterplan")
    if not isinstance(raw, dict):
        return vision, None, [*errors, "masterplan must be an object"], []
    plan, plan_errors, warnings = validate_plan(raw, analyses,
                                                duration_range_sec=duration_range_sec)
    return vision, plan, errors + plan_errors, warnings


def _repair_message(tool_id: str, errors: list[str]) -> dict[str, Any]:
    listed = "\n".join(f"- {e}" for e in errors[:MAX_ERRORS_SENT])
    more = len(errors) - MAX_ERRORS_SENT
    if more > 0:
        listed += f"\n- ... and {more} more"
    text = ("The masterplan was rejected:\n" + listed + "\nFix every problem and call "
            f"{prompt.TOOL_NAME} again with the complete corrected plan.")
    return {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": tool_id, "is_error": True, "content": text}]}


class _Session:
    """One planning conversation: its client, settings and token count."""

    def __init__(self, client: anthropic.AsyncAnthropic, settings: ClaudeSettings,
                 system: str) -> None:
        self.client, self.settings, self.system = client, settings, system
        self.usage = Usage()
        self.model: str | None = None

    async def ask(self, messages: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        try:
            message = await self.client.messages.create(
                model=self.settings.model, max_tokens=self.settings.max_tokens,
                system=self.system, messages=messages,  # type: ignore[arg-type]
                tools=[prompt.tool_definition()],  # type: ignore[list-item]
                tool_choice={"type": "tool", "name": prompt.TOOL_NAME})
        except anthropic.AnthropicError as exc:
            raise _api_error(exc) from None
        _add_usage(self.usage, message)
        self.model = getattr(message, "model", None) or self.settings.model
        return _tool_call(message)


async def _converse(request: MasterplanRequest, session: _Session, user_text: str,
                    duration_range_sec: tuple[float, float]) -> MasterplanResponse:
    messages: list[dict[str, Any]] = [{"role": "user", "content": user_text}]
    tool_id, tool_input = await session.ask(messages)
    vision, plan, errors, warnings = _check(tool_input, request.analyses, duration_range_sec)
    if errors:
        log.info("claude plan rejected (%d problems); asking for a repair", len(errors))
        messages += [
            {"role": "assistant", "content": [{"type": "tool_use", "id": tool_id,
                                               "name": prompt.TOOL_NAME, "input": tool_input}]},
            _repair_message(tool_id, errors),
        ]
        tool_id, tool_input = await session.ask(messages)
        vision, plan, errors, warnings = _check(tool_input, request.analyses,
                                                duration_range_sec)
        if errors:
            raise ClaudePlanError("Claude's plan was still invalid after one repair round: "
                                  + "; ".join(errors[:3]))
    assert plan is not None  # no errors means the plan was read
    try:
        return MasterplanResponse(creative_vision=vision.strip(), masterplan=plan,
                                  planner="claude", model=session.model, usage=session.usage,
                                  warnings=warnings)
    except ValidationError as exc:  # defensive: validate_plan already read the plan
        raise ClaudePlanError(f"Claude's plan could not be read: {exc.error_count()} errors")\
            from None


def _user_text(request: MasterplanRequest) -> tuple[str, tuple[float, float]]:
    """(the user message, the length range the plan must keep to)."""
    options = request.options or PlanOptions()
    roles = choose_roles(request.analyses, request.scores)
    seed = options.seed or 0
    curve = options.energy_curve if options.energy_curve in ENERGY_CURVES else \
        DEFAULT_CURVES[seed % len(DEFAULT_CURVES)]
    wanted, _ = wanted_duration(options, asked_duration_range(options))
    phrases, duration_range = plan_length(wanted, target_bpm=roles.target_bpm,
                                          duration_range_sec=asked_duration_range(options))
    text = prompt.user_prompt(analyses=list(request.analyses), scores=request.scores,
                              roles=roles, duration_sec=phrases * phrase_sec(roles.target_bpm),
                              duration_range_sec=duration_range, curve=curve,
                              style_prompt=options.style_prompt)
    return text, duration_range


def _record(breaker: CircuitBreaker, api_health: str) -> None:
    if api_health == "failed":
        breaker.record_failure()
    elif api_health == "answered":
        breaker.record_success()
    else:
        breaker.record_neutral()


async def _claude_plan(request: MasterplanRequest, api_key: str, settings: ClaudeSettings,
                       usage: Usage) -> MasterplanResponse:
    """One planning conversation (the first answer and at most one repair round)."""
    try:
        client = anthropic.AsyncAnthropic(api_key=api_key, base_url=settings.base_url,
                                          max_retries=settings.max_retries,
                                          timeout=settings.timeout_sec)
    except (anthropic.AnthropicError, ValueError) as exc:
        raise ClaudePlanError(f"the Anthropic client could not be set up "
                              f"({type(exc).__name__})", api_health="unknown") from None
    session = _Session(client, settings, prompt.SYSTEM_PROMPT)
    session.usage = usage
    user_text, duration_range = _user_text(request)
    try:
        async with asyncio.timeout(settings.deadline_sec), client:
            return await _converse(request, session, user_text, duration_range)
    except TimeoutError:  # the deadline, not a single request (that is APITimeoutError)
        raise ClaudePlanError(f"Claude did not finish planning within {settings.deadline_sec:g} s",
                              api_health="failed") from None


async def plan_with_claude(request: MasterplanRequest, *, api_key: str,
                           settings: ClaudeSettings | None = None,
                           breaker: CircuitBreaker = BREAKER) -> MasterplanResponse:
    """Claude's validated plan, or the rules plan with a warning when Claude fails or
    the circuit breaker is open (then no call is made at all)."""
    settings = settings or ClaudeSettings.from_env()
    breaker.configure(failure_threshold=settings.breaker_failures,
                      cooldown_sec=settings.breaker_cooldown_sec)
    usage = Usage()
    if not breaker.allow():
        reason = ("the Anthropic API failed repeatedly, so Claude is paused for "
                  f"{breaker.retry_after_sec():.0f} s more (circuit breaker open)")
    else:
        try:
            result = await _claude_plan(request, api_key, settings, usage)
        except ClaudePlanError as exc:
            _record(breaker, exc.api_health)
            reason = redact(exc.message)
        except BaseException:  # cancelled or a bug: free a half-open trial slot
            breaker.record_neutral()
            raise
        else:
            breaker.record_success()
            log.info("claude plan accepted: model %s, %d input / %d output tokens",
                     result.model, usage.input_tokens, usage.output_tokens)
            return result
    log.warning("claude planner failed (%s); using the rules planner", reason)
    fallback = await run_in_threadpool(plan_rules, request.analyses, request.scores,
                                       request.options)
    fallback.warnings.insert(0, f"Claude planner failed: {reason}; used the rules planner")
    if usage.input_tokens or usage.output_tokens:
        fallback.usage = usage  # tokens were spent even though the plan was not used
    return fallback
