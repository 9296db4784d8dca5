"""The separation service over HTTP with the embedded DSP separator (no Demucs weights).

Songs are short synthetic mixes; stems are read back from the temporary storage.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf
from starlette.testclient import TestClient

from services.separation import app as app_module
from services.separation.backends import DSP_BACKEND
from shared.audio_io import encode_audio
from shared.storage import LocalStorage
from shared.synth import SongSpec, SynthSong, synthesize_song

STEMS = ("vocals", "drums", "bass", "other")


@functools.cache
def short_song() -> SynthSong:
    return synthesize_song(SongSpec("sep_app", 174.0, "G", "major", 6.0, seed=21, style="dnb"))


@functools.cache
def song_wav() -> bytes:
    song = short_song()
    return encode_audio(song.mix, sample_rate_hz=song.sample_rate_hz, fmt="wav", bit_depth=24)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def client(storage_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.delenv("DEMUCS_WEIGHTS_DIR", raising=False)
    monkeypatch.setattr(app_module, "_WORKERS", {})  # fresh pools for this test's loop
    with TestClient(app_module.app) as test_client:
        yield test_client


def read_stem(root: Path, key: str) -> tuple[np.ndarray, int]:
    data = LocalStorage(root).get_bytes(key)
    samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return samples.T, rate


def test_stems_are_stored_and_sum_to_the_mix(client: TestClient, storage_root: Path) -> None:
    response = client.post("/separate", json={"songId": "s1", "audioData": b64(song_wav())})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["songId"] == "s1" and body["backend"] == DSP_BACKEND
    assert body["cached"] is False and body["elapsed_sec"] >= 0
    assert list(body["stems"]) == list(STEMS)
    mix = short_song().mix
    total = np.zeros_like(mix)
    for key in body["stems"].values():
        assert key.startswith("stems/") and key.endswith(".flac")
        stem, rate = read_stem(storage_root, key)
        assert rate == short_song().sample_rate_hz and stem.shape == mix.shape
        total += stem
    # 24-bit input and stems: the sum matches to quantisation (4 × 2^-23 ≈ 5e-7) and rounding.
    assert np.max(np.abs(total - mix)) < 1e-4


def test_second_request_is_cached(client: TestClient, storage_root: Path) -> None:
    first = client.post("/separate", json={"songId": "a", "audioData": b64(song_wav())})
    # Put the same bytes in storage: the cache key is the content, not the route in.
    LocalStorage(storage_root).put_bytes("uploads/same.wav", song_wav())
    second = client.post("/separate", json={"songId": "b", "storage_path": "uploads/same.wav"})
    assert first.status_code == second.status_code == 200
    assert first.json()["cached"] is False and second.json()["cached"] is True
    assert second.json()["stems"] == first.json()["stems"]
    assert second.json()["songId"] == "b"


def test_stem_subset_in_contract_order(client: TestClient) -> None:
    response = client.post("/separate", json={"songId": "s", "audioData": b64(song_wav()),
                                              "stems": ["other", "vocals", "vocals"]})
    assert response.status_code == 200, response.text
    assert list(response.json()["stems"]) == ["vocals", "other"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"songId": "x"}, 422),  # neither audioData nor storage_path
        ({"songId": "x", "audioData": "not base64!"}, 400),
        ({"songId": "x", "audioData": b64(b"RIFF" + b"\0" * 400)}, None),  # not audio
        ({"songId": "x", "storage_path": "../etc/passwd"}, 422),
        ({"songId": "x", "storage_path": "uploads/missing.wav"}, 404),
        ({"songId": "x", "audioData": "", "stems": ["guitar"]}, 422),
    ],
)
def test_bad_input_is_4xx(client: TestClient, body: dict[str, Any], status: int | None) -> None:
    response = client.post("/separate", json=body)
    assert 400 <= response.status_code < 500, response.text
    if status is not None:
        assert response.status_code == status, response.text
    assert response.json()["error"]["message"]


def test_silent_and_too_short_audio_are_422(client: TestClient) -> None:
    silent = encode_audio(np.zeros((2, 44100 * 6), dtype=np.float32), sample_rate_hz=44100)
    short = encode_audio(short_song().mix[:, :44100], sample_rate_hz=44100)
    for data in (silent, short):
        response = client.post("/separate", json={"songId": "x", "audioData": b64(data)})
        assert response.status_code == 422, response.text


def test_full_queue_answers_429_with_retry_after(
    storage_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One worker, no queue: while a separation runs, the next song gets 429."""
    monkeypatch.delenv("DEMUCS_WEIGHTS_DIR", raising=False)
    monkeypatch.setenv("SEPARATION_WORKERS", "1")
    monkeypatch.setenv("SEPARATION_QUEUE", "0")
    monkeypatch.setenv("SEPARATION_PROCESSES", "0")  # the stand-in runs in this process
    monkeypatch.setattr(app_module, "_WORKERS", {})
    started, release = threading.Event(), threading.Event()

    def blocked_separation(data: bytes, **kwargs: Any) -> dict[str, str]:
        started.set()
        release.wait(timeout=30)  # a bound, so a broken test fails instead of hanging
        return {name: f"stems/fake/{name}.flac" for name in STEMS}

    monkeypatch.setattr(app_module, "separate_and_store", blocked_separation)
    other_wav = encode_audio(short_song().mix * 0.5, sample_rate_hz=44100)

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app_module.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sep") as http:
            first = asyncio.create_task(
                http.post("/separate", json={"songId": "a", "audioData": b64(song_wav())}))
            while not started.is_set():
                await asyncio.sleep(0.01)
            second = await http.post("/separate",
                                     json={"songId": "b", "audioData": b64(other_wav)})
            release.set()
            return await first, second

    first, second = asyncio.run(scenario())
    assert first.status_code == 200, first.text
    assert second.status_code == 429, second.text
    assert int(second.headers["Retry-After"]) > 0
    assert second.json()["error"]["retry_after_sec"] == int(second.headers["Retry-After"])


def test_health_names_the_backend(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["backend"] == DSP_BACKEND


class ShortSeparator:
    """Returns stems one second too short: a broken backend."""

    name = "broken"
    reads_pieces = False
    model = None

    def stream(self, samples: np.ndarray, sample_rate_hz: int) -> Iterator[Any]:
        short = samples[:, : samples.shape[1] - sample_rate_hz]
        yield 0, {name: short / 4 for name in STEMS}


def test_malformed_stems_are_refused_before_storing(tmp_path: Path) -> None:
    from services.separation.pipeline import separate_and_store
    from shared.errors import MeshError

    storage = LocalStorage(tmp_path)
    with pytest.raises(MeshError, match="wrong length"):
        separate_and_store(song_wav(), separator=ShortSeparator(),  # type: ignore[arg-type]
                           storage=storage, prefix="stems/x/broken")
    assert not any(tmp_path.rglob("*.flac"))
