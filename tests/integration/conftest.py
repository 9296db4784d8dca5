"""The whole mesh as real uvicorn processes on free loopback ports."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.audio_io import encode_audio
from shared.mesh import APPS, Mesh, free_port
from shared.synth import SongSpec, SynthSong, synthesize_song
from tests.pg import postgres_url

SONG_SPECS = (
    SongSpec("int_a", tempo_bpm=124.0, key_tonic="A", key_mode="minor", duration_sec=36.0,
             seed=11, style="house"),
    SongSpec("int_b", tempo_bpm=112.0, key_tonic="C", key_mode="major", duration_sec=36.0,
             seed=12, style="pop"),
)


@pytest.fixture(scope="session")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    data_dir = tmp_path_factory.mktemp("mesh")
    instance = Mesh(
        data_dir=data_dir,
        ports={name: free_port() for name in APPS},
        env={
            "SIGNING_SECRET": "integration-secret",
            "CLIENT_MAX_RETRY_SEC": "3",
            "CLIENT_ATTEMPTS": "3",
            "JOB_DEADLINE_SEC": "600",
            # A stopped service fails its job after 10 s of step retries, not the 120 s
            # a production gateway waits for a restart (test_a_service_stopped_mid_job...).
            "GATEWAY_STEP_RETRY_SEC": "10",
            "ANTHROPIC_API_KEY": "",
        },
    )
    instance.start()
    try:
        instance.wait_healthy(timeout_sec=180)
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="session")
def songs() -> tuple[SynthSong, ...]:
    return tuple(synthesize_song(spec) for spec in SONG_SPECS)


@pytest.fixture(scope="session")
def uploaded(mesh: Mesh, songs: tuple[SynthSong, ...]) -> list[dict[str, Any]]:
    result = []
    with httpx.Client(base_url=mesh.url("gateway"), timeout=60) as client:
        for song in songs:
            data = encode_audio(song.mix, sample_rate_hz=song.sample_rate_hz, fmt="flac")
            response = client.post("/upload", files={"file": (f"{song.spec.name}.flac", data)})
            assert response.status_code == 200, response.text
            result.append({"id": song.spec.name, "storage_path": response.json()["storage_path"]})
    return result


def poll_until_terminal(client: httpx.Client, job_id: str, timeout_sec: float
                        ) -> tuple[dict[str, Any], list[float]]:
    """Poll get-mashup-status; returns the final state and every progress value seen."""
    deadline = time.monotonic() + timeout_sec
    seen: list[float] = []
    while time.monotonic() < deadline:
        state = client.get("/get-mashup-status", params={"jobId": job_id}).json()
        seen.append(state["progress"])
        if state["status"] != "processing":
            return state, seen
        time.sleep(0.25)
    raise AssertionError(f"job {job_id} still processing after {timeout_sec} s")


def log_tails(mesh: Mesh) -> str:
    return "\n".join(f"--- {name}\n{mesh.log_tail(name, 15)}" for name in mesh.processes)


@pytest.fixture
def schema() -> Iterator[str]:
    """A fresh PostgreSQL schema for a chaos test's job store (skips without a server)."""
    asyncpg = pytest.importorskip("asyncpg")
    import asyncio
    import uuid

    name = f"chaos_{uuid.uuid4().hex[:8]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(postgres_url(), timeout=3)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(run("SELECT 1"))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no PostgreSQL at {postgres_url()}: {exc}")
    yield name
    asyncio.run(run(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
