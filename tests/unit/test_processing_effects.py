"""What each effect of the vocabulary does to a layer (parsing: test_shared_effects)."""

from __future__ import annotations

import numpy as np
import pytest

from services.processing.effects import EffectContext, apply_effect, kick_envelope
from shared.effects import Effect, parse_effect

SR = 44100


def _noise(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal((2, int(seconds * SR)))).astype(np.float32)


def _ctx(n: int, *, start: int = 0, length: int | None = None,
         kick: np.ndarray | None = None) -> EffectContext:
    return EffectContext(sample_rate_hz=SR, tempo_bpm=120.0, beats_per_bar=4,
                         section_start=start,
                         section_length=n - start if length is None else length,
                         buffer_start_sec=0.0, kick_envelope=kick)


def _band_energy(audio: np.ndarray, low_hz: float, high_hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(audio.mean(axis=0))) ** 2
    freqs = np.fft.rfftfreq(audio.shape[1], 1 / SR)
    return float(spectrum[(freqs >= low_hz) & (freqs < high_hz)].sum())


def test_lowpass_removes_high_band_energy_and_highpass_the_lows() -> None:
    audio = _noise()
    low_cut, _ = parse_effect("lowpass:800")
    high_cut, _ = parse_effect("highpass:200")
    lowpassed = apply_effect(audio, low_cut, _ctx(audio.shape[1]))
    highpassed = apply_effect(audio, high_cut, _ctx(audio.shape[1]))
    assert _band_energy(lowpassed, 4000, 16000) < 1e-3 * _band_energy(audio, 4000, 16000)
    assert _band_energy(lowpassed, 100, 400) > 0.8 * _band_energy(audio, 100, 400)
    assert _band_energy(highpassed, 20, 60) < 1e-2 * _band_energy(audio, 20, 60)


def test_filter_sweep_up_opens_over_the_section() -> None:
    audio = _noise(4.0)
    sweep, _ = parse_effect("filter_sweep_up")
    out = apply_effect(audio, sweep, _ctx(audio.shape[1]))
    first, last = out[:, :SR], out[:, -SR:]
    assert _band_energy(first, 3000, 12000) < 0.01 * _band_energy(audio[:, :SR], 3000, 12000)
    assert _band_energy(last, 3000, 12000) > 0.3 * _band_energy(audio[:, -SR:], 3000, 12000)
    down, _ = parse_effect("filter_sweep_down")
    closed = apply_effect(audio, down, _ctx(audio.shape[1]))
    assert _band_energy(closed[:, -SR:], 3000, 12000) < 0.01 * _band_energy(audio[:, -SR:],
                                                                             3000, 12000)


def test_delay_echo_is_tempo_synced() -> None:
    audio = np.zeros((2, 2 * SR), dtype=np.float32)
    audio[:, 1000] = 1.0
    delay, _ = parse_effect("delay:1/8")
    out = apply_effect(audio, delay, _ctx(audio.shape[1]))
    echo = 1000 + int(0.25 * SR)  # an eighth at 120 BPM is 0.25 s
    window = np.abs(out[0, echo - 50:echo + 50])
    assert window.max() > 0.1
    assert abs(int(np.argmax(window)) - 50) <= 2


def test_fades_reach_silence_at_their_ends() -> None:
    audio = np.ones((2, SR), dtype=np.float32)
    fade_in, _ = parse_effect("fade_in")
    fade_out, _ = parse_effect("fade_out:1")  # one bar = 2 s > the section: whole section
    faded_in = apply_effect(audio, fade_in, _ctx(SR))
    faded_out = apply_effect(audio, fade_out, _ctx(SR))
    assert faded_in[0, 0] < 1e-3 and faded_in[0, -1] > 0.999
    assert faded_out[0, 0] > 0.999 and faded_out[0, -1] < 1e-3
    assert np.all(np.diff(faded_in[0]) >= -1e-7)


