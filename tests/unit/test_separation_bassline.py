"""Bass-line f0 and its comb: a bass line over a kick-like low sine."""

from __future__ import annotations

import numpy as np

from services.separation.bassline import BassParams, bass_comb, bass_f0, bass_reach_hz
from services.separation.metrics import sdr_db
from services.separation.stft import istft, stft

SR = 22050
N_FFT = 2048
HOP = 512
NOTES_HZ = (65.4, 87.3, 98.0, 73.4)  # C2 F2 G2 D2, one a second


def bass_and_kick(seconds: float = 8.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bass, kick, f0 per sample): a bass with overtones (1, 0.5, 0.33, ...) and a
    decaying 45 Hz sine every half second, the kick's tail."""
    n = round(seconds * SR)
    f0 = np.repeat(NOTES_HZ, SR)
    f0 = np.tile(f0, int(np.ceil(n / f0.size)))[:n]
    phase = 2 * np.pi * np.cumsum(f0) / SR
    bass = 0.2 * sum(np.sin(k * phase) / k for k in range(1, 7))
    kick = np.zeros(n)
    hit = np.sin(2 * np.pi * 45.0 * np.arange(SR // 2) / SR) * np.exp(-np.arange(SR // 2) / 3000)
    for start in range(0, n - hit.size + 1, hit.size):
        kick[start:start + hit.size] += 0.4 * hit
    return bass.astype(np.float32), kick.astype(np.float32), f0


def test_bass_f0_follows_the_notes_not_the_kick() -> None:
    bass, kick, f0 = bass_and_kick()
    magnitude = np.abs(stft(bass + kick, n_fft=N_FFT, hop_length=HOP))
    freqs_hz = np.fft.rfftfreq(N_FFT, d=1.0 / SR).astype(np.float32)
    estimate = bass_f0(magnitude, freqs_hz=freqs_hz, params=BassParams())
    truth = f0[np.minimum(np.arange(estimate.size) * HOP, f0.size - 1)]
    cents = 1200 * np.abs(np.log2(np.maximum(estimate, 1.0) / truth))
    assert np.mean(cents < 50) > 0.85


def test_the_comb_splits_the_sub_bass_between_bass_and_kick() -> None:
    bass, kick, _ = bass_and_kick()
    mix = bass + kick
    spectrum = stft(mix, n_fft=N_FFT, hop_length=HOP)
    freqs_hz = np.fft.rfftfreq(N_FFT, d=1.0 / SR).astype(np.float32)
    f0_hz = bass_f0(np.abs(spectrum), freqs_hz=freqs_hz, params=BassParams())
    comb = bass_comb(freqs_hz, f0_hz, params=BassParams())
    assert comb.shape == spectrum.shape and comb.min() >= 0.0 and comb.max() <= 1.0
    bass_estimate = istft(spectrum * comb, hop_length=HOP, length_samples=mix.size)
    kick_estimate = mix - bass_estimate
    assert sdr_db(bass, bass_estimate) > sdr_db(bass, mix) + 6.0
    assert sdr_db(kick, kick_estimate) > sdr_db(kick, mix) + 6.0


def test_silence_is_unvoiced() -> None:
    freqs_hz = np.fft.rfftfreq(N_FFT, d=1.0 / SR).astype(np.float32)
    silent = np.zeros((freqs_hz.size, 20), dtype=np.float32)
    assert not np.any(bass_f0(silent, freqs_hz=freqs_hz, params=BassParams()))
    assert not np.any(bass_comb(freqs_hz, np.zeros(20, np.float32), params=BassParams()))


def test_the_comb_passes_a_lone_bass_line_whole() -> None:
    """Low notes whose partials fall between bin centres (C1 E1 D1 G1, 10.8 Hz bins),
    each with a strong 2nd harmonic and an 808-like pitch drop from three semitones up:
    with teeth narrower than half a bin the comb missed every bin of some partials and
    the bass kept 8 dB SDR of itself (about half its energy below 100 Hz)."""
    n = 8 * SR
    since_sec = (np.arange(n) / SR) % 0.5
    notes_hz = np.tile(np.repeat((32.7, 41.2, 36.7, 49.0), SR // 2), 4)[:n]
    f0_hz = notes_hz * 2 ** (3.0 * np.exp(-since_sec / 0.05) / 12)
    phase = 2 * np.pi * np.cumsum(f0_hz) / SR
    bass = (0.3 * (np.sin(phase) + 0.8 * np.sin(2 * phase) + 0.3 * np.sin(3 * phase))
            * np.exp(-since_sec / 0.3)).astype(np.float32)
    spectrum = stft(bass, n_fft=N_FFT, hop_length=HOP)
    freqs_hz = np.fft.rfftfreq(N_FFT, d=1.0 / SR).astype(np.float32)
    estimate = bass_f0(np.abs(spectrum), freqs_hz=freqs_hz, params=BassParams())
    comb = bass_comb(freqs_hz, estimate, params=BassParams())
    passed = istft(spectrum * comb, hop_length=HOP, length_samples=n)
    assert sdr_db(bass, passed) > 14.0


def bass_over_pad(partial_power: float, seconds: float = 6.0) -> np.ndarray:
    """A bass line of quarter-second notes (partial k at 1 / k ** partial_power, k up to
    10) over a sustained pad chord (C3 E3 G3 C4, each with three partials)."""
    n = round(seconds * SR)
    notes_hz = (55.0, 65.4, 73.4, 82.4, 49.0, 61.7, 87.3, 77.8)
    f0 = np.tile(np.repeat(notes_hz, SR // 4), int(np.ceil(n / (2 * SR))) + 1)[:n]
    phase = 2 * np.pi * np.cumsum(f0) / SR
    bass = 0.3 * sum(np.sin(k * phase) / k**partial_power for k in range(1, 11))
    t = np.arange(n) / SR
    pad = sum(0.03 / k * np.sin(2 * np.pi * k * root * t)
              for root in (130.8, 164.8, 196.0, 261.6) for k in range(1, 4))
    return (bass + pad).astype(np.float32)


def test_a_bright_bass_reaches_further_above_the_pad_than_a_dull_one() -> None:
    freqs_hz = np.fft.rfftfreq(N_FFT, d=1.0 / SR).astype(np.float32)
    reach = {}
    for name, partial_power in (("bright", 0.5), ("dull", 2.5)):
        magnitude = np.abs(stft(bass_over_pad(partial_power), n_fft=N_FFT, hop_length=HOP))
        f0_hz = bass_f0(magnitude, freqs_hz=freqs_hz, params=BassParams())
        reach[name] = bass_reach_hz(magnitude, freqs_hz=freqs_hz, f0_hz=f0_hz,
                                    hold_frames=43, margin=2.0, max_hz=450.0)
    assert 0.0 <= reach["dull"] <= 450.0 and 0.0 <= reach["bright"] <= 450.0
    assert reach["bright"] > 300.0
    assert reach["bright"] > reach["dull"] + 100.0


def test_no_bass_line_has_no_reach() -> None:
    freqs_hz = np.fft.rfftfreq(N_FFT, d=1.0 / SR).astype(np.float32)
    magnitude = np.ones((freqs_hz.size, 20), dtype=np.float32)
    assert bass_reach_hz(magnitude, freqs_hz=freqs_hz, f0_hz=np.zeros(20, np.float32),
                         hold_frames=43, margin=2.0, max_hz=450.0) == 0.0
