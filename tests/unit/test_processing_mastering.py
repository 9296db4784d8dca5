"""Mastering: loudness target, true-peak ceiling, no clipping, honest figures."""

from __future__ import annotations

import numpy as np
import pytest

from services.processing.mastering import limit_true_peak, master
from shared.loudness import integrated_lufs
from shared.true_peak import oversampled_peak, true_peak_dbtp

SR = 44100


def _music_like(seconds: float = 8.0, seed: int = 1) -> np.ndarray:
    """Noise bed plus loud, sharp low-mid hits: a high crest factor, like drums."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    audio = 0.05 * rng.standard_normal((2, n))
    t = np.arange(int(0.15 * SR)) / SR
    hit = np.sin(2 * np.pi * 80 * t) * np.exp(-t / 0.04)
    for start in range(0, n - t.size, SR // 2):
        audio[:, start:start + t.size] += 0.9 * hit
    return audio.astype(np.float32)


def test_master_reaches_target_and_stays_under_the_ceiling() -> None:
    result = master(_music_like(), sample_rate_hz=SR, target_lufs=-14.0, ceiling_dbtp=-1.0)
    assert true_peak_dbtp(result.audio, sample_rate_hz=SR) <= -1.0 + 1e-3
    assert float(np.max(np.abs(result.audio))) < 0.9
    measured = integrated_lufs(result.audio, sample_rate_hz=SR)
    assert abs(measured - -14.0) <= 0.5
    assert result.lufs == pytest.approx(measured, abs=0.01)
    assert result.limiter_reduction_db > 0  # the hits needed limiting at -14 LUFS
    assert result.warnings == []


@pytest.mark.parametrize("ceiling_dbtp", [-1.0, -2.0, -0.3])
def test_limiter_holds_any_ceiling_on_intersample_peaks(ceiling_dbtp: float) -> None:
    # A sine at fs/4 with a 45° phase has sample peaks 3 dB under its true peak.
    n = SR
    k = np.arange(n)
    tone = np.sin(2 * np.pi * k / 4 + np.pi / 4)
    audio = np.stack([tone, tone]).astype(np.float32) * 1.2
    limited, reduction, tp = limit_true_peak(audio, sample_rate_hz=SR, ceiling_dbtp=ceiling_dbtp)
    assert true_peak_dbtp(limited, sample_rate_hz=SR) <= ceiling_dbtp + 1e-3
    assert tp == pytest.approx(true_peak_dbtp(limited, sample_rate_hz=SR), abs=0.01)
    assert reduction > 0


def test_limiter_leaves_quiet_audio_untouched() -> None:
    audio = _music_like() * 0.2
    limited, reduction, _ = limit_true_peak(audio, sample_rate_hz=SR, ceiling_dbtp=-1.0)
    assert reduction == 0.0
    assert np.array_equal(limited, audio)


@pytest.mark.parametrize(("gain", "target_lufs"), [(1.0, -14.0), (0.2, -30.0), (1.0, -8.0)])
def test_the_reported_true_peak_is_the_measured_one(gain: float, target_lufs: float) -> None:
    """The stored file reports the master's figures without measuring again, so they
    must be what `true_peak_dbtp` and `integrated_lufs` measure on the samples: with the
    limiter acting, idle (a quiet target) and pushed hard."""
    audio = _music_like(seed=3) * np.float32(gain)
    result = master(audio, sample_rate_hz=SR, target_lufs=target_lufs, ceiling_dbtp=-1.0)
    assert result.true_peak_dbtp == pytest.approx(
        true_peak_dbtp(result.audio, sample_rate_hz=SR), abs=1e-6)
    assert result.lufs == pytest.approx(integrated_lufs(result.audio, sample_rate_hz=SR),
                                        abs=1e-9)
    limited, _, tp = limit_true_peak(audio, sample_rate_hz=SR, ceiling_dbtp=-1.0)
    assert tp == pytest.approx(true_peak_dbtp(limited, sample_rate_hz=SR), abs=1e-6)


def test_oversampled_peak_sees_between_samples() -> None:
    k = np.arange(SR)
    tone = np.sin(2 * np.pi * k / 4 + np.pi / 4)
    audio = np.stack([tone, tone])
    assert float(np.max(np.abs(audio))) == pytest.approx(np.sqrt(0.5), abs=1e-6)
    assert float(oversampled_peak(audio).max()) > 0.95


def test_too_dynamic_material_reports_its_real_loudness_with_a_warning() -> None:
    # One lone click in silence: reaching -14 LUFS would need far more than 6 dB of limiting.
    audio = np.zeros((2, 5 * SR), dtype=np.float32)
    audio[:, SR:SR + 200] = 0.5
    result = master(audio, sample_rate_hz=SR, target_lufs=-14.0, ceiling_dbtp=-1.0)
    assert true_peak_dbtp(result.audio, sample_rate_hz=SR) <= -1.0 + 1e-3
    assert result.lufs == pytest.approx(integrated_lufs(result.audio, sample_rate_hz=SR), abs=0.01)
    assert result.lufs < -15.0
    assert any("LUFS" in w for w in result.warnings)


def test_silence_is_returned_as_silence() -> None:
    result = master(np.zeros((2, SR), dtype=np.float32), sample_rate_hz=SR, target_lufs=-14.0,
                    ceiling_dbtp=-1.0)
    assert not np.any(result.audio)
    assert result.warnings


def test_oversampled_envelope_of_the_hot_blocks_is_the_whole_signal_one() -> None:
    from shared.true_peak import BLOCK as _BLOCK
    from shared.true_peak import may_exceed as _may_exceed

    audio = _music_like(3.0).astype(np.float64)
    audio[:, : 2 * _BLOCK] *= 0.01  # quiet blocks: there the sample peak stands in
    whole = oversampled_peak(audio)
    hot = _may_exceed(audio, 0.5)
    assert hot.any() and not hot.all()
    assert np.all(hot.reshape(-1)[: (hot.size // _BLOCK) * _BLOCK]
                  .reshape(-1, _BLOCK).all(axis=1) == hot[::_BLOCK][: hot.size // _BLOCK])
    partial = oversampled_peak(audio, only=hot)
    assert np.array_equal(partial[hot], whole[hot])
    # Outside the hot blocks the true peak cannot reach the level the mask was made for.
    assert float(whole[~hot].max()) < 0.5


def test_limiter_gain_is_zero_away_from_peaks_and_smooth_near_them() -> None:
    from scipy.ndimage import maximum_filter1d
    from scipy.signal import oaconvolve

    from services.processing.mastering import _MARGIN_DB, HOLD_MS, limiter_gain_db

    peak = np.full(10 * SR, 0.5)
    peak[[SR, SR + 100, 6 * SR]] = [1.2, 1.1, 1.3]  # two nearby overs and a lone one
    gain = limiter_gain_db(peak, sample_rate_hz=SR, ceiling_dbtp=-1.0)
    # The whole-signal computation (hold, then Hann smoothing) the runs must reproduce.
    need = np.maximum(0.0, 20 * np.log10(peak) + 1.0 + _MARGIN_DB)
    half = int(HOLD_MS * SR / 1000)
    window = np.hanning(2 * half + 3)[1:-1]
    held = maximum_filter1d(need, size=2 * half + 1, mode="nearest")
    expected = -np.maximum(oaconvolve(held, window / window.sum(), mode="same"), need)
    assert np.allclose(gain, expected, atol=1e-9)
    # Each over reaches 2 * half samples either side (hold, then smoothing); beyond, the
    # gain is exactly 0 (no FFT rounding dust that would mark the whole song as changed).
    assert np.count_nonzero(gain) <= 2 * (4 * half + 8) + 100
    assert not np.any(gain[2 * SR:5 * SR]) and not np.any(gain[7 * SR:])
    assert np.all(gain[[SR, SR + 100, 6 * SR]] <= -need[[SR, SR + 100, 6 * SR]])
