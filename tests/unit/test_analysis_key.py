"""Key and Camelot code for all 24 keys."""

from __future__ import annotations

import numpy as np
import pytest

from services.analysis.key import FALLBACK_KEY, estimate_key
from shared.audio_io import to_mono
from shared.camelot import key_to_camelot
from shared.synth import SongSpec, synthesize_song

TONICS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
KEYS = [(tonic, mode) for tonic in TONICS for mode in ("major", "minor")]


@pytest.mark.parametrize(("tonic", "mode"), KEYS)
def test_key_and_camelot_for_every_key(tonic: str, mode: str) -> None:
    # Four bars at 128 BPM: the shortest song the generator makes, enough for the key.
    index = TONICS.index(tonic)
    spec = SongSpec(f"key-{tonic}-{mode}", 128.0, tonic, mode, 8.0, seed=index,
                    style=("pop", "house", "rock")[index % 3])
    synth = synthesize_song(spec)
    estimate = estimate_key(to_mono(synth.mix), sample_rate_hz=synth.sample_rate_hz)
    assert estimate.key == synth.truth.key
    assert estimate.camelot == key_to_camelot(synth.truth.key)
    assert 0.0 < estimate.confidence <= 1.0


def test_silence_gets_the_fallback_key_with_zero_confidence() -> None:
    estimate = estimate_key(np.zeros(44100, dtype=np.float32), sample_rate_hz=44100)
    assert (estimate.key, estimate.confidence) == (FALLBACK_KEY, 0.0)
    assert estimate.camelot == key_to_camelot(FALLBACK_KEY)
