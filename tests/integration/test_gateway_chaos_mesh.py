"""Chaos on the real mesh: two gateway replicas on one PostgreSQL and the five real
services as uvicorn processes. Twenty jobs (two synthesised song pairs, a few seeds, so
the audio work stays small while caches and renders are really exercised) run while a
gateway and then a randomly chosen service are killed with SIGKILL at random moments and
restarted: every job must end `complete` with a mastered file, none is lost, each job's
masterplan is saved once and created once (one `plans/` record per job)."""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from shared.audio_io import decode_audio, encode_audio
from shared.synth import SongSpec, synthesize_song
from shared.true_peak import true_peak_dbtp
from tests.integration.chaos import SERVICES, Proc, saved_and_claimed, terminal_states
from tests.pg import postgres_url

pytestmark = [pytest.mark.integration, pytest.mark.slow]
JOBS = 20
SEEDS = (1, 2)
PAIRS = (
    (SongSpec("cm_a", 122.0, "A", "minor", 20.0, seed=31, style="house"),
     SongSpec("cm_b", 110.0, "C", "major", 20.0, seed=32, style="pop")),
    (SongSpec("cm_c", 126.0, "F", "minor", 20.0, seed=33, style="house"),
     SongSpec("cm_d", 98.0, "G", "major", 20.0, seed=34, style="pop")),
)


def upload_pairs(gateway: Proc) -> list[list[dict[str, str]]]:
    pairs = []
    with httpx.Client(base_url=gateway.url, timeout=60) as client:
        for pair in PAIRS:
            songs = []
            for spec in pair:
                song = synthesize_song(spec)
                data = encode_audio(song.mix, sample_rate_hz=song.sample_rate_hz, fmt="flac")
                response = client.post("/upload", files={"file": (f"{spec.name}.flac", data)})
                assert response.status_code == 200, response.text
                songs.append({"id": spec.name, "storage_path": response.json()["storage_path"]})
            pairs.append(songs)
    return pairs


def test_real_mesh_survives_killed_gateway_and_service(tmp_path: Path, schema: str) -> None:
    rng = random.Random(23)
    storage = tmp_path / "storage"
    base_env = {**os.environ, "STORAGE_ROOT": str(storage), "SIGNING_SECRET": "chaos",
                "LOG_LEVEL": "WARNING", "ANTHROPIC_API_KEY": "",
                "CLIENT_ATTEMPTS": "40", "CLIENT_MAX_RETRY_SEC": "60"}
    services = {name: Proc(f"services.{name}.app:app", base_env, tmp_path / f"{name}.log")
                for name in SERVICES}
    urls = {f"{name.upper()}_URL": proc.url for name, proc in services.items()}
    for proc in services.values():
        proc.env = {**proc.env, **urls}
    gateway_env = {**base_env, **urls, "GATEWAY_DB": postgres_url(),
                   "GATEWAY_DB_SCHEMA": schema, "GATEWAY_LEASE_SEC": "3",
                   "GATEWAY_SCAN_INTERVAL_SEC": "0.5", "GATEWAY_MAX_RUNNING_JOBS": "3",
                   "GATEWAY_RATE_LIMIT_PER_MIN": "0", "JOB_DEADLINE_SEC": "600"}
    gateways = [Proc("gateway.app:app", gateway_env, tmp_path / f"gw{i}.log") for i in (0, 1)]
    procs = [*services.values(), *gateways]
    try:
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.wait_healthy(timeout_sec=180)
        pairs = upload_pairs(gateways[0])
        ids = []
        for i in range(JOBS):
            body = {"songs": pairs[i % len(pairs)],
                    "options": {"duration_sec": 20, "seed": SEEDS[(i // 2) % len(SEEDS)]}}
            response = httpx.post(f"{gateways[i % 2].url}/generate-mashup", json=body,
                                  timeout=30, headers={"Idempotency-Key": f"mesh-chaos-{i}"})
            assert response.status_code == 200, response.text
            ids.append(response.json()["jobId"])
        victims = [gateways[rng.randrange(2)], services[rng.choice(SERVICES)]]
        for victim in victims:
            time.sleep(rng.uniform(2.0, 8.0))
            victim.kill()
            time.sleep(rng.uniform(0.2, 1.0))
            victim.start()
            victim.wait_healthy(timeout_sec=180)
        states = terminal_states(gateways[1].url, ids, timeout_sec=540, poll_sec=1.0)
        failed = {j: s.get("error_message") for j, s in states.items()
                  if s["status"] != "complete"}
        assert not failed, failed
        with httpx.Client(base_url=gateways[1].url, timeout=30) as client:
            # Every result is a real mastered file of the planned length, whole phrases
            # near the 20 s asked for (one check per distinct output).
            outputs = {s["result_url"]: s["result"]["duration_sec"] for s in states.values()}
            for url, planned_sec in outputs.items():
                response = client.get(url)
                assert response.status_code == 200
                audio = decode_audio(response.content)
                assert abs(audio.duration_sec - planned_sec) < 0.1
                assert 10.0 <= audio.duration_sec <= 30.0
                assert true_peak_dbtp(audio.samples, sample_rate_hz=audio.sample_rate_hz) <= -0.9
        events = saved_and_claimed(schema)
    finally:
        for proc in procs:
            proc.stop()
    for job_id in ids:
        assert events[job_id]["plan saved"] == 1
        assert events[job_id]["render saved"] == 1
    # One orchestrator record per job: a plan asked for again (a gateway died mid-call)
    # was answered from the record, never planned a second time.
    records = [json.loads(p.read_bytes()) for p in (storage / "plans").glob("*.json")]
    assert len(records) == JOBS
    planned = Counter(json.dumps(r["response"]["masterplan"], sort_keys=True) for r in records)
    for state in states.values():
        assert json.dumps(state["masterplan"], sort_keys=True) in planned
