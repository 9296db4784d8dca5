"""Upload → generate → poll → download through six real uvicorn processes."""

from __future__ import annotations

import io
import signal
import time
from pathlib import Path
from typing import Any

import essentia.standard as es
import httpx
import numpy as np
import pytest
import soundfile as sf

from shared.audio_io import resample, to_mono
from shared.mesh import Mesh
from shared.synth import SynthSong
from shared.true_peak import true_peak_dbtp
from tests.integration.conftest import log_tails, poll_until_terminal

pytestmark = pytest.mark.integration
PLAN_SEC = 32.0


def test_every_service_is_healthy_and_exposes_metrics(mesh: Mesh) -> None:
    with httpx.Client(timeout=10) as client:
        for name in mesh.ports:
            health = client.get(mesh.url(name) + "/health").json()
            assert health["status"] == "ok" and health["service"] == name
            assert "mesh_http_requests_total" in client.get(mesh.url(name) + "/metrics").text


def test_job_from_upload_to_download(mesh: Mesh, uploaded: list[dict[str, Any]]) -> None:
    with httpx.Client(base_url=mesh.url("gateway"), timeout=60) as client:
        response = client.post("/generate-mashup", json={
            "songs": uploaded, "options": {"duration_sec": PLAN_SEC, "seed": 1}})
        assert response.status_code == 200, response.text
        job_id = response.json()["jobId"]
        state, seen = poll_until_terminal(client, job_id, timeout_sec=420)
        assert state["status"] == "complete", f"{state.get('error_message')}\n{log_tails(mesh)}"
        assert seen == sorted(seen), "progress went backwards"
        assert state["progress"] == 100
        assert len(state["analyses"]) == 2 and state["mashabilityScore"]["pairs"]
        plan = state["masterplan"]
        planned_sec = sum(section["duration_sec"] for section in plan["timeline"])
        target_bpm = plan["global"]["targetBPM"]

        download = client.get(state["result_url"])
        assert download.status_code == 200
        # The URL is signed: tampering with it is refused.
        assert client.get(state["result_url"].replace("sig=", "sig=0")).status_code == 403

    audio, sample_rate_hz = sf.read(io.BytesIO(download.content), dtype="float32",
                                    always_2d=True)
    samples = audio.T
    assert samples.shape[1] / sample_rate_hz == pytest.approx(planned_sec, abs=0.05)
    assert np.count_nonzero(np.abs(samples) >= 0.999) == 0, "clipped samples"
    assert true_peak_dbtp(samples, sample_rate_hz=sample_rate_hz) <= -1.0 + 0.05
    mono = resample(to_mono(samples), from_rate_hz=sample_rate_hz, to_rate_hz=44100)
    bpm = es.RhythmExtractor2013(method="multifeature")(mono)[0]
    # Judge the tempo at the plan's metrical level (a tracker may report half or double).
    ratios = [bpm / target_bpm * m for m in (0.5, 1.0, 2.0)]
    assert min(abs(r - 1) for r in ratios) <= 0.02, f"tempo {bpm:.2f} vs {target_bpm:.2f}"


def test_the_cli_makes_a_mashup(mesh: Mesh, songs: tuple[SynthSong, ...], tmp_path: Path) -> None:
    from gateway.cli import create_mashup
    from shared.audio_io import encode_audio

    files = []
    for song in songs:
        path = tmp_path / f"{song.spec.name}.wav"
        path.write_bytes(encode_audio(song.mix, sample_rate_hz=song.sample_rate_hz))
        files.append(path)
    out = tmp_path / "cli.mp3"
    state = create_mashup(mesh.url("gateway"), files, out,
                          options={"format": "mp3", "duration_sec": 24, "seed": 2}, quiet=True)
    assert state["status"] == "complete"
    decoded, _ = sf.read(out)
    assert decoded.shape[0] > 20 * 44100


def test_a_service_stopped_mid_job_fails_the_job(mesh: Mesh,
                                                 uploaded: list[dict[str, Any]]) -> None:
    with httpx.Client(base_url=mesh.url("gateway"), timeout=60) as client:
        job_id = client.post("/generate-mashup", json={
            "songs": uploaded, "options": {"duration_sec": PLAN_SEC, "seed": 7}}).json()["jobId"]
        # Kill processing as soon as the job is under way: the render step cannot succeed.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = client.get("/get-mashup-status", params={"jobId": job_id}).json()
            if state["progress"] > 0 or state["status"] != "processing":
                break
            time.sleep(0.05)
        mesh.stop_one("processing", sig=signal.SIGKILL)
        try:
            started = time.monotonic()
            state, _ = poll_until_terminal(client, job_id, timeout_sec=240)
            assert state["status"] == "failed"
            assert state["error_message"].startswith("Rendering and mastering failed"), \
                state["error_message"]
            assert "processing" in state["error_message"]
            assert time.monotonic() - started < 240
        finally:
            mesh.start_one("processing")
            mesh.wait_healthy(services=("processing",))
