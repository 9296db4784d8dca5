"""AnalysisResult-like songs for the orchestrator tests (plus checks of the factory itself).

`make_analysis` builds a song with an exact beat grid, a pop form of 8-bar sections and
vocal phrases inside its verses and choruses, as the analysis service would report it.
"""

from __future__ import annotations

import random

import pytest

from shared.camelot import key_to_camelot, normalize_key
from shared.contracts.analysis import AnalysisResult

# A pop form in bars, with the energy of each section.
POP_FORM = (("intro", 8, 0.3), ("verse", 16, 0.5), ("chorus", 8, 0.8), ("verse", 16, 0.55),
            ("chorus", 8, 0.85), ("bridge", 8, 0.4), ("chorus", 16, 0.9), ("outro", 8, 0.3))


def make_analysis(song_id: str, *, tempo_bpm: float = 120.0, key: str = "A minor",
                  duration_sec: float = 180.0, first_downbeat_sec: float = 0.0,
                  vocal_intervals: list[tuple[float, float]] | None = None,
                  sung: bool = True, **extra: object) -> dict:
    """An AnalysisResult body. Vocal intervals default to two-bar phrases, a bar apart,
    inside every verse, chorus and bridge (when `sung`)."""
    beat = 60.0 / tempo_bpm
    bar = 4 * beat
    beats = [first_downbeat_sec + i * beat for i in range(int(duration_sec / beat) + 1)
             if first_downbeat_sec + i * beat < duration_sec]
    downbeats = beats[::4]
    sections, start = [], first_downbeat_sec
    for label, bars, energy in POP_FORM:
        if start >= duration_sec:
            break
        end = min(duration_sec, start + bars * bar)
        sections.append({"label": label, "start_sec": round(start, 4), "end_sec": round(end, 4),
                         "energy": energy})
        start = end
    if vocal_intervals is None:
        vocal_intervals = []
        if sung:
            for section in sections:
                if section["label"] in ("verse", "chorus", "bridge"):
                    t = section["start_sec"] + 0.3 * beat  # a little after the downbeat
                    while t + 2 * bar <= section["end_sec"]:
                        vocal_intervals.append((round(t, 4), round(t + 2 * bar - beat, 4)))
                        t += 3 * bar
    values = [0.3 + 0.5 * (i % 10) / 10 for i in range(int(duration_sec))]
    body = {
        "songId": song_id, "duration_sec": duration_sec, "sample_rate": 44100, "channels": 2,
        "bpm": tempo_bpm, "bpm_confidence": 0.9, "beats": beats, "downbeats": downbeats,
        "time_signature": [4, 4], "key": normalize_key(key), "camelot": key_to_camelot(key),
        "key_confidence": 0.8, "loudness_lufs": -9.0, "energy": 0.6,
        "energy_curve": {"hop_sec": 1.0, "values": values},
        "sections": sections,
        "cue_points": [{"type": "mix_in", "time_sec": first_downbeat_sec}],
        "vocal_intervals": [list(v) for v in vocal_intervals],
        "spectral_profile": {"low": 0.3, "mid_low": 0.2, "mid": 0.25, "high": 0.2, "air": 0.05},
        "analysis_version": "test-factory",
    }
    body.update(extra)
    return body


def demo_analyses() -> list[AnalysisResult]:
    """Two demo songs: a sung pop song at 100 BPM and a 124 BPM house groove with a
    little vocal of its own."""
    pop = make_analysis("pop_song", tempo_bpm=100.0, key="C major", duration_sec=200.0,
                        title="Sunny Pop", artist="The Synths")
    house = make_analysis("house_groove", tempo_bpm=124.0, key="A minor", duration_sec=180.0,
                          first_downbeat_sec=0.4, vocal_intervals=[(60.0, 64.0)],
                          title="Deep House", artist="DJ Test")
    return [AnalysisResult.model_validate(pop), AnalysisResult.model_validate(house)]


def demo_scores() -> dict:
    """A MashabilityResponse for the demo pair (shape of the scoring service's answer)."""
    return {
        "overall": 78.0, "best_pair": ["pop_song", "house_groove"],
        "pairs": [{
            "a": "pop_song", "b": "house_groove", "score": 78.0,
            "harmonic": {"type": "relative", "score": 90, "quality": "excellent",
                         "recommendation": "relative keys blend"},
            "rhythmic": {"bpm_a": 100.0, "bpm_b": 124.0, "relation": "direct",
                         "stretch_percent": 24.0, "score": 60},
            "spectral": {"clash_bands": ["low"], "score": 70},
            "vocal": {"clash": False, "score": 90},
            "recommended": {"targetBPM": 124.0, "targetKey": "A minor",
                            "pitch_shift_semitones": {"pop_song": 0, "house_groove": 0},
                            "vocal_source": "pop_song", "instrumental_source": "house_groove"},
        }],
    }


def random_analysis(rng: random.Random, song_id: str) -> dict:
    """A random but plausible analysis: any tempo 70–180, key, length 30–400 s, vocals."""
    tempo = rng.uniform(70.0, 180.0)
    key = f"{rng.choice(['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'])} " \
          f"{rng.choice(['major', 'minor'])}"
    duration = rng.uniform(30.0, 400.0)
    intervals: list[tuple[float, float]] = []
    t = rng.uniform(0.0, 20.0)
    while rng.random() < 0.9 and t < duration - 1:
        length = rng.uniform(0.2, 12.0)
        intervals.append((round(t, 3), round(min(duration, t + length), 3)))
        t += length + rng.uniform(0.1, 15.0)
    return make_analysis(song_id, tempo_bpm=round(tempo, 2), key=key, duration_sec=duration,
                         first_downbeat_sec=rng.uniform(0.0, 1.0), vocal_intervals=intervals)


def test_factory_bodies_are_valid_analyses() -> None:
    songs = demo_analyses()
    assert [s.songId for s in songs] == ["pop_song", "house_groove"]
    for song in songs:
        assert song.downbeats == song.beats[::4]
        assert all(0 <= s.start_sec < s.end_sec <= song.duration_sec for s in song.sections)
        assert all(0 <= a < b <= song.duration_sec for a, b in song.vocal_intervals)
    assert songs[0].model_extra == {"title": "Sunny Pop", "artist": "The Synths"}


@pytest.mark.parametrize("seed", range(5))
def test_random_analyses_are_valid(seed: int) -> None:
    song = AnalysisResult.model_validate(random_analysis(random.Random(seed), "x"))
    assert 70 <= song.bpm <= 180 and 30 <= song.duration_sec <= 400
