"""Independent checks of a finished render, for the benchmark (`bench.py`).

None of these use the renderer's meters or its own figures: loudness and true peak come
from Essentia (its EBU R128 meter and its libresample-based true-peak detector), tempo
from Essentia's beat tracker, layer timing from librosa onset envelopes compared against
the synthesiser's exact stems read at the ideal source time, and clicks, clipping and
holes from the samples themselves. All functions are pure: arrays in, figures out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

CLIP_LEVEL = 0.999  # a sample at or over this (of full scale) counts as clipped
GAP_LEVEL_DB = -50.0  # 50 ms windows under this count as silence
GAP_MIN_SEC = 0.2
CLICK_RATIO = 4.0  # splice "roughness" this many times its surroundings is a click


def _mono(audio: np.ndarray) -> np.ndarray:
    return np.asarray(audio.mean(axis=0) if audio.ndim == 2 else audio, dtype=np.float32)


def essentia_lufs(audio: np.ndarray, *, sample_rate_hz: int) -> float:
    """Integrated loudness (LUFS) of stereo (2, n) audio by Essentia's EBU R128 meter."""
    import essentia.standard as es

    stereo = np.ascontiguousarray(np.asarray(audio, dtype=np.float32).T)
    meter = es.LoudnessEBUR128(sampleRate=float(sample_rate_hz))
    return float(meter(stereo)[2])


def essentia_true_peak_dbtp(audio: np.ndarray, *, sample_rate_hz: int) -> float:
    """True peak (dBTP) by Essentia's BS.1770-4 detector (4x oversampled), max of channels."""
    import essentia.standard as es

    detector = es.TruePeakDetector(sampleRate=float(sample_rate_hz), oversamplingFactor=4,
                                   threshold=-200.0)
    peak = 0.0
    for channel in np.atleast_2d(np.asarray(audio, dtype=np.float32)):
        _, processed = detector(np.ascontiguousarray(channel))
        peak = max(peak, float(np.max(np.abs(processed))) if processed.size else 0.0)
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def clipped_samples(audio: np.ndarray) -> int:
    return int(np.count_nonzero(np.abs(audio) >= CLIP_LEVEL))


