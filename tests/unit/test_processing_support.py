"""Shared helpers for the processing tests: synthetic songs with their true analyses,
small masterplans, and the measurements the checks use (kick onsets, tempo, holes).

Imported by the other test_processing_* modules; its own tests check the helpers.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from scipy import signal

from services.processing.material import SongMaterial, parse_analysis
from shared.contracts.orchestrator import Masterplan
from shared.synth import SongSpec, SynthSong, synthesize_song

SR = 44100
SONG_SEC = 24.0


@lru_cache(maxsize=8)
def synth(name: str, tempo_bpm: float, tonic: str, mode: str, style: str, seed: int,
          duration_sec: float = SONG_SEC) -> SynthSong:
    return synthesize_song(SongSpec(name=name, tempo_bpm=tempo_bpm, key_tonic=tonic,
                                    key_mode=mode, duration_sec=duration_sec, seed=seed,
                                    style=style))


def analysis_dict(song: SynthSong, song_id: str) -> dict[str, Any]:
    """An AnalysisResult-shaped dict built from the synth's ground truth."""
    truth = song.truth
    duration = song.mix.shape[1] / song.sample_rate_hz
    return {
        "songId": song_id, "duration_sec": duration, "sample_rate": song.sample_rate_hz,
        "channels": 2, "bpm": truth.tempo_bpm, "bpm_confidence": 1.0,
        "beats": [float(t) for t in truth.beats_sec],
        "downbeats": [float(t) for t in truth.downbeats_sec], "time_signature": [4, 4],
        "key": truth.key, "camelot": "8A", "key_confidence": 1.0, "loudness_lufs": -14.0,
        "energy": 0.5, "energy_curve": {"hop_sec": 1.0, "values": [0.5]},
        "sections": [{"label": s.label, "start_sec": s.start_sec, "end_sec": s.end_sec,
                      "energy": 0.5} for s in truth.sections],
        "cue_points": [], "vocal_intervals": [list(v) for v in truth.vocal_intervals],
        "spectral_profile": {"low": 0.2, "mid_low": 0.2, "mid": 0.2, "high": 0.2, "air": 0.2},
        "analysis_version": "synth-truth",
    }


def material(song: SynthSong, song_id: str) -> SongMaterial:
    return SongMaterial.build(song_id, stems=dict(song.stems), sample_rate_hz=song.sample_rate_hz,
                              analysis=parse_analysis(analysis_dict(song, song_id),
                                                      song_id=song_id))


def pop_118() -> SynthSong:
    return synth("pop118", 118.0, "C", "major", "pop", 1)


def house_124() -> SynthSong:
    return synth("house124", 124.0, "A", "minor", "house", 2)


def hiphop_92() -> SynthSong:
    return synth("hiphop92", 92.0, "D", "minor", "hiphop", 3)


def dnb_174() -> SynthSong:
    return synth("dnb174", 174.0, "F", "minor", "dnb", 4)


def plan(target_bpm: float, target_key: str, sections: list[list[dict[str, Any]]], *,
         bars: int = 4, energies: list[float] | None = None,
         descriptions: list[str] | None = None) -> Masterplan:
    """A plan of `bars`-bar sections at target_bpm; each section is a list of layer dicts."""
    bar_sec = 4 * 60.0 / target_bpm
    timeline = []
    for i, layers in enumerate(sections):
        timeline.append({
            "time_start_sec": i * bars * bar_sec, "duration_sec": bars * bar_sec,
            "description": (descriptions or [""] * len(sections))[i],
            "energy_level": (energies or [0.5] * len(sections))[i], "layers": layers,
        })
    return Masterplan.model_validate({"title": "test mashup",
                                      "global": {"targetBPM": target_bpm,
                                                 "targetKey": target_key},
                                      "timeline": timeline})


def low_band_onsets(audio: np.ndarray, *, sample_rate_hz: int, min_gap_sec: float) -> np.ndarray:
    """Kick onsets (seconds): where the Hilbert envelope of the zero-phase < 150 Hz band
    first reaches half of each of its peaks."""
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    sos = signal.butter(4, 150.0, btype="low", fs=sample_rate_hz, output="sos")
    low = np.abs(signal.hilbert(signal.sosfiltfilt(sos, mono)))
    win = int(0.004 * sample_rate_hz)
    env = np.convolve(low, np.ones(win) / win, mode="same")
    peaks, _ = signal.find_peaks(env, height=0.3 * env.max(),
                                 distance=int(min_gap_sec * sample_rate_hz))
    onsets = []
    for p in peaks:
        i = p
        floor = int(p - 0.08 * sample_rate_hz)
        while i > max(floor, 0) and env[i] > 0.5 * env[p]:
            i -= 1
        onsets.append(i / sample_rate_hz)
    return np.asarray(onsets)


