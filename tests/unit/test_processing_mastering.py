"""Mastering: loudness target, true-peak ceiling, no clipping, honest figures."""

from __future__ import annotations

import numpy as np
import pytest

from services.processing.mastering import limit_true_peak, master, oversampled_peak
from shared.loudness import integrated_lufs, true_peak_dbtp

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
