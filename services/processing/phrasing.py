"""Sung phrases of a song in a 3:2 relation, each started on an output downbeat.

A song that meets the target tempo in a 3:2 relation plays three of its beats to two of
the grid's, so its bars are 2/3 (or 3/2) of an output bar. Laid end to end from one
anchor, only its first line starts on an output downbeat: a 4-bar line lasts 2.67 output
bars, and the next line starts a third of a bar off the groove's downbeat, the one after
that two thirds off (heard on Lithium at 124 over Let's Go Fishin' at 85.5: every line
after the first came in on the groove's triplets). A producer cuts such a vocal line by
line and starts each on a downbeat of the groove.

`phrase_spans` does that for a vocal layer: the song's analysed vocal intervals, merged
across rests shorter than `MERGE_GAP_BEATS` source beats, are its lines; each line after
the first gets a new piece whose anchor (the source downbeat nearest the line's start, so
a pickup stays a pickup) lands on the output downbeat nearest to where the line would
have fallen, or the next one when that would shrink the rest before it to less than
half. The cut between pieces lies in the middle of the rest before the line, as both
pieces play it (where the vocal gate holds the stem down), so no sung audio is cut.
Within a line the song keeps its own 3:2 rhythm against the groove.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from shared.intervals import merge_close

# Lines are parted by rests of at least this many source beats; shorter breaths between
# words stay inside a line (re-timing at every breath broke Lithium's verse into one-bar
# fragments, each a third of a bar apart).
MERGE_GAP_BEATS = 3.0
MIN_GAP_SEC = 0.15  # a line starts at least this long after the one before ends
CUT_MARGIN_SEC = 0.05  # the cut between pieces keeps this far from any analysed line
_SNAP_SEC = 0.01  # a line already this close to a downbeat keeps the piece it is in


def crosses_bars(ratio: float) -> bool:
    """True when `ratio` (output beats per source beat) is not a power of two: the
    song's bars do not tile the output's (a 3:2 relation)."""
    octaves = math.log2(ratio)
    return abs(octaves - round(octaves)) > 0.05


def phrase_spans(*, downbeats_sec: np.ndarray, vocal_intervals_sec: Sequence[tuple[float, float]],
                 source_beat_sec: float, source_bar_out_sec: float, end_bar: int,
                 anchor_bar: int, anchor_out_sec: float, start: int, end: int,
                 out_bar_sec: float, sample_rate_hz: int
                 ) -> list[tuple[int, int, int, float]] | None:
    """(out_start, out_end, anchor_bar, anchor_out_sec) of pieces covering output samples
    [start, end) that start every sung line of a song on an output downbeat (multiples of
    `out_bar_sec`), from source downbeat `anchor_bar` at `anchor_out_sec`. The song's
    downbeats and vocal intervals are in source seconds; one of its bars takes
    `source_bar_out_sec` output seconds; `end_bar` is one past its last usable bar. None
    when no line moves or the source would run out (the caller keeps its plain pieces)."""
    sr = sample_rate_hz
    grid = np.asarray(downbeats_sec, dtype=np.float64)
    if grid.size < 2:
        return None
    index = np.arange(grid.size, dtype=np.float64)

    def bar_pos(src_sec: float) -> float:
        return float(np.interp(src_sec, grid, index))

    start_sec, end_sec = start / sr, end / sr
    section_src_bar = anchor_bar + (start_sec - anchor_out_sec) / source_bar_out_sec
    bar, bar_out = anchor_bar, anchor_out_sec

    def out_sec(src_sec: float, anchor: int, anchor_out: float) -> float:
        return anchor_out + (bar_pos(src_sec) - anchor) * source_bar_out_sec

    spans: list[tuple[int, int, int, float]] = []
    piece_start = start
    prev_off = float(np.interp(section_src_bar, index, grid))  # source sec the rest starts
    for on, off in merge_close(vocal_intervals_sec,
                               max_gap_sec=MERGE_GAP_BEATS * source_beat_sec):
        if bar_pos(on) < section_src_bar:  # sung from before the section starts
            prev_off = max(prev_off, off)
            continue
        natural_on = out_sec(on, bar, bar_out)
        if natural_on >= end_sec - MIN_GAP_SEC:
            break
        line_bar = round(bar_pos(on))  # never the bar it plays from: no source repeats
        if line_bar > bar:
            natural_anchor = bar_out + (line_bar - bar) * source_bar_out_sec
            pickup = natural_on - natural_anchor  # < 0: the line starts before its bar
            target = round(natural_anchor / out_bar_sec) * out_bar_sec
            # The rest before the line may shrink to half, never less: the song keeps
            # its breathing between lines.
            prev_off_out = out_sec(prev_off, bar, bar_out)
            least_rest = max(MIN_GAP_SEC, 0.5 * (natural_on - prev_off_out))
            while target + pickup < prev_off_out + least_rest:
                target += out_bar_sec
            # The cut lies in the rest as both pieces play it, at its middle: as far as
            # can be from a line whose analysed edges are a little early or late.
            lo = max(prev_off_out, out_sec(prev_off, line_bar, target), piece_start / sr)
            hi = min(natural_on, target + pickup)
            if abs(target - natural_anchor) > _SNAP_SEC and hi - lo > 2 * CUT_MARGIN_SEC \
                    and target + pickup < end_sec - MIN_GAP_SEC:
                cut = round(0.5 * (lo + hi) * sr)
                spans.append((piece_start, cut, bar, bar_out))
                piece_start = cut
                bar, bar_out = line_bar, target
        prev_off = max(prev_off, off)
    if not spans:
        return None
    # The last piece must not need source past the song's last usable bar.
    if bar + (end_sec - bar_out) / source_bar_out_sec > end_bar + 1e-6:
        return None
    spans.append((piece_start, end, bar, bar_out))
    return spans
