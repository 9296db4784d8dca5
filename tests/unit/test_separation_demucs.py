"""Demucs through the real loading and inference path, with a tiny stand-in model.

A small HTDemucs with random weights is saved the way demucs saves its own models (a
`<sig>-<checksum>.th` package and a `<name>.yaml` bag) into a folder that
DEMUCS_WEIGHTS_DIR names. Its stems are noise, but everything around them is real:
repo scanning, checksum, `load_model`, `apply_model`, resampling, chunking and storage.
Nothing may touch the network, and missing or broken weights fall back to DSP at once.
"""

from __future__ import annotations

import base64
import functools
import io
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from starlette.testclient import TestClient

from services.separation import app as app_module
from services.separation.backends import DSP_BACKEND, DemucsSeparator, get_separator
from services.separation.settings import SeparationSettings
from services.separation.spill import SpilledAudio
from shared.audio_io import encode_audio
from shared.storage import LocalStorage
from shared.synth import SongSpec, SynthSong, synthesize_song

STEMS = ("vocals", "drums", "bass", "other")
MODEL_NAME = "tiny_htdemucs"


@functools.cache
def short_song() -> SynthSong:
    return synthesize_song(SongSpec("sep_demucs", 174.0, "E", "minor", 6.0, seed=5,
                                    style="dnb"))


def song_b64() -> str:
    song = short_song()
    return base64.b64encode(encode_audio(song.mix, sample_rate_hz=song.sample_rate_hz)).decode()


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demucs --repo folder holding MODEL_NAME: one tiny HTDemucs in a bag."""
    import torch
    from demucs.htdemucs import HTDemucs
    from demucs.states import get_state, save_with_checksum

    torch.manual_seed(0)
    # depth 4 keeps the transformer's sequences short; 4 channels keep it tiny (~10k
    # parameters); a 2 s segment keeps each apply_model step cheap.
    model = HTDemucs(sources=["drums", "bass", "other", "vocals"], channels=4, depth=4,
                     t_layers=1, t_heads=2, t_hidden_scale=1.0, dconv_comp=2, segment=2)
    args, kwargs = model._init_args_kwargs
    # What demucs.states.serialize_model writes, less the training arguments.
    package = {"klass": type(model), "args": args, "kwargs": kwargs,
               "state": get_state(model, None, half=True)}
    folder = tmp_path_factory.mktemp("demucs-repo")
    save_with_checksum(package, folder / "0tiny0sig.th")
    (folder / f"{MODEL_NAME}.yaml").write_text("models: ['0tiny0sig']\n")
    return folder


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every attempt to open a connection or download is recorded and refused."""
    attempts: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(repr(args[:2]))
        raise OSError("network access is not allowed in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    import torch.hub

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    return attempts


@pytest.fixture
def client(storage_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("SEPARATION_DEVICE", "cpu")
    monkeypatch.setenv("DEMUCS_MODEL", MODEL_NAME)
    monkeypatch.setattr(app_module, "_WORKERS", {})
    with TestClient(app_module.app) as test_client:
        yield test_client


def test_tiny_htdemucs_runs_through_the_service(
    client: TestClient, weights_dir: Path, storage_root: Path, no_network: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEMUCS_WEIGHTS_DIR", str(weights_dir))
    response = client.post("/separate", json={"songId": "d", "audioData": song_b64()})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["backend"] == "demucs" and body["model"] == MODEL_NAME
    assert body["cached"] is False and list(body["stems"]) == list(STEMS)
    mix = short_song().mix
    for key in body["stems"].values():
        assert f"/demucs-{MODEL_NAME}-" in key
        samples, rate = sf.read(io.BytesIO(LocalStorage(storage_root).get_bytes(key)),
                                dtype="float32", always_2d=True)
        assert rate == short_song().sample_rate_hz and samples.T.shape == mix.shape
        assert np.all(np.isfinite(samples))
    health = client.get("/health").json()
    assert health["backend"] == "demucs" and health["model_loaded"] is True
    again = client.post("/separate", json={"songId": "d", "audioData": song_b64()})
    assert again.json()["cached"] is True and again.json()["backend"] == "demucs"
    assert no_network == []


def test_pieces_tile_a_mono_song_at_another_rate(weights_dir: Path, no_network: list[str]) -> None:
    """Chunked (3 pieces) mono 22.05 kHz input: demucs runs at 44.1 kHz in stereo, the
    stems come back mono at the input's rate and length, block after block."""
    separator = DemucsSeparator(weights_dir=weights_dir, model_name=MODEL_NAME, threads=1,
                                device="cpu", chunk_sec=2.5, overlap_sec=0.5)
    mono = short_song().mix.mean(axis=0)[::2][: 5 * 22050]
    blocks = list(separator.stream(mono, 22050))
    assert len(blocks) == 3
    assert [start for start, _ in blocks] == sorted(start for start, _ in blocks)
    stems = separator.separate(mono, 22050)
    assert set(stems) == set(STEMS)
    assert all(stem.shape == mono.shape and np.all(np.isfinite(stem))
               for stem in stems.values())
    assert no_network == []


def test_a_spilled_song_gives_the_same_stems_as_one_in_memory(weights_dir: Path) -> None:
    """The service hands Demucs the song parked in a file (bounded memory on long songs):
    piece reads must give exactly the stems the in-memory array gives."""
    separator = DemucsSeparator(weights_dir=weights_dir, model_name=MODEL_NAME, threads=1,
                                device="cpu", chunk_sec=2.5, overlap_sec=0.5)
    mix = short_song().mix[:, : 5 * short_song().sample_rate_hz]
    rate = short_song().sample_rate_hz
    in_memory = separator.separate(mix, rate)
    with SpilledAudio(mix) as spilled:
        blocks = list(separator.stream(spilled, rate))
    assert len(blocks) == 3
    for name in STEMS:
        joined = np.concatenate([block[name] for _, block in blocks], axis=1)
        np.testing.assert_array_equal(joined, in_memory[name])


def test_missing_weights_fall_back_to_dsp_at_once(
    client: TestClient, tmp_path: Path, no_network: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder in (tmp_path / "empty", tmp_path / "does-not-exist", None):
        if folder is None:
            monkeypatch.delenv("DEMUCS_WEIGHTS_DIR", raising=False)
        else:
            if folder.name == "empty":
                folder.mkdir()
            monkeypatch.setenv("DEMUCS_WEIGHTS_DIR", str(folder))
        assert get_separator(SeparationSettings.from_env()).name == DSP_BACKEND
    response = client.post("/separate", json={"songId": "n", "audioData": song_b64()})
    assert response.status_code == 200, response.text
    assert response.json()["backend"] == DSP_BACKEND and "model" not in response.json()
    assert no_network == []


def test_broken_weights_fall_back_to_dsp_and_stay_there(
    client: TestClient, tmp_path: Path, no_network: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "badsig.th").write_bytes(b"this is not a torch package")
    (folder / f"{MODEL_NAME}.yaml").write_text("models: ['badsig']\n")
    monkeypatch.setenv("DEMUCS_WEIGHTS_DIR", str(folder))
    assert get_separator(SeparationSettings.from_env()).name == "demucs"  # it looks usable
    response = client.post("/separate", json={"songId": "b", "audioData": song_b64()})
    assert response.status_code == 200, response.text
    assert response.json()["backend"] == DSP_BACKEND
    # Marked unavailable: later requests and health go straight to DSP.
    assert client.get("/health").json()["backend"] == DSP_BACKEND
    assert no_network == []
