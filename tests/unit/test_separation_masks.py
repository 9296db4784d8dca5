"""Vocal masks (`masks.stem_masks`) where the melody track is sure, guessed or silent."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from services.separation.masks import (
    MaskParams,
    centre_weight,
    comb_centre_lead,
    comb_evidence,
    comb_mask,
    comb_rest_share,
    hpss_medians,
    stem_masks,
)
from services.separation.melody import MelodyTrack
from services.separation.stft import stft

SR = 22050
N_FFT = 2048
HOP = 512


def _tone_in_noise(duration_sec: float, *, f0_hz: float, noise: float) -> np.ndarray:
    """A steady harmonic tone (8 harmonics) over white noise, mono."""
    rng = np.random.default_rng(3)
    t = np.arange(round(duration_sec * SR)) / SR
    tone = sum(np.sin(2 * np.pi * k * f0_hz * t) / k for k in range(1, 9))
    return (0.1 * tone + noise * rng.standard_normal(t.size)).astype(np.float32)


def _masks(magnitude: np.ndarray, melody: MelodyTrack, params: MaskParams) -> dict:
    freqs_hz = np.fft.rfftfreq(N_FFT, d=1.0 / SR).astype(np.float32)
    return stem_masks(magnitude, medians=hpss_medians(magnitude, params=params),
                      freqs_hz=freqs_hz, melody=melody, bass_overtone_ratio=0.0,
                      params=params, repeating=np.zeros_like(magnitude))


def test_the_vocal_floor_stays_near_the_voiced_frames() -> None:
    magnitude = np.abs(stft(_tone_in_noise(6.0, f0_hz=220.0, noise=0.05), n_fft=N_FFT,
                            hop_length=HOP))
    n_frames = magnitude.shape[1]
    f0 = np.zeros(n_frames, np.float32)
    f0[:20] = 220.0  # voiced for the first 20 frames only
    melody = MelodyTrack(f0, np.zeros(n_frames, np.float32), (f0 > 0).astype(np.float32))
    params = MaskParams(vocal_floor_hold_frames=21)
    held = _masks(magnitude, melody, params)["vocals"]
    everywhere = _masks(magnitude, melody, replace(params, vocal_floor_hold_frames=0))["vocals"]
    band = slice(40, 400)  # ~430 Hz .. 4.3 kHz: off the comb between the teeth too
    assert np.all(held[band, 40:] == 0.0)  # no voice within 10 frames: no floor
    assert np.all(everywhere[band, 40:].max(axis=0) > 0.3)
    np.testing.assert_array_equal(held[:, :30], everywhere[:, :30])


def test_a_guess_far_from_any_voiced_frame_needs_more_evidence() -> None:
    magnitude = np.abs(stft(_tone_in_noise(8.0, f0_hz=220.0, noise=0.08), n_fft=N_FFT,
                            hop_length=HOP))
    n_frames = magnitude.shape[1]
    f0 = np.full(n_frames, 220.0, np.float32)
    certainty = np.zeros(n_frames, np.float32)
    certainty[:10] = 1.0  # sure for 10 frames, then guessed to the end
    melody = MelodyTrack(f0, np.zeros(n_frames, np.float32), certainty)
    freqs_hz = np.fft.rfftfreq(N_FFT, d=1.0 / SR).astype(np.float32)
    params = MaskParams(guess_near_frames=41, guess_evidence=(0.1, 0.3),
                        guess_far_evidence=(0.2, 0.9), vocal_floor_gain=0.0,
                        vocal_comb_rest_frames=0)
    comb = comb_mask(freqs_hz, melody, n_harmonics=params.n_harmonics,
                     width_hz=params.comb_width_hz)
    band = ((freqs_hz >= 200.0) & (freqs_hz <= params.vocal_max_hz)).astype(np.float32)
    evidence = comb_evidence(magnitude, comb * band[:, None],
                             repeating=np.zeros_like(magnitude), centre=None, band=band)
    assert np.all((evidence[10:] > 0.3) & (evidence[10:] < 0.8))  # near: sure; far: partial
    vocals = _masks(magnitude, melody, params)["vocals"]
    plain = _masks(magnitude, melody, replace(params, guess_near_frames=0))["vocals"]
    tooth = round(440.0 / (SR / N_FFT))  # the second harmonic's bin
    np.testing.assert_array_equal(vocals[:, :30], plain[:, :30])  # within 20 frames
    assert np.all(vocals[tooth, 40:] < plain[tooth, 40:] - 0.05)


def test_a_voice_the_repetition_model_calls_repeating_keeps_a_share() -> None:
    """A sung hook heard again in the similar bars is all "repeating" to REPET (share
    1 on its partials): the comb still gives it a share, where the uncapped model gave
    it none."""
    magnitude = np.abs(stft(_tone_in_noise(4.0, f0_hz=220.0, noise=0.01), n_fft=N_FFT,
                            hop_length=HOP))
    n_frames = magnitude.shape[1]
    f0 = np.full(n_frames, 220.0, np.float32)
    melody = MelodyTrack(f0, np.zeros(n_frames, np.float32), np.ones(n_frames, np.float32))
    freqs_hz = np.fft.rfftfreq(N_FFT, d=1.0 / SR).astype(np.float32)

    def vocals(params: MaskParams) -> np.ndarray:
        return stem_masks(magnitude, medians=hpss_medians(magnitude, params=params),
                          freqs_hz=freqs_hz, melody=melody, bass_overtone_ratio=0.0,
                          params=params, repeating=np.ones_like(magnitude))["vocals"]

    teeth = [round(k * 220.0 / (SR / N_FFT)) for k in (2, 3, 4)]  # 440-880 Hz
    capped = vocals(MaskParams())[teeth]
    uncapped = vocals(MaskParams(vocal_repeat_max=1.0))[teeth]
    assert np.all(uncapped == 0.0)
    assert np.all(capped > 0.4)  # (1 - 0.9) ** 0.25 = 0.56 of the tooth's share


def _stereo(voice_pan: float, band_pan: float) -> np.ndarray:
    """A 220 Hz harmonic 'voice' and a 2.3 kHz-band noise 'accompaniment' with an
    inharmonic partial grid, each panned (0 centre, 1 hard left): (2, bins, frames)."""
    rng = np.random.default_rng(5)
    t = np.arange(round(3.0 * SR)) / SR
    voice = 0.1 * sum(np.sin(2 * np.pi * k * 220.0 * t) / k for k in range(1, 9))
    pads = 0.05 * sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3))
                      for f in (310.0, 530.0, 770.0, 1190.0, 1530.0))

    def panned(x: np.ndarray, pan: float) -> np.ndarray:
        return np.stack([(1.0 + pan) * x, (1.0 - pan) * x])

    mix = (panned(voice, voice_pan) + panned(pads, band_pan)).astype(np.float32)
    return stft(mix, n_fft=N_FFT, hop_length=HOP)


def test_the_centre_prior_holds_only_where_the_voice_is_the_more_centred() -> None:
    freqs_hz = np.fft.rfftfreq(N_FFT, d=1.0 / SR).astype(np.float32)
    band = ((freqs_hz >= 200.0) & (freqs_hz <= 12000.0)).astype(np.float32)
    params = MaskParams(vocal_floor_gain=0.0)

    def vocals_and_lead(spectrum: np.ndarray, lead: tuple[float, float] | None
                        ) -> tuple[np.ndarray, float]:
        magnitude = np.abs(spectrum.mean(axis=0))
        n_frames = magnitude.shape[1]
        f0 = np.full(n_frames, 220.0, np.float32)
        melody = MelodyTrack(f0, np.zeros(n_frames, np.float32), np.ones(n_frames, np.float32))
        centre = centre_weight(spectrum)
        comb = comb_mask(freqs_hz, melody, n_harmonics=20, width_hz=10.0) * band[:, None]
        value = comb_centre_lead(magnitude, comb, centre=centre, band=band,
                                 frames=np.ones(n_frames, bool))
        masks = stem_masks(magnitude, medians=hpss_medians(magnitude, params=params),
                           freqs_hz=freqs_hz, melody=melody, bass_overtone_ratio=0.0,
                           params=replace(params, vocal_centre_lead=lead), centre=centre,
                           repeating=np.zeros_like(magnitude))
        return masks["vocals"], value

    tooth = round(660.0 / (SR / N_FFT))  # the voice's third harmonic
    # Voice centred, accompaniment wide: the prior holds (the same as always on).
    centred, lead = vocals_and_lead(_stereo(0.0, 0.8), (0.01, 0.04))
    always, _ = vocals_and_lead(_stereo(0.0, 0.8), None)
    assert lead > 0.3
    np.testing.assert_array_equal(centred, always)
    # Voice panned, accompaniment centred: the prior is let go, the voice keeps its share.
    wide, lead = vocals_and_lead(_stereo(0.6, 0.0), (0.01, 0.04))
    prior, _ = vocals_and_lead(_stereo(0.6, 0.0), None)
    assert lead < -0.3
    assert np.all(wide[tooth] > prior[tooth] + 0.3)


def test_the_vocal_floor_gives_way_where_the_comb_holds_the_voice() -> None:
    magnitude = np.abs(stft(_tone_in_noise(4.0, f0_hz=220.0, noise=0.02), n_fft=N_FFT,
                            hop_length=HOP))
    n_frames = magnitude.shape[1]
    freqs_hz = np.fft.rfftfreq(N_FFT, d=1.0 / SR).astype(np.float32)
    params = MaskParams()
    no_ramp = replace(params, vocal_floor_sure_evidence=None)
    for f0_hz, sure in ((220.0, True), (311.0, False)):  # on the tone; a tritone off it
        f0 = np.full(n_frames, f0_hz, np.float32)
        melody = MelodyTrack(f0, np.zeros(n_frames, np.float32), np.ones(n_frames, np.float32))
        comb = comb_mask(freqs_hz, melody, n_harmonics=params.n_harmonics,
                         width_hz=params.comb_width_hz)
        off = (comb[:, 0] < 1e-3) & (freqs_hz > 300.0) & (freqs_hz < 4000.0)
        vocals = _masks(magnitude, melody, params)["vocals"][off][:, 5:-5]
        floored = _masks(magnitude, melody, no_ramp)["vocals"][off][:, 5:-5]
        assert np.all(floored > 0.3)  # the floor alone: vocal_floor_gain of the bins
        if sure:  # the comb holds the tone: what lies off it is not the voice
            assert np.all(vocals < 0.1 * floored)
        else:  # a wrong comb keeps the floor, which still catches the voice off it
            np.testing.assert_allclose(vocals, floored)


def test_a_comb_bin_shares_with_the_pad_it_held_while_the_voice_sang_elsewhere() -> None:
    n_frames = 60
    sung = slice(20, 40)  # the voice's tooth lies on both bins only in these frames
    comb = np.zeros((2, n_frames), np.float32)
    comb[:, sung] = 1.0
    power = np.zeros((2, n_frames), np.float32)
    power[0] = 1.0  # bin 0: a pad's partial sustains all along
    power[:, sung] += 3.0  # the voice on both bins
    sure = np.ones(n_frames, np.float32)
    share = comb_rest_share(power, comb, sure=sure, kernel_frames=31, weight=1.0,
                            min_share=0.2)
    # Under the note, bin 0 holds 4 (pad 1 + voice 3): share 4 / (4 + 1).
    np.testing.assert_allclose(share[0, sung], 4.0 / 5.0, rtol=1e-3)
    np.testing.assert_allclose(share[1, sung], 1.0)  # silent off the voice: all vocal
    # Where the comb is never sure of the voice, the frames around tell nothing.
    doubtful = comb_rest_share(power, comb, sure=np.zeros(n_frames, np.float32),
                               kernel_frames=31, weight=0.5, min_share=0.2)
    np.testing.assert_allclose(doubtful[:, sung], 1.0)