def test_sidechain_ducks_under_the_kick() -> None:
    n = 2 * SR
    drums = np.zeros(n, dtype=np.float32)
    t = np.arange(int(0.2 * SR)) / SR
    for beat in range(4):
        start = beat * SR // 2
        drums[start:start + t.size] += np.sin(2 * np.pi * 55 * t) * np.exp(-t / 0.05)
    env = kick_envelope(drums, sample_rate_hz=SR)
    pad = np.ones((2, n), dtype=np.float32) * 0.5
    effect, _ = parse_effect("sidechain:12")
    out = apply_effect(pad, effect, _ctx(n, kick=env))
    on_kick = out[0, SR // 2 + int(0.03 * SR)]
    between = out[0, SR // 2 + int(0.4 * SR)]
    assert on_kick < 0.5 * 10 ** (-6 / 20)
    assert between > 0.45
    # Without a drum layer it pumps on the beat grid instead.
    grid = apply_effect(pad, effect, _ctx(n))
    assert grid[0, 10] < 0.2 and grid[0, SR // 4 - 10] > grid[0, 10]


def _kicks(times_sec: list[float], n: int) -> np.ndarray:
    drums = np.zeros(n, dtype=np.float32)
    t = np.arange(int(0.06 * SR)) / SR
    hit = np.sin(2 * np.pi * 55 * t) * np.exp(-t / 0.015)
    for time_sec in times_sec:
        start = int(time_sec * SR)
        drums[start:start + t.size] += hit[:n - start]
    return kick_envelope(drums, sample_rate_hz=SR)


def test_sidechain_pumps_once_a_beat_under_dense_kicks() -> None:
    # a double bass drum on every sixteenth (8 hits a second at 120 BPM): the layer
    # pumps once a beat, not in a tremolo at the kick's rate
    n = 2 * SR
    env = _kicks([k * 0.125 for k in range(16)], n)
    pad = np.ones((2, n), dtype=np.float32) * 0.5
    effect, _ = parse_effect("sidechain:6")
    gain = apply_effect(pad, effect, _ctx(n, kick=env))[0] / 0.5
    for beat in range(4):
        within = gain[beat * SR // 2 + 50:(beat + 1) * SR // 2 - 50]
        assert np.all(np.diff(within) >= -1e-6), beat  # only recovering within the beat
        assert within[0] < 10 ** (-4 / 20) and within[-1] > 10 ** (-1 / 20)


def test_sidechain_does_not_pump_on_beats_without_a_kick() -> None:
    n = 2 * SR
    env = _kicks([0.0, 1.0], n)  # kicks on beats 1 and 3 only
    pad = np.ones((2, n), dtype=np.float32) * 0.5
    effect, _ = parse_effect("sidechain:6")
    gain = apply_effect(pad, effect, _ctx(n, kick=env))[0] / 0.5
    assert gain[int(0.52 * SR)] > 0.99 and gain[int(1.52 * SR)] > 0.99  # beats 2 and 4
    assert gain[int(0.02 * SR)] < 0.6 and gain[int(1.02 * SR)] < 0.6


def test_reverb_leaves_a_tail_after_the_sound() -> None:
    audio = np.zeros((2, 2 * SR), dtype=np.float32)
    audio[:, : SR // 10] = _noise(0.1)
    reverb, _ = parse_effect("reverb:0.5")
    out = apply_effect(audio, reverb, _ctx(audio.shape[1]))
    tail = out[:, SR // 2:SR]
    assert float(np.sqrt(np.mean(tail**2))) > 1e-4


@pytest.mark.parametrize("text", ["reverb:0.2", "reverb:0.5", "reverb:1", "delay:1/8",
                                  "delay:1/4d"])
def test_reverb_and_delay_keep_a_steady_sound_at_its_level(text: str) -> None:
    # the plan's volume_db sets a layer's level; an effect colours it (pedalboard's
    # Reverb doubles its dry_level: "reverb:0.2" once played a vocal 5 dB louder)
    audio = _noise(4.0)
    effect, _ = parse_effect(text)
    out = apply_effect(audio, effect, _ctx(audio.shape[1]))
    settled = slice(SR, None)
    change_db = 10 * np.log10(np.mean(out[:, settled] ** 2) / np.mean(audio[:, settled] ** 2))
    assert abs(change_db) < 0.5


def test_more_reverb_mix_is_wetter() -> None:
    audio = np.zeros((2, 2 * SR), dtype=np.float32)
    audio[:, : SR // 10] = _noise(0.1)
    tails = []
    for mix in ("0.2", "0.5"):
        reverb, _ = parse_effect(f"reverb:{mix}")
        out = apply_effect(audio, reverb, _ctx(audio.shape[1]))
        tails.append(float(np.mean(out[:, SR // 2:SR] ** 2)))
    assert tails[1] > 2.0 * tails[0]


def test_eq_swap_low_cuts_below_150_hz() -> None:
    audio = _noise()
    effect, _ = parse_effect("eq_swap_low")
    out = apply_effect(audio, effect, _ctx(audio.shape[1]))
    assert _band_energy(out, 20, 80) < 0.02 * _band_energy(audio, 20, 80)
    assert _band_energy(out, 400, 2000) > 0.9 * _band_energy(audio, 400, 2000)


def test_an_effect_built_without_a_value_uses_the_vocabulary_default() -> None:
    audio = _noise(1.0)
    bare = apply_effect(audio, Effect("highpass", None, "highpass"), _ctx(audio.shape[1]))
    parsed, _ = parse_effect("highpass")
    assert parsed is not None and parsed.value == 200.0
    np.testing.assert_array_equal(bare, apply_effect(audio, parsed, _ctx(audio.shape[1])))
