"""The processing service over HTTP, with the analysis and separation services faked.

Songs and their stems (synthetic, with known truth) are put in a temporary storage; the
fake separation answers with their keys, the fake analysis with the synth's truth.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from starlette.testclient import TestClient

from services.processing import stems as stems_module
from shared.audio_io import encode_audio
from shared.client import ServiceCallError
from shared.contracts.processing import RenderResponse
from shared.loudness import integrated_lufs
from shared.storage import LocalStorage
from shared.true_peak import true_peak_dbtp
from tests.unit.test_processing_support import SR, analysis_dict, house_124, plan, pop_118

TARGET_BPM = 121.0
SONGS = {"pop": pop_118, "house": house_124}


@pytest.fixture(scope="module")
def storage_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A storage holding both songs and their four stems each (24-bit WAV)."""
    root = tmp_path_factory.mktemp("processing-storage")
    storage = LocalStorage(root)
    for song_id, make in SONGS.items():
        song = make()
        storage.put_bytes(f"uploads/{song_id}.wav",
                          encode_audio(song.mix, sample_rate_hz=song.sample_rate_hz))
        for stem, samples in song.stems.items():
            storage.put_bytes(f"stems/{song_id}/{stem}.wav",
                              encode_audio(samples, sample_rate_hz=song.sample_rate_hz))
    return root


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, storage_dir: Path) -> dict[str, list[str]]:
    """Fake analysis and separation services; records which songs each was asked for."""
    seen: dict[str, list[str]] = {"analysis": [], "separation": []}

    async def fake_separate(song_id: str, storage_path: str) -> dict[str, str]:
        seen["separation"].append(song_id)
        return {stem: f"stems/{song_id}/{stem}.wav" for stem in ("vocals", "drums", "bass",
                                                                   "other")}

    async def fake_analyze(song_id: str, storage_path: str) -> dict[str, Any]:
        seen["analysis"].append(song_id)
        return analysis_dict(SONGS[song_id](), song_id)

    monkeypatch.setattr(stems_module, "separate_song", fake_separate)
    monkeypatch.setattr(stems_module, "analyze_song", fake_analyze)
    monkeypatch.setenv("STORAGE_ROOT", str(storage_dir))
    monkeypatch.setenv("PROCESSING_STRETCH_QUALITY", "fast")
    monkeypatch.setenv("PROCESSING_CACHE", "0")
    return seen


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    from services.processing.app import app

    with TestClient(app) as test_client:
        yield test_client


def _body(*, fmt: str = "wav", with_analysis: bool = True, effects: list[str] | None = None,
          bars: int = 2) -> dict[str, Any]:
    masterplan = plan(TARGET_BPM, "A minor", [
        [{"songId": "house", "stem": "drums"}, {"songId": "pop", "stem": "vocals",
                                                "effects": effects or []}],
        [{"songId": "pop", "stem": "instrumental"}, {"songId": "house", "stem": "vocals"}],
    ], bars=bars, energies=[0.6, 0.8])
    songs = [{"id": "pop", "storage_path": "uploads/pop.wav"},
             {"id": "house", "storage_path": "uploads/house.wav"}]
    if with_analysis:
        songs[0]["analysis"] = analysis_dict(pop_118(), "pop")
    return {"masterplan": masterplan.wire(), "songs": songs, "output": {"format": fmt}}


def _decode(storage_dir: Path, key: str) -> np.ndarray:
    samples, rate = sf.read(io.BytesIO((storage_dir / key).read_bytes()), dtype="float64",
                            always_2d=True)
    assert rate == SR
    return samples.T


def test_execute_masterplan_renders_stores_and_reports(
        client: TestClient, calls: dict[str, list[str]], storage_dir: Path) -> None:
    body = _body(effects=["reverb", "wobble"])
    response = client.post("/execute-masterplan", json=body)
    assert response.status_code == 200, response.text
    result = RenderResponse.model_validate(response.json())
    assert result.success
    assert result.storage_path.startswith("mashups/") and result.storage_path.endswith(".wav")
    duration = sum(s["duration_sec"] for s in body["masterplan"]["timeline"])
    assert result.duration_sec == pytest.approx(duration, abs=1 / SR)
    audio = _decode(storage_dir, result.storage_path)
    assert abs(audio.shape[1] - duration * SR) <= 1
    assert true_peak_dbtp(audio, sample_rate_hz=SR) <= -1.0 + 1e-3
    assert result.true_peak_dbtp <= -1.0
    # The figures reported are those of the file's samples (the master's own, reused).
    assert result.true_peak_dbtp == pytest.approx(true_peak_dbtp(audio, sample_rate_hz=SR),
                                                  abs=0.006)
    assert abs(integrated_lufs(audio, sample_rate_hz=SR) - -14.0) <= 1.0
    assert result.lufs == pytest.approx(integrated_lufs(audio, sample_rate_hz=SR), abs=0.01)
    assert any("unknown effect 'wobble'" in w for w in result.warnings)
    # Stems for both songs (at once); analysis only for the song that came without one.
    assert sorted(calls["separation"]) == ["house", "pop"]
    assert calls["analysis"] == ["house"]
    base = result.storage_path.rsplit(".", 1)[0]
    assert (storage_dir / f"{base}.json").is_file() and (storage_dir / f"{base}.cue").is_file()
    assert "INDEX 01 00:00:00" in (storage_dir / f"{base}.cue").read_text()


