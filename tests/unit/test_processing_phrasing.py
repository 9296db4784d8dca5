"""Sung lines of a song in a 3:2 relation start on output downbeats, cut only in rests."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from services.processing.arrange import SongContext, plan_arrangement
from services.processing.material import LAYER_STEMS, SongMaterial, parse_analysis
from services.processing.phrasing import crosses_bars, phrase_spans
from services.processing.profile import source_profile
from services.processing.settings import RenderSettings
from shared.intervals import merge_close
from shared.tempo_grid import beat_ratio
from tests.unit.test_processing_support import SR, analysis_dict, plan, pop_118

# A 120 BPM song over an 80 BPM groove: three of its beats (0.5 s) to two of the grid's
# (0.75 s), no stretch. Its bar (2 s) is 2/3 of an output bar (3 s).
SRC_BEAT = 0.5
SRC_BAR_OUT = 2.0
OUT_BAR = 3.0
DOWNBEATS = np.arange(0.0, 80.0, 2.0)


def _spans(intervals, *, start_sec=0.0, end_sec=30.0, anchor_bar=0, anchor_out=0.0):
    return phrase_spans(downbeats_sec=DOWNBEATS, vocal_intervals_sec=intervals,
                        source_beat_sec=SRC_BEAT, source_bar_out_sec=SRC_BAR_OUT,
                        end_bar=DOWNBEATS.size - 1, anchor_bar=anchor_bar,
                        anchor_out_sec=anchor_out, start=round(start_sec * SR),
                        end=round(end_sec * SR), out_bar_sec=OUT_BAR, sample_rate_hz=SR)


def _source_at(span, out_sec: float) -> float:
    _, _, bar, bar_out = span
    return float(np.interp(bar + (out_sec - bar_out) / SRC_BAR_OUT,
                           np.arange(DOWNBEATS.size), DOWNBEATS))


def test_crosses_bars_only_for_ratios_that_are_not_powers_of_two() -> None:
    assert not any(crosses_bars(r) for r in (1.0, 2.0, 0.5, 4.0))
    assert all(crosses_bars(r) for r in (1.5, 2 / 3, 0.75, 3.0))


def test_sung_lines_merge_breaths_and_keep_rests() -> None:
    lines = merge_close(((5.0, 6.0), (0.0, 2.0), (2.3, 4.0)), max_gap_sec=0.5)
    assert lines == [(0.0, 4.0), (5.0, 6.0)]


def test_every_line_starts_on_an_output_downbeat() -> None:
    # Four-bar lines with a one-bar rest: source bars 0, 5 and 10 start them. Laid end to
    # end the second would fall a third of an output bar late (10 s), the third two
    # thirds (20 s); each gets its own anchor on the nearest downbeat instead.
    lines = ((0.0, 7.5), (10.0, 17.5), (20.0, 27.5))
    spans = _spans(lines)
    assert spans is not None
    assert [(bar, out) for _, _, bar, out in spans] == [(0, 0.0), (5, 9.0), (10, 18.0)]
    # The pieces tile the section, and each cut lies in a rest as both sides play it.
    assert spans[0][0] == 0 and spans[-1][1] == round(30.0 * SR)
    for before, after in itertools.pairwise(spans):
        assert before[1] == after[0]
        cut_sec = after[0] / SR
        for span in (before, after):
            src = _source_at(span, cut_sec)
            assert not any(on - 0.05 <= src <= off + 0.05 for on, off in lines), (span, src)


def test_a_pickup_stays_a_pickup() -> None:
    # The second line starts a beat before source bar 5: it keeps that beat (2/3 of an
    # output beat) before the output downbeat its bar lands on.
    spans = _spans(((0.0, 7.0), (9.5, 17.0)))
    assert spans is not None
    _, _, bar, out = spans[1]
    assert (bar, out) == (5, 9.0)
    onset_out = out + (9.5 - DOWNBEATS[5]) / 2.0 * SRC_BAR_OUT
    assert onset_out == pytest.approx(9.0 - SRC_BEAT)


def test_a_rest_shrinks_to_half_at_most() -> None:
    # Line two would fall 2/3 of an output bar after the nearest earlier downbeat; moving
    # it there would leave a 0.5-s rest where the song has 2.5 s: it goes to the next one.
    lines = ((0.0, 7.5), (10.0, 17.5))
    spans = _spans(lines, anchor_bar=0, anchor_out=0.0)
    assert spans is not None
    first_off_out = 7.5  # no stretch: the first piece plays source seconds as they are
    _, _, bar, out = spans[1]
    onset_out = out + (10.0 - DOWNBEATS[bar]) / 2.0 * SRC_BAR_OUT
    assert onset_out - first_off_out >= 0.5 * (10.0 - 7.5) - 1e-9


def test_nothing_moves_when_the_lines_already_sit_on_downbeats() -> None:
    # Lines every six source bars (four output bars) land on downbeats as laid.
    assert _spans(((0.0, 7.5), (12.0, 19.5), (24.0, 31.5)), end_sec=45.0) is None


def test_source_that_would_run_out_keeps_the_plain_piece() -> None:
    short = phrase_spans(downbeats_sec=DOWNBEATS[:14], vocal_intervals_sec=((0.0, 7.5),
                         (10.0, 17.5)), source_beat_sec=SRC_BEAT, source_bar_out_sec=2.0,
                         end_bar=13, anchor_bar=0, anchor_out_sec=0.0, start=0,
                         end=round(30.0 * SR), out_bar_sec=OUT_BAR, sample_rate_hz=SR)
    assert short is None


def _arrange_3_to_2(layers):
    song = pop_118()
    target = 118.0 * 2 / 3  # the pop song meets the grid in a 3:2 relation
    # Its lines as an analysis might find them: a 1.7-s rest after the first (over three
    # beats, so two lines), a 3.4-s rest after the second.
    analysis = analysis_dict(song, "a")
    analysis["vocal_intervals"] = [[0.1, 2.5], [4.17, 6.83], [10.27, 12.9]]
    m = SongMaterial.build("a", stems=dict(song.stems), sample_rate_hz=song.sample_rate_hz,
                           analysis=parse_analysis(analysis, song_id="a"))
    ctx = SongContext(m.analysis, source_profile(m),
                      beat_ratio(song_bpm=118.0, target_bpm=target))
    assert crosses_bars(ctx.ratio)
    return plan_arrangement(plan(target, "C major", [layers], bars=4), {"a": ctx},
                            settings=RenderSettings(), fill_song="a",
                            available={"a": set(LAYER_STEMS)}), ctx, target


def test_a_3_to_2_vocal_layer_is_cut_line_by_line_onto_downbeats() -> None:
    arrangement, _, target = _arrange_3_to_2([{"songId": "a", "stem": "vocals"}])
    pieces = arrangement.sections[0].placements[0].pieces
    bar_sec = 4 * 60.0 / target
    assert len(pieces) > 1
    assert not arrangement.sections[0].placements[0].looped
    for piece in pieces:  # every anchor is an output downbeat
        assert piece.anchor_out_sec / bar_sec == pytest.approx(round(piece.anchor_out_sec
                                                                     / bar_sec), abs=1e-9)
    anchors = [piece.anchor_bar for piece in pieces]
    assert anchors == sorted(set(anchors))  # forward only: no source bar plays twice


def test_a_3_to_2_song_with_more_stems_in_the_section_keeps_one_position() -> None:
    arrangement, _, _ = _arrange_3_to_2([{"songId": "a", "stem": "vocals"},
                                         {"songId": "a", "stem": "drums"}])
    vocals, drums = arrangement.sections[0].placements
    assert len(vocals.pieces) == 1 and vocals.pieces == drums.pieces
