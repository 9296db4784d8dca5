"""What a render needs of each song: its analysis (tempo, grid, key, vocals) and its audio.

`SongMaterial` holds the stems as float32 (2, n) arrays at the render rate; unit tests build
it straight from synthetic stems, the service builds it from storage (`stems.py`). The
analysis is parsed leniently from an AnalysisResult dict, and its beat and downbeat grids
are cleaned (gaps filled, doubles dropped) and extended to cover the whole song, because
the warp needs a knot at every bar, also before the first and after the last detected one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from services.processing.gate import vocal_gate_gain
from shared.audio_io import resample
from shared.contracts.orchestrator import LAYER_FILES
from shared.contracts.separation import ALL_STEMS
from shared.errors import Unprocessable

SEPARATED_STEMS = ALL_STEMS
LAYER_STEMS = (*SEPARATED_STEMS, "instrumental", "full")
INSTRUMENTAL_STEMS = LAYER_FILES["instrumental"]
# A beat further than this from the even split of its bar makes the bar warp beat by beat.
BEAT_KNOT_TOLERANCE_SEC = 0.012


@dataclass(frozen=True)
class SongAnalysis:
    """The parts of an AnalysisResult the renderer uses; times in seconds."""

    bpm: float
    beats_sec: np.ndarray  # cleaned, sorted, covering [0, duration_sec]
    downbeats_sec: np.ndarray  # cleaned, sorted, covering [0, duration_sec]
    key: str | None
    vocal_intervals: tuple[tuple[float, float], ...]
    sections: tuple[dict[str, Any], ...]
    duration_sec: float
    beats_per_bar: int = 4

    @property
    def beat_sec(self) -> float:
        return 60.0 / self.bpm

    @property
    def bar_sec(self) -> float:
        return self.beats_per_bar * 60.0 / self.bpm

    @cached_property
    def beat_knots(self) -> tuple[np.ndarray, np.ndarray]:
        """(source seconds, position in bars) of every usable beat; see `beat_knots`."""
        return beat_knots(self)


def _floats(value: Any, name: str, song_id: str) -> np.ndarray:
    if value is None:
        return np.zeros(0)
    try:
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise Unprocessable(f"analysis of song {song_id!r}: {name} must be a list of seconds.",
                            code="invalid_analysis") from None
    return arr[np.isfinite(arr)]


def clean_grid(times_sec: np.ndarray, *, period_sec: float, duration_sec: float) -> np.ndarray:
    """Sorted grid with one knot per period, covering [0, duration_sec].

    Knots closer than half a period to the previous one are dropped, gaps longer than 1.5
    periods are filled evenly, and the grid is extended at both ends with the local period
    (median of the nearest intervals) until it reaches 0 and duration_sec.
    """
    t = np.unique(times_sec[(times_sec > -period_sec) & (times_sec < duration_sec + period_sec)])
    if t.size == 0:
        t = np.array([0.0])
    kept = [float(t[0])]
    for value in t[1:]:
        if value - kept[-1] >= 0.5 * period_sec:
            kept.append(float(value))
    filled = [kept[0]]
    for value in kept[1:]:
        gap = value - filled[-1]
        n_missing = round(gap / period_sec) - 1
        if gap > 1.5 * period_sec and n_missing > 0:
            step = gap / (n_missing + 1)
            filled.extend(filled[-1] + step * np.arange(1, n_missing + 1))
        filled.append(value)
    grid = np.asarray(filled)
    head = float(np.median(np.diff(grid[:5]))) if grid.size > 1 else period_sec
    tail = float(np.median(np.diff(grid[-5:]))) if grid.size > 1 else period_sec
    head = head if 0.5 * period_sec < head < 1.5 * period_sec else period_sec
    tail = tail if 0.5 * period_sec < tail < 1.5 * period_sec else period_sec
    n_before = max(0, int(np.ceil(grid[0] / head)))
    n_after = max(0, int(np.ceil((duration_sec - grid[-1]) / tail)))
    before = grid[0] - head * np.arange(n_before, 0, -1)
    after = grid[-1] + tail * np.arange(1, n_after + 1)
    return np.concatenate([before, grid, after])


def parse_analysis(data: dict[str, Any], *, song_id: str, duration_sec: float | None = None,
                   beats_per_bar: int = 4) -> SongAnalysis:
    """An AnalysisResult(-like) dict → SongAnalysis; Unprocessable when bpm is unusable.

    Accepts `beats`/`beats_sec` and `downbeats`/`downbeats_sec`. Without downbeats, every
    `beats_per_bar`-th beat from the first is one; without beats, the grid starts at 0.
    """
    if not isinstance(data, dict):
        raise Unprocessable(f"analysis of song {song_id!r} must be an object.",
                            code="invalid_analysis")
    try:
        bpm = float(data.get("bpm") or data.get("tempo_bpm") or 0.0)
    except (TypeError, ValueError):
        bpm = 0.0
    if not 20.0 < bpm < 400.0:
        raise Unprocessable(f"analysis of song {song_id!r} has no usable bpm (20–400).",
                            code="invalid_analysis")
    beats = _floats(data.get("beats", data.get("beats_sec")), "beats", song_id)
    downbeats = _floats(data.get("downbeats", data.get("downbeats_sec")), "downbeats", song_id)
    try:
        declared = float(data.get("duration_sec") or 0.0)
    except (TypeError, ValueError):
        declared = 0.0
    duration = duration_sec or declared or float(max([*beats, *downbeats, 0.0]))
    if duration <= 0:
        raise Unprocessable(f"analysis of song {song_id!r} has no duration_sec.",
                            code="invalid_analysis")
    beat_sec = 60.0 / bpm
    if downbeats.size == 0 and beats.size:
        downbeats = np.sort(beats)[::beats_per_bar]
    clean_beats = clean_grid(beats, period_sec=beat_sec, duration_sec=duration)
    clean_downbeats = clean_grid(downbeats, period_sec=beats_per_bar * beat_sec,
                                 duration_sec=duration)
    intervals = []
    for item in data.get("vocal_intervals") or ():
        try:
            start, end = float(item[0]), float(item[1])
        except (TypeError, ValueError, IndexError):
            continue
        if math.isfinite(start) and math.isfinite(end) and end > start:
            intervals.append((start, end))
    sections = tuple(s for s in data.get("sections") or () if isinstance(s, dict))
    key = data.get("key")
    return SongAnalysis(
        bpm=bpm, beats_sec=clean_beats, downbeats_sec=clean_downbeats,
        key=key if isinstance(key, str) and key.strip() else None,
        vocal_intervals=tuple(intervals), sections=sections, duration_sec=duration,
        beats_per_bar=beats_per_bar,
    )


def beat_knots(analysis: SongAnalysis) -> tuple[np.ndarray, np.ndarray]:
    """(source seconds, position in bars) of the knots of the beat-by-beat warp.

    Downbeat j sits at bar position j. The beats strictly inside bar j (more than a quarter
    beat from either downbeat) become knots at j + k / beats_per_bar when the tempo drifts
    inside that bar: when some beat is more than `BEAT_KNOT_TOLERANCE_SEC` away from where
    an even split of the bar puts it. A steady bar keeps its downbeats only, so a beat
    tracker's frame-sized jitter is not written into the output. Bars with a missed or
    doubled beat (not beats_per_bar - 1 inner beats, or a gap outside 0.5–1.5 of the mean
    beat) also keep their downbeats only.
    """
    downbeats, beats = analysis.downbeats_sec, analysis.beats_sec
    bpb = analysis.beats_per_bar
    src: list[np.ndarray] = []
    pos: list[np.ndarray] = []
    lo = np.searchsorted(beats, downbeats, side="left")
    for j in range(downbeats.size):
        src.append(downbeats[j:j + 1])
        pos.append(np.array([float(j)]))
        if j + 1 >= downbeats.size or bpb < 2:
            continue
        d0, d1 = float(downbeats[j]), float(downbeats[j + 1])
        quarter = 0.25 * (d1 - d0) / bpb
        inner = beats[lo[j]:lo[j + 1] + 1]
        inner = inner[(inner > d0 + quarter) & (inner < d1 - quarter)]
        if inner.size != bpb - 1:
            continue
        gaps = np.diff(np.concatenate([[d0], inner, [d1]]))
        mean = (d1 - d0) / bpb
        even = d0 + mean * np.arange(1, bpb)
        drifts = float(np.max(np.abs(inner - even))) > BEAT_KNOT_TOLERANCE_SEC
        if drifts and np.all((gaps > 0.5 * mean) & (gaps < 1.5 * mean)):
            src.append(inner)
            pos.append(j + np.arange(1, bpb) / bpb)
    return np.concatenate(src), np.concatenate(pos)


def _stereo(samples: np.ndarray) -> np.ndarray:
    arr = np.asarray(samples, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.shape[0] == 1:
        arr = np.repeat(arr, 2, axis=0)
    return np.ascontiguousarray(arr[:2])


@dataclass
class SongMaterial:
    """A song's audio at the render rate: separated stems and/or the full mix, (2, n)."""

    song_id: str
    sample_rate_hz: int
    analysis: SongAnalysis
    stems: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def build(cls, song_id: str, *, stems: dict[str, np.ndarray], sample_rate_hz: int,
              analysis: SongAnalysis, render_rate_hz: int = 44100) -> SongMaterial:
        """Stereo, resampled to `render_rate_hz`, all stems padded to one length."""
        ready = {}
        for name, samples in stems.items():
            if name not in (*SEPARATED_STEMS, "full"):
                raise ValueError(f"unknown stem {name!r}")
            audio = _stereo(samples)
            if sample_rate_hz != render_rate_hz:
                audio = resample(audio, from_rate_hz=sample_rate_hz, to_rate_hz=render_rate_hz)
            ready[name] = audio
        n = max((a.shape[1] for a in ready.values()), default=0)
        for name, audio in ready.items():
            if audio.shape[1] < n:
                ready[name] = np.pad(audio, ((0, 0), (0, n - audio.shape[1])))
        return cls(song_id=song_id, sample_rate_hz=render_rate_hz, analysis=analysis,
                   stems=ready)

    @property
    def length_samples(self) -> int:
        return max((a.shape[1] for a in self.stems.values()), default=0)

    def has(self, stem: str) -> bool:
        if stem == "full":
            return "full" in self.stems or all(s in self.stems for s in SEPARATED_STEMS)
        if stem == "instrumental":
            return all(s in self.stems for s in INSTRUMENTAL_STEMS)
        return stem in self.stems

    def stem_audio(self, stem: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Samples [start, stop) of a layer stem; zeros outside the song. (2, stop - start)."""
        stop = self.length_samples if stop is None else stop
        if stem == "full":
            parts = ("full",) if "full" in self.stems else SEPARATED_STEMS
        elif stem == "instrumental":
            parts = INSTRUMENTAL_STEMS
        else:
            parts = (stem,)
        missing = [p for p in parts if p not in self.stems]
        if missing:
            raise KeyError(f"song {self.song_id!r} has no {', '.join(missing)} audio")
        out = np.zeros((2, max(0, stop - start)), dtype=np.float32)
        a, b = max(start, 0), min(stop, self.length_samples)
        if b > a:
            for part in parts:
                out[:, a - start:b - start] += self.stems[part][:, a:b]
        if stem == "vocals" and self.analysis.vocal_intervals:
            # Between the analysed lines the separated vocals hold only the song's own
            # residue (see gate.py); a song analysed as never singing is left as it is.
            out *= vocal_gate_gain(start, stop, sample_rate_hz=self.sample_rate_hz,
                                   intervals_sec=self.analysis.vocal_intervals)
        return out

    def mix_for_profile(self) -> np.ndarray:
        """The fullest mix available (for energy profiles): full, else the sum of stems."""
        if "full" in self.stems:
            return self.stems["full"]
        return sum((a for a in self.stems.values()), np.zeros((2, self.length_samples),
                                                              dtype=np.float32))
