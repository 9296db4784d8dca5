"""Melody track on STFT frames and the lead-voice evidence of its comb."""

from __future__ import annotations

import numpy as np

from services.separation.masks import comb_evidence, comb_mask
from services.separation.melody import MelodyTrack, melody_on_frames

HOP_SEC = 256 / 22050


def test_certainty_is_the_mean_over_the_voiced_melody_frames() -> None:
    f0 = np.full(400, 220.0, dtype=np.float32)
    f0[100:150] = 0.0  # a gap
    certainty = np.ones(400, dtype=np.float32)
    certainty[200:] = 0.0  # the second half only guessed
    track = melody_on_frames(f0, melody_hop_sec=HOP_SEC, n_frames=100, frame_hop_sec=0.0232,
                             window_sec=0.0929, certainty=certainty)
    centres = np.rint(np.arange(100) * 0.0232 / HOP_SEC).astype(int)
    inside = centres < 390
    assert np.all(track.certainty[centres < 90] == 1.0)
    guessed = (centres > 210) & inside
    assert np.all(track.certainty[guessed] == 0.0) and np.all(track.voiced[guessed])
    assert not np.any(track.voiced[(centres > 110) & (centres < 140)])
    # Without certainties every voiced frame is certain, as before.
    plain = melody_on_frames(f0, melody_hop_sec=HOP_SEC, n_frames=100, frame_hop_sec=0.0232,
                             window_sec=0.0929)
    np.testing.assert_array_equal(plain.f0_hz, track.f0_hz)
    assert np.all(plain.certainty[plain.voiced] == 1.0)


def test_comb_evidence_prefers_a_fresh_centred_dominant_voice() -> None:
    freqs_hz = np.fft.rfftfreq(2048, d=1.0 / 22050).astype(np.float32)
    n_frames = 4
    track = MelodyTrack(np.full(n_frames, 300.0, np.float32), np.zeros(n_frames, np.float32))
    comb = comb_mask(freqs_hz, track, n_harmonics=10, width_hz=10.0)
    band = ((freqs_hz > 200) & (freqs_hz < 8000)).astype(np.float32)
    magnitude = 0.05 * np.ones((freqs_hz.size, n_frames), np.float32)
    magnitude += comb  # the voice's partials stand out
    repeating = np.zeros_like(magnitude)
    centre = np.ones_like(magnitude)
    repeating[:, 1] = 1.0  # frame 1: the comb's energy repeats (a pad)
    centre[:, 2] = 0.0  # frame 2: hard-panned
    magnitude[:, 3] = 1.0  # frame 3: the comb is no louder than the rest of the band
    evidence = comb_evidence(magnitude, comb, repeating=repeating, centre=centre, band=band)
    assert evidence.shape == (n_frames,)
    assert np.all((evidence >= 0) & (evidence <= 1))
    assert evidence[0] > 0.3
    assert evidence[1] < 0.01 and evidence[2] < 0.01
    assert evidence[3] < 0.5 * evidence[0]
    silent = comb_evidence(np.zeros_like(magnitude), comb, repeating=repeating, centre=None,
                           band=band)
    assert np.all(silent == 0.0)
