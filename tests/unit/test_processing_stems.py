"""Loading a song's material from storage: which files are decoded, and bad audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.processing.material import SongMaterial
from services.processing.stems import load_material
from shared.audio_io import encode_audio
from shared.contracts.processing import SongRef
from shared.errors import MeshError
from shared.storage import LocalStorage
from tests.unit.test_processing_support import SR, analysis_dict, pop_118

STEMS = ("vocals", "drums", "bass", "other")


def _stored(tmp_path: Path, *, silent: bool = False) -> tuple[LocalStorage, dict[str, str]]:
    song = pop_118()
    storage = LocalStorage(tmp_path)
    scale = 0.0 if silent else 1.0
    storage.put_bytes("songs/a.flac", encode_audio(song.mix * scale, sample_rate_hz=SR,
                                                   fmt="flac"))
    keys = {}
    for stem in STEMS:
        keys[stem] = f"stems/a/{stem}.flac"
        storage.put_bytes(keys[stem], encode_audio(song.stems[stem] * scale, sample_rate_hz=SR,
                                                   fmt="flac"))
    return storage, keys


def _load(storage: LocalStorage, keys: dict[str, str], stems: set[str]) -> SongMaterial:
    return load_material(SongRef(id="a", storage_path="songs/a.flac"),
                         analysis=analysis_dict(pop_118(), "a"), stem_keys=keys, stems=stems,
                         storage=storage, render_rate_hz=SR)


def test_the_mix_is_not_decoded_when_every_stem_is(tmp_path: Path) -> None:
    storage, keys = _stored(tmp_path)
    storage.put_bytes("songs/a.flac", b"not audio at all")  # would fail if it were read
    material = _load(storage, keys, {"vocals", "instrumental"})
    assert set(material.stems) == set(STEMS)
    song = pop_118()
    # The profile's mix is the stems' sum: the song's mix to 24-bit precision.
    assert np.max(np.abs(material.mix_for_profile() - song.mix)) < 1e-5


@pytest.mark.parametrize("stems", [{"full", "vocals", "instrumental"}, {"vocals", "drums"}])
def test_the_mix_is_decoded_when_a_layer_plays_it_or_stems_are_missing(
        tmp_path: Path, stems: set[str]) -> None:
    storage, keys = _stored(tmp_path)
    material = _load(storage, keys, stems)
    assert "full" in material.stems


def test_a_silent_song_is_refused_either_way(tmp_path: Path) -> None:
    storage, keys = _stored(tmp_path, silent=True)
    for stems in ({"vocals", "instrumental"}, {"vocals"}):
        with pytest.raises(MeshError) as caught:
            _load(storage, keys, stems)
        assert caught.value.status_code == 422 and caught.value.code == "silent_audio"
