"""A masterplan is created once per Idempotency-Key: repeats, restarts and concurrent
twins get the first plan back; a different request under a used key is refused."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import services.orchestrator.app as orchestrator_app
from services.orchestrator.idempotency import PlanLedger, request_hash, storage_key
from shared.storage import LocalStorage
from tests.unit.test_orchestrator_factory import demo_analyses, demo_scores


def plan_body(seed: int = 1) -> dict[str, Any]:
    return {"analyses": [a.model_dump(mode="json") for a in demo_analyses()],
            "scores": demo_scores(), "options": {"seed": seed, "duration_sec": 90}}


@pytest.fixture
def counted_planner(storage_root: Path, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the rules planner's runs; the service plans with rules only."""
    monkeypatch.setenv("ORCHESTRATOR_PLANNER", "rules")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    calls: list[int] = []
    real = orchestrator_app.plan_rules

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(orchestrator_app, "plan_rules", counting)
    return calls


def post(client: TestClient, body: dict[str, Any], key: str | None) -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post("/create-masterplan", json=body, headers=headers)


def test_a_repeat_gets_the_first_plan_without_planning_again(
        counted_planner: list[int], storage_root: Path) -> None:
    with TestClient(orchestrator_app.app) as client:
        first = post(client, plan_body(), "job-1:plan")
        second = post(client, plan_body(), "job-1:plan")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert len(counted_planner) == 1
    assert (storage_root / storage_key("job-1:plan")).exists()


def test_the_plan_survives_a_restart(counted_planner: list[int]) -> None:
    with TestClient(orchestrator_app.app) as client:
        first = post(client, plan_body(), "job-2:plan").json()
    orchestrator_app.app.state.plan_ledger = None  # a new process: only storage remains
    with TestClient(orchestrator_app.app) as client:
        again = post(client, plan_body(), "job-2:plan").json()
    assert again == first and len(counted_planner) == 1


def test_other_keys_and_no_key_plan_afresh(counted_planner: list[int]) -> None:
    with TestClient(orchestrator_app.app) as client:
        post(client, plan_body(), "job-3:plan")
        post(client, plan_body(), "job-4:plan")
        post(client, plan_body(), None)
        post(client, plan_body(), None)
    assert len(counted_planner) == 4


def test_a_used_key_with_another_request_is_409(counted_planner: list[int]) -> None:
    with TestClient(orchestrator_app.app) as client:
        assert post(client, plan_body(seed=1), "job-5:plan").status_code == 200
        refused = post(client, plan_body(seed=2), "job-5:plan")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "idempotency_key_reused"
    assert len(counted_planner) == 1


@pytest.mark.parametrize("key", ["", " ", "x" * 201, "bad\x01key"])
def test_malformed_keys_are_400(counted_planner: list[int], key: str) -> None:
    with TestClient(orchestrator_app.app) as client:
        response = post(client, plan_body(), key)
    assert response.status_code == 400
    assert counted_planner == []


async def test_concurrent_twins_share_one_call(tmp_path: Path) -> None:
    ledger = PlanLedger(LocalStorage(tmp_path))
    calls: list[int] = []

    async def slow_plan() -> dict[str, Any]:
        calls.append(1)
        await asyncio.sleep(0.05)
        return {"planner": "rules", "masterplan": {"n": len(calls)}}

    answers = await asyncio.gather(*(ledger.plan_once("k", {"a": 1}, slow_plan)
                                     for _ in range(5)))
    assert calls == [1]
    assert all(answer == answers[0] for answer in answers)


async def test_a_failed_plan_is_not_remembered(tmp_path: Path) -> None:
    ledger = PlanLedger(LocalStorage(tmp_path))

    async def failing() -> dict[str, Any]:
        raise RuntimeError("planner down")

    async def working() -> dict[str, Any]:
        return {"planner": "rules"}

    with pytest.raises(RuntimeError):
        await ledger.plan_once("k", {"a": 1}, failing)
    assert await ledger.plan_once("k", {"a": 1}, working) == {"planner": "rules"}


def test_request_hash_ignores_key_order() -> None:
    assert request_hash({"a": 1, "b": [1, 2]}) == request_hash({"b": [1, 2], "a": 1})
    assert request_hash({"a": 1}) != request_hash({"a": 2})


async def test_an_unreadable_record_is_planned_again(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    ledger = PlanLedger(storage)

    async def working() -> dict[str, Any]:
        return {"planner": "rules"}

    for junk in (b"not json", b"[1, 2]", b'{"request_sha256": "x"}'):
        storage.put_bytes(storage_key("k"), junk)
        assert await ledger.plan_once("k", {"a": 1}, working) == {"planner": "rules"}
