"""A small factory of AnalysisResult dicts for the scoring tests (no audio needed)."""

from __future__ import annotations

from typing import Any

from shared.camelot import key_to_camelot
from shared.contracts.analysis import AnalysisResult

BALANCED = {"low": 0.50, "mid_low": 0.22, "mid": 0.17, "high": 0.085, "air": 0.025}


def make_analysis(
    song_id: str,
    *,
    bpm: float = 124.0,
    key: str = "A minor",
    energy: float = 0.7,
    duration_sec: float = 180.0,
    vocal_intervals: list[list[float]] | None = None,
    spectral_profile: dict[str, float] | None = None,
    key_confidence: float = 0.8,
    **extra: Any,
) -> dict[str, Any]:
    """An AnalysisResult body with plausible beats; no vocals unless intervals are given."""
    beat_sec = 60.0 / bpm
    beats = [round(i * beat_sec, 4) for i in range(int(duration_sec / beat_sec))]
    return {
        "songId": song_id,
        "duration_sec": duration_sec,
        "sample_rate": 44100,
        "channels": 2,
        "bpm": bpm,
        "bpm_confidence": 0.9,
        "beats": beats,
        "downbeats": beats[::4],
        "time_signature": [4, 4],
        "key": key,
        "camelot": key_to_camelot(key),
        "key_confidence": key_confidence,
        "loudness_lufs": -9.0,
        "energy": energy,
        "energy_curve": {"hop_sec": 1.0, "values": [energy] * int(duration_sec)},
        "sections": [{"label": "intro", "start_sec": 0.0, "end_sec": duration_sec,
                      "energy": energy}],
        "cue_points": [{"type": "mix_in", "time_sec": 0.0}],
        "vocal_intervals": vocal_intervals or [],
        "spectral_profile": dict(spectral_profile or BALANCED),
        "analysis_version": "test",
        **extra,
    }


def sung(duration_sec: float = 180.0, share: float = 0.6) -> list[list[float]]:
    """Vocal intervals covering `share` of the song: 8 evenly spread phrases."""
    phrase_sec = duration_sec * share / 8
    gap_sec = (duration_sec - 8 * phrase_sec) / 8
    return [[i * (phrase_sec + gap_sec), i * (phrase_sec + gap_sec) + phrase_sec]
            for i in range(8)]


def test_factory_builds_valid_analyses() -> None:
    body = make_analysis("x", bpm=90.0, key="F# major", vocal_intervals=sung())
    parsed = AnalysisResult.model_validate(body)
    assert parsed.camelot == "2B"
    assert abs(sum(end - start for start, end in parsed.vocal_intervals) - 108.0) < 1e-6
