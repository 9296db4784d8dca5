"""REPET-SIM repeating-pattern model: a loop plus a melody that never repeats."""

from __future__ import annotations

import numpy as np

from services.separation.metrics import sdr_db
from services.separation.repetition import (
    share_on_grid,
    similar_frames,
    song_repeating_share,
)
from services.separation.stft import istft, stft

SR = 22050
N_FFT = 2048
HOP = 512


def loop_and_melody(seconds: float = 16.0) -> tuple[np.ndarray, np.ndarray]:
    """A 1 s loop (noise bursts on the beat and a held chord) repeated, and a lead of
    random, untempered pitches that never come back (a new one every 0.25 s)."""
    rng = np.random.default_rng(0)
    n_loop = SR
    t = np.arange(n_loop) / SR
    loop = 0.2 * sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    for beat in range(4):
        start = beat * n_loop // 4
        burst = rng.standard_normal(2000) * np.exp(-np.arange(2000) / 300.0)
        loop[start:start + 2000] += 0.5 * burst
    n = round(seconds * SR)
    background = np.tile(loop, int(np.ceil(n / n_loop)))[:n]
    note_samples = SR // 4
    pitches = 440.0 * 2 ** rng.uniform(0.0, 2.0, size=n // note_samples + 1)
    f0 = np.repeat(pitches, note_samples)[:n]
    phase = 2 * np.pi * np.cumsum(f0) / SR
    lead = 0.3 * (np.sin(phase) + 0.5 * np.sin(2 * phase) + 0.25 * np.sin(3 * phase))
    return background.astype(np.float32), lead.astype(np.float32)


def test_similar_frames_skip_the_neighbourhood_and_start_with_the_frame() -> None:
    rng = np.random.default_rng(1)
    features = rng.standard_normal((50, 8)).astype(np.float32)
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    neighbours = similar_frames(features, n_neighbours=5, min_gap_frames=4)
    assert neighbours.shape == (5, 50)
    np.testing.assert_array_equal(neighbours[0], np.arange(50))
    assert np.all(np.abs(neighbours[1:] - np.arange(50)[None]) >= 4)


def test_similar_frames_find_the_repeats_of_a_loop() -> None:
    period = 7
    pattern = np.random.default_rng(2).standard_normal((period, 6)).astype(np.float32)
    features = np.tile(pattern, (6, 1))
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    neighbours = similar_frames(features, n_neighbours=4, min_gap_frames=2)
    assert np.all((neighbours - np.arange(features.shape[0])[None]) % period == 0)


def test_the_non_repeating_melody_is_separated_from_the_loop() -> None:
    background, lead = loop_and_melody()
    mix = background + lead
    spectrum = stft(mix, n_fft=N_FFT, hop_length=HOP)
    share = song_repeating_share(np.abs(spectrum), frame_hop_sec=HOP / SR)
    assert share.shape == spectrum.shape and share.min() >= 0.0 and share.max() <= 1.0
    lead_estimate = istft(spectrum * (1.0 - share), hop_length=HOP, length_samples=mix.size)
    background_estimate = mix - lead_estimate
    # The mix itself scores about -0.5 dB for the lead and 0.5 dB for the loop; the
    # model gives about 5.7 and 6.3 dB.
    assert sdr_db(lead, lead_estimate) > 4.0
    assert sdr_db(background, background_estimate) > 4.5


def test_share_on_grid_maps_bins_and_frames_by_time_and_frequency() -> None:
    share = np.arange(12, dtype=np.float32).reshape(3, 4)  # bins 0, 10, 20 Hz; hop 0.5 s
    out = share_on_grid(share, share_hop_sec=0.5, share_bin_hz=10.0,
                        freqs_hz=np.array([0.0, 9.0, 40.0], dtype=np.float32), n_frames=3,
                        frame_hop_sec=0.5, start_sec=1.0)
    np.testing.assert_array_equal(out, [[2, 3, 3], [6, 7, 7], [10, 11, 11]])


def test_a_sung_hook_that_comes_back_is_not_counted_as_repeating_given_its_pitch() -> None:
    # A lead phrase of eight notes, a semitone or more apart, sung again every 2 s over
    # the 1 s loop: every similar frame of the song repeats the voice too, so the plain
    # model calls the lead accompaniment. Told the lead's pitch, the model leaves out
    # the frames that sing the same note and finds the loop without the voice.
    background, _ = loop_and_melody()
    n = background.size
    note_samples = SR // 4
    steps = np.random.default_rng(3).permutation(np.arange(0, 24, 3))[:8]
    phrase = np.repeat(440.0 * 2 ** (steps / 12.0), note_samples)
    f0 = np.tile(phrase, int(np.ceil(n / phrase.size)))[:n]
    phase = 2 * np.pi * np.cumsum(f0) / SR
    lead = (0.3 * (np.sin(phase) + 0.5 * np.sin(2 * phase))).astype(np.float32)
    mix = background + lead
    spectrum = stft(mix, n_fft=N_FFT, hop_length=HOP)
    centres = np.clip(np.arange(spectrum.shape[1]) * HOP, 0, n - 1)
    pitch_cents = 1200.0 * np.log2(f0[centres] / 440.0)

    def lead_sdr(**kwargs: object) -> float:
        share = song_repeating_share(np.abs(spectrum), frame_hop_sec=HOP / SR, **kwargs)
        estimate = istft(spectrum * (1.0 - share), hop_length=HOP, length_samples=n)
        return sdr_db(lead, estimate)

    plain = lead_sdr()
    told = lead_sdr(pitch_cents=pitch_cents, same_pitch_cents=100.0)
    assert told > plain + 3.0
    assert told > 3.0
    # Unvoiced frames (nan) exclude nothing: the plain model again.
    assert lead_sdr(pitch_cents=np.full(pitch_cents.shape, np.nan),
                    same_pitch_cents=100.0) == plain
