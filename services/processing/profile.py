"""Per-bar descriptions of a source song, for choosing which part of it to play.

For every bar of the (cleaned) downbeat grid: its energy (0..1, the bar's RMS level placed
within the song's own range), how much of it is sung (0..1, from the analysis's vocal
intervals where the separated voice is heard, else from the vocal stem's level) and how
much of it lies inside the analysed sections (a fade-out tail after the last section is
poor material).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from services.processing.material import SongMaterial
from shared.intervals import covered_share

_EDGE_TOLERANCE_SEC = 0.05
QUIET_VOICE_DB = 12.0  # a sung bar's separated voice this far under the song's: still sung
SILENT_VOICE_DB = 18.0  # this far under: nobody sings there, whatever the analysis heard


@dataclass(frozen=True)
class SourceProfile:
    downbeats_sec: np.ndarray  # the grid; bar j is [downbeats_sec[j], downbeats_sec[j + 1])
    bar_energy: np.ndarray  # (n_bars,) 0..1
    bar_vocal: np.ndarray  # (n_bars,) 0..1, share of the bar that is sung
    bar_in_form: np.ndarray  # (n_bars,) 0..1, share inside the analysed sections
    first_bar: int  # first bar that starts inside the song
    end_bar: int  # one past the last bar that ends inside the song (and inside the form)

    @property
    def usable_bars(self) -> int:
        return max(0, self.end_bar - self.first_bar)


def _frame_db(mono: np.ndarray, *, frame_samples: int) -> np.ndarray:
    n_frames = max(1, mono.size // frame_samples)
    frames = mono[: n_frames * frame_samples].reshape(n_frames, frame_samples)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-10))


def _bar_levels_db(mono: np.ndarray, grid: np.ndarray, *, sample_rate_hz: int,
                   end_sec: float = math.inf) -> np.ndarray:
    """Mean-square level (dB, -120 for an empty bar) of `mono` in each bar of the
    downbeat `grid` (seconds), bars cut at `end_sec` and at the end of `mono`."""
    sr = sample_rate_hz
    levels_db = np.full(max(0, grid.size - 1), -120.0)
    for j in range(levels_db.size):
        a = int(max(grid[j], 0.0) * sr)
        b = min(int(min(grid[j + 1], end_sec) * sr), mono.size)
        if b > a:
            seg = mono[a:b].astype(np.float64)
            levels_db[j] = 10 * np.log10(max(float(np.mean(seg**2)), 1e-12))
    return levels_db


def heard_voice(vocals: np.ndarray, grid: np.ndarray, sung: np.ndarray, *,
                sample_rate_hz: int) -> np.ndarray:
    """(n_bars,) 0..1: how far each bar's separated voice is heard, from its level against
    the song's sung level (the 75th percentile of the bars the analysis calls sung, by
    `sung`, share >= 0.5): 1 down to `QUIET_VOICE_DB` under it, 0 from
    `SILENT_VOICE_DB` under it. A bar the analysis calls sung whose separated voice is that
    quiet holds something else (a quiet intro's noise, a guitar line): a vocal layer cut
    from it would be inaudible (On the run's first bars: "sung" by the analysis, its
    voice stem 20-80 dB under its verses)."""
    levels_db = _bar_levels_db(vocals.mean(axis=0), grid, sample_rate_hz=sample_rate_hz)
    sung_bars = sung >= 0.5
    if not np.any(sung_bars):
        return np.ones(levels_db.size)
    reference_db = float(np.percentile(levels_db[sung_bars], 75))
    under_db = reference_db - levels_db
    return np.clip((SILENT_VOICE_DB - under_db) / (SILENT_VOICE_DB - QUIET_VOICE_DB),
                   0.0, 1.0)


def source_profile(material: SongMaterial) -> SourceProfile:
    """Bar energies and vocal shares of `material` (pure; reads only its arrays). The
    vocal share is the analysis's, heard in the separated voice where it is loaded
    (`heard_voice`); without vocal intervals, the voice stem's own activity."""
    analysis = material.analysis
    sr = material.sample_rate_hz
    grid = analysis.downbeats_sec
    n_bars = max(0, grid.size - 1)
    mix = material.mix_for_profile().mean(axis=0)
    duration = min(analysis.duration_sec, mix.size / sr) if mix.size else analysis.duration_sec
    levels_db = _bar_levels_db(mix, grid, sample_rate_hz=sr, end_sec=duration)
    audible = levels_db > -60.0
    energy = np.zeros(n_bars)
    if np.any(audible):
        low, high = np.percentile(levels_db[audible], [10, 95])
        energy = np.clip((levels_db - low) / max(high - low, 3.0), 0.0, 1.0)
        energy[~audible] = 0.0
    vocal = np.zeros(n_bars)
    if analysis.vocal_intervals:
        for j in range(n_bars):
            vocal[j] = covered_share(grid[j], grid[j + 1], analysis.vocal_intervals)
        if "vocals" in material.stems:
            vocal *= heard_voice(material.stems["vocals"], grid, vocal, sample_rate_hz=sr)
    elif "vocals" in material.stems:
        frame = max(1, int(0.05 * sr))
        frames_db = _frame_db(material.stems["vocals"].mean(axis=0), frame_samples=frame)
        threshold = max(float(frames_db.max()) - 30.0, -50.0)
        active = frames_db > threshold
        for j in range(n_bars):
            a, b = int(max(grid[j], 0.0) * sr) // frame, int(max(grid[j + 1], 0.0) * sr) // frame
            if b > a:
                vocal[j] = float(np.mean(active[a:b]))
    form = np.ones(n_bars)
    spans = []
    for section in analysis.sections:
        try:
            spans.append((float(section["start_sec"]), float(section["end_sec"])))
        except (KeyError, TypeError, ValueError):
            continue
    if spans:  # bars outside every section (a fade-out tail, say) are less wanted
        form = np.array([covered_share(grid[j], grid[j + 1], tuple(spans))
                         for j in range(n_bars)])
    starts_inside = np.nonzero(grid[:-1] >= -_EDGE_TOLERANCE_SEC)[0]
    ends_inside = np.nonzero(grid[1:] <= duration + _EDGE_TOLERANCE_SEC)[0]
    first_bar = int(starts_inside[0]) if starts_inside.size else 0
    end_bar = int(ends_inside[-1]) + 1 if ends_inside.size else first_bar
    in_form = np.nonzero(form >= 0.5)[0]
    if spans and in_form.size and in_form[-1] + 1 > first_bar:
        end_bar = min(end_bar, int(in_form[-1]) + 1)  # a fade-out tail is not looped into
    return SourceProfile(downbeats_sec=grid, bar_energy=energy, bar_vocal=vocal,
                         bar_in_form=np.clip(form, 0.0, 1.0), first_bar=first_bar,
                         end_bar=max(end_bar, first_bar))
