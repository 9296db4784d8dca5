"""The decode cache: one decode per file content, within its byte budget, read-only."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from services.processing import stems as stems_module
from services.processing.decoded import DecodedCache
from shared.audio_io import DecodedAudio, decode_audio, encode_audio
from shared.errors import Unprocessable

SR = 22050


def _file(seed: int, seconds: float = 6.0, *, silent: bool = False) -> bytes:
    rng = np.random.default_rng(seed)
    audio = np.zeros((2, int(seconds * SR)), dtype=np.float32)
    if not silent:
        audio += (0.1 * rng.standard_normal(audio.shape)).astype(np.float32)
    return encode_audio(audio, sample_rate_hz=SR, fmt="flac")


class _Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, data: bytes, **kwargs: Any) -> DecodedAudio:
        self.calls += 1
        return decode_audio(data, **kwargs)


def test_the_same_bytes_are_decoded_once_and_shared_read_only() -> None:
    cache, decoder = DecodedCache(2**30), _Counting()
    data = _file(1)
    first = cache.decode(data, reject_silent=False, decoder=decoder)
    second = cache.decode(bytes(data), reject_silent=False, decoder=decoder)  # equal bytes
    assert decoder.calls == 1 and (cache.hits, cache.misses) == (1, 1)
    assert second is first
    with pytest.raises(ValueError):
        second.samples[0, 0] = 1.0  # no job can change another's audio
    cache.decode(_file(2), reject_silent=False, decoder=decoder)  # other bytes: decoded
    assert decoder.calls == 2


def test_least_recently_used_files_leave_first_within_the_budget() -> None:
    one = decode_audio(_file(1)).samples.nbytes
    cache, decoder = DecodedCache(int(2.5 * one)), _Counting()
    a, b, c = _file(1), _file(2), _file(3)
    for data in (a, b, a, c):  # a is used again before c comes, so b leaves
        cache.decode(data, reject_silent=False, decoder=decoder)
    assert cache.size_bytes == 2 * one <= cache.max_bytes
    calls = decoder.calls
    cache.decode(a, reject_silent=False, decoder=decoder)
    cache.decode(c, reject_silent=False, decoder=decoder)
    assert decoder.calls == calls
    cache.decode(b, reject_silent=False, decoder=decoder)
    assert decoder.calls == calls + 1


def test_errors_are_not_cached_and_the_silence_check_still_applies() -> None:
    cache, decoder = DecodedCache(2**30), _Counting()
    silent = _file(1, silent=True)
    as_stem = cache.decode(silent, reject_silent=False, decoder=decoder)
    assert not np.any(as_stem.samples)
    for _ in range(2):  # as a song it is refused, every time
        with pytest.raises(Unprocessable):
            cache.decode(silent, reject_silent=True, decoder=decoder)
    assert decoder.calls == 3


def test_a_zero_budget_or_an_oversized_file_is_decoded_every_time() -> None:
    data = _file(1)
    for cache in (DecodedCache(0), DecodedCache(1000)):
        decoder = _Counting()
        cache.decode(data, reject_silent=False, decoder=decoder)
        cache.decode(data, reject_silent=False, decoder=decoder)
        assert decoder.calls == 2 and cache.size_bytes == 0


def test_a_second_job_on_the_same_songs_decodes_nothing(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Any) -> None:
    from shared.contracts.processing import SongRef
    from shared.storage import LocalStorage
    from shared.synth import SongSpec, synthesize_song

    song = synthesize_song(SongSpec(name="s", tempo_bpm=120, key_tonic="A", key_mode="minor",
                                    duration_sec=12, seed=3, sample_rate_hz=SR))
    storage = LocalStorage(tmp_path)
    storage.put_bytes("songs/s.flac", encode_audio(song.mix, sample_rate_hz=SR, fmt="flac"))
    keys = {}
    for stem, audio in song.stems.items():
        keys[stem] = f"stems/s/{stem}.flac"
        storage.put_bytes(keys[stem], encode_audio(audio, sample_rate_hz=SR, fmt="flac"))
    monkeypatch.setattr(stems_module, "decode_cache", DecodedCache(2**30))
    decoder = _Counting()
    monkeypatch.setattr(stems_module, "decode_audio", decoder)
    analysis = {"bpm": 120.0, "beats": [i * 0.5 for i in range(16)], "key": "A minor"}
    ref = SongRef(id="s", storage_path="songs/s.flac")
    materials = [stems_module.load_material(ref, analysis=analysis, stem_keys=keys,
                                            stems={"vocals", "full"}, storage=storage,
                                            render_rate_hz=SR) for _ in range(2)]
    assert decoder.calls == 2  # the mix and the vocals, once
    assert np.array_equal(materials[0].stem_audio("vocals"), materials[1].stem_audio("vocals"))