def grid_errors_sec(onsets_sec: np.ndarray, *, period_sec: float, offset_sec: float = 0.0
                    ) -> np.ndarray:
    """Signed distance of each onset to the nearest grid line offset + k * period."""
    phase = (onsets_sec - offset_sec) / period_sec
    return (phase - np.round(phase)) * period_sec


def tempo_from_onsets(onsets_sec: np.ndarray, *, beat_sec: float) -> float:
    """BPM of a least-squares line through onsets numbered by their nearest beat."""
    index = np.round((onsets_sec - onsets_sec[0]) / beat_sec)
    slope = np.polyfit(index, onsets_sec, 1)[0]
    return 60.0 / slope


def window_rms_db(audio: np.ndarray, *, sample_rate_hz: int, window_sec: float = 0.5
                  ) -> np.ndarray:
    mono = audio.mean(axis=0)
    n = int(window_sec * sample_rate_hz)
    frames = mono[: mono.size // n * n].reshape(-1, n).astype(np.float64)
    return 10 * np.log10(np.maximum(np.mean(frames**2, axis=1), 1e-20))


# ---- tests of the helpers themselves --------------------------------------------------


def test_analysis_dict_is_a_valid_analysis_result() -> None:
    from shared.contracts.analysis import AnalysisResult

    song = house_124()
    result = AnalysisResult.model_validate(analysis_dict(song, "h"))
    assert result.bpm == 124.0
    assert result.key == "A minor"


def test_onset_helper_finds_a_click_track_on_its_grid() -> None:
    period = 0.5
    audio = np.zeros(int(6 * SR))
    t = np.arange(int(0.2 * SR)) / SR
    kick = np.sin(2 * np.pi * 60 * t) * np.exp(-t / 0.05)
    for k in range(11):
        start = int((0.25 + k * period) * SR)
        audio[start:start + kick.size] += kick
    onsets = low_band_onsets(audio, sample_rate_hz=SR, min_gap_sec=0.3)
    assert onsets.size == 11
    assert np.max(np.abs(grid_errors_sec(onsets, period_sec=period, offset_sec=0.25))) < 0.005
    assert abs(tempo_from_onsets(onsets, beat_sec=period) - 120.0) < 0.5


def onset_envelope(audio: np.ndarray, *, sample_rate_hz: int, hop: int = 128) -> np.ndarray:
    """Spectral-flux onset strength (librosa), one value per `hop` samples."""
    import librosa

    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    return librosa.onset.onset_strength(y=np.asarray(mono, dtype=np.float32), sr=sample_rate_hz,
                                        hop_length=hop)


def warp_lags_ms(output: np.ndarray, source: np.ndarray, *, source_start_sec: float,
                 speed: float, sample_rate_hz: int, window_sec: float = 2.0,
                 max_lag_ms: float = 40.0, hop: int = 128) -> np.ndarray:
    """Lag (ms) of the output against the ideally timed source, per window.

    The reference is the source's onset envelope read at source time
    source_start_sec + t * speed (exact timing, no stretcher); the lag in each window is
    where the cross-correlation with the output's onset envelope peaks.
    """
    env_out = onset_envelope(output, sample_rate_hz=sample_rate_hz, hop=hop)
    first = max(0, int((source_start_sec - 1.0) * sample_rate_hz))
    last = int((source_start_sec + output.shape[-1] / sample_rate_hz * speed + 1.0)
               * sample_rate_hz)
    env_src = onset_envelope(source[..., first:last], sample_rate_hz=sample_rate_hz, hop=hop)
    t_out = np.arange(env_out.size) * hop / sample_rate_hz
    t_src = first / sample_rate_hz + np.arange(env_src.size) * hop / sample_rate_hz
    ref = np.interp(source_start_sec + t_out * speed, t_src, env_src)
    win = int(window_sec * sample_rate_hz / hop)
    max_lag = int(max_lag_ms / 1000 * sample_rate_hz / hop)
    lags = []
    for a in range(max_lag, env_out.size - win - max_lag, win):
        seg = ref[a:a + win] - ref[a:a + win].mean()
        if np.std(seg) < 1e-6:
            continue
        scores = np.correlate(env_out[a - max_lag:a + win + max_lag], seg, mode="valid")
        lags.append((int(np.argmax(scores)) - max_lag) * hop / sample_rate_hz * 1000)
    return np.asarray(lags)
