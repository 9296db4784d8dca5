"""DJ cue points: mix in/out on phrases, pre/post drop around every drop."""

from __future__ import annotations

import numpy as np

from services.analysis.cues import PRE_DROP_BARS, cue_points
from services.analysis.sections import Section
from tests.unit.analysis_songs import analysis, song

BAR_SEC = 2.0


def _edm_form() -> list[Section]:
    return [Section("intro", 0.0, 16.0, 0.3), Section("build", 16.0, 32.0, 0.5),
            Section("drop", 32.0, 64.0, 0.95), Section("breakdown", 64.0, 80.0, 0.35),
            Section("drop", 80.0, 112.0, 1.0), Section("outro", 112.0, 128.0, 0.4)]


def test_cues_of_an_edm_form() -> None:
    curve = np.full(256, 0.6)  # 0.5 s hops
    cues = cue_points(sections=_edm_form(), phrase_starts_sec=np.arange(0.0, 128.0, 8.0),
                      bar_sec=BAR_SEC, energy_curve=curve, energy_hop_sec=0.5,
                      duration_sec=128.0)
    kinds: dict[str, list[float]] = {}
    for kind, time_sec in cues:
        kinds.setdefault(kind, []).append(time_sec)
    assert kinds["mix_in"] == [0.0]
    assert kinds["mix_out"] == [112.0]  # the outro's start: the mix-out phrase
    assert kinds["post_drop"] == [32.0, 80.0]
    assert kinds["pre_drop"] == [32.0 - PRE_DROP_BARS * BAR_SEC, 80.0 - PRE_DROP_BARS * BAR_SEC]
    assert [t for _, t in cues] == sorted(t for _, t in cues)


def test_mix_in_waits_for_the_song_to_be_audible() -> None:
    curve = np.concatenate([np.zeros(40), np.full(216, 0.6)])  # silent for 20 s
    cues = dict(cue_points(sections=_edm_form(), phrase_starts_sec=np.arange(0.0, 128.0, 8.0),
                           bar_sec=BAR_SEC, energy_curve=curve, energy_hop_sec=0.5,
                           duration_sec=128.0))
    assert cues["mix_in"] == 24.0


def test_drops_of_a_synth_song_get_cues() -> None:
    result, truth = analysis("dnb"), song("dnb").truth
    post = np.array([c.time_sec for c in result.cue_points if c.type == "post_drop"])
    pre = np.array([c.time_sec for c in result.cue_points if c.type == "pre_drop"])
    drops = [s.start_sec for s in truth.sections if s.label == "drop"]
    for drop_sec in drops:
        assert min(abs(post - drop_sec)) < 0.1
        assert min(abs(pre - (drop_sec - 4 * 240.0 / result.bpm))) < 0.1 or drop_sec < 6.0
    downbeats = np.asarray(result.downbeats)
    for cue in result.cue_points:
        if cue.type in ("mix_in", "mix_out"):
            assert min(abs(downbeats - cue.time_sec)) < 1e-3
