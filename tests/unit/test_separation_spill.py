"""SpilledAudio: a song parked in a file reads back exactly, piece by piece."""

from __future__ import annotations

import numpy as np
import pytest

from services.separation.spill import SpilledAudio, mono_mean_std


def test_pieces_read_back_exactly_and_the_file_goes_away() -> None:
    rng = np.random.default_rng(3)
    samples = rng.standard_normal((2, 10_001)).astype(np.float32)
    with SpilledAudio(samples) as spilled:
        path = spilled._file.name
        assert spilled.shape == (2, 10_001) and spilled.ndim == 2
        for start, end in ((0, 10_001), (0, 1), (4_000, 7_123), (9_990, 20_000), (500, 400)):
            np.testing.assert_array_equal(spilled[:, start:end], samples[:, start:end])
        with pytest.raises(TypeError):
            spilled[0, 5:10]  # type: ignore[index]
    import os
    assert not os.path.exists(path)


def test_mono_input_becomes_one_channel() -> None:
    mono = np.linspace(-1, 1, 100, dtype=np.float32)
    with SpilledAudio(mono) as spilled:
        assert spilled.shape == (1, 100)
        np.testing.assert_array_equal(spilled[:, :], mono[None, :])


def test_block_statistics_match_the_whole_array() -> None:
    rng = np.random.default_rng(4)
    samples = (0.3 * rng.standard_normal((2, 50_000)) + 0.05).astype(np.float32)
    reference = samples.mean(axis=0, dtype=np.float64)
    mean, std = mono_mean_std(samples, block_samples=4096)
    assert mean == pytest.approx(float(reference.mean()), abs=1e-9)
    assert std == pytest.approx(float(reference.std()), rel=1e-9)
    with SpilledAudio(samples) as spilled:
        assert mono_mean_std(spilled, block_samples=3000) == pytest.approx((mean, std))
