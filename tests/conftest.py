"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import settings as hypothesis_settings

# Property tests explore new examples on every local run; in CI they replay one fixed
# sequence, so a merge is judged by the code, not by which examples were drawn that time.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture
def storage_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh local storage root for this test (and a signing secret)."""
    root = tmp_path / "storage"
    monkeypatch.setenv("STORAGE_ROOT", str(root))
    monkeypatch.setenv("SIGNING_SECRET", "test-secret")
    yield root


def sine_wav_bytes(duration_sec: float = 6.0, *, freq_hz: float = 440.0,
                   sample_rate_hz: int = 44100, fmt: str = "WAV", channels: int = 2) -> bytes:
    """A plain sine as file bytes: the smallest valid song for I/O tests."""
    t = np.arange(int(duration_sec * sample_rate_hz)) / sample_rate_hz
    tone = 0.3 * np.sin(2 * np.pi * freq_hz * t)
    data = np.stack([tone] * channels, axis=1).astype(np.float32)
    buf = io.BytesIO()
    subtype = "VORBIS" if fmt == "OGG" else "PCM_16"
    sf.write(buf, data, sample_rate_hz, format=fmt, subtype=subtype)
    return buf.getvalue()
