"""Create each masterplan once per `Idempotency-Key`, however often it is asked for.

A gateway that dies while its plan call is in flight asks again after a restart (or
another replica does); without this, Claude would write, and the user pay for, a second
plan. The first answer for a key is kept in storage under `plans/<sha256(key)>.json`
together with a hash of the request, so a repeat gets the same plan back, a concurrent
repeat waits for the first call instead of starting its own, and a different request
under a used key is refused (409) rather than silently answered with the wrong plan.
The caller's Anthropic key is not part of the request hash and is never stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool

from shared.errors import BadRequest, Conflict, ObjectNotFound
from shared.single_flight import SingleFlight
from shared.storage import Storage

log = logging.getLogger(__name__)

PREFIX = "plans"
MAX_KEY_CHARS = 200
REPLAYED = Counter("orchestrator_plans_replayed_total",
                   "Masterplan requests answered with the plan already made for their key")

PlanFn = Callable[[], Awaitable[dict[str, Any]]]


def request_hash(body: dict[str, Any]) -> str:
    """A stable hash of a request body (key order does not matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def storage_key(idempotency_key: str) -> str:
    return f"{PREFIX}/{hashlib.sha256(idempotency_key.encode()).hexdigest()}.json"


def check_key(value: str) -> str:
    """The header's value, or 400 when it cannot be a key."""
    value = value.strip()
    if not value or len(value) > MAX_KEY_CHARS or not value.isprintable():
        raise BadRequest(f"Idempotency-Key must be 1–{MAX_KEY_CHARS} printable characters.",
                         code="invalid_idempotency_key")
    return value


def _same_request(stored_sha256: object, digest: str) -> None:
    if stored_sha256 != digest:
        raise Conflict("This Idempotency-Key was already used for a different masterplan "
                       "request.", code="idempotency_key_reused")


class PlanLedger:
    """Remembers the answer to each idempotency key (in storage, so every replica and every
    restart sees it) and shares an answer still being made with concurrent repeats."""

    def __init__(self, storage: Storage | Callable[[], Storage]) -> None:
        # A factory is asked on every use, so a change of configuration takes effect.
        self._storage = storage if callable(storage) else (lambda: storage)
        self._in_flight: SingleFlight[dict[str, Any]] = SingleFlight()
        self._in_flight_sha256: dict[str, str] = {}

    def _load(self, key: str) -> dict[str, Any] | None:
        try:
            record = json.loads(self._storage().get_bytes(storage_key(key)))
        except ObjectNotFound:
            return None
        except ValueError:
            log.warning("ignoring an unreadable stored plan for an idempotency key")
            return None
        if not isinstance(record, dict) or not isinstance(record.get("response"), dict):
            log.warning("ignoring a malformed stored plan for an idempotency key")
            return None
        return record

    def _save(self, key: str, digest: str, response: dict[str, Any]) -> None:
        record = {"request_sha256": digest, "response": response}
        self._storage().put_bytes(storage_key(key), json.dumps(record).encode())

    async def plan_once(self, key: str, body: dict[str, Any], make_plan: PlanFn) -> dict[str, Any]:
        """The stored answer for `key`, or `make_plan()`'s, stored before it is returned."""
        digest = request_hash(body)
        record = await run_in_threadpool(self._load, key)
        if record is not None:
            _same_request(record.get("request_sha256"), digest)
            REPLAYED.inc()
            return dict(record["response"])
        if key in self._in_flight:
            _same_request(self._in_flight_sha256.get(key), digest)
        else:
            self._in_flight_sha256[key] = digest

        async def plan_and_save() -> dict[str, Any]:
            try:
                answer = await make_plan()
                await run_in_threadpool(self._save, key, digest, answer)
                return answer
            finally:
                self._in_flight_sha256.pop(key, None)

        answer, shared = await self._in_flight.run(key, plan_and_save)
        if shared:
            REPLAYED.inc()
        return dict(answer)