def test_same_request_gives_the_same_key_and_bytes(
        client: TestClient, calls: dict[str, list[str]], storage_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    body = _body(fmt="flac")
    first = client.post("/execute-masterplan", json=body).json()
    bytes_first = (storage_dir / first["storage_path"]).read_bytes()
    second = client.post("/execute-masterplan", json=body).json()  # cache off: renders again
    assert second == first
    assert (storage_dir / second["storage_path"]).read_bytes() == bytes_first
    monkeypatch.setenv("PROCESSING_CACHE", "1")
    calls["separation"].clear()
    third = client.post("/execute-masterplan", json=body).json()
    assert third == first and calls["separation"] == []  # answered from storage
    other = client.post("/execute-masterplan", json=_body(fmt="wav")).json()
    assert other["storage_path"] != first["storage_path"]


def test_render_preview_is_short_and_stored_apart(
        client: TestClient, calls: dict[str, list[str]], storage_dir: Path) -> None:
    response = client.post("/render-preview", json=_body(fmt="mp3", bars=4))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["storage_path"].startswith("previews/") and result["storage_path"].endswith(
        ".mp3")
    assert 0 < result["duration_sec"] <= 30.0
    assert result["true_peak_dbtp"] <= -1.0  # measured on the decoded MP3


def test_separation_failure_is_an_upstream_error_naming_it(
        client: TestClient, calls: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(song_id: str, storage_path: str) -> dict[str, str]:
        raise ServiceCallError("separation", "separation is unreachable", status=None)

    monkeypatch.setattr(stems_module, "separate_song", broken)
    response = client.post("/execute-masterplan", json=_body())
    assert response.status_code == 502
    assert "separation" in response.json()["error"]["message"]

    async def refusing(song_id: str, storage_path: str) -> dict[str, str]:
        raise ServiceCallError("separation", "separation /separate answered 422: silent",
                               status=422)

    monkeypatch.setattr(stems_module, "separate_song", refusing)
    response = client.post("/execute-masterplan", json=_body())
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "separation_refused"


@pytest.mark.parametrize(("mutate", "status", "code"), [
    (lambda b: b["masterplan"].pop("timeline"), 422, "invalid_masterplan"),
    (lambda b: b["masterplan"]["global"].update(targetBPM=-5), 422, "invalid_masterplan"),
    (lambda b: b["masterplan"]["timeline"][0]["layers"][0].update(stem="kazoo"), 422,
     "invalid_masterplan"),
    (lambda b: b["masterplan"]["timeline"][0]["layers"][0].update(songId="ghost"), 422,
     "unknown_song"),
    (lambda b: b["songs"][1].update(storage_path="uploads/missing.wav"), 404, "object_not_found"),
    (lambda b: b["songs"][1].update(storage_path="../etc/passwd"), 422, "invalid_request"),
    (lambda b: b["songs"][1].update(id="pop"), 422, "duplicate_song"),
    (lambda b: b.update(songs=[]), 422, "invalid_request"),
    (lambda b: b.update(output={"format": "ogg"}), 422, "invalid_request"),
    (lambda b: b["songs"][0].update(analysis={"bpm": "fast"}), 422, "invalid_analysis"),
])
def test_bad_requests_are_4xx_with_a_reason(client: TestClient, calls: dict[str, list[str]],
                                            mutate: Any, status: int, code: str) -> None:
    body = _body()
    mutate(body)
    response = client.post("/execute-masterplan", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_malformed_json_is_400(client: TestClient, calls: dict[str, list[str]]) -> None:
    response = client.post("/execute-masterplan", content=b"{not json",
                           headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert client.post("/render-preview", content=b"").status_code == 400
    assert client.get("/execute-masterplan").status_code == 405


def test_health(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["service"] == "processing" and body["status"] == "ok"
    assert body["workers"] == {"running": 0, "waiting": 0}