def silent_runs(audio: np.ndarray, *, sample_rate_hz: int, edge_sec: float = 1.0,
                min_sec: float = GAP_MIN_SEC) -> list[tuple[float, float]]:
    """(start, length) in seconds of every run of at least `min_sec` of 50 ms windows
    under -50 dBFS RMS, ignoring `edge_sec` at both ends (where a fade from or to silence
    is meant to be)."""
    mono = _mono(audio).astype(np.float64)
    hop = int(0.05 * sample_rate_hz)
    edge = int(edge_sec * sample_rate_hz)
    core = mono[edge:mono.size - edge]
    n = core.size // hop
    if n == 0:
        return []
    rms_db = 10 * np.log10(np.maximum(np.mean(core[:n * hop].reshape(n, hop) ** 2, axis=1),
                                      1e-20))
    quiet = np.concatenate([[False], rms_db < GAP_LEVEL_DB, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    runs = []
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        length = (stop - start) * hop / sample_rate_hz
        if length >= min_sec - 1e-9:
            runs.append(((edge + start * hop) / sample_rate_hz, length))
    return runs


def level_dbfs(audio: np.ndarray) -> float:
    """RMS level of a stretch of audio in dBFS (-200 for digital silence)."""
    data = np.asarray(audio, dtype=np.float64)
    return float(10 * np.log10(max(float(np.mean(data**2)) if data.size else 0.0, 1e-20)))


def click_ratio(audio: np.ndarray, *, at_sample: int, sample_rate_hz: int,
                near_ms: float = 1.5, context_ms: float = 150.0) -> float:
    """How much rougher the signal is right at `at_sample` than around it: the largest
    |second difference| within ±near_ms over the 99.9th percentile of it in the ±context_ms
    around (excluding the near part). A hard cut or a step reads far above 1; music whose
    hits happen to fall on the splice reads about like its other hits."""
    mono = _mono(audio).astype(np.float64)
    d2 = np.abs(np.diff(mono, 2))
    near = max(1, int(near_ms * sample_rate_hz / 1000))
    ctx = int(context_ms * sample_rate_hz / 1000)
    a, b = max(at_sample - near, 0), min(at_sample + near, d2.size)
    if b <= a:
        return 0.0
    around = np.concatenate([d2[max(at_sample - ctx, 0):a], d2[b:at_sample + ctx]])
    if around.size == 0:
        return 0.0
    return float(d2[a:b].max() / (np.percentile(around, 99.9) + 1e-9))


def essentia_beats(audio: np.ndarray, *, sample_rate_hz: int) -> tuple[float, np.ndarray]:
    """(BPM, beat times in seconds) by Essentia's RhythmExtractor2013 (degara)."""
    import essentia.standard as es

    if sample_rate_hz != 44100:
        raise ValueError("RhythmExtractor2013 needs 44100 Hz audio")
    bpm, ticks, *_ = es.RhythmExtractor2013(method="degara")(_mono(audio))
    return float(bpm), np.asarray(ticks, dtype=np.float64)


def fitted_tempo_bpm(beats_sec: np.ndarray, *, target_bpm: float) -> float:
    """BPM of a least-squares line through beat times numbered on the target's grid (so
    half- or double-time trackers and skipped beats still give the target's tempo)."""
    if beats_sec.size < 4:
        return math.nan
    beat_sec = 60.0 / target_bpm
    index = np.round((beats_sec - beats_sec[0]) / beat_sec)
    slope = float(np.polyfit(index, beats_sec, 1)[0])
    return 60.0 / slope


def folded_bpm(bpm: float, *, target_bpm: float) -> float:
    """`bpm` taken by x0.5, x1 or x2 to the value nearest the target."""
    return min((bpm * f for f in (0.5, 1.0, 2.0)), key=lambda v: abs(v - target_bpm))


def onset_envelope(audio: np.ndarray, *, sample_rate_hz: int, hop: int = 128) -> np.ndarray:
    import librosa

    return librosa.onset.onset_strength(y=_mono(audio), sr=sample_rate_hz, hop_length=hop)


MIN_MATCH = 0.3  # correlation of a window's onsets with the output's at the found lag


@dataclass(frozen=True)
class LayerLock:
    lags_ms: np.ndarray  # lag of the layer in the output per window (positive: late)
    windows: int  # windows with enough onsets in the reference to measure

    @property
    def worst_ms(self) -> float:
        return float(np.max(np.abs(self.lags_ms))) if self.lags_ms.size else math.nan


def layer_lock(output: np.ndarray, source: np.ndarray, *, source_start_sec: float,
               speed: float, sample_rate_hz: int, window_sec: float = 2.0,
               max_lag_ms: float = 60.0, hop: int = 64) -> LayerLock:
    """Where the source stem's onsets are in `output`, window by window.

    The reference is the onset envelope of the source stem read at source time
    `source_start_sec + t * speed` (exact timing, no stretcher involved); in each window
    the lag is where its cross-correlation with the output's onset envelope peaks (a
    parabola through the peak refines it below one hop). Windows whose reference is flat
    (no onsets of that stem) or active over less than a quarter of the window, or whose
    onsets match the output's at no lag (correlation under `MIN_MATCH`), are skipped.
    """
    sr = sample_rate_hz
    env_out = onset_envelope(output, sample_rate_hz=sr, hop=hop)
    first = max(0, int((source_start_sec - 1.0) * sr))
    last = int((source_start_sec + output.shape[-1] / sr * speed + 1.0) * sr)
    env_src = onset_envelope(source[..., first:last], sample_rate_hz=sr, hop=hop)
    t_out = np.arange(env_out.size) * hop / sr
    t_src = first / sr + np.arange(env_src.size) * hop / sr
    ref = np.interp(source_start_sec + t_out * speed, t_src, env_src, left=0.0, right=0.0)
    win = int(window_sec * sr / hop)
    max_lag = int(max_lag_ms / 1000 * sr / hop)
    # Tapered edges: an onset just before a window leaves its decay at the window's start,
    # which would otherwise match the onset itself, a few tens of ms early.
    taper = signal.windows.tukey(win, alpha=0.1)
    lags = []
    for a in range(max_lag, env_out.size - win - max_lag, win):
        raw = ref[a:a + win]
        seg = (raw - raw.mean()) * taper
        if np.std(seg) < 0.05 * (np.std(ref) + 1e-9):
            continue
        # Onsets in only a sliver of the window (a phrase's last notes) leave nothing to
        # align: the stem's activity must span a quarter of it.
        active = np.flatnonzero(raw > 0.1 * raw.max())
        if active[-1] - active[0] < win // 4:
            continue
        scores = np.correlate(env_out[a - max_lag:a + win + max_lag], seg, mode="valid")
        k = int(np.argmax(scores))
        # A window whose onsets match the output's at no lag (the stem holds a phrase's
        # tail, or other layers drown it) cannot time it: a late layer still matches,
        # only later, so no real lag is hidden by skipping it.
        matched = env_out[a - max_lag + k:a - max_lag + k + win]
        if np.corrcoef(matched, seg)[0, 1] < MIN_MATCH:
            continue
        frac = 0.0
        if 0 < k < scores.size - 1:
            y0, y1, y2 = scores[k - 1], scores[k], scores[k + 1]
            denom = y0 - 2 * y1 + y2
            frac = 0.5 * (y0 - y2) / denom if denom < 0 else 0.0
        lags.append((k + frac - max_lag) * hop / sr * 1000)
    return LayerLock(np.asarray(lags), len(lags))
