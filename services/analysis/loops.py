"""Short loops: a sample-pack loop lasts a whole number of bars and starts on its beat.

A beat tracker reading a few seconds of a solo instrument has little to go on: a 5.3-s
trumpet loop, two bars at 90 BPM, was tracked at 121.8 BPM, a tempo at which the loop
would hold 10.8 beats and could never repeat in time. The loop's length is the strongest
evidence a loop has. So a short file (up to LOOP_MAX_SEC) whose tracked tempo, at any
octave, does not fill it with whole bars, but which starts with an onset and whose onsets
fall on a whole-bar grid from its start nearly as strongly as on the tracked beats, gets
that grid. Longer files (songs, and excerpts cut anywhere) are left as tracked, and so
is a short one whose tracked beats fit far better than any whole-bar grid (an excerpt
of a steady song cut mid-bar).
"""

from __future__ import annotations

import numpy as np

from services.analysis.features import OnsetEnvelopes
from services.analysis.tempo import (
    DJ_MAX_BPM,
    DJ_MIN_BPM,
    TempoEstimate,
    grid_beats,
    relative_strength,
)

LOOP_MAX_SEC = 32.0
BEATS_PER_BAR = 4
WHOLE_BAR_TOLERANCE = 0.04  # of a bar: a tracked tempo this close to whole bars fits
MIN_GRID_STRENGTH = 1.5  # onsets on the whole-bar grid at least this much above average
MIN_SHARE_OF_TRACKED = 0.7  # ... and this share of their strength on the tracked beats
START_WINDOW_SEC = 0.06  # a loop cut on its beat has an onset this close to its start
MIN_START_STRENGTH = 1.5  # that onset at least this much above the average


def fills_whole_bars(tempo_bpm: float, duration_sec: float) -> bool:
    """Whether `duration_sec` at `tempo_bpm`, or at half or double it, is a whole number
    of bars (within WHOLE_BAR_TOLERANCE of a bar)."""
    for factor in (0.5, 1.0, 2.0):
        bars = duration_sec * tempo_bpm * factor / 60.0 / BEATS_PER_BAR
        if bars >= 0.5 and abs(bars - round(bars)) <= WHOLE_BAR_TOLERANCE:
            return True
    return False


def whole_bar_tempi(duration_sec: float) -> list[float]:
    """Tempi (BPM, within the DJ range) at which `duration_sec` holds whole bars."""
    tempi = []
    for bars in range(1, 65):
        tempo_bpm = 60.0 * BEATS_PER_BAR * bars / duration_sec
        if DJ_MIN_BPM <= tempo_bpm <= DJ_MAX_BPM:
            tempi.append(tempo_bpm)
    return tempi


def _envelope(onsets: OnsetEnvelopes) -> np.ndarray:
    """Every instrument's onsets (the snare band's where the broadband is not given)."""
    return onsets.broadband if onsets.broadband is not None else onsets.snare


def starts_with_onset(onsets: OnsetEnvelopes) -> bool:
    envelope = _envelope(onsets)
    frames = max(1, round(START_WINDOW_SEC / onsets.hop_sec) + 1)
    if len(envelope) <= frames:
        return False
    return float(envelope[:frames].max()) >= MIN_START_STRENGTH * float(envelope.mean() + 1e-9)


def loop_grid(tempo: TempoEstimate, *, duration_sec: float,
              onsets: OnsetEnvelopes | None) -> TempoEstimate | None:
    """For a short loop the whole-bar grid from its start, whose first beat is a
    downbeat (see the module); None when `tempo` stands."""
    if (onsets is None or duration_sec > LOOP_MAX_SEC
            or fills_whole_bars(tempo.tempo_bpm, duration_sec) or not starts_with_onset(onsets)):
        return None
    envelope = _envelope(onsets)
    tracked = relative_strength(envelope, onsets, tempo.beats_sec)
    best_bpm, best = 0.0, 0.0
    for tempo_bpm in whole_bar_tempi(duration_sec):
        strength = relative_strength(envelope, onsets, grid_beats(
            origin_sec=0.0, period_sec=60.0 / tempo_bpm, duration_sec=duration_sec))
        if strength > best:
            best_bpm, best = tempo_bpm, strength
    if best < MIN_GRID_STRENGTH or best < MIN_SHARE_OF_TRACKED * tracked:
        return None
    beats = grid_beats(origin_sec=0.0, period_sec=60.0 / best_bpm, duration_sec=duration_sec)
    return TempoEstimate(tempo_bpm=best_bpm, confidence=tempo.confidence, beats_sec=beats,
                         steady=True)
