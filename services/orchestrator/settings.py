"""Orchestrator settings from the environment (read per call, so tests can change them).

ANTHROPIC_API_KEY        the service's own key (a request's X-Anthropic-Key overrides it)
ANTHROPIC_BASE_URL       Messages API base URL (the SDK's own variable)
ANTHROPIC_MODEL          model name (default claude-sonnet-4-5)
ORCHESTRATOR_PLANNER     auto (Claude when a key is configured, else rules) | rules
ORCHESTRATOR_CLAUDE_RETRIES      SDK retries on 429/5xx/529 and connection errors (default 2)
ORCHESTRATOR_CLAUDE_TIMEOUT_SEC  per-request timeout (default 60)
ORCHESTRATOR_CLAUDE_DEADLINE_SEC the whole Claude conversation (retries and the repair round
                                 included) must end by then, else the rules planner answers
                                 (default 150: inside the gateway's 180 s orchestrator timeout)
ORCHESTRATOR_CLAUDE_MAX_TOKENS   answer budget (default 8192)
ORCHESTRATOR_BREAKER_FAILURES    consecutive API failures that open the circuit breaker (default 3)
ORCHESTRATOR_BREAKER_COOLDOWN_SEC  how long an open breaker sends everything to the rules
                                 planner before one trial call (default 60)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from shared.settings import env_float, env_int, env_str

DEFAULT_MODEL = "claude-sonnet-4-5"


@dataclass(frozen=True)
class ClaudeSettings:
    model: str
    base_url: str | None
    max_retries: int
    timeout_sec: float
    max_tokens: int
    deadline_sec: float = 150.0
    breaker_failures: int = 3
    breaker_cooldown_sec: float = 60.0

    @classmethod
    def from_env(cls) -> ClaudeSettings:
        return cls(
            model=env_str("ANTHROPIC_MODEL", DEFAULT_MODEL),
            base_url=os.environ.get("ANTHROPIC_BASE_URL") or None,
            max_retries=max(0, env_int("ORCHESTRATOR_CLAUDE_RETRIES", 2)),
            timeout_sec=max(1.0, env_float("ORCHESTRATOR_CLAUDE_TIMEOUT_SEC", 60.0)),
            max_tokens=max(1024, env_int("ORCHESTRATOR_CLAUDE_MAX_TOKENS", 8192)),
            deadline_sec=max(1.0, env_float("ORCHESTRATOR_CLAUDE_DEADLINE_SEC", 150.0)),
            breaker_failures=max(1, env_int("ORCHESTRATOR_BREAKER_FAILURES", 3)),
            breaker_cooldown_sec=max(0.0, env_float("ORCHESTRATOR_BREAKER_COOLDOWN_SEC", 60.0)),
        )


def planner_mode() -> str:
    """"auto" or "rules"; anything else reads as auto."""
    mode = env_str("ORCHESTRATOR_PLANNER", "auto").strip().lower()
    return mode if mode in ("auto", "rules") else "auto"


def service_api_key() -> str | None:
    """The service's own Anthropic key, if configured."""
    return os.environ.get("ANTHROPIC_API_KEY", "").strip() or None
