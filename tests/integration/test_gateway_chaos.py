"""Chaos: two gateway replicas on one PostgreSQL and a stand-in for the services, as real
processes. Twenty jobs run while a gateway and the services are killed with SIGKILL at
random moments and restarted: every job must end `complete`, none is lost, and each
job's masterplan is saved exactly once."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.integration.chaos import SERVICES, Proc, saved_and_claimed, terminal_states
from tests.pg import postgres_url

pytestmark = [pytest.mark.integration, pytest.mark.slow]
JOBS = 20


def test_jobs_survive_killed_gateways_and_services(tmp_path: Path, schema: str) -> None:
    rng = random.Random(9)
    storage = tmp_path / "storage"
    (storage / "uploads").mkdir(parents=True)
    for name in ("a.wav", "b.wav"):
        (storage / "uploads" / name).write_bytes(b"RIFF")
    plan_log = tmp_path / "plans.log"
    base_env = {**os.environ, "STORAGE_ROOT": str(storage), "SIGNING_SECRET": "chaos",
                "LOG_LEVEL": "WARNING", "STUB_PLAN_LOG": str(plan_log)}
    stub = Proc("tests.integration.stub_services:app", base_env, tmp_path / "stub.log")
    gateway_env = {**base_env, "GATEWAY_DB": postgres_url(), "GATEWAY_DB_SCHEMA": schema,
                   "GATEWAY_LEASE_SEC": "2", "GATEWAY_SCAN_INTERVAL_SEC": "0.3",
                   "GATEWAY_MAX_RUNNING_JOBS": "3", "GATEWAY_RATE_LIMIT_PER_MIN": "0",
                   "CLIENT_ATTEMPTS": "30", "CLIENT_MAX_RETRY_SEC": "30",
                   "JOB_DEADLINE_SEC": "240",
                   **{f"{s.upper()}_URL": stub.url for s in SERVICES}}
    gateways = [Proc("gateway.app:app", gateway_env, tmp_path / f"gw{i}.log") for i in (0, 1)]
    procs = [stub, *gateways]
    try:
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.wait_healthy()
        body = {"songs": [{"id": "a", "storage_path": "uploads/a.wav"},
                          {"id": "b", "storage_path": "uploads/b.wav"}]}
        ids = []
        for i in range(JOBS):
            gateway = gateways[i % 2]
            response = httpx.post(f"{gateway.url}/generate-mashup", json=body, timeout=30,
                                  headers={"Idempotency-Key": f"chaos-{i}"})
            assert response.status_code == 200, response.text
            ids.append(response.json()["jobId"])
        # Kill a gateway twice and the services once, at random moments, restarting each.
        kills = Counter()
        for victim in rng.sample([gateways[0], gateways[1], stub], 3):
            time.sleep(rng.uniform(0.5, 2.0))
            victim.kill()
            kills[victim.app] += 1
            time.sleep(rng.uniform(0.2, 1.0))
            victim.start()
            victim.wait_healthy()
        states = terminal_states(gateways[0].url, ids, timeout_sec=180, poll_sec=0.5)
        failed = {j: s.get("error_message") for j, s in states.items()
                  if s["status"] != "complete"}
        assert not failed
        assert all(s["masterplan"] == {"title": "stub", "timeline": []}
                   for s in states.values())
        events = saved_and_claimed(schema)
    finally:
        for proc in procs:
            proc.stop()
    for job_id in ids:
        assert events[job_id]["plan saved"] == 1  # the store refuses a second plan
        assert events[job_id]["render saved"] == 1
    # At least one job changed hands: a killed replica's lease expired and was taken over.
    assert any(len(e["owners"]) > 1 for e in events.values())
    # Each job saved one masterplan; a plan request is repeated only when a gateway died
    # in the middle of it (at most one per slot per gateway kill), and every request
    # carries the job's Idempotency-Key, so the orchestrator creates the plan once
    # (tests/unit/test_orchestrator_idempotency.py).
    asks = [line.split() for line in plan_log.read_text().splitlines()]
    assert all(key == f"{job_id}:plan" for job_id, key in asks), asks
    plans = Counter(job_id for job_id, _ in asks)
    assert set(plans) == set(ids)
    repeated = sum(n - 1 for n in plans.values())
    gateway_kills = kills["gateway.app:app"]
    assert repeated <= 3 * gateway_kills, plans
