"""Pitch for the sung frames where the melody track has none.

After the lead-vocal gate (`vocal_gate`) 4.6 % of the truly sung frames of seeds
5000-5009 (350 of 7604; sung: the vocal stem within 35 dB of its loudest) lie inside
the detector's intervals with no pitch at all: Melodia gave neither a voiced nor a
guessed f0 there, so the vocal comb is missing where the voice sings. Two steps give
them one:

- a gap inside a sung interval between two pitched frames of the same contour (at most
  50 frames, 0.58 s, whose ends lie less than 300 cents apart) is bridged by the straight
  line in cents (`bridge_gaps`): the voice glides or holds across it. On 5000-5009 it
  filled 129 frames, all sung, 120 within 50 cents of the clean vocal's Melodia pitch
  (no more with 150 frames and 700 cents). Holding the pitch on from the one pitched
  side at an interval's edge was wrong too often (up to 10 frames: 108 more frames, 45
  sung, 12 right).
- the rest take the pitch within 700 cents of the nearest pitched frame whose harmonic
  comb fits the melody source best (`comb_search`, `octave.comb_scores` on a 20-cent
  grid), where that comb's score reaches 0.8 (of 305 such frames on 5000-5009, 221 were
  sung and 108 right; at 0.8 204 / 170 / 103). A median over 5 or 9 frames of the found
  pitches changed nothing (5000 / 6000 7.911 / 8.068 -> 7.910 / 8.069 dB).
"""

from __future__ import annotations

import numpy as np

from services.separation.octave import comb_scores, frame_levels
from services.separation.vocal_gate import on_frames


def bridge_gaps(
    f0_hz: np.ndarray, certainty: np.ndarray, sung: np.ndarray, *, max_gap_frames: int,
    max_jump_cents: float, fill_certainty: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(f0_hz, certainty) per melody frame (0 Hz: unvoiced) with each run of unpitched
    frames that `sung` ((frames,) bool) covers, at most `max_gap_frames` long and
    bounded on both sides by pitched frames less than `max_jump_cents` apart, given the
    pitch interpolated in cents between them and `fill_certainty`. Returns new float32
    arrays."""
    f0_out = np.asarray(f0_hz, dtype=np.float32).copy()
    certainty_out = np.asarray(certainty, dtype=np.float32).copy()
    n = f0_out.size
    inside = on_frames(sung, n)
    gap = inside & (f0_out <= 0)
    if not gap.any() or max_gap_frames < 1:
        return f0_out, certainty_out
    edges = np.diff(np.concatenate(([0], gap.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        before = float(f0_out[start - 1]) if start > 0 else 0.0
        after = float(f0_out[end]) if end < n else 0.0
        if end - start > max_gap_frames or before <= 0 or after <= 0:
            continue
        jump_cents = 1200.0 * abs(np.log2(after / before))
        if jump_cents >= max_jump_cents:
            continue
        step = np.arange(1, end - start + 1) / (end - start + 1)
        f0_out[start:end] = before * np.power(after / before, step)
        certainty_out[start:end] = fill_certainty
    return f0_out, certainty_out


def nearest_pitch(f0_hz: np.ndarray) -> np.ndarray:
    """Per frame the pitch of the nearest pitched frame (ties: the earlier), 0 where the
    track has none."""
    f0_hz = np.asarray(f0_hz, dtype=np.float32)
    pitched = np.flatnonzero(f0_hz > 0)
    if pitched.size == 0:
        return np.zeros_like(f0_hz)
    index = np.arange(f0_hz.size)
    after = np.clip(np.searchsorted(pitched, index), 0, pitched.size - 1)
    before = np.clip(after - 1, 0, pitched.size - 1)
    use_before = np.abs(index - pitched[before]) <= np.abs(pitched[after] - index)
    return f0_hz[np.where(use_before, pitched[before], pitched[after])]


def comb_search(
    source: np.ndarray, frames: np.ndarray, centre_hz: np.ndarray, *, sample_rate_hz: int,
    hop_length: int, n_fft: int = 2048, span_cents: float = 700.0, step_cents: float = 20.0,
    min_hz: float = 150.0, max_hz: float = 3000.0, block_frames: int = 512,
) -> tuple[np.ndarray, np.ndarray]:
    """For each of `frames` (ascending melody frame indices, frame i centred on sample
    i * hop_length of `source`) the pitch within `span_cents` of `centre_hz` (one per
    frame) whose harmonic comb fits `source` best (`octave.comb_scores`), and its score.
    Returns (f0_hz, score), float32, one per frame."""
    frames = np.asarray(frames, dtype=int)
    f0_out = np.zeros(frames.size, dtype=np.float32)
    score_out = np.full(frames.size, -np.inf, dtype=np.float32)
    if frames.size == 0:
        return f0_out, score_out
    steps = np.arange(-span_cents, span_cents + step_cents / 2, step_cents)
    ratios = tuple(np.power(2.0, steps / 1200.0).tolist())
    bin_hz = sample_rate_hz / n_fft
    n_bins = min(n_fft // 2 + 1, int(np.ceil(max_hz / bin_hz)) + 2)
    for first in range(0, frames.size, block_frames):
        block = frames[first:first + block_frames]
        levels = frame_levels(source, block, n_fft=n_fft, hop_length=hop_length,
                              n_bins=n_bins)
        centre = np.asarray(centre_hz[first:first + block_frames], dtype=np.float64)
        scores = comb_scores(levels, centre, bin_hz=bin_hz, ratios=ratios,
                             min_hz=min_hz, max_hz=max_hz)
        best = np.argmax(scores, axis=1)
        f0_out[first:first + block.size] = centre * np.asarray(ratios)[best]
        score_out[first:first + block.size] = scores[np.arange(block.size), best]
    return f0_out, score_out


def search_sung(
    f0_hz: np.ndarray, certainty: np.ndarray, sung: np.ndarray, source: np.ndarray, *,
    sample_rate_hz: int, hop_length: int, span_cents: float, min_score: float,
    fill_certainty: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(f0_hz, certainty) per melody frame (frame i centred on sample i * hop_length of
    `source`) with the unpitched frames that `sung` covers given the pitch `comb_search`
    finds within `span_cents` of the nearest pitched frame, and `fill_certainty`, where
    its score reaches `min_score`. Returns new float32 arrays."""
    f0_out = np.asarray(f0_hz, dtype=np.float32).copy()
    certainty_out = np.asarray(certainty, dtype=np.float32).copy()
    n = f0_out.size
    inside = on_frames(sung, n)
    missing = np.flatnonzero(inside & (f0_out <= 0)
                             & (np.arange(n) * hop_length < np.size(source)))
    centre_hz = nearest_pitch(f0_out)[missing]
    missing, centre_hz = missing[centre_hz > 0], centre_hz[centre_hz > 0]
    found_hz, score = comb_search(source, missing, centre_hz, sample_rate_hz=sample_rate_hz,
                                  hop_length=hop_length, span_cents=span_cents)
    keep = missing[score >= min_score]
    f0_out[keep] = found_hz[score >= min_score]
    certainty_out[keep] = fill_certainty
    return f0_out, certainty_out
