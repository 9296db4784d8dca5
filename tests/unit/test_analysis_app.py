"""HTTP layer of the analysis service: results, the cache, and every kind of bad input."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from starlette.testclient import TestClient

from services.analysis import service as service_module
from services.analysis.app import app
from services.analysis.service import AnalysisService
from services.analysis.settings import AnalysisSettings
from shared.contracts.analysis import AnalysisResult
from shared.storage import LocalStorage
from shared.synth import SongSpec, synthesize_song
from tests.conftest import sine_wav_bytes


def _wav(samples: np.ndarray, sample_rate_hz: int = 44100) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples.T, sample_rate_hz, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@cache
def _song_wav() -> bytes:
    synth = synthesize_song(SongSpec("app", 128.0, "G", "minor", 10.0, seed=5, style="house"))
    return _wav(synth.mix)


def _body(song_id: str, data: bytes) -> dict[str, str]:
    return {"songId": song_id, "audioData": base64.b64encode(data).decode()}


@pytest.fixture
def client(storage_root: Path) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def analyses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Song ids that really got analysed (cache misses)."""
    seen: list[str] = []
    real = service_module.analyze_audio

    def counting(samples: np.ndarray, *, sample_rate_hz: int, song_id: str) -> AnalysisResult:
        seen.append(song_id)
        return real(samples, sample_rate_hz=sample_rate_hz, song_id=song_id)

    monkeypatch.setattr(service_module, "analyze_audio", counting)
    return seen


def test_same_bytes_are_analysed_once(client: TestClient, analyses: list[str]) -> None:
    first = client.post("/analyze", json=_body("one", _song_wav()))
    assert first.status_code == 200, first.text
    assert first.json()["cached"] is False and first.json()["songId"] == "one"
    AnalysisResult.model_validate(first.json())
    assert first.json()["bpm"] == pytest.approx(128.0, rel=0.005)
    second = client.post("/analyze", json=_body("two", _song_wav()))
    assert second.status_code == 200 and second.json()["cached"] is True
    assert second.json()["songId"] == "two" and second.json()["bpm"] == first.json()["bpm"]
    assert analyses == ["one"]


def test_twins_in_flight_share_one_analysis(tmp_path: Path, analyses: list[str]) -> None:
    service = AnalysisService(AnalysisSettings(workers=2, queue=4), LocalStorage(tmp_path))
    data = sine_wav_bytes(6.0)

    async def both() -> list[tuple[AnalysisResult, bool]]:
        return await asyncio.gather(service.analyse(data, song_id="a"),
                                    service.analyse(data, song_id="b"))

    (first, first_cached), (second, second_cached) = asyncio.run(both())
    assert len(analyses) == 1 and sorted([first_cached, second_cached]) == [False, True]
    assert (first.songId, second.songId) == ("a", "b")


def _error(client: TestClient, data: bytes, status: int) -> dict[str, str]:
    response = client.post("/analyze", json=_body("bad", data))
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"].endswith(".") and len(error["message"]) > 20
    return error


def test_non_audio_is_unsupported(client: TestClient) -> None:
    _error(client, b"%PDF-1.7 this is a document, not a song" * 10, 415)


def test_truncated_wav_is_unprocessable(client: TestClient) -> None:
    data = sine_wav_bytes(8.0)
    assert _error(client, data[: len(data) // 2], 422)["code"] == "truncated_audio"


def test_corrupt_flac_is_unprocessable(client: TestClient) -> None:
    _error(client, b"fLaC" + bytes(range(256)) * 8, 422)


def test_silence_is_unprocessable(client: TestClient) -> None:
    silent = _wav(np.zeros((2, 6 * 44100), dtype=np.float32))
    assert _error(client, silent, 422)["code"] == "silent_audio"


def test_too_short_is_unprocessable(client: TestClient) -> None:
    assert _error(client, sine_wav_bytes(3.0), 422)["code"] == "too_short"


def test_too_long_is_too_large(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_DURATION_SEC", "7")
    assert _error(client, sine_wav_bytes(8.0), 413)["code"] == "too_long"


def test_bad_base64_and_missing_audio_are_bad_requests(client: TestClient) -> None:
    response = client.post("/analyze", json={"songId": "x", "audioData": "not base64!"})
    assert response.status_code == 400
    response = client.post("/analyze", json={"songId": "x"})
    assert 400 <= response.status_code < 500
    response = client.post("/analyze", json={"songId": "x", "storage_path": "uploads/none.wav"})
    assert response.status_code == 404
