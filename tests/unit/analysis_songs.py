"""Synthetic songs with known truth for the analysis unit tests, synthesised and analysed
once per test session (each costs about a second)."""

from __future__ import annotations

from functools import cache

import numpy as np

from services.analysis.analyzer import analyze_audio
from shared.contracts.analysis import AnalysisResult
from shared.synth import SongSpec, SynthSong, synthesize_song

# One song per metrical trap: house at 124 (four on the floor), drum & bass at 174 (a
# tracker happily counts 87), boom-bap hip-hop at 90 (easily doubled to 180), and pop at
# 100 with a lead vocal for the vocal tests.
SPECS: dict[str, SongSpec] = {
    "house": SongSpec("house", 124.0, "A", "minor", 30.0, seed=11, style="house"),
    "dnb": SongSpec("dnb", 174.0, "F#", "minor", 30.0, seed=12, style="dnb"),
    "hiphop": SongSpec("hiphop", 90.0, "C#", "major", 30.0, seed=13, style="hiphop"),
    "pop": SongSpec("pop", 100.0, "D#", "major", 30.0, seed=14, style="pop"),
}


@cache
def song(name: str) -> SynthSong:
    return synthesize_song(SPECS[name])


@cache
def analysis(name: str) -> AnalysisResult:
    synth = song(name)
    return analyze_audio(synth.mix, sample_rate_hz=synth.sample_rate_hz, song_id=name)


def nearest_offsets_sec(estimated: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """For each reference time, the signed offset of the nearest estimated time."""
    est = np.asarray(estimated, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    idx = np.clip(np.searchsorted(est, ref), 1, len(est) - 1)
    left, right = est[idx - 1], est[idx]
    nearest = np.where(np.abs(ref - left) <= np.abs(ref - right), left, right)
    return nearest - ref
