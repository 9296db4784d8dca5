"""The lead-vocal detector as the melody's voicing gate (`vocal_gate`)."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np

from services.separation.dsp import DspParams, separate_dsp
from services.separation.masks import MaskParams
from services.separation.vocal_gate import gated_voicing, intervals_on_grid, sung_intervals
from shared.synth import SongSpec, SynthSong, synthesize_song

HOP_SEC = 256 / 22050


@cache
def _song(with_vocals: bool) -> SynthSong:
    return synthesize_song(SongSpec("sep_pop", 104.0, "C", "major", 16.0, seed=12, style="pop",
                                    with_vocals=with_vocals))


def _truth_on_grid(song: SynthSong, n_frames: int) -> np.ndarray:
    times_sec = np.arange(n_frames) * HOP_SEC
    sung = np.zeros(n_frames, dtype=bool)
    for start_sec, end_sec in song.truth.vocal_intervals:
        sung |= (times_sec >= start_sec) & (times_sec < end_sec)
    return sung


def _sung_on_grid(samples: np.ndarray, *, sample_rate_hz: int, n_frames: int,
                  hop_sec: float) -> np.ndarray:
    return intervals_on_grid(sung_intervals(samples, sample_rate_hz=sample_rate_hz),
                             n_frames=n_frames, hop_sec=hop_sec)


def test_gated_voicing_drops_unsung_frames_and_trusts_sung_ones() -> None:
    f0 = np.array([200, 210, 0, 220, 230, 240, 250], dtype=np.float32)
    certainty = np.array([1, 0, 0, 0, 1, 0.5, 0], dtype=np.float32)
    sung = np.array([False, False, True, True, True, True])  # shorter: the rest unsung
    out_f0, out_certainty = gated_voicing(f0, certainty, sung, sung_certainty=0.75)
    np.testing.assert_array_equal(out_f0, [0, 0, 0, 220, 230, 240, 0])
    np.testing.assert_array_equal(out_certainty, [0, 0, 0, 0.75, 1, 0.75, 0])
    assert out_f0.dtype == np.float32 and out_certainty.dtype == np.float32
    # The inputs are left alone.
    assert f0[0] == 200 and certainty[1] == 0


def test_sung_frames_follow_the_lead_vocal() -> None:
    song = _song(True)
    n_frames = round(song.spec.duration_sec / HOP_SEC)
    sung = _sung_on_grid(song.mix, sample_rate_hz=song.sample_rate_hz, n_frames=n_frames,
                        hop_sec=HOP_SEC)
    truth = _truth_on_grid(song, n_frames)
    assert 0.2 < truth.mean() < 0.8
    assert np.mean(sung == truth) > 0.9  # measured 0.95
    # On the melody's 22.05 kHz copy (as `cues.song_cues` calls it) the same.
    from shared.audio_io import resample

    low = resample(song.mix, from_rate_hz=song.sample_rate_hz, to_rate_hz=22050)
    low_sung = _sung_on_grid(low, sample_rate_hz=22050, n_frames=n_frames, hop_sec=HOP_SEC)
    assert np.mean(low_sung == sung) > 0.98


def test_an_instrumental_keeps_almost_no_vocals() -> None:
    """Without the gate Melodia's contours over pads and stabs hand their partials to the
    vocals; with it the instrumental's vocal stem is all but silent."""
    song = _song(False)
    n_frames = round(song.spec.duration_sec / HOP_SEC)
    sung = _sung_on_grid(song.mix, sample_rate_hz=song.sample_rate_hz, n_frames=n_frames,
                        hop_sec=HOP_SEC)
    assert sung.mean() < 0.1

    def vocal_share(params: DspParams) -> float:
        stems = separate_dsp(song.mix, sample_rate_hz=song.sample_rate_hz, params=params)
        return float(np.sum(stems["vocals"] ** 2) / np.sum(song.mix**2))

    ungated = vocal_share(DspParams(masks=replace(MaskParams(), vocal_gate_certainty=None)))
    gated = vocal_share(DspParams())
    assert gated < 0.5 * ungated, (gated, ungated)
